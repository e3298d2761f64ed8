"""The Train tab in headless Chromium, as a visitor uses it: upload a ZIP, press Train, watch the sample grid and
the loss plot fill in, Stop, Continue, Stop again, then pick the new model in the GAN tab. Fails on any console
error. The tab's screenshot goes with the tour's ($GENLAB_SCREENSHOTS)."""

from __future__ import annotations

import pytest
from test_browser_tour import _watched_page
from test_train_jobs import zip_folder

from playwright.sync_api import expect

from genlab.testing import (explained, image_src, make_shapes_folder, page_report, pick_gan_model, set_number,
                            settled, upload_file, wait_for_new_src)

pytestmark = pytest.mark.slow


def _state(page, app_url: str, state: str, timeout: float = 120_000) -> int:
    """Wait for the progress box to say ``state``; return its step. A job that fails meanwhile, or a timeout, fails
    the test with what the page shows and what the server says of the job (a page whose poll stopped reads
    differently from a job that never left the line)."""
    import time

    deadline = time.time() + timeout / 1000
    while True:
        shown = page.evaluate("() => { const p = document.querySelector('#tn-progress');"
                              " return p ? [p.dataset.state, p.innerText] : [null, ''] }")
        if shown[0] == state:
            return int(page.locator("#tn-progress").get_attribute("data-step"))
        if shown[0] == "failed" or time.time() > deadline:
            from gradio_client import Client

            job = page.locator("#tn-job textarea, #tn-job input").first.input_value()
            server = Client(app_url, verbose=False).predict(job, api_name="/train_status") if job else {}
            server = {k: server.get(k) for k in ("state", "step", "position", "message")}
            page.screenshot(path="/tmp/train_state_failure.png", full_page=True)
            raise AssertionError(f"waited for {state!r}; the page shows {shown[0]!r}: {shown[1]!r}; the server says "
                                 f"job {job!r}: {server} (page: /tmp/train_state_failure.png); {page_report(page, '#tn-progress')}")
        page.wait_for_timeout(250)


def _coloured_pixels(png: bytes) -> int:
    """Pixels of a plot's screenshot in a saturated colour: the loss lines (axes, grid and text are grey)."""
    import io

    import numpy as np
    from PIL import Image

    hsv = np.asarray(Image.open(io.BytesIO(png)).convert("RGB").convert("HSV"))
    return int(((hsv[..., 1] > 120) & (hsv[..., 2] > 80)).sum())


def _wait_for_lines(page, selector: str, timeout_s: float = 30) -> None:
    import time

    deadline = time.time() + timeout_s
    while _coloured_pixels(shot := page.locator(selector).screenshot()) < 200:
        if time.time() > deadline:
            page.screenshot(path="/tmp/train_plot_failure.png", full_page=True)
            raise AssertionError(f"no loss lines drawn in {selector} ({_coloured_pixels(shot)} coloured pixels; "
                                 "page: /tmp/train_plot_failure.png)")
        page.wait_for_timeout(500)


def test_train_tab_from_upload_to_the_gan_tab(app_url, shots, tmp_path):
    make_shapes_folder(tmp_path / "shapes", per_class=10, size=40)
    data = zip_folder(tmp_path / "shapes", tmp_path / "shapes.zip")
    problems: list[str] = []
    with _watched_page(app_url, problems) as page:
        settled(page)  # the page's load events (every tab's first state, this tab's restore) have come back
        page.get_by_role("tab", name="Train").click()
        upload_file(page, "tn-zip", data)
        set_number(page, "tn-minutes", 0)
        set_number(page, "tn-steps", 3000)
        set_number(page, "tn-batch", 8)
        set_number(page, "tn-every", 4)
        page.locator("#tn-name textarea, #tn-name input").first.fill("browser-gan")
        page.locator("#tn-start").click()
        expect(page.locator("#tn-summary")).to_contain_text("27 to train on", timeout=60_000)  # else: what it says
        expect(page.locator("#tn-seen img")).to_be_visible(timeout=30_000)
        _state(page, app_url, "running", timeout=240_000)  # on the shared test server a job may wait in line first
        # the grid appears and is refreshed; the loss plot gets points
        first = image_src(page, "#tn-grid", timeout=90_000)
        wait_for_new_src(page, "#tn-grid", first)
        _wait_for_lines(page, "#tn-plot-gan")
        page.screenshot(path=str(shots / "train_running.png"))

        page.locator("#tn-stop").click()
        stopped = _state(page, app_url, "stopped")
        assert 0 < stopped < 3000
        expect(page.locator("#tn-download")).to_be_visible(timeout=30_000)
        page.locator("#tn-resume").click()
        _state(page, app_url, "running")
        explained(page, f"a step past {stopped + 4}", "#tn-progress", lambda: page.wait_for_function(
            "(s) => Number(document.querySelector('#tn-progress').dataset.step) > s + 4", arg=stopped, timeout=90_000))
        page.locator("#tn-stop").click()
        assert _state(page, app_url, "stopped") > stopped
        expect(page.locator("#tn-download")).to_be_visible(timeout=30_000)  # the poll after the stop has
        settled(page)  # redrawn the grid, plot and download button (the timer stops once the job has)
        page.screenshot(path=str(shots / "train.png"), full_page=True)

        page.get_by_role("tab", name="GAN sampling").click()
        pick_gan_model(page, "browser-gan")
        page.locator("#gan-class input").click()
        assert page.get_by_role("option", name="circle", exact=True).is_visible()
        # opening the page again shows the job (its id is in the browser's storage, shared by the context's pages).
        # A second page, not a reload: a reload aborts the first page's requests in flight, and Gradio logs each
        # abort as a console error ("AbortError", "Connection errored out": a full-suite run failed on those).
        again = page.context.new_page()
        again.on("pageerror", lambda e: problems.append(f"page error (second page): {e}"))
        again.on("console", lambda m: problems.append(f"console {m.type} (second page): {m.text}")
                 if m.type == "error" else None)
        again.goto(app_url)
        again.get_by_role("tab", name="Train").click()
        assert _state(again, app_url, "stopped", timeout=60_000) > stopped
        expect(again.locator("#tn-grid img")).to_be_visible(timeout=30_000)
    assert not problems, problems
