"""The in-page generator in headless Chromium: the page's picture equals the server's for the same
controls, a slider still redraws while the server is frozen, input-to-frame times are recorded, and a
browser without WebAssembly gets the server path with a note saying so."""

from __future__ import annotations

import json
import os
import signal
import statistics
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from test_browser import ARGS, CHROMIUM

from genlab.hub import CHECKPOINTS_DIR, DEFAULT_GAN
from genlab.testing import (explained, load_gan_repo, pick_gan_model, record_requests, set_number, settled,
                            shown_picture, wait_for_new_picture)

ATTRIBUTE_SLIDERS = 20  # genlab.tasks.attributes.MAX_SLIDERS
# the first page's model opens at its own truncation (its config.json's psi, chosen by genlab eval truncation)
DEFAULT_PSI = json.loads((CHECKPOINTS_DIR / DEFAULT_GAN / "config.json").read_text()).get("psi", 1.0)
EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


@pytest.fixture(scope="module")
def app(app_server):
    """The session's server (one test freezes it for a moment, and lets it go on)."""
    return app_server


@pytest.fixture(scope="module")
def playwright():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    yield b
    b.close()


def _page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    record_requests(page)
    page.problems = []
    page.joins = []  # events sent to the server's queue
    page.on("request", lambda r: page.joins.append(r.url) if "/queue/join" in r.url else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("console", lambda m: page.problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(url)
    return page


def _set_offsets(page, offsets: list[float]) -> None:
    """The 6 direction sliders, then the attribute sliders (as many as given)."""
    for k, o in enumerate(offsets):
        _set(page, f"gan-dir-{k + 1}" if k < 6 else f"gan-attr-{k - 5}", o)


@pytest.fixture(scope="module")
def digits_page(app, browser):
    """One page on the digit GAN, shared by the digit tests (each sets every control it depends on)."""
    page = _page(browser, app[0])
    shown_picture(page, "gan")
    pick_gan_model(page, "mnist-cgan")
    yield page
    page.close()


@pytest.fixture(scope="module")
def default_page(app, browser):
    """One page as a visitor opens it (the colour emoji GAN), shared by the tests that start there."""
    page = _page(browser, app[0])
    shown_picture(page, "gan")
    yield page
    page.close()


def _canvas(page, canvas_id: str) -> np.ndarray:
    data = page.evaluate("""(id) => { const c = document.getElementById(id);
        return {w: c.width, h: c.height, px: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)}; }""",
                         canvas_id)
    return np.asarray(data["px"], dtype=np.uint8).reshape(data["h"], data["w"], 4)[..., :3]


def _server_at_canvas_size(path: str, canvas: np.ndarray) -> np.ndarray:
    """The server's PNG (upscaled by an integer factor, nearest) brought back to the canvas's pixels."""
    img = np.asarray(Image.open(path).convert("RGB"))
    factor = img.shape[1] // canvas.shape[1]
    assert factor >= 1 and img.shape[:2] == (canvas.shape[0] * factor, canvas.shape[1] * factor), (img.shape, canvas.shape)
    return img[::factor, ::factor]


def _drawn(page, prefix: str, controls: dict, spec: dict | None = None):
    """Wait until the page has drawn exactly these controls (and, if given, a spec with these fields); a timeout
    says what the drawer last drew instead."""
    explained(page, f"the {prefix} tab to draw {controls} in the page", f"#{prefix}-output, #{prefix}-current",
              lambda: page.wait_for_function(
                  "([p, c, s]) => { const d = window.genlab[p]; return d.mode === 'page' && !d.busy && !d.next "
                  "&& d.lastKey === JSON.stringify(c) && Object.entries(s).every(([k, v]) => d.drawnSpec[k] === v); }",
                  arg=[prefix, controls, spec or {}], timeout=30_000))


def _set(page, elem_id: str, value) -> None:
    """set_number, only where the box does not already hold the value (a shared page keeps the last test's)."""
    box = page.locator(f"#{elem_id} input[type=number]")
    if not value and box.count() == 0:
        return  # a slider this model does not have (hidden) stays at 0
    try:
        same = float(box.first.input_value()) == float(value)
    except ValueError:
        same = False
    if not same:
        set_number(page, elem_id, value)


def _gan_parity(page, url, model: str, repo: str, seed: int, label: str, psi: float, n: int, offsets: list[float],
                attributes: list[float] = ()):
    if repo:
        load_gan_repo(page, repo)
    elif page.locator("#gan-model input").input_value() != model:
        pick_gan_model(page, model)
    set_number(page, "gan-seed", seed)
    if page.locator("#gan-class input").input_value() != label:
        page.locator("#gan-class input").click()
        page.get_by_role("option", name=label, exact=True).click()
    _set(page, "gan-psi", psi)
    _set(page, "gan-n", n)
    every = [*offsets, *attributes, *[0.0] * (ATTRIBUTE_SLIDERS - len(attributes))]
    _set_offsets(page, every)
    label_index = page.evaluate("window.genlab.gan.spec.label") if label != "any" else None
    _drawn(page, "gan", {"psi": psi, "n": n, "offsets": every}, {"seed": seed, "label": label_index})
    in_page = _canvas(page, "gan-canvas")
    server = Client(url, verbose=False).predict(model, repo, seed, label, psi, n, *every, api_name="/sample")
    diff = np.abs(in_page.astype(int) - _server_at_canvas_size(server, in_page).astype(int))
    return in_page, diff


@pytest.mark.slow
def test_page_draws_what_the_server_draws_digits(app, digits_page):
    url, page = app[0], digits_page
    in_page, diff = _gan_parity(page, url, "mnist-cgan", "", 7, "3", 0.8, 9, [1.5, 0.0, -2.0, 0.0, 0.75, 0.0])
    print(f"digits 3x3 grid: max abs difference {diff.max()}/255, mean {diff.mean():.4f}")
    assert in_page.shape == (3 * 30 + 2, 3 * 30 + 2, 3) and in_page.std() > 10  # a 3x3 grid of 28-px digits
    assert diff.max() <= 2
    # the module, the runtime and the graph came from this server (no CDN)
    ours = [r for r in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
            if any(k in r for k in ("genlab.js", "onnxruntime", ".onnx"))]
    assert len(ours) >= 4 and all(r.startswith(url) for r in ours), ours
    assert not page.problems, page.problems


def test_vae_t_in_the_page_matches_the_server(app, default_page):
    url, page = app[0], default_page
    page.get_by_role("tab", name="VAE interpolation").click()
    shown_picture(page, "vae")
    set_number(page, "vae-t", 0.3)
    _drawn(page, "vae", {"t": 0.3})
    in_page = _canvas(page, "vae-canvas")
    a, b = sorted(EXAMPLES.glob("digit_*.png"))[1], sorted(EXAMPLES.glob("digit_*.png"))[7]  # the tab's defaults
    server = Client(url, verbose=False).predict(handle_file(str(a)), handle_file(str(b)), 0.3, "spherical",
                                                "mnist-vae", api_name="/interpolate")
    diff = np.abs(in_page.astype(int) - _server_at_canvas_size(server, in_page).astype(int))
    print(f"VAE at t=0.3: max abs difference {diff.max()}/255")
    assert diff.max() <= 2 and in_page.std() > 10
    # the traversal at t, as the server draws it (interpolation.traversal, 7 steps per row)
    import genlab
    from genlab.images import to_pil_grid
    from genlab.tasks.interpolation import encode, interpolate_latent, traversal

    vae = genlab.load("mnist-vae")
    z = interpolate_latent(encode(vae, str(a))[0], encode(vae, str(b))[0], 0.3, "spherical")
    expected = np.asarray(to_pil_grid(traversal(vae, z)[0], nrow=7).convert("RGB"))
    page_traversal = _canvas(page, "vae-traversal-canvas")
    assert page_traversal.shape == expected.shape == (8 * 30 + 2, 7 * 30 + 2, 3)  # 8 ranked dimensions x 7 steps
    assert np.abs(page_traversal.astype(int) - expected.astype(int)).max() <= 2
    # dragging t (press, moves, release) redraws in the page and sends the server nothing
    settled(page)  # the events of the set_number above have all come back
    page.joins.clear()
    before = shown_picture(page, "vae")
    _drag(page, "vae-t", 0.9, steps=10)
    wait_for_new_picture(page, "vae", before)
    page.wait_for_timeout(500)  # a window for a request that must not come (a negative check needs one)
    assert page.joins == []
    assert not page.problems, page.problems


def _drag(page, slider: str, frac: float, steps: int = 20):
    page.locator(f"#{slider} input[type=range]").scroll_into_view_if_needed()
    box = page.locator(f"#{slider} input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * frac, y, steps=steps)
    page.mouse.up()


def test_attribute_sliders_draw_in_the_page_what_the_server_draws(app, digits_page):
    """The digit GAN's measured sliders (slant: a z direction; "more 7-like": a class blend) drawn in the page
    equal the server's /sample for the same values."""
    url, page = app[0], digits_page
    attributes = [0.0, 0.0, 2.0] + [0.0] * 7 + [0.6]  # slant +2, "more 7-like" 0.6
    in_page, diff = _gan_parity(page, url, "mnist-cgan", "", 5, "any", 1.0, 9, [0.0] * 6, attributes)  # picks it
    expect(page.locator("#gan-attr-3")).to_contain_text("slant")
    expect(page.locator("#gan-attr-11")).to_contain_text("more 7-like")
    print(f"digits with attribute sliders: max abs difference {diff.max()}/255, mean {diff.mean():.4f}")
    assert diff.max() <= 2 and in_page.std() > 10
    assert not page.problems, page.problems


def test_sliders_redraw_while_the_server_is_frozen(app, default_page):
    """After the page has loaded, the server process is stopped (SIGSTOP): no request can be answered.
    Dragging a direction slider, and then an attribute slider, still changes the picture, once per input event."""
    proc, page = app[1], default_page
    page.get_by_role("tab", name="GAN sampling").click()
    _set_offsets(page, [0.0] * (6 + ATTRIBUTE_SLIDERS))
    # the default page opens the 64-px emoji GAN at its own truncation, drawn in the page
    _drawn(page, "gan", {"psi": DEFAULT_PSI, "n": 16, "offsets": [0.0] * (6 + ATTRIBUTE_SLIDERS)})
    before = shown_picture(page, "gan")
    assert before.startswith("page:")
    page.evaluate("window.genlab.gan.resetTimings()")
    page.joins.clear()
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        _drag(page, "gan-dir-2", 0.9)
        after = wait_for_new_picture(page, "gan", before, timeout=10_000)
        timings, written, first = page.evaluate(
            "[window.genlab.gan.timings, window.genlab.gan.written, window.genlab.gan.inFirstFrame]")
        _drag(page, "gan-attr-1", 0.9)  # an attribute slider (the emoji GAN's first measure)
        moved = wait_for_new_picture(page, "gan", after, timeout=10_000)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert after.startswith("page:") and moved.startswith("page:")
    assert page.joins == []  # the drags sent the server nothing
    assert len(timings) >= 10  # 20 mouse moves: a frame for (nearly) every input event
    expect(page.locator("#gan-web-note")).to_contain_text("ms from slider to frame")  # a warm frame's own time
    _check_and_print_timings("frozen server, 64-px emoji GAN, n=16", timings, written, first)


def test_page_draws_what_the_server_draws_on_the_first_page(app, default_page):
    """The first page's model (the 64-px emoji cascade: the 32-px GAN and its learned upsampler in one graph),
    16 images with a class, two directions and an attribute slider moved: the page equals /sample."""
    url, page = app[0], default_page
    page.get_by_role("tab", name="GAN sampling").click()
    in_page, diff = _gan_parity(page, url, DEFAULT_GAN, "", 11, "animals & nature", DEFAULT_PSI, 16,
                                [0.0, 1.5, 0.0, 0.0, -1.0, 0.0], [0.8])
    print(f"64-px emoji 4x4 grid: max abs difference {diff.max()}/255, mean {diff.mean():.4f}")
    assert in_page.shape == (4 * 66 + 2, 4 * 66 + 2, 3) and in_page.std() > 10
    assert diff.max() <= 2
    assert not page.problems, page.problems


def _check_and_print_timings(what: str, timings: list, written: list, first: list) -> None:
    """The page's records of one drag: one entry per shown frame in each list, pixels written before they are
    shown; the figures are printed (and measured for every combination in benchmarks/browser_sliders.py), never
    asserted as a wall-clock limit."""
    assert len(written) == len(first) == len(timings)
    assert all(0 < w <= t < 10_000 for w, t in zip(written, timings))
    print(f"{what}: input to frame p50 {statistics.median(timings):.1f} ms, pixels written p50 "
          f"{statistics.median(written):.1f} ms, first frame after the input {100 * sum(first) / len(first):.0f} % of "
          f"{len(timings)} inputs")


def test_input_to_frame_times_are_recorded(app, digits_page):
    """Measured in the page (input event -> the animation frame showing its picture) for one 28-px digit; the
    default grid of the 64-px emoji GAN is the frozen-server test's."""
    page = digits_page
    page.get_by_role("tab", name="GAN sampling").click()
    _set(page, "gan-psi", 1.0)
    _set(page, "gan-n", 1)
    _set_offsets(page, [0.0] * (6 + ATTRIBUTE_SLIDERS))
    _drawn(page, "gan", {"psi": 1.0, "n": 1, "offsets": [0.0] * (6 + ATTRIBUTE_SLIDERS)})
    page.evaluate("window.genlab.gan.resetTimings()")
    _drag(page, "gan-dir-1", 0.1, steps=30)
    timings, written, first = page.evaluate(
        "[window.genlab.gan.timings, window.genlab.gan.written, window.genlab.gan.inFirstFrame]")
    assert len(timings) >= 15
    _check_and_print_timings("28-px digit GAN, n=1", timings, written, first)
    assert not page.problems, page.problems


def test_without_webassembly_the_page_says_so_and_the_server_draws(app, browser):
    url, _ = app
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.add_init_script("delete window.WebAssembly")  # a browser without WebAssembly (V8's flag for it is gone)
    try:
        page = context.new_page()
        page.goto(url)
        expect(page.locator("#gan-web-note")).to_contain_text("Drawn on the server", timeout=60_000)
        expect(page.locator("#gan-web-note")).to_contain_text("WebAssembly")
        before = shown_picture(page, "gan")
        assert before.startswith("server:")
        expect(page.locator("#gan-canvas")).to_be_hidden()
        _drag(page, "gan-dir-1", 0.85, steps=5)
        assert wait_for_new_picture(page, "gan", before).startswith("server:")
    finally:
        context.close()


def test_the_runtime_and_graphs_are_served_by_the_app(app):
    """No CDN: the page's module, the runtime and the wasm come from the app itself."""
    import urllib.request

    url, _ = app
    web = Path(__file__).resolve().parent.parent / "genlab" / "web"
    for rel, kind in [("genlab.js", "javascript"), ("vendor/onnxruntime-web/ort.wasm.bundle.min.mjs", "javascript")]:
        with urllib.request.urlopen(f"{url}gradio_api/file={(web / rel).as_posix()}", timeout=10) as r:
            assert kind in r.headers["content-type"], (rel, r.headers["content-type"])
    with urllib.request.urlopen(f"{url}gradio_api/file={(web / 'vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm.gz').as_posix()}",
                                timeout=30) as r:
        import gzip

        assert gzip.decompress(r.read())[:4] == b"\0asm"


def test_page_draws_what_the_server_draws_imported_stylegan(app, default_page, tmp_path, foreign):
    """An imported StyleGAN2 (a fixture written by NVIDIA's code) small enough for the page: the page's
    ``z * psi + offsets`` on codes relative to w_avg is the reference's truncation in W, drawn by the exported graph."""
    from genlab.formats import import_checkpoint

    folder = import_checkpoint(foreign / "sg2_uncond_skip_32.pkl", "sg2-page", tmp_path).folder
    url, page = app[0], default_page
    page.get_by_role("tab", name="GAN sampling").click()
    in_page, diff = _gan_parity(page, url, "mnist-cgan", str(folder), 4, "any", 0.7, 4, [2.0, 0.0, -1.5, 0.0, 0.0, 0.0])
    print(f"imported StyleGAN2 2x2 grid: max abs difference {diff.max()}/255, mean {diff.mean():.4f}")
    expect(page.locator("#gan-web-note")).to_contain_text("Drawn in this browser")
    assert in_page.shape == (2 * 34 + 2, 2 * 34 + 2, 3)
    assert diff.max() <= 2
    assert not page.problems, page.problems


def test_page_draws_what_the_server_draws_colour_model(app, default_page, trained):
    """A colour GAN trained on a user's folder, loaded by path into the default page (last: it leaves the page on
    that model; a page of its own cost Chromium another load)."""
    url, page = app[0], default_page
    page.get_by_role("tab", name="GAN sampling").click()
    in_page, diff = _gan_parity(page, url, "mnist-cgan", str(trained["gan"]), 3, "square", 0.9, 4,
                                [0.0, 2.5, 0.0, -1.0, 0.0, 0.0])
    print(f"colour 2x2 grid: max abs difference {diff.max()}/255, mean {diff.mean():.4f}")
    assert in_page.shape == (2 * 34 + 2, 2 * 34 + 2, 3)
    assert (in_page[..., 0] != in_page[..., 2]).any()  # colour, not grey
    assert diff.max() <= 2
    assert not page.problems, page.problems


def test_the_page_is_cross_origin_isolated_and_draws_on_every_core(app, default_page):
    """The app sends COOP/COEP headers, so the page may use WebAssembly threads (SharedArrayBuffer): up to 4, at
    most the cores (2 here). Headless Chromium here offers no WebGPU adapter, so the page says why it is not on
    WebGPU and draws on WebAssembly (the fallback a visitor without WebGPU gets)."""
    import urllib.request

    with urllib.request.urlopen(app[0], timeout=30) as r:
        assert r.headers["cross-origin-opener-policy"] == "same-origin"
        assert r.headers["cross-origin-embedder-policy"] == "credentialless"
    page = default_page
    page.get_by_role("tab", name="GAN sampling").click()
    runtime = page.evaluate("window.genlab.gan.spec && window.genlab.runtime")
    cores = page.evaluate("navigator.hardwareConcurrency")
    assert runtime["isolated"] and page.evaluate("crossOriginIsolated")
    assert runtime["threads"] == max(1, min(4, cores)), (runtime, cores)
    assert runtime["backend"] == "wasm" and runtime["webgpuError"], runtime
    threads = runtime["threads"]
    expect(page.locator("#gan-web-note")).to_contain_text(
        f"WebAssembly, {threads} thread{'s' if threads > 1 else ''}")
    assert not page.problems, page.problems


def test_a_webgpu_that_fails_falls_back_to_webassembly(app, browser):
    """A browser whose WebGPU offers an adapter that cannot make a device (stubbed here: this Chromium has none):
    the page loads the WebGPU build, its session fails, and the page draws on WebAssembly and says why."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.add_init_script("""Object.defineProperty(navigator, 'gpu', {value: {
        requestAdapter: async () => ({features: new Set(), limits: {}, info: {},
            requestDevice: async () => { throw new Error('stub adapter: no device'); }}),
        getPreferredCanvasFormat: () => 'rgba8unorm'}, configurable: true});""")
    try:
        page = context.new_page()
        page.goto(app[0])
        expect(page.locator("#gan-web-note")).to_contain_text("Drawn in this browser", timeout=60_000)
        runtime = page.evaluate("window.genlab.runtime")
        assert runtime["backend"] == "wasm" and runtime["webgpuError"], runtime
        assert "no adapter" not in runtime["webgpuError"]  # it got as far as the stubbed adapter
        loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert any("ort.webgpu.bundle" in r for r in loaded) and any("ort.wasm.bundle" in r for r in loaded)
        assert shown_picture(page, "gan").startswith("page:")
    finally:
        context.close()
