"""Load: C concurrent gradio_client users on the slider endpoints, with and without a long
repair job running, against the real app (`python app.py`).

    python benchmarks/load.py [--clients 1 8 32] [--calls 20] [--mixes distinct identical] [--no-long-job]

Mix "distinct": each user calls /sample (GAN grid, random slider offsets) back to back,
`--calls` times; every other user calls /interpolate (VAE, random t) instead. Mix
"identical": every user calls /sample with the same arguments (what every visitor's page load
does: the default grid), so every response is the same file in Gradio's cache.
GENLAB_GRADIO_CACHE_FIX=0 in the environment runs the server without genlab's fix of that cache
(for before/after figures). Prints per scenario: errors, p50/p95
latency per call as the client sees it, throughput, and the server's resident memory (peak of
samples every 0.2 s, and VmHWM at the end). The long job is a deep-image-prior repair of a
512x512 photo with 3,000 iterations (about two minutes), submitted before the users start.
Run it alone: on 2 cores anything else running changes every figure.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import Client, handle_file  # noqa: E402

from genlab.testing import launched_app  # noqa: E402
from genlab.evaluation.cards import machine  # noqa: E402

EXAMPLES = ROOT / "genlab" / "ui" / "examples"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def user(url: str, i: int, calls: int, latencies: list, errors: list, start: threading.Barrier, mix: str):
    client = Client(url, verbose=False)
    rng = random.Random(i)
    a, b = handle_file(str(EXAMPLES / "digit_1.png")), handle_file(str(EXAMPLES / "digit_7.png"))
    start.wait()
    for _ in range(calls):
        t0 = time.perf_counter()
        try:
            if mix == "identical":
                client.predict("mnist-cgan", "", 0, "any", 1.0, 16, 0, 0, 0, 0, 0, 0, api_name="/sample")
            elif i % 2 == 0:
                offsets = [rng.uniform(-3, 3) if k == 0 else 0.0 for k in range(6)]
                client.predict("mnist-cgan", "", 3, "any", 1.0, 16, *offsets, api_name="/sample")
            else:
                client.predict(a, b, round(rng.random(), 2), "spherical", "mnist-vae", api_name="/interpolate")
            latencies.append((time.perf_counter() - t0) * 1000)
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"{type(e).__name__}: {str(e)[:120]}")


def long_job(url: str, folder: Path):
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).save(folder / "photo.png")
    layer = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (224, 224, 288, 288))
    layer.save(folder / "mask.png")
    client = Client(url, verbose=False)
    editor = {"background": handle_file(str(folder / "photo.png")), "layers": [handle_file(str(folder / "mask.png"))],
              "composite": None}
    return client.submit(editor, "dip", 3000, 0, api_name="/inpaint")


def scenario(url: str, pid: int, clients: int, calls: int, mix: str = "distinct") -> dict:
    latencies, errors, mem = [], [], []
    barrier = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=user, args=(url, i, calls, latencies, errors, barrier, mix)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    while any(t.is_alive() for t in threads):
        mem.append(rss_mb(pid))
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    return {"clients": clients, "calls": len(latencies) + len(errors), "errors": errors, "p50": statistics.median(latencies)
            if latencies else float("nan"), "p95": pct(latencies, 0.95), "per_s": len(latencies) / wall,
            "peak_rss": max(mem) if mem else rss_mb(pid)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--calls", type=int, default=20, help="calls per user")
    parser.add_argument("--mixes", nargs="+", default=["distinct", "identical"], choices=["distinct", "identical"])
    parser.add_argument("--no-long-job", action="store_true", help="skip the scenarios beside a long repair")
    args = parser.parse_args()
    fix = os.environ.get("GENLAB_GRADIO_CACHE_FIX", "1") != "0"
    print(f"machine: {machine()}; Gradio cache fix {'on' if fix else 'OFF'}")
    with tempfile.TemporaryDirectory() as tmp, launched_app(Path(tmp) / "app.log") as (url, proc):
        Client(url, verbose=False).predict("mnist-cgan", "", 0, "any", 1.0, 16, 0, 0, 0, 0, 0, 0, api_name="/sample")
        print(f"server RSS after start and one call: {rss_mb(proc.pid):.0f} MB")
        print(f"{'mix':<9} {'long job':<9} {'users':>5} {'calls':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'calls/s':>8} {'peak RSS MB':>12}")
        for with_job in (False,) if args.no_long_job else (False, True):
            job = long_job(url, Path(tmp)) if with_job else None
            if job:
                time.sleep(3)  # let it start computing
            for mix in args.mixes:
                for c in args.clients:
                    r = scenario(url, proc.pid, c, args.calls, mix)
                    print(f"{mix:<9} {'running' if with_job else 'none':<9} {c:>5} {r['calls']:>6} {len(r['errors']):>6} "
                          f"{r['p50']:>8.0f} {r['p95']:>8.0f} {r['per_s']:>8.1f} {r['peak_rss']:>12.0f}")
                    for e in sorted(set(r["errors"]))[:3]:
                        print(f"    error: {e}")
            if job:
                still = not job.done()
                job.cancel()
                print(f"    (the long repair was {'still running' if still else 'already finished'} at the end)")
        print(f"server peak RSS (VmHWM): {rss_mb(proc.pid, 'VmHWM'):.0f} MB")


if __name__ == "__main__":
    main()
