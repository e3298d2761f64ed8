"""Grow a small labelled dataset: generated digits (conditional GAN) and classic transforms.

>>> import genlab
>>> from genlab.tasks.augment import generate_labelled, write_imagefolder_zip
>>> images, labels = generate_labelled(genlab.load("mnist-cgan"), classes=[3, 8], per_class=50, seed=0)
>>> write_imagefolder_zip(images, labels, "digits.zip")   # 3/3_00000.png ... 8/8_00049.png

``genlab.evaluation.augment`` measures what the generated digits are worth to a classifier trained on
N real digits per class (``python -m genlab eval augment``).
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from ..images import open_image, to_pil_grid, to_rgb, to_uint8
from ..models import Generator
from ..rng import seeded
from .sampling import draw

MAX_GENERATED = 5000  # per request: keeps a public server's memory and ZIP size bounded


@torch.inference_mode()
def generate_labelled(g: Generator, classes: list[int], per_class: int, seed: int = 0, batch: int = 500
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` conditional samples of each class: images (N, C, R, R) in [-1, 1], labels (N,).

    An unconditional model (num_classes 0) has one "class", 0: its "any class" label."""
    classes = sorted({int(c) for c in classes})
    top = max(g.num_classes, 1)
    if not classes or any(not 0 <= c < top for c in classes):
        raise ValueError(f"classes must be a non-empty subset of 0-{top - 1}, got {classes}")
    if per_class < 1 or per_class * len(classes) > MAX_GENERATED:
        raise ValueError(f"per_class must be >= 1 and at most {MAX_GENERATED} images in all, "
                         f"got {per_class} x {len(classes)} classes")
    labels = torch.tensor(classes).repeat_interleave(per_class)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(len(labels), g.latent_dim, generator=gen)
    device = next(g.parameters()).device  # g in eval mode, as genlab.load returns it (not changed here)
    out = [draw(g, z[i : i + batch].to(device), labels[i : i + batch].to(device)).float().cpu()
           for i in range(0, len(labels), batch)]
    return torch.cat(out), labels


def write_imagefolder_zip(images: torch.Tensor, labels: torch.Tensor, path: str | Path,
                          class_names: list[str] | None = None) -> Path:
    """Write a ZIP in torchvision ImageFolder layout: ``<class>/<class>_<index>.png``, one 8-bit PNG each.

    torchvision.datasets.ImageFolder (or genlab.datasets.image_folder) reads the unzipped folder as is.
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


# --- Affine jitter for training batches ----------------------------------------------------


def random_affine(x: torch.Tensor, gen: torch.Generator, pad: str = "background") -> torch.Tensor:
    """Per-image rotation ±10°, scale 0.9-1.1, shift ±1/14 of the side: (B, C, H, W) -> same shape.

    pad: "background" fills uncovered pixels with -1 (black: the digits' background), "border"
    repeats the edge (photos, tiles). The random numbers are drawn on the CPU from ``gen``.
    """
    b = x.size(0)
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(10)
    scale = 0.9 + torch.rand(b, generator=gen) * 0.2
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * (2 / 14)  # 2 px at 28 px, in [-1, 1] grid units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)  # (B, H, W, 2)
    if pad == "border":
        return F.grid_sample(x, grid, align_corners=False, padding_mode="border")
    return F.grid_sample(x + 1, grid, align_corners=False) - 1  # pad with background (-1)


# --- Classic augmentation -------------------------------------------------------------------

CLASSIC_SIZE = 256  # gallery images: the upload is shrunk to this longer side first


def classic_pipeline(flip: bool = True):
    """The torchvision v2 pipeline behind the classic gallery (geometry, then photometry): a v2.Compose."""
    from torchvision.transforms import v2  # here, not at import: torchvision costs seconds of start-up

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
    with seeded(seed):  # torchvision's transforms draw from the global generator: alone, under a lock
        return [pipeline(img) for _ in range(n)]


def grid_images(images: torch.Tensor, labels: torch.Tensor, names: list[str] | None = None, scale: int = 3
                ) -> list[tuple[Image.Image, str]]:
    """Gallery items: each image upscaled (nearest) with its class name as caption."""
    return [(to_pil_grid(img[None], display_size=img.shape[-1] * scale), names[int(c)] if names else str(int(c)))
            for img, c in zip(images, labels)]


def markdown_table(summary: list[dict]) -> str:
    """The summary as the README/tab table (accuracy in %, mean ± std over seeds, change vs real only)."""
    lines = ["| real per class | training data | held-out accuracy (mean ± std) | vs real only | seeds |",
             "|---:|---|---:|---:|---:|"]
    for r in summary:
        data = r["arm"].replace("generated", f"{r['k_generated']} generated/class") if r["k_generated"] else r["arm"]
        delta = "" if r["arm"] == "real" else f"{r['delta'] * 100:+.2f} pts"
        lines.append(f"| {r['n_real']} | {data} | {r['mean']:.2%} ± {r['std'] * 100:.2f} | {delta} | {r['seeds']} |")
    return "\n".join(lines)
