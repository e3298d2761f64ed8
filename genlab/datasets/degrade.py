"""The degradations that turn clean digits into pix2pix inputs (the pairs of datasets/paired.py, and the
app's own inputs in tasks/translation.py): a thin-stroke sketch, and a 4x downscale.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

DEGRADATIONS = ("sketch2digit", "superres")  # the pix2pix task names whose inputs are made here


def sketchify(digit: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """A digit (28, 28) in [0, 1] -> a thin stroke drawing of it (28, 28) in [0, 1].

    With rng: elastic jitter (smooth random displacement, about 1 px) and a random stroke
    width (1 or 3 px), as training inputs. Without: 1-2 px strokes, no jitter (app inputs).
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    skeleton = skeletonize(digit > 0.3).astype(np.float32)  # (28, 28), 1-px strokes
    if rng is not None:
        dx, dy = (ndimage.gaussian_filter(rng.uniform(-1, 1, digit.shape), 3) * 10 for _ in range(2))
        ys, xs = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
        skeleton = ndimage.map_coordinates(skeleton, [ys + dy, xs + dx], order=1)
        if rng.random() < 0.5:
            skeleton = ndimage.grey_dilation(skeleton, size=(3, 3))
    out = ndimage.gaussian_filter(skeleton, 0.5)  # soft edges, like a resized mouse stroke
    return np.clip(out / max(out.max(), 1e-6), 0, 1).astype(np.float32)


def downscale(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """(B, 1, 28, 28) -> the 7x7 image shown bicubic-upscaled back to 28x28 (the SR input)."""
    small = F.avg_pool2d(x, factor)  # (B, 1, 7, 7), area average
    return F.interpolate(small, scale_factor=factor, mode="bicubic", align_corners=False).clamp(-1, 1)


def make_input(task: str, digits: torch.Tensor, rng: np.random.Generator | None = None) -> torch.Tensor:
    """Model inputs for clean digits (B, 1, 28, 28) in [-1, 1]."""
    if task == "sketch2digit":
        arr = ((digits[:, 0] + 1) / 2).numpy()
        return torch.from_numpy(np.stack([sketchify(a, rng) for a in arr]))[:, None] * 2 - 1
    if task == "superres":
        return downscale(digits)
    raise ValueError(f"Unknown task {task!r}; choose from {', '.join(DEGRADATIONS)}")
