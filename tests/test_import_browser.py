"""The GAN tab's "Import a checkpoint" in headless Chromium, as a visitor uses it: upload a StyleGAN2-ADA network
pickle (a random-weight fixture written by NVIDIA's code), name it, press Import; the card shows, the model box
holds the new model, the grid is drawn in the page (a fixture this small fits its compute budget), and the SeFa
and attribute sliders, the noise mode (then drawn by the server, the note says why) and the projection all redraw it. Fails on any console error; the screenshot is kept with the tour's."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_browser_tour import _watched_page

from playwright.sync_api import expect

from genlab.testing import explained, shown_picture, upload_file, wait_for_new_picture

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


def _slide(page, elem_id: str, value: float) -> None:
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")


def test_a_visitor_imports_a_stylegan_and_uses_every_tool(app_url, shots, foreign):
    problems: list[str] = []
    with _watched_page(app_url, problems) as page:
        first = shown_picture(page, "gan")
        page.get_by_text("Import a checkpoint (StyleGAN2-ADA, StyleGAN3, DCGAN)").click()
        upload_file(page, "gan-import-file", foreign / "sg2_uncond_skip_32.pkl")
        page.locator("#gan-import-name textarea, #gan-import-name input").first.fill("browser-sg2")
        page.locator("#gan-import").click()
        expect(page.locator("#gan-import-status")).to_contain_text("Imported sg2_uncond_skip_32.pkl as browser-sg2",
                                                                   timeout=60_000)
        expect(page.locator("#gan-import-card")).to_contain_text("SHA-256")
        expect(page.locator("#gan-model input")).to_have_value("browser-sg2", timeout=30_000)
        # a StyleGAN this small (0.006 GFLOP per image) is drawn in the page, from its exported graph. Waited for by
        # the page's own state: the grid drawn from the imported model's spec (its W has 32 dimensions; the default
        # emoji GAN's z has 64). A wait for a note or a new picture alone was met by the previous model's drawing
        # while the import's model change (names, attribute fit, export) was still running on a busy machine.
        explained(page, "the imported model's grid drawn in the page", "#gan-output",
                  lambda: page.wait_for_function(
                      "() => { const d = window.genlab.gan; return d.mode === 'page' && !d.busy && !d.next"
                      " && d.drawnSpec && d.drawnSpec.latent_dim === 32; }", timeout=120_000))
        expect(page.locator("#gan-web-note")).to_contain_text("Drawn in this browser")
        drawn = shown_picture(page, "gan")
        assert drawn != first
        expect(page.locator("#gan-noise")).to_be_visible()
        # a SeFa slider (named from the model itself), then an attribute slider fitted in W, redraw the grid
        expect(page.locator("#gan-dir-1")).to_contain_text("Direction 1:")  # named by what it measurably changes
        _slide(page, "gan-dir-1", 3)
        moved = wait_for_new_picture(page, "gan", drawn, timeout=60_000)
        attribute = page.locator("#gan-attr-1")
        expect(attribute).to_be_visible(timeout=60_000)
        _slide(page, "gan-attr-1", -3)
        moved = wait_for_new_picture(page, "gan", moved, timeout=60_000)
        # random noise is the server's (the page draws the stored noise), and the note says so
        page.locator("#gan-noise").get_by_text("random", exact=True).click()
        expect(page.locator("#gan-web-note")).to_contain_text("noise mode 'random' is drawn by the server",
                                                              timeout=60_000)
        explained(page, "the server's grid with random noise", "#gan-output",
                  lambda: page.wait_for_function("() => window.genlab.gan.mode === 'server' && "
                                                 "window.genlab.picture('gan').startsWith('server:')",
                                                 timeout=60_000))
        moved = shown_picture(page, "gan")
        page.screenshot(path=str(shots / "gan_imported_stylegan.png"), full_page=True)
        # projection of an upload into W: the grid then starts with it
        page.get_by_text("Your image on the sliders: project it into the GAN").click()
        page.locator("#gan-project-input input[type=file]").set_input_files(str(EXAMPLES / "emoji_0_smileys-emotion.png"))
        page.locator("#gan-project").click()
        expect(page.locator("#gan-project-status")).to_contain_text("Projected", timeout=120_000)
        explained(page, "the projection's grid", "#gan-output",
                  lambda: wait_for_new_picture(page, "gan", moved, timeout=60_000))
    assert not problems, problems
