"""Tours of every tab in headless Chromium with the emoji models and with colour models trained on a folder: exercise
each tab's main control with them, screenshot it, and fail on any page error, console error or failed load. (The
digit models' tour of every tab is tests/test_browser.py, on one shared page.)

Screenshots go to $GENLAB_SCREENSHOTS if set (CI keeps them as artefacts), else to a temp dir
whose path the test prints.
"""

from __future__ import annotations

import contextlib
import os
import re

import pytest
from playwright.sync_api import expect, sync_playwright
from test_browser import ARGS, CHROMIUM

from genlab.hub import DEFAULT_GAN
from genlab.testing import (explained, image_src, load_gan_repo, record_requests, set_number, settled, shown_picture,
                            wait_for_new_picture, wait_for_new_src)


def _drag_and_see_change(page, slider: str, prefix: str, to_frac: float):
    """Drag the slider's thumb from the middle to to_frac of its width; the tab's picture must change
    (drawn in the page, or by the server where the page cannot)."""
    before = shown_picture(page, prefix)
    box = page.locator(f"{slider} input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * to_frac, y, steps=5)
    page.mouse.up()
    wait_for_new_picture(page, prefix, before)


@contextlib.contextmanager
def _watched_page(app_url: str, problems: list[str]):
    """Headless Chromium on the app; page errors, console errors and failed loads (other than queue
    streams the page itself aborts) are collected in ``problems``."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        # a context of its own (not browser.new_page's), so a test may open a second page in it (same storage)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        record_requests(page)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}")
                if "ERR_ABORTED" not in (r.failure or "") else None)
        page.goto(app_url)
        yield page
        browser.close()


def _first_visit(page, shots):
    """Before the visitor touches anything, each tab already shows what it does (the GAN and VAE tabs compute
    theirs on load; the others show results computed once at start-up). The four viewport screenshots are the
    README's (docs/screenshots/, via scripts/readme_screenshots.sh)."""
    shown_picture(page, "gan")
    # the first frame's time includes starting the in-page model, and its note says so (it read as a slow slider)
    expect(page.locator("#gan-web-note")).to_contain_text("the first frame took", timeout=30_000)
    page.screenshot(path=str(shots / "first_gan.png"))
    page.get_by_role("tab", name="VAE interpolation").click()
    shown_picture(page, "vae")
    # drawn in the page before the tab was opened: the note says so, not "Starting the in-page generator…"
    expect(page.locator("#vae-web-note")).to_contain_text("Drawn in this browser", timeout=60_000)
    page.screenshot(path=str(shots / "first_vae.png"))
    page.get_by_role("tab", name="Translation (pix2pix, CycleGAN)").click()
    for selector in ("#tr-input", "#tr-seen", "#tr-output", "#cy-input", "#cy-output", "#cy-cycle"):
        expect(page.locator(f"{selector} img").first).to_be_visible(timeout=120_000)
    page.screenshot(path=str(shots / "first_translate.png"))
    page.get_by_role("tab", name="Repair & augment").click()
    expect(page.locator("#rp-status textarea")).to_have_value(re.compile("^Worked example.*done: vae"),
                                                              timeout=120_000)
    for selector in ("#rp-original", "#rp-repaired", "#rp-baseline", "#rp-candidates"):
        expect(page.locator(f"{selector} img").first).to_be_visible(timeout=10_000)
    page.screenshot(path=str(shots / "first_repair.png"))
    page.get_by_role("tab", name="Augment", exact=True).click()
    expect(page.locator("#ag-gallery img").first).to_be_visible(timeout=60_000)
    expect(page.locator("#ag-classic-gallery img")).to_have_count(8, timeout=60_000)
    page.get_by_role("tab", name="Repair (inpainting)").click()
    page.get_by_role("tab", name="GAN sampling").click()


def _pick_model(page, elem_id: str, path: str):
    """Type a checkpoint folder into a model dropdown (allow_custom_value) and press Enter."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(path)
    box.press("Enter")


@pytest.mark.slow
def test_tour_with_colour_models_from_a_folder(app_url, shots, trained):
    """The colour models trained on a user folder, loaded by path: the GAN tab (the class picker shows the folder's
    class names; a slider redraws) and the Augment tab (a ZIP of the folder's classes). The folder's VAE, pix2pix and
    repair are served through the same dropdowns and tested through the API (tests/test_own_images.py); in the
    page, the emoji tour below and tests/test_browser.py drive those tabs. Cut from a five-tab tour on 2026-12-03:
    the suite is CPU-bound and each click costs Chromium 3-6 CPU-seconds (docs/performance.md)."""
    problems: list[str] = []
    with _watched_page(app_url, problems) as page:

        # GAN: the folder GAN by path; the class picker shows the folder's class names
        load_gan_repo(page, str(trained["gan"]))
        page.locator("#gan-class input").click()
        expect(page.get_by_role("option", name="triangle")).to_be_visible(timeout=10_000)
        page.get_by_role("option", name="triangle").click()
        _drag_and_see_change(page, "#gan-dir-1", "gan", 0.85)
        page.screenshot(path=str(shots / "colour_1_gan.png"), full_page=True)

        # Augment: the folder GAN's classes, a colour ZIP
        page.get_by_role("tab", name="Repair & augment").click()
        page.get_by_role("tab", name="Augment", exact=True).click()
        _pick_model(page, "ag-model", str(trained["gan"]))
        expect(page.locator("#ag-classes")).to_contain_text("circle", timeout=30_000)
        page.locator("#ag-run").click()
        expect(page.locator("#ag-zip")).to_contain_text("circle-square-triangle", timeout=60_000)
        page.screenshot(path=str(shots / "colour_2_augment.png"), full_page=True)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_tour_with_the_emoji_models(app_url, shots):
    """Every tab with a shipped emoji model selected: the GAN tab opens on it (the default page is in colour),
    the VAE tab swaps in two held-out emoji when emoji-vae is picked, sketch-to-colour colours a line
    drawing and the CycleGAN turns a Noto emoji into OpenMoji, and the Augment tab lists the emoji groups.
    First, before anything is touched: every tab's worked example (_first_visit), the Repair tab's included."""
    problems: list[str] = []
    with _watched_page(app_url, problems) as page:
        _first_visit(page, shots)

        # GAN: the page opens on the 64-px emoji GAN; the class picker lists the Unicode groups
        expect(page.locator("#gan-model input")).to_have_value(DEFAULT_GAN, timeout=30_000)
        shown_picture(page, "gan")
        page.locator("#gan-class input").click()
        page.get_by_role("option", name="animals & nature", exact=True).click()
        settled(page)  # the class's new latents and the redraw
        _drag_and_see_change(page, "#gan-dir-1", "gan", 0.85)
        page.screenshot(path=str(shots / "emoji_1_gan.png"), full_page=True)
        # the measured attribute sliders: "→ more flags-like" at 1 turns the animals into flags, in the page
        expect(page.locator("#gan-attr-15")).to_contain_text("more flags-like")
        page.get_by_role("button", name="Reset directions").click()
        settled(page)
        before = shown_picture(page, "gan")
        set_number(page, "gan-attr-15", 1.0)
        assert wait_for_new_picture(page, "gan", before).startswith("page:")
        page.locator("#gan-attr-15").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "gan_attributes.png"))  # the README's (scripts/readme_screenshots.sh)
        set_number(page, "gan-attr-15", 0.0)

        # VAE: pick emoji-vae; two held-out emoji replace the digits; move t
        page.get_by_role("tab", name="VAE interpolation").click()
        _pick_model(page, "vae-model", "emoji-vae")
        explained(page, "emoji-vae's in-page graph and a held-out emoji as image A", "#vae-A",
                  lambda: page.wait_for_function("() => window.genlab.vae.spec && window.genlab.vae.spec.onnx"
                                                 ".includes('vae-') && document.querySelector('#vae-A img')?.src"
                                                 ".includes('emoji')", timeout=60_000))
        settled(page)
        _drag_and_see_change(page, "#vae-t", "vae", 0.1)
        page.screenshot(path=str(shots / "emoji_2_vae.png"), full_page=True)

        # Translation: emoji-sketch2color on a held-out emoji's line drawing (an example)
        page.get_by_role("tab", name="Translation (pix2pix, CycleGAN)").click()
        before = image_src(page, "#tr-output", timeout=120_000)
        _pick_model(page, "tr-model", "emoji-sketch2color")
        page.locator("#tr-examples .gallery-item").first.click()
        wait_for_new_src(page, "#tr-output", before)
        page.screenshot(path=str(shots / "emoji_3_translate.png"), full_page=True)
        # ... and unpaired: a Noto emoji (an example) back to OpenMoji with the CycleGAN, beside its cycle
        before = image_src(page, "#cy-output", timeout=120_000)  # the worked example: an OpenMoji emoji, A -> B
        page.locator("#cy-examples .gallery-item").nth(1).click()  # noto_emoji_0_smileys-emotion.png
        page.get_by_label("B → A: Noto Color Emoji → OpenMoji").check()  # the directions in the domains' names
        wait_for_new_src(page, "#cy-output", before)
        expect(page.locator("#cy-cycle img")).to_be_visible(timeout=60_000)
        expect(page.locator("#cy-domains")).to_contain_text("Noto Color Emoji")
        page.locator("#cy-output").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "emoji_3b_translate_unpaired.png"), full_page=True)

        # Repair: its worked example was checked in _first_visit; painting a stroke and repairing is
        # tests/test_browser.py's, the emoji VAE's and GAN's repairs are tests/test_emoji_models.py's (API)
        page.get_by_role("tab", name="Repair & augment").click()

        # Augment: the emoji GAN's groups and the measured gain table for emoji (pressing Generate is the digit and
        # colour tours'; the emoji ZIP is tests/test_emoji_models.py's, through the API)
        page.get_by_role("tab", name="Augment", exact=True).click()
        _pick_model(page, "ag-model", "emoji-cgan")
        expect(page.locator("#ag-classes")).to_contain_text("animals & nature", timeout=30_000)
        expect(page.locator("#ag-results-emoji")).to_contain_text("generated emoji")
        page.screenshot(path=str(shots / "emoji_4_augment.png"), full_page=True)
    assert {"emoji_1_gan.png", "emoji_2_vae.png", "emoji_3_translate.png", "emoji_3b_translate_unpaired.png",
            "emoji_4_augment.png"} <= {f.name for f in shots.iterdir()}
    assert not problems, "\n".join(problems)
