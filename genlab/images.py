"""Tensor <-> PIL conversion and image grids."""

from __future__ import annotations

import math

import torch
from PIL import Image
from torchvision.utils import make_grid


def to_pil_grid(x: torch.Tensor, nrow: int | None = None, display_size: int = 0, padding: int = 2) -> Image.Image:
    """Images (B, C, H, W) in [-1, 1] -> one PIL grid image.

    nrow: images per row (default: a near-square grid).
    display_size: if > 0, upscale by the integer factor that brings the longer side nearest
    to display_size, with nearest-neighbour so 28-px pixels stay crisp.
    """
    nrow = nrow or math.ceil(math.sqrt(x.size(0)))
    grid = make_grid(x.detach().float().cpu(), nrow=nrow, padding=padding if x.size(0) > 1 else 0, pad_value=-1.0)
    arr = ((grid.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (C, H, W)
    # make_grid repeats 1-channel images to RGB; keep grayscale as mode "L"
    img = Image.fromarray(arr[0].numpy() if x.size(1) == 1 else arr.permute(1, 2, 0).numpy())
    if display_size > 0:
        factor = max(1, round(display_size / max(img.size)))
        if factor > 1:
            img = img.resize((img.width * factor, img.height * factor), Image.NEAREST)
    return img
