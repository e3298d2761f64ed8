"""Image-to-image translation with pix2pix: the tasks' inputs, and sampling k outputs.

Tasks (each a shipped checkpoint):
- sketch2digit: a thin stroke drawing (the digit's skeleton, with stroke-width and elastic
  jitter so mouse drawings look like training inputs) -> a realistic digit.
- superres: 4x super-resolution, a 7x7 digit (shown bicubic-upscaled to 28x28) -> 28x28.

>>> import genlab
>>> from genlab.translation import model_input, translate
>>> g = genlab.load("mnist-sketch2digit")
>>> x = model_input("sketch2digit", "my_drawing.png")   # (1, 1, 28, 28) in [-1, 1]
>>> outputs = translate(g, x, k=4, seed=0)                # (4, 1, 28, 28)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .images import prepare, prepare_digit
from .models import UNetGenerator

TASKS = {
    "sketch2digit": "mnist-sketch2digit",  # task -> shipped checkpoint
    "superres": "mnist-superres",
}


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
    raise ValueError(f"Unknown task {task!r}; choose from {', '.join(TASKS)}")


def model_input(task: str, source) -> torch.Tensor:
    """An upload or drawing -> the task's model input (1, 1, 28, 28), MNIST-style preprocessed."""
    return make_input(task, prepare_digit(source))


def input_for(g: UNetGenerator, source) -> torch.Tensor:
    """An upload or drawing -> what this translator takes: a digit task builds its own input (sketch,
    7x7); a model trained on a folder pair takes the upload cropped/resized to its size and channels."""
    return model_input(g.task, source) if g.task in TASKS else prepare(source, g)


@torch.inference_mode()
def translate(g: UNetGenerator, x: torch.Tensor, k: int = 1, seed: int = 0) -> torch.Tensor:
    """k samples for one input (1, C_in, R, R): different dropout noise each -> (k, C, R, R)."""
    if not 1 <= k <= 16:
        raise ValueError(f"samples must be 1-16, got {k!r}")
    gen = torch.Generator().manual_seed(seed)  # the dropout masks: a local generator, safe under threads
    device = next(g.parameters()).device
    return g(x.to(device).repeat(k, 1, 1, 1), generator=gen).float().cpu()


@torch.inference_mode()
def translate_unpaired(model, x: torch.Tensor, direction: str = "A->B") -> tuple[torch.Tensor, torch.Tensor]:
    """A CycleGAN translates one input (1, C, R, R) in [-1, 1] to the other domain and back:
    (output, cycle reconstruction), each (1, C, R, R). direction: "A->B" or "B->A" (else the model's ValueError).

    >>> m = genlab.load("emoji-openmoji2noto")
    >>> out, back = translate_unpaired(m, prepare("my_emoji.png", m), "A->B")   # OpenMoji -> Noto -> OpenMoji
    """
    device = next(model.parameters()).device
    out, back = model.translate_and_back(x.to(device), direction)
    return out.float().cpu(), back.float().cpu()
