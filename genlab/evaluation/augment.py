"""What generated images are worth: the same small classifier trained on N real images per class,
with and without generated ones and/or classic affine jitter (``python -m genlab eval augment``).

Evaluation, on top of the library: it trains small classifiers, so it is not imported by the app
(the tab reads its saved results).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from ..tasks.augment import generate_labelled, markdown_table, random_affine  # noqa: F401 (the eval CLI prints it)
from ..models import ImageClassifier, Generator


def subsample(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` examples of every class, drawn under ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in labels.unique().tolist():
        idx = torch.nonzero(labels == c)[:, 0]
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    return torch.cat(picks)


def train_small_classifier(images: torch.Tensor, labels: torch.Tensor, steps: int = 300, batch: int = 64,
                           seed: int = 0, affine: bool = False, lr: float = 2e-3, like=None) -> ImageClassifier:
    """The small classifier trained for a fixed number of steps (same compute whatever the data size).

    like: the GAN whose images it reads (size, channels, classes); default the 28-px digits."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = ImageClassifier() if like is None else ImageClassifier(
        num_classes=max(like.num_classes, 1), image_channels=like.image_channels, resolution=like.resolution,
        preprocess=like.preprocess)
    pad = "background" if model.preprocess == "mnist" else "border"  # digits: black; images: repeat the edge
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(images), (batch,), generator=gen)
        x = images[idx]
        if affine:
            x = random_affine(x, gen, pad)
        loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


ARMS = ("real", "real + classic", "real + generated", "real + generated + classic")


def augmentation_experiment(g: Generator, n_real=(10, 50), k_generated: int = 100, seeds=(0, 1, 2),
                            steps: int = 300, arms=ARMS, log=print, data: str = "mnist") -> list[dict]:
    """Held-out accuracy of the same classifier trained on N real images per class, with and without
    ``k_generated`` GAN images per class and/or classic affine augmentation; one row per (N, arm, seed).

    data: "mnist" (the 4,500 training digits, tested on the 500 held-out ones), "emoji", or the GAN's
    training folder, read at the GAN's size with the training split. Real images come from the
    training split (redrawn per seed); accuracy is on the held-out split. Every run takes the same
    number of steps.
    """
    from .common import folder_for
    from .metrics import accuracy

    if not g.num_classes:
        raise ValueError("the augmentation experiment needs a class-conditional GAN")
    train, held_out = folder_for(g, data)
    train_x, train_y = train.tensors()
    test_x, test_y = held_out.tensors()
    classes = list(range(g.num_classes))
    rows = []
    for n in n_real:
        for seed in seeds:
            idx = subsample(train_y, n, seed)
            real_x, real_y = train_x[idx], train_y[idx]
            gen_x, gen_y = generate_labelled(g, classes, k_generated, seed=1000 + seed)
            for arm in arms:
                start = time.perf_counter()
                x, y = (torch.cat([real_x, gen_x]), torch.cat([real_y, gen_y])) if "generated" in arm else (real_x, real_y)
                model = train_small_classifier(x, y, steps=steps, seed=seed, affine="classic" in arm, like=g)
                acc = accuracy(model, test_x, test_y)
                rows.append({"n_real": n, "arm": arm, "seed": seed, "k_generated": k_generated if "generated" in arm else 0,
                             "train_images": len(x), "accuracy": acc, "seconds": time.perf_counter() - start})
                log(f"N={n:>3} seed={seed} {arm:<28} {acc:.2%}  ({rows[-1]['seconds']:.0f} s)")
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and sample std of accuracy over seeds for each (N, arm)."""
    out = []
    for n in sorted({r["n_real"] for r in rows}):
        base = None
        for arm in dict.fromkeys(r["arm"] for r in rows):
            accs = np.array([r["accuracy"] for r in rows if r["n_real"] == n and r["arm"] == arm])
            if len(accs) == 0:
                continue
            mean, std = float(accs.mean()), float(accs.std(ddof=1)) if len(accs) > 1 else 0.0
            base = mean if base is None else base
            k = next(r["k_generated"] for r in rows if r["n_real"] == n and r["arm"] == arm)
            out.append({"n_real": n, "arm": arm, "k_generated": k, "seeds": len(accs), "mean": mean, "std": std,
                        "delta": mean - base})
    return out
