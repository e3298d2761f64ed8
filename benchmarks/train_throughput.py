"""Training throughput: genlab's GAN step vs a plain reference loop, same run, as a ratio.

    python benchmarks/train_throughput.py [--steps 300 --rounds 3 --batch 64]
    python benchmarks/train_throughput.py --resolution 64 --channels 3 --batch 256   # a colour preset

Runs on CUDA when there is a GPU (both loops on the same device), else on the CPU.
At 28 px grey the data are the bundled digits; at other sizes random images of that size
(throughput does not depend on the pixels), with the generator width the CLI would pick.

The reference is written the pytorch/examples dcgan way: a Dataset of PIL images with
ToTensor/Normalize transforms behind a DataLoader, separate D passes on real and fake,
BCE loss, float32, default Adam, ``.item()`` logged every step. It uses the same
Generator/Discriminator classes, batch size (64) and data as genlab's loop, so the ratio is
the loop's doing: in-memory batches, one D pass over real+fake, channels-last, fused Adam,
bf16 autocast where the CPU has it (via Accelerate, as in training). Run it alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from genlab.evaluation.cards import machine  # noqa: E402
from genlab.datasets import digit_set, mnist_5k, split_indices  # noqa: E402
from genlab.train.gan import PRESETS, build, make_gan_step, resolve_precision  # noqa: E402

BATCH = 64
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class MnistPIL(Dataset):
    """The 4,500 training digits as PIL images with torchvision transforms (examples style)."""

    def __init__(self, resolution: int = 28, channels: int = 1):
        from PIL import Image
        from torchvision import transforms

        if (resolution, channels) == (28, 1):
            images, labels = mnist_5k()
            idx = split_indices()[0]
            self.images = [Image.fromarray(images[i]) for i in idx]
            self.labels = labels[idx]
        else:  # random pictures of the asked size: the loop's cost does not depend on their content
            gen = torch.Generator().manual_seed(0)
            arr = torch.randint(0, 256, (2048, resolution, resolution, channels), generator=gen, dtype=torch.uint8)
            self.images = [Image.fromarray(a.squeeze(-1).numpy()) for a in arr]
            self.labels = torch.randint(0, 10, (2048,), generator=gen).numpy()
        self.tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * channels, (0.5,) * channels)])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.tf(self.images[i]), int(self.labels[i])


def reference(steps: int, cfg) -> float:
    """pytorch/examples dcgan-style loop; returns images/s."""
    G, D, _, _ = build(dataclasses.replace(cfg, channels_last=False))
    netG, netD = G.to(DEVICE), D.to(DEVICE)
    criterion = nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(MnistPIL(cfg.resolution, cfg.channels), batch_size=cfg.batch_size, shuffle=True,
                        drop_last=True)
    done, start, log = 0, None, []
    while done < steps + 10:
        for real, labels in loader:
            if done == 10:
                start = time.perf_counter()  # after warm-up
            real, labels = real.to(DEVICE), labels.to(DEVICE)
            b = real.size(0)
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            errD_real = criterion(netD(real, labels), torch.ones(b, device=DEVICE))
            errD_real.backward()
            noise = torch.randn(b, netG.latent_dim, device=DEVICE)
            fake = netG(noise, labels)
            errD_fake = criterion(netD(fake.detach(), labels), torch.zeros(b, device=DEVICE))
            errD_fake.backward()
            optimizerD.step()
            # (2) Update G: maximize log(D(G(z)))
            netG.zero_grad()
            errG = criterion(netD(fake, labels), torch.ones(b, device=DEVICE))
            errG.backward()
            optimizerG.step()
            log.append(((errD_real + errD_fake).item(), errG.item()))
            done += 1
            if done >= steps + 10:
                break
    return steps * cfg.batch_size / (time.perf_counter() - start)


def genlab_loop(steps: int, cfg) -> float:
    """genlab's own training step (train_gan's inner loop), prepared by Accelerate; images/s."""
    from accelerate import Accelerator

    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()  # one Accelerator per measurement
    accelerator = Accelerator(mixed_precision=resolve_precision(cfg.mixed_precision))
    G, D, opt_g, opt_d = accelerator.prepare(*build(cfg))
    step = make_gan_step(G, D, opt_g, opt_d, cfg, accelerator)
    if (cfg.resolution, cfg.channels) == (28, 1):
        data = digit_set("train")
        images, labels = data.images.to(accelerator.device), data.labels.to(accelerator.device)
    else:
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (2048, cfg.channels, cfg.resolution, cfg.resolution), generator=gen,
                               dtype=torch.uint8).to(accelerator.device)
        labels = torch.randint(0, 10, (2048,), generator=gen).to(accelerator.device)
    gen = torch.Generator().manual_seed(0)
    sums = torch.zeros(2, device=accelerator.device)
    for i in range(steps + 10):
        if i == 10:
            sums.tolist()  # wait for the warm-up steps
            start = time.perf_counter()
        idx = torch.randint(0, len(images), (cfg.batch_size,), generator=gen).to(accelerator.device)
        real = (images[idx].float() / 127.5 - 1).contiguous(memory_format=torch.channels_last)
        sums += torch.stack(step(real, labels[idx]))
    sums.tolist()  # one host sync: the GPU has finished every step
    return steps * cfg.batch_size / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--resolution", type=int, default=28)
    ap.add_argument("--channels", type=int, default=1)
    args = ap.parse_args()
    cfg = dataclasses.replace(PRESETS["mnist-cgan"], batch_size=args.batch, resolution=args.resolution,
                              channels=args.channels)
    print(f"machine: {machine()}; device {DEVICE}; genlab precision: {resolve_precision('auto')}; batch {args.batch}; "
          f"{args.resolution} px x {args.channels} channel(s)")
    ref, plain, aug = [], [], []
    for _ in range(args.rounds):  # interleaved so drift hits both alike
        ref.append(reference(args.steps, cfg))
        plain.append(genlab_loop(args.steps, dataclasses.replace(cfg, diffaugment="")))
        aug.append(genlab_loop(args.steps, cfg))
    r, p, a = max(ref), max(plain), max(aug)
    print(f"reference loop (pytorch/examples style)      {r:7.0f} images/s")
    print(f"genlab loop, no DiffAugment (same work)      {p:7.0f} images/s   ratio {p / r:.2f}")
    print(f"genlab loop, with DiffAugment (as shipped)   {a:7.0f} images/s   ratio {a / r:.2f}")


if __name__ == "__main__":
    main()
