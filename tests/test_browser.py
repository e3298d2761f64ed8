"""The real page in headless Chromium (Debian's /usr/bin/chromium) driven by Playwright: a tour of every tab with the
digit models on one shared page. Each tab's main control is exercised and screenshot (the "shots" folder); any page
error, console error or failed load fails the test that caused it."""

import os
import re
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from genlab.testing import (explained, image_src, record_requests, settled, shown_picture, wait_for_new_picture,
                            wait_for_new_src)

CHROMIUM = os.environ.get("GENLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# WebGL through SwiftShader (software), not --disable-gpu: the image editor's canvas (Repair tab, sketch pads) drew
# without it so slowly that the page's main thread was busy for seconds after each stroke, and every Playwright
# action waited on it. Measured 2026-12-03, the colour tour alone: 105 s with --disable-gpu, 39 s with these (its
# Repair steps 41 s against 9 s). The page's ONNX runs on WebAssembly either way (genlab.js: "wasm" only).
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def page(app_url, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (make test does it).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        record_requests(page)
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(f"page error: {e}"))
        page.on("console", lambda m: page.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("requestfailed", lambda r: page.errors.append(f"request failed: {r.url} {r.failure}")
                if "ERR_ABORTED" not in (r.failure or "") else None)  # queue streams the page itself aborts
        page.goto(app_url)
        yield page
        browser.close()


def repair_iterations(page, n: int):
    """Set the Repair tab's iterations (the browser tests check that a method runs and shows its result, not how
    well: that is tests/test_inpainting.py and the measured tables)."""
    iterations = page.locator("input[aria-label^='number input for Iterations']")
    expect(iterations).to_have_count(1)  # no silent fallback to the default 300 iterations
    iterations.fill(str(n))
    iterations.press("Enter")


def _output_src(page) -> str:
    return shown_picture(page, "gan")


def test_dragging_a_direction_slider_changes_the_image(page, shots):
    before = _output_src(page)
    page.screenshot(path=str(shots / "1_gan.png"), full_page=True)  # as a visitor first sees it
    slider = page.locator("#gan-dir-1 input[type=range]")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)  # the thumb sits in the middle (0)
    page.mouse.down()
    for frac in (0.6, 0.7, 0.8, 0.9):
        page.mouse.move(box["x"] + box["width"] * frac, y, steps=3)
    page.mouse.up()
    wait_for_new_picture(page, "gan", before)
    assert float(page.locator("#gan-dir-1 input[type=number]").input_value()) > 2
    assert page.evaluate("window.genlab.gan.mode") == "page"  # drawn in the page (see test_web_browser.py)
    rendering = page.locator("#gan-canvas").evaluate("e => getComputedStyle(e).imageRendering")
    assert rendering == "pixelated"  # 28-px digits stay crisp when the browser scales them
    assert not page.errors, page.errors


def test_random_seed_button_changes_the_image(page):
    before = _output_src(page)
    seed_before = page.locator("#gan-seed input").input_value()
    page.locator("#gan-random").click()
    expect(page.locator("#gan-seed input")).not_to_have_value(seed_before, timeout=10_000)
    wait_for_new_picture(page, "gan", before)
    assert not page.errors, page.errors


def test_vae_tab_upload_two_images_and_move_t(page, tmp_path, shots):
    from pathlib import Path

    from PIL import Image, ImageDraw

    page.get_by_role("tab", name="VAE interpolation").click()
    shown_picture(page, "vae")  # the tab's worked example: two held-out digits
    page.screenshot(path=str(shots / "2_vae.png"), full_page=True)
    # two user images, dark on light as people draw them: a '0' and a '1'
    for name, shape in (("zero.png", "ellipse"), ("one.png", "line")):
        img = Image.new("RGB", (300, 300), "white")
        d = ImageDraw.Draw(img)
        if shape == "ellipse":
            d.ellipse((90, 40, 210, 260), outline="black", width=22)
        else:
            d.line((150, 40, 150, 260), fill="black", width=22)
        img.save(tmp_path / name)
    for which, name in (("A", "zero.png"), ("B", "one.png")):
        page.locator(f"#vae-{which} input[type=file]").set_input_files(str(Path(tmp_path / name)))
    expect(page.locator("#vae-A img")).to_have_attribute("src", re.compile("zero"), timeout=30_000)
    expect(page.locator("#vae-B img")).to_have_attribute("src", re.compile("one"), timeout=30_000)
    shown_picture(page, "vae")
    settled(page)  # the uploads' events (encode A and B, the spec, the strip) have all come back
    before = shown_picture(page, "vae")
    slider = page.locator("#vae-t input[type=range]")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, y, steps=5)
    page.mouse.up()
    wait_for_new_picture(page, "vae", before)
    assert float(page.locator("#vae-t input[type=number]").input_value()) > 0.8
    expect(page.locator("#vae-traversal-canvas")).to_be_visible(timeout=30_000)
    page.screenshot(path=os.environ.get("GENLAB_SCREENSHOT_VAE", str(tmp_path / "vae_tab.png")), full_page=True)
    assert not page.errors, page.errors


