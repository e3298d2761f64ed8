"""Imported generators against the reference code on this CPU, side by side in one run.

For each configuration: NVIDIA's own generator (from a checkout you point at: it is never part of genlab) is built
with random weights, pickled as its training loop pickles it, imported with ``genlab import``'s code, and both draw
the same latents (--batch images per call, default 1; noise 'const', float32, torch.no_grad, the thread count below),
alternating, after one warm-up each. Prints ms per image (median of --repeats), the ratio, and the largest pixel
difference between the two.

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/ref/sg2
    git clone https://github.com/NVlabs/stylegan3 /tmp/ref/sg3
    python benchmarks/import_speed.py --sg2 /tmp/ref/sg2 --sg3 /tmp/ref/sg3
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# name -> (reference kind, generator kwargs): config-f widths (channel_base 32768, at most 512 channels, 8 mapping
# layers, 512-d z/w), as NVIDIA's published FFHQ/AFHQ/MetFaces models; StyleGAN3-T with its own defaults
CONFIGS = {
    "stylegan2 64 px": ("sg2", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=64, img_channels=3,
                                    mapping_kwargs=dict(num_layers=8),
                                    synthesis_kwargs=dict(channel_base=32768, channel_max=512, conv_clamp=256))),
    "stylegan2 256 px": ("sg2", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
                                     mapping_kwargs=dict(num_layers=8),
                                     synthesis_kwargs=dict(channel_base=32768, channel_max=512, conv_clamp=256))),
    "stylegan2 1024 px": ("sg2", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3,
                                      mapping_kwargs=dict(num_layers=8),
                                      synthesis_kwargs=dict(channel_base=32768, channel_max=512, conv_clamp=256))),
    "stylegan3-t 256 px": ("stylegan3", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
                                             mapping_kwargs=dict(num_layers=2), channel_base=32768, channel_max=512,
                                             conv_clamp=256)),
}


def reference_generator(root: Path, kind: str, kwargs: dict):
    spec = importlib.util.spec_from_file_location("make_import_fixtures", ROOT / "scripts" / "make_import_fixtures.py")
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    nets, _ = fixtures.nvlabs(root, kind)
    torch.manual_seed(0)
    g = nets.Generator(**kwargs).eval()
    fixtures.randomise(g, 0)
    return g


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sg2", type=Path, required=True, help="a stylegan2-ada-pytorch checkout")
    p.add_argument("--sg3", type=Path, required=True, help="a stylegan3 checkout")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated names from CONFIGS (default: all)")
    p.add_argument("--batch", type=int, default=1, help="images per call (the GAN tab's grid: 16); ms per image")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from genlab.formats import import_checkpoint
    from genlab.hub import load

    print(f"# {cpu_name()}, {args.threads} threads, torch {torch.__version__}, "
          f"batch {args.batch}, float32, noise const; median of {args.repeats}")
    print("| generator | reference (ms/image) | genlab (ms/image) | reference / genlab | max abs diff |")
    print("|---|---:|---:|---:|---:|")
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(CONFIGS)
    for name in names:
        kind, kwargs = CONFIGS[name]
        ref = reference_generator(args.sg2 if kind == "sg2" else args.sg3, kind, kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "network.pkl"
            with open(path, "wb") as f:
                pickle.dump({"G_ema": ref}, f)
            folder = import_checkpoint(path, "bench", Path(tmp) / "out").folder
            ours = load(str(folder), device=None)
        z = torch.randn(args.batch, ref.z_dim, generator=torch.Generator().manual_seed(1))
        c = torch.zeros(args.batch, ref.c_dim)
        labels = torch.zeros(args.batch, dtype=torch.long)
        extra = {"force_fp32": True} if kind == "sg2" else {}
        with torch.no_grad():
            run_ref = lambda: ref(z, c, truncation_psi=1, noise_mode="const", **extra)  # noqa: E731
            run_ours = lambda: ours.sample_latents(z, labels)  # noqa: E731
            diff = (run_ref() - run_ours()).abs().max().item()  # also the warm-up of each
            t_ref, t_ours = [], []
            for _ in range(args.repeats):  # alternate, so a busy moment hits both
                t_ref.append(timed(run_ref, 1))
                t_ours.append(timed(run_ours, 1))
        r, o = statistics.median(t_ref) / args.batch, statistics.median(t_ours) / args.batch
        print(f"| {name} | {r:,.0f} | {o:,.0f} | {r / o:.2f}x | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
