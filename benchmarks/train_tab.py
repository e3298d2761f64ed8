"""The Train tab's background job: is it as fast as the CLI, and does the server stay responsive while it runs?

    python benchmarks/train_tab.py [--steps 300] [--calls 30] [--threads 1]

1. Launches the app; measures /sample (gradio_client round trip, emoji-cgan, 16 images) and the in-page slider
   (headless Chromium, frames of the GAN tab's first direction slider) idle.
2. Starts a Train-tab job (the built-in emoji, GAN, 32 px, batch 32) and measures both again while it trains.
3. A second job, nothing else running: its images/s. Then the app stops and the CLI trains the same data and
   flags at the same thread count (``OMP_NUM_THREADS``): its images/s from the run's own record.

Prints the ratios (busy / idle latency; tab / CLI throughput) with the machine. Run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from browser_sliders import ARGS, CHROMIUM, in_page, pct  # noqa: E402
from gradio_client import Client  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from genlab.evaluation.cards import machine  # noqa: E402
from genlab.testing import launched_app, shown_picture  # noqa: E402


def sample_latency(client: Client, calls: int) -> dict:
    lat = []
    for i in range(calls):
        t0 = time.perf_counter()
        client.predict("emoji-cgan", "", 3, "any", 1.0, 16, round(-3 + 6 * i / calls, 2), 0, 0, 0, 0, 0,
                       api_name="/sample")
        lat.append((time.perf_counter() - t0) * 1000)
    return {"p50": statistics.median(lat), "p95": pct(lat, 0.95)}


def frames(page, drags: int = 4) -> dict:
    runs = [in_page(page, 40, k % 2 == 0) for k in range(drags)]
    return {"p50": statistics.median(r["p50"] for r in runs), "p95": max(r["p95"] for r in runs)}


def start(client: Client, steps: int, batch: int, name: str) -> str:
    return client.predict("emoji", None, None, "gan", 32, 3, "crop", 0, steps, batch, 100, name,
                          api_name="/train_start")[0]


def wait(client: Client, job: str, until) -> dict:
    while not until(s := client.predict(job, api_name="/train_status")):
        if s["state"] == "failed":
            raise SystemExit(f"job failed: {s['message']}\n" + "\n".join(s["log_tail"]))
        time.sleep(0.5)
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="the job's torch threads (GENLAB_TRAIN_THREADS)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genlab-bench-train-"))
    # no worked examples: their one-off computation right after start-up would land in the "idle" figures
    env = {"GENLAB_TRAIN_OUT": str(tmp / "models"), "GENLAB_TRAIN_THREADS": str(args.threads), "GENLAB_FIRST_VISIT": "0"}
    print(f"machine: {machine()}; job threads: {args.threads}; emoji GAN 32 px, batch {args.batch}")
    with launched_app(tmp / "app.log", extra_env=env) as (url, _), sync_playwright() as p:
        client = Client(url, verbose=False)
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        shown_picture(page, "gan")
        page.wait_for_timeout(5000)  # the page's generator has loaded its graph; the server's warm-up is done
        sample_latency(client, 3)  # warm
        idle = {"sample": sample_latency(client, args.calls), "frames": frames(page)}
        job = start(client, max(150, args.steps // 2), args.batch, "bench-busy")
        wait(client, job, lambda s: s["state"] == "running" and s["step"] >= 20)
        busy = {"sample": sample_latency(client, args.calls), "frames": frames(page)}
        busy_job = client.predict(job, api_name="/train_status")
        client.predict(job, api_name="/train_stop")
        wait(client, job, lambda s: s["state"] in ("stopped", "finished"))
        browser.close()
        clean = start(client, args.steps, args.batch, "bench-clean")
        s = wait(client, clean, lambda s: s["state"] == "finished" or (s["state"] == "running" and s["step"] >= args.steps
                                                                        and "writing" in s["message"]))
        tab_rate = s["step"] * args.batch / s["seconds"]
    # The CLI: same data and flags, same threads, nothing else running.
    cmd = [sys.executable, "-m", "genlab.train", "gan", "--preset", "emoji-cgan", "--steps", str(args.steps),
           "--batch-size", str(args.batch), "--sample-every", "100", "--eval-samples", "0", "--resolution", "32",
           "--out", str(tmp / "cli"), "--run-dir", str(tmp / "cli-run")]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "OMP_NUM_THREADS": str(args.threads), "TQDM_DISABLE": "1"})
    run = json.loads((tmp / "cli-run" / "run.json").read_text())
    cli_rate = run["images_seen"] / run["elapsed_s"]
    print(f"/sample (emoji-cgan, 16 images), {args.calls} calls: idle p50 {idle['sample']['p50']:.1f} ms, "
          f"p95 {idle['sample']['p95']:.1f} ms; while a job trains p50 {busy['sample']['p50']:.1f} ms, "
          f"p95 {busy['sample']['p95']:.1f} ms ({busy['sample']['p50'] / idle['sample']['p50']:.2f}x idle)")
    print(f"in-page slider frame time (emoji-cgan): idle p50 {idle['frames']['p50']:.1f} ms, p95 "
          f"{idle['frames']['p95']:.1f} ms; while a job trains p50 {busy['frames']['p50']:.1f} ms, p95 "
          f"{busy['frames']['p95']:.1f} ms ({busy['frames']['p50'] / idle['frames']['p50']:.2f}x idle)")
    print(f"the busy job meanwhile: {busy_job['images_per_s']:.0f} images/s")
    print(f"training throughput, {args.steps} steps x {args.batch}, {args.threads} thread(s): Train tab "
          f"{tab_rate:.1f} images/s, CLI {cli_rate:.1f} images/s (tab / CLI {tab_rate / cli_rate:.3f})")


if __name__ == "__main__":
    main()