def test_translation_tab_draw_strokes_with_the_mouse(page, shots):
    page.get_by_role("tab", name="Translation (pix2pix, CycleGAN)").click()
    before = image_src(page, "#tr-output", timeout=120_000)  # the worked example
    page.screenshot(path=str(shots / "3_translate.png"), full_page=True)
    page.locator("#tr-sketch").get_by_role("button", name="Brush").click()  # Gradio's sketchpad starts with no tool
    canvas = page.locator("#tr-sketch canvas").first
    expect(canvas).to_be_visible(timeout=30_000)
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2  # the drawing area is centred
    # a '7': top bar, then the diagonal
    page.mouse.move(cx - 60, cy - 80)
    page.mouse.down()
    page.mouse.move(cx + 60, cy - 80, steps=10)
    page.mouse.move(cx - 10, cy + 90, steps=10)
    page.mouse.up()
    wait_for_new_src(page, "#tr-output", before)  # the drawing's translation replaced it
    expect(page.locator("#tr-seen img")).to_be_visible(timeout=10_000)
    assert not page.errors, page.errors



def _canvas_ready(page) -> None:
    """The repair editor's canvas has its size (it gets it after it appears) and the page's events are back."""
    explained(page, "the repair editor's canvas to get its size", "#rp-editor", lambda: page.wait_for_function(
        "() => { const c = document.querySelector('#rp-editor canvas');"
        " return c && c.width > 0 && c.height > 0 && c.getBoundingClientRect().width > 0; }", timeout=30_000))
    settled(page)


def _upload_and_paint(page, image: str, start: tuple[int, int], end: tuple[int, int]) -> None:
    """Upload an image into the repair editor and paint one brush stroke from start to end (offsets from the centre,
    where the image sits)."""
    page.locator("#rp-editor input[type=file]").set_input_files(image)
    page.locator("#rp-editor").get_by_role("button", name="Brush", exact=True).click()
    canvas = page.locator("#rp-editor canvas").first
    expect(canvas).to_be_visible(timeout=30_000)
    _canvas_ready(page)
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx + start[0], cy + start[1])
    page.mouse.down()
    page.mouse.move(cx + end[0], cy + end[1], steps=10)
    page.mouse.up()


def test_repair_tab_upload_paint_a_stroke_and_repair_by_vae_then_deep_image_prior(page, shots):
    """Upload a 7, paint across it, repair by the digit VAE's latent search; then the same stroke by the deep image
    prior (the method for any photo), so one upload and stroke serve both (each click costs Chromium 3-6
    CPU-seconds: docs/performance.md; a photo's repair by the prior is tests/test_repair_e2e.py's)."""
    page.get_by_role("tab", name="Repair & augment").click()
    page.get_by_role("tab", name="Repair (inpainting)").click()
    expect(page.locator("#rp-editor canvas").first).to_be_visible(timeout=30_000)
    _canvas_ready(page)  # the editor's canvas initialises after it appears
    _upload_and_paint(page, os.path.join(os.path.dirname(__file__), "..", "genlab", "ui", "examples",
                                         "repair_digit_7.png"), (-50, -10), (50, 10))  # across the 7's diagonal
    page.get_by_label("VAE latent optimisation (digits, emoji)").check()
    repair_iterations(page, 40)
    page.locator("#rp-run").click()
    expect(page.locator("#rp-status textarea")).to_have_value(re.compile("^done: vae, 40 iterations"), timeout=90_000)
    expect(page.locator("#rp-repaired img")).to_be_visible(timeout=10_000)
    expect(page.locator("#rp-baseline img")).to_be_visible(timeout=10_000)
    expect(page.locator("#rp-candidates img")).to_have_count(6, timeout=10_000)
    before = image_src(page, "#rp-repaired")
    page.get_by_label("Deep image prior (any photo)").check()
    repair_iterations(page, 10)  # the fewest the tab allows: this checks the method runs (quality: test_inpainting)
    page.locator("#rp-run").click()
    expect(page.locator("#rp-status textarea")).to_have_value(re.compile("^done: dip, 10 iterations"), timeout=120_000)
    wait_for_new_src(page, "#rp-repaired", before)
    page.screenshot(path=str(shots / "4_repair.png"), full_page=True)
    assert not page.errors, page.errors


def test_augment_tab_generates_a_gallery_and_a_zip(page):
    page.get_by_role("tab", name="Repair & augment").click()
    page.get_by_role("tab", name="Augment", exact=True).click()
    page.locator("#ag-run").click()
    expect(page.locator("#ag-gallery img")).to_have_count(160, timeout=60_000)  # 10 classes x 16
    expect(page.locator("#ag-zip")).to_contain_text(".zip", timeout=10_000)
    expect(page.locator("#ag-results")).to_contain_text("real per class")
    assert not page.errors, page.errors


def test_augment_tab_classic_transforms_of_an_upload(page, shots):
    from pathlib import Path

    from skimage import data

    page.get_by_role("tab", name="Repair & augment").click()
    page.get_by_role("tab", name="Augment", exact=True).click()
    example = image_src(page, "#ag-classic-gallery")  # the worked example: the first photo's copies
    page.locator("#ag-source input[type=file]").set_input_files(str(Path(data.data_dir) / "chelsea.png"))
    expect(page.locator("#ag-source img")).to_have_attribute("src", re.compile("chelsea"), timeout=30_000)
    settled(page)
    page.locator("#ag-classic-run").click()
    wait_for_new_src(page, "#ag-classic-gallery", example)
    page.screenshot(path=str(shots / "5_augment.png"), full_page=True)
    assert (shots / "5_augment.png").stat().st_size > 10_000
    assert not page.errors, page.errors
