"""The Translation tab's "Import a CycleGAN / pix2pix checkpoint" in headless Chromium, as a visitor uses it: upload
the zoo's horse2zebra.pth (a random-weight fixture in upstream's layout), press Import; the model box shows it by its
direction, a scikit-image photo example translates at its own size and the note says how; then a CycleGAN's G_A and
G_B uploaded together land in the CycleGAN box, whose direction labels name the domains, and translate an example and
back. Fails on any console error; the screenshots are kept with the tour's."""

from __future__ import annotations

import pytest
from test_browser_tour import _watched_page

from playwright.sync_api import expect

from genlab.testing import explained, image_src, wait_for_new_src

pytestmark = pytest.mark.slow


def _upload(page, elem_id: str, paths) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files([str(p) for p in paths])
    for p in paths:
        row = page.locator(f"#{elem_id} [aria-label={p.name!r}]")
        explained(page, f"{p.name} listed in #{elem_id}", f"#{elem_id}",
                  lambda: row.wait_for(state="visible", timeout=30_000))


def _import(page, paths, name: str, domains: str = "") -> None:
    _upload(page, "tr-import-files", paths)
    page.locator("#tr-import-name textarea, #tr-import-name input").first.fill(name)
    page.locator("#tr-import-domains textarea, #tr-import-domains input").first.fill(domains)
    page.locator("#tr-import").click()
    expect(page.locator("#tr-import-status")).to_contain_text(f"as {name}", timeout=60_000)


def test_a_visitor_imports_zoo_translators_and_translates_a_photo(app_url, shots, zoo):
    problems: list[str] = []
    with _watched_page(app_url, problems) as page:
        page.get_by_role("tab", name="Translation (pix2pix, CycleGAN)").click()
        before = image_src(page, "#tr-output")  # the tab's worked example (a digit)
        page.get_by_text("Import a CycleGAN / pix2pix checkpoint").click()
        _import(page, [zoo / "horse2zebra.pth"], "browser-h2z")
        expect(page.locator("#tr-import-card")).to_contain_text("horse → zebra")
        expect(page.locator("#tr-model input")).to_have_value("horse → zebra (browser-h2z)", timeout=30_000)
        # the cat from scikit-image's photos (451 x 300): translated at 452 x 300, one answer in eval mode
        page.locator("#tr-photo-examples").get_by_role("button").nth(1).click()
        wait_for_new_src(page, "#tr-output", before, timeout=60_000)
        expect(page.locator("#tr-note")).to_contain_text("horse → zebra at 452×300 px", timeout=60_000)
        expect(page.locator("#tr-note")).to_contain_text("eval mode")
        width = page.evaluate("() => document.querySelector('#tr-output img').naturalWidth")
        assert width == 452
        page.screenshot(path=str(shots / "translate_imported_horse2zebra.png"), full_page=True)
        # a CycleGAN pair: both files at once; its box and direction labels name the domains
        cycle_before = image_src(page, "#cy-output")
        _import(page, [zoo / "horse2zebra" / "latest_net_G_A.pth", zoo / "horse2zebra" / "latest_net_G_B.pth"],
                "browser-pair", "horse, zebra")
        expect(page.locator("#cy-model input")).to_have_value("horse ↔ zebra (browser-pair)", timeout=30_000)
        expect(page.locator("#cy-direction")).to_contain_text("A → B: horse → zebra")
        page.locator("#cy-photo-examples").get_by_role("button").first.click()  # the astronaut, 512 x 512
        wait_for_new_src(page, "#cy-output", cycle_before, timeout=60_000)
        # the new model first re-translates the emoji the box held; then the astronaut's own translation and cycle
        explained(page, "the astronaut translated at 512 x 512, and its cycle", "#cy-output",
                  lambda: page.wait_for_function(
                      "() => ['#cy-output', '#cy-cycle'].every(s => { const i = document.querySelector(s + ' img');"
                      " return i && i.complete && i.naturalWidth === 512; })", timeout=60_000))
        expect(page.locator("#cy-domains")).to_contain_text("translates photos at their own size")
        page.locator("#cy-photo-examples").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "translate_imported_cyclegan_pair.png"), full_page=True)
    assert not problems, problems
