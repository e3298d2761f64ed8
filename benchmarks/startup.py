"""Start-up time of the app: from `python app.py` to the first HTTP 200 on the page, and to the moment every
tab's worked example is ready (the app logs it; the examples are computed in a background thread).

    python benchmarks/startup.py [--runs 3] [--root DIR]

--root runs another checkout's app.py (e.g. a `git worktree` of an older commit) with this interpreter, to
compare. Run it alone: the figure is CPU-bound on a 2-core machine. Prints the median and every run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from genlab.testing import launched_app  # noqa: E402


def one_run(root: Path) -> tuple[float, float | None]:
    """Seconds from the launch to the first HTTP 200 on the page, and to the "worked examples ready" log line."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "app.log"
        t0 = time.perf_counter()
        with launched_app(log, root=root) as _:
            served = time.perf_counter() - t0
            ready = None  # this checkout's app logs when its worked examples are done; an older one never does
            while time.perf_counter() - t0 < 120 and ready is None:
                if "worked examples ready" in log.read_text():
                    ready = time.perf_counter() - t0
                time.sleep(0.1)
    return served, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    runs = [one_run(args.root.resolve()) for _ in range(args.runs)]
    served = [s for s, _ in runs]
    ready = [r for _, r in runs if r is not None]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; root {args.root}")
    print(f"first HTTP 200: median {statistics.median(served):.2f} s  (runs: {', '.join(f'{s:.2f}' for s in served)})")
    if ready:
        print(f"worked examples ready: median {statistics.median(ready):.2f} s  "
              f"(runs: {', '.join(f'{r:.2f}' for r in ready)})")


if __name__ == "__main__":
    main()
