"""Slider to pixels: the in-page generator (ONNX Runtime Web in headless Chromium) beside the
server round trip (gradio_client /sample), alone and while 32 gradio_client users load the server.

    python benchmarks/browser_sliders.py [--moves 60] [--users 32] [--no-load] [--models emoji-64] [--page-threads 1,max]

For each model and grid size, a direction slider is dragged with the mouse (--moves input events);
the page records, per input event, the time to the animation frame that shows its picture (p50/p95),
the time to the pixels written on the canvas, and how often the picture was in the first frame after
the input. In the same run, /sample is called --moves times with the same kind of controls, and the
client-side round trip is reported. The colour model is a 64x64 RGB GAN made here from a generated
folder (a few training steps: speed does not depend on what it learned). Also prints the exported
ONNX sizes. Run it alone: on 2 cores anything else running changes every figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from genlab.evaluation.cards import machine  # noqa: E402
from genlab.testing import launched_app, load_gan_repo, make_shapes_folder, set_number, shown_picture  # noqa: E402

CHROMIUM = os.environ.get("GENLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


# key -> (model box, repo box, row label); "<colour>" is the 64-px colour GAN made here
CASES = {
    "digits": ("mnist-cgan", "mnist-cgan", "28 px grey digit GAN"),
    "emoji": ("emoji-cgan", "emoji-cgan", "32 px RGB emoji GAN"),
    "emoji-64": ("emoji-cgan-64", "emoji-cgan-64", "64 px RGB emoji GAN (shipped default: 32 px + 2x upsampler)"),
    "colour-64": ("mnist-cgan", "<colour>", "64 px RGB GAN (default widths)"),
}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def colour_gan(folder: Path) -> Path:
    from genlab.train.__main__ import main as train_main

    make_shapes_folder(folder / "shapes", per_class=8, size=80, broken=False)
    out = folder / "colour-gan"
    train_main(["gan", "--data", str(folder / "shapes"), "--resolution", "64", "--channels", "3", "--steps", "2",
                "--batch-size", "4", "--eval-samples", "0", "--out", str(out), "--run-dir", str(folder / "run")])
    return out


def drag(page, slider: str, moves: int, forth: bool) -> None:
    box = page.locator(f"#{slider} input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    a, b = (0.5, 0.95) if forth else (0.95, 0.05)
    page.mouse.move(box["x"] + box["width"] * a, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * b, y, steps=moves)
    page.mouse.up()


def in_page(page, moves: int, forth: bool) -> dict:
    page.evaluate("window.genlab.gan.resetTimings()")
    drag(page, "gan-dir-1", moves, forth)
    page.wait_for_timeout(300)
    t, w, first = page.evaluate("[window.genlab.gan.timings, window.genlab.gan.written, window.genlab.gan.inFirstFrame]")
    return {"frames": len(t), "p50": statistics.median(t), "p95": pct(t, 0.95), "written_p50": statistics.median(w),
            "first_frame": sum(first) / max(1, len(first))}


def server(url: str, model: str, repo: str, n: int, calls: int) -> dict:
    client = Client(url, verbose=False)
    lat = []
    for i in range(calls):
        t0 = time.perf_counter()
        client.predict(model, repo, 3, "any", 1.0, n, round(-3 + 6 * i / calls, 2), 0, 0, 0, 0, 0, api_name="/sample")
        lat.append((time.perf_counter() - t0) * 1000)
    return {"p50": statistics.median(lat), "p95": pct(lat, 0.95)}


def load_users(url: str, users: int, stop: threading.Event, counts: list):
    def one(i):
        client = Client(url, verbose=False)
        while not stop.is_set():
            try:
                client.predict("mnist-cgan", "", i, "any", 1.0, 16, (i % 7) - 3, 0, 0, 0, 0, 0, api_name="/sample")
                counts.append(1)
            except Exception:  # noqa: BLE001 - a refused call under load still loads the server
                counts.append(0)
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    return threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=60, help="input events per drag, and /sample calls per row")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--no-load", action="store_true", help="skip the rows under load")
    parser.add_argument("--models", default=",".join(CASES),
                        help=f"which models, comma-separated, from {', '.join(CASES)}")
    parser.add_argument("--page-threads", default="1,max",
                        help="the page's WebAssembly threads, comma-separated: numbers, or 'max' (what a visitor's "
                             "cross-origin-isolated page uses: up to 4, at most the cores)")
    parser.add_argument("--sizes", default="1,16", help="grid sizes, comma-separated")
    args = parser.parse_args()
    print(f"machine: {machine()}; Chromium headless, no GPU (WebAssembly); server {os.environ.get('GENLAB_THREADS', 2)} torch threads")
    with tempfile.TemporaryDirectory() as tmp, launched_app(Path(tmp) / "app.log") as (url, proc):
        colour = colour_gan(Path(tmp)) if "colour-64" in args.models.split(",") else None
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            # by the repo box (a shipped name works there too), so each case is one definite model
            cases = [(model, str(colour) if repo == "<colour>" else repo, what)
                     for key, (model, repo, what) in CASES.items() if key in args.models.split(",")]
            for threads_asked, (model, repo, what) in [(t, c) for t in args.page_threads.split(",") for c in cases]:
                page.goto(url + ("" if threads_asked == "max" else f"?genlab_threads={int(threads_asked)}"))
                shown_picture(page, "gan")
                threads = page.evaluate("window.genlab.runtime.threads")
                before = page.evaluate("window.genlab.gan.spec && window.genlab.gan.spec.onnx")
                if page.locator("#gan-model input").input_value() == repo:  # the page opened on it (the first page)
                    page.wait_for_function("() => window.genlab.gan.spec && window.genlab.gan.spec.onnx", timeout=60_000)
                else:
                    load_gan_repo(page, repo)
                    # the first new picture can come from the server before the page's own graph is ready: wait for
                    # the model's spec, or the size and the first drags below would belong to the previous model
                    page.wait_for_function("b => window.genlab.gan.spec && window.genlab.gan.spec.onnx !== b",
                                           arg=before, timeout=60_000)
                size = page.evaluate("fetch(window.genlab.gan.spec.onnx).then(r => r.arrayBuffer()).then(b => b.byteLength)")
                for n in [int(x) for x in args.sizes.split(",")]:
                    set_number(page, "gan-n", n)
                    page.wait_for_timeout(500)
                    for loaded in ([False] if args.no_load else [False, True]):
                        stop, counts, users = threading.Event(), [], []
                        if loaded:
                            users = load_users(url, args.users, stop, counts)
                            time.sleep(3)  # let the queue fill
                        page_fig = in_page(page, args.moves, forth=True)
                        srv = server(url, model, repo, n, max(10, args.moves // (4 if loaded else 1)))
                        stop.set()
                        for t in users:
                            t.join(timeout=60)
                        rows.append((what, n, size, loaded, page_fig, srv, threads))
                        print(f"{what}, n={n}, {threads} page thread(s), {'32 users loading /sample' if loaded else 'alone'}: in page p50 "
                              f"{page_fig['p50']:.1f} ms / p95 {page_fig['p95']:.1f} ms to the frame "
                              f"(pixels written p50 {page_fig['written_p50']:.1f} ms; first frame after the input "
                              f"{100 * page_fig['first_frame']:.0f} %; {page_fig['frames']} frames); server /sample "
                              f"p50 {srv['p50']:.0f} ms / p95 {srv['p95']:.0f} ms", flush=True)
            browser.close()
    print("\n| model | grid | ONNX size | page threads | server load | in page: input to frame p50 / p95 | "
          "pixels written p50 | in first frame | server /sample p50 / p95 |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for what, n, size, loaded, pg, srv, threads in rows:
        print(f"| {what} | {n} | {size / 2**20:.2f} MB | {threads} | {f'{args.users} users' if loaded else 'none'} | "
              f"{pg['p50']:.1f} / {pg['p95']:.1f} ms | {pg['written_p50']:.1f} ms | {100 * pg['first_frame']:.0f} % | "
              f"{srv['p50']:.0f} / {srv['p95']:.0f} ms |")


if __name__ == "__main__":
    main()
