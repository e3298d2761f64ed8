"""Projection error on held-out real images: each shipped GAN against its VAE's reconstruction of the same images.

A held-out image (never trained on) is projected into the GAN (genlab.tasks.projection, the app's Project
button: every class searched, then refined with the feature net) and encoded + decoded by the VAE; both are
compared with the image at the GAN's resolution (the VAE's 64-px emoji output is resampled to 32 px, bilinear,
antialiased). Pixel MSE on -1..1 values, mean over the images; also the share whose projection kept the
image's class. Prints the machine; CPU at 2 threads.

    python benchmarks/projection.py --images 8 --steps 200     # about 4 min on 2 cores
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import genlab  # noqa: E402
from genlab.evaluation.common import folder_for  # noqa: E402
from genlab.tasks.projection import project  # noqa: E402

PAIRS = [("mnist-cgan", "mnist-vae", "mnist-classifier", "mnist"), ("emoji-cgan", "emoji-vae", "emoji-classifier", "emoji")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8, help="held-out images per data set (every k-th one)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    print("| GAN | images | GAN projection MSE | class kept | VAE reconstruction MSE | s per projection |")
    print("|---|---:|---:|---:|---:|---:|")
    for gan, vae_name, feature, data in PAIRS:
        g, vae, net = genlab.load(gan), genlab.load(vae_name), genlab.load(feature).eval()
        _, held = folder_for(g, data)
        x_all, y_all = held.images, held.labels
        _, held_vae = folder_for(vae, data)
        every = max(1, len(x_all) // args.images)
        idx = list(range(0, len(x_all), every))[: args.images]
        gan_err, vae_err, kept, seconds = [], [], 0, 0.0
        for i in idx:
            x = x_all[i:i + 1].float()
            x = x / 127.5 - 1 if x.max() > 1.5 else x
            t = time.perf_counter()
            for step in project(g, x, steps=args.steps, feature_net=net):
                pass
            seconds += time.perf_counter() - t
            gan_err.append(step.mse)
            kept += int(step.label == int(y_all[i]))
            xv = held_vae.images[i:i + 1].float()
            xv = xv / 127.5 - 1 if xv.max() > 1.5 else xv
            with torch.no_grad():
                mu = vae.encode(xv)[0]
                rec = vae.decode(mu).float()
            if rec.shape[-1] != x.shape[-1]:
                rec = torch.nn.functional.interpolate(rec, size=x.shape[-2:], mode="bilinear", antialias=True,
                                                      align_corners=False)
            vae_err.append(float(((rec - x) ** 2).mean()))
        n = len(idx)
        print(f"| {gan} | {n} | {sum(gan_err) / n:.4f} | {kept}/{n} | {sum(vae_err) / n:.4f} ({vae_name}) | "
              f"{seconds / n:.1f} |")


if __name__ == "__main__":
    main()
