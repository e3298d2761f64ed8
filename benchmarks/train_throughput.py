"""Training throughput: genlab's GAN step vs a plain reference loop, same run, as a ratio.

    python benchmarks/train_throughput.py [--steps 300 --rounds 3]

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

from genlab.data import digits, mnist_5k, split_indices  # noqa: E402
from genlab.models import Discriminator, Generator  # noqa: E402
from genlab.train.gan import PRESETS, build, make_gan_step, resolve_precision  # noqa: E402
from genlab.train.report import machine  # noqa: E402

BATCH = 64


class MnistPIL(Dataset):
    """The 4,500 training digits as PIL images with torchvision transforms (examples style)."""

    def __init__(self):
        from PIL import Image
        from torchvision import transforms

        images, labels = mnist_5k()
        idx = split_indices()[0]
        self.images = [Image.fromarray(images[i]) for i in idx]
        self.labels = labels[idx]
        self.tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.tf(self.images[i]), int(self.labels[i])


def reference(steps: int) -> float:
    """pytorch/examples dcgan-style loop; returns images/s."""
    torch.manual_seed(0)
    netG, netD = Generator(), Discriminator()
    criterion = nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(MnistPIL(), batch_size=BATCH, shuffle=True, drop_last=True)
    done, start, log = 0, None, []
    while done < steps + 10:
        for real, labels in loader:
            if done == 10:
                start = time.perf_counter()  # after warm-up
            b = real.size(0)
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            errD_real = criterion(netD(real, labels), torch.ones(b))
            errD_real.backward()
            noise = torch.randn(b, netG.latent_dim)
            fake = netG(noise, labels)
            errD_fake = criterion(netD(fake.detach(), labels), torch.zeros(b))
            errD_fake.backward()
            optimizerD.step()
            # (2) Update G: maximize log(D(G(z)))
            netG.zero_grad()
            errG = criterion(netD(fake, labels), torch.ones(b))
            errG.backward()
            optimizerG.step()
            log.append(((errD_real + errD_fake).item(), errG.item()))
            done += 1
            if done >= steps + 10:
                break
    return steps * BATCH / (time.perf_counter() - start)


def genlab_loop(steps: int, diffaugment: str) -> float:
    """genlab's own training step (train_gan's inner loop), prepared by Accelerate; images/s."""
    from accelerate import Accelerator

    cfg = dataclasses.replace(PRESETS["mnist-cgan"], diffaugment=diffaugment)
    accelerator = Accelerator(mixed_precision=resolve_precision(cfg.mixed_precision))
    G, D, opt_g, opt_d = accelerator.prepare(*build(cfg))
    step = make_gan_step(G, D, opt_g, opt_d, cfg, accelerator)
    images, labels = digits("train").tensors
    images = images.contiguous(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(0)
    sums = torch.zeros(2)
    for i in range(steps + 10):
        if i == 10:
            start = time.perf_counter()
        idx = torch.randint(0, len(images), (BATCH,), generator=gen)
        sums += torch.stack(step(images[idx], labels[idx]))
    sums.tolist()
    return steps * BATCH / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {machine()}; genlab precision: {resolve_precision('auto')}; batch {BATCH}")
    ref, plain, aug = [], [], []
    for _ in range(args.rounds):  # interleaved so drift hits both alike
        ref.append(reference(args.steps))
        plain.append(genlab_loop(args.steps, ""))
        aug.append(genlab_loop(args.steps, PRESETS["mnist-cgan"].diffaugment))
    r, p, a = max(ref), max(plain), max(aug)
    print(f"reference loop (pytorch/examples style)      {r:7.0f} images/s")
    print(f"genlab loop, no DiffAugment (same work)      {p:7.0f} images/s   ratio {p / r:.2f}")
    print(f"genlab loop, with DiffAugment (as shipped)   {a:7.0f} images/s   ratio {a / r:.2f}")


if __name__ == "__main__":
    main()
