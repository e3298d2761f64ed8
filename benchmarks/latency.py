"""Per-event latency of every tab: server compute per call, and the client round trip.

    python benchmarks/latency.py [--calls 200]

Run it alone (no training or tests beside it): on 2 cores, a second torch process slows
everything 3-6x. Prints p50/p95 in milliseconds and the machine.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from genlab.testing import launched_app  # noqa: E402
from genlab.train.report import machine  # noqa: E402
from genlab.ui.gan_tab import N_DIRECTIONS, generator, sample_gan  # noqa: E402
from genlab.ui.translate_tab import translate_image, translator  # noqa: E402
from genlab.ui.vae_tab import EXAMPLES, interpolate, vae_model  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def report(name: str, ms: list[float]) -> None:
    print(f"{name:<46} p50 {statistics.median(ms):7.2f} ms   p95 {pct(ms, 0.95):7.2f} ms   (n={len(ms)})")


def slider_values(rng: random.Random) -> list[float]:
    """One slider dragged: a new offset on direction 1, others fixed, as during a drag."""
    return [round(rng.uniform(-5, 5), 2), 0.0, 1.0, 0.0, -0.5, 0.0][:N_DIRECTIONS]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)  # as app.py does
    print(f"machine: {machine()}")
    rng = random.Random(0)
    generator("mnist-cgan")  # load once, as the app's cache does after the first request

    for n in (1, 16, 64):
        compute, encode = [], []
        for i in range(args.calls + 10):
            t0 = time.perf_counter()
            img = sample_gan("mnist-cgan", "", 3, "7", 1.0, n, *slider_values(rng))
            t1 = time.perf_counter()
            img.save(io.BytesIO(), format="png")  # what Gradio then does to send it
            t2 = time.perf_counter()
            if i >= 10:
                compute.append((t1 - t0) * 1e3)
                encode.append((t2 - t0) * 1e3)
        report(f"server compute, grid {n} ({img.size[0]} px)", compute)
        report(f"server compute + PNG encode, grid {n}", encode)

    # VAE tab: the t slider re-encodes both endpoint images and decodes z(t) on every event.
    vae_model("mnist-vae")
    a, b = str(EXAMPLES[1]), str(EXAMPLES[7])
    for mode in ("spherical", "linear"):
        compute = []
        for i in range(args.calls + 10):
            t0 = time.perf_counter()
            interpolate(a, b, round(rng.random(), 2), mode, "mnist-vae").save(io.BytesIO(), format="png")
            if i >= 10:
                compute.append((time.perf_counter() - t0) * 1e3)
        report(f"VAE /interpolate compute + PNG encode, {mode}", compute)

    # Translation tab: each drawing change preprocesses the image and samples k outputs.
    for task in ("sketch2digit", "superres"):
        translator(task)
        for k in (1, 4):
            compute = []
            for i in range(args.calls + 10):
                t0 = time.perf_counter()
                seen, out = translate_image(str(EXAMPLES[7]), task, k, i)
                out.save(io.BytesIO(), format="png")
                if i >= 10:
                    compute.append((time.perf_counter() - t0) * 1e3)
            report(f"/translate compute + PNG, {task}, k={k}", compute)

    from gradio_client import Client, handle_file

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, launched_app(Path(tmp) / "app.log") as (url, _):
        t_page = time.perf_counter()
        client = Client(url, verbose=False)
        client.predict("mnist-cgan", "", 0, "any", 1.0, 16, *[0.0] * N_DIRECTIONS, api_name="/sample")
        t_first = time.perf_counter()
        print(f"cold start: python app.py -> page served {t_page - t_start:.1f} s; "
              f"-> first /sample answered (model load included) {t_first - t_start:.1f} s")
        for n in (1, 16):
            rtt = []
            for i in range(min(args.calls, 100) + 5):
                t0 = time.perf_counter()
                client.predict("mnist-cgan", "", 3, "7", 1.0, n, *slider_values(rng), api_name="/sample")
                if i >= 5:
                    rtt.append((time.perf_counter() - t0) * 1e3)
            report(f"gradio_client round trip, grid {n}", rtt)
        rtt = []
        for i in range(min(args.calls, 100) + 5):
            t0 = time.perf_counter()
            client.predict(handle_file(a), handle_file(b), round(rng.random(), 2), "spherical", "mnist-vae",
                           api_name="/interpolate")
            if i >= 5:
                rtt.append((time.perf_counter() - t0) * 1e3)
        report("gradio_client round trip, VAE /interpolate", rtt)
        rtt = []
        for i in range(min(args.calls, 100) + 5):
            t0 = time.perf_counter()
            client.predict(handle_file(a), "sketch2digit", 4, i, api_name="/translate")
            if i >= 5:
                rtt.append((time.perf_counter() - t0) * 1e3)
        report("gradio_client round trip, /translate k=4", rtt)


if __name__ == "__main__":
    main()
