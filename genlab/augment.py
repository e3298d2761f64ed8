"""Grow a small labelled dataset: generated digits (conditional GAN) and classic transforms.

>>> import genlab
>>> from genlab.augment import generate_labelled, write_imagefolder_zip
>>> images, labels = generate_labelled(genlab.load("mnist-cgan"), classes=[3, 8], per_class=50, seed=0)
>>> write_imagefolder_zip(images, labels, "digits.zip")   # 3/3_00000.png ... 8/8_00049.png

``augmentation_experiment`` measures what the generated digits are worth to a classifier trained
on N real digits per class (``python -m genlab.eval augment``).
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import v2

from .images import open_image, to_pil_grid, to_rgb, to_uint8
from .models import DigitClassifier, Generator

MAX_GENERATED = 5000  # per request: keeps a public server's memory and ZIP size bounded


@torch.inference_mode()
def generate_labelled(g: Generator, classes: list[int], per_class: int, seed: int = 0, batch: int = 500
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` conditional samples of each class: images (N, 1, 28, 28) in [-1, 1], labels (N,)."""
    classes = sorted({int(c) for c in classes})
    if not classes or any(not 0 <= c < g.num_classes for c in classes):
        raise ValueError(f"classes must be a non-empty subset of 0-{g.num_classes - 1}, got {classes}")
    if per_class < 1 or per_class * len(classes) > MAX_GENERATED:
        raise ValueError(f"per_class must be >= 1 and at most {MAX_GENERATED} images in all, "
                         f"got {per_class} x {len(classes)} classes")
    labels = torch.tensor(classes).repeat_interleave(per_class)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(len(labels), g.latent_dim, generator=gen)
    device = next(g.parameters()).device
    g.eval()
    out = [g(z[i : i + batch].to(device), labels[i : i + batch].to(device)).float().cpu()
           for i in range(0, len(labels), batch)]
    return torch.cat(out), labels


def write_imagefolder_zip(images: torch.Tensor, labels: torch.Tensor, path: str | Path,
                          class_names: list[str] | None = None) -> Path:
    """Write a ZIP in torchvision ImageFolder layout: ``<class>/<class>_<index>.png``, one 8-bit PNG each.

    torchvision.datasets.ImageFolder (or genlab.data.image_folder) reads the unzipped folder as is.
    """
    path = Path(path)
    names = class_names or [str(i) for i in range(int(labels.max()) + 1)]
    counts: dict[int, int] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:  # PNGs are already compressed
        for arr, label in zip(to_uint8(images), labels.tolist()):
            i = counts.get(label, 0)
            counts[label] = i + 1
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="PNG")
            zf.writestr(f"{names[label]}/{names[label]}_{i:05d}.png", buf.getvalue())
    return path


# --- Classic augmentation -------------------------------------------------------------------

CLASSIC_SIZE = 256  # gallery images: the upload is shrunk to this longer side first


def classic_pipeline(flip: bool = True) -> v2.Compose:
    """The torchvision v2 pipeline behind the classic gallery (geometry, then photometry)."""
    steps = [
        v2.RandomResizedCrop(CLASSIC_SIZE, scale=(0.6, 1.0), ratio=(0.8, 1.25), antialias=True),
        v2.RandomApply([v2.RandomRotation(15)], p=0.5),
        v2.RandomPerspective(distortion_scale=0.2, p=0.3),
        v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03),
        v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 1.5))], p=0.3),
    ]
    if flip:
        steps.insert(1, v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def classic_augment(source, n: int = 8, seed: int = 0, flip: bool = True) -> list[Image.Image]:
    """``n`` randomly transformed copies of one image (torchvision v2), reproducible under ``seed``.

    Turn ``flip`` off for content whose mirror image is something else (digits, text).
    """
    img = to_rgb(open_image(source, work_size=CLASSIC_SIZE * 2))
    pipeline = classic_pipeline(flip)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return [pipeline(img) for _ in range(n)]


# --- Measured value -------------------------------------------------------------------------


def subsample(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` examples of every class, drawn under ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in labels.unique().tolist():
        idx = torch.nonzero(labels == c)[:, 0]
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    return torch.cat(picks)


def train_small_classifier(images: torch.Tensor, labels: torch.Tensor, steps: int = 300, batch: int = 64,
                           seed: int = 0, affine: bool = False, lr: float = 2e-3) -> DigitClassifier:
    """The DigitClassifier trained for a fixed number of steps (same compute whatever the data size)."""
    from .train.classifier import random_affine

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = DigitClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(images), (batch,), generator=gen)
        x = images[idx]
        if affine:
            x = random_affine(x, gen)
        loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


ARMS = ("real", "real + classic", "real + generated", "real + generated + classic")


def augmentation_experiment(g: Generator, n_real=(10, 50), k_generated: int = 100, seeds=(0, 1, 2),
                            steps: int = 300, arms=ARMS, log=print) -> list[dict]:
    """Held-out accuracy of the same classifier trained on N real digits per class, with and without
    ``k_generated`` GAN digits per class and/or classic affine augmentation; one row per (N, arm, seed).

    Real digits come from the 4,500 training digits (redrawn per seed); accuracy is on the 500
    held-out ones. Every run takes the same number of steps.
    """
    from .data import digits
    from .metrics import accuracy

    train_x, train_y = digits("train").tensors
    test_x, test_y = digits("eval").tensors
    rows = []
    for n in n_real:
        for seed in seeds:
            idx = subsample(train_y, n, seed)
            real_x, real_y = train_x[idx], train_y[idx]
            gen_x, gen_y = generate_labelled(g, list(range(10)), k_generated, seed=1000 + seed)
            for arm in arms:
                start = time.perf_counter()
                x, y = (torch.cat([real_x, gen_x]), torch.cat([real_y, gen_y])) if "generated" in arm else (real_x, real_y)
                model = train_small_classifier(x, y, steps=steps, seed=seed, affine="classic" in arm)
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


def markdown_table(summary: list[dict]) -> str:
    """The summary as the README/tab table (accuracy in %, mean ± std over seeds, change vs real only)."""
    lines = ["| real per class | training data | held-out accuracy (mean ± std) | vs real only | seeds |",
             "|---:|---|---:|---:|---:|"]
    for r in summary:
        data = r["arm"].replace("generated", f"{r['k_generated']} generated/class") if r["k_generated"] else r["arm"]
        delta = "" if r["arm"] == "real" else f"{r['delta'] * 100:+.2f} pts"
        lines.append(f"| {r['n_real']} | {data} | {r['mean']:.2%} ± {r['std'] * 100:.2f} | {delta} | {r['seeds']} |")
    return "\n".join(lines)


def grid_images(images: torch.Tensor, labels: torch.Tensor, scale: int = 3) -> list[tuple[Image.Image, str]]:
    """Gallery items: each digit upscaled (nearest) with its label as caption."""
    return [(to_pil_grid(img[None], display_size=img.shape[-1] * scale), str(int(c))) for img, c in zip(images, labels)]
