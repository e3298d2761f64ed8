"""Image-to-image translation with pix2pix: the tasks' inputs, and sampling k outputs.

Tasks (each a shipped checkpoint):
- sketch2digit: a thin stroke drawing (the digit's skeleton, with stroke-width and elastic
  jitter so mouse drawings look like training inputs) -> a realistic digit.
- superres: 4x super-resolution, a 7x7 digit (shown bicubic-upscaled to 28x28) -> 28x28.

>>> import genlab
>>> from genlab.tasks.translation import model_input, translate
>>> g = genlab.load("mnist-sketch2digit")
>>> x = model_input("sketch2digit", "my_drawing.png")   # (1, 1, 28, 28) in [-1, 1]
>>> outputs = translate(g, x, k=4, seed=0)                # (4, 1, 28, 28)

Imported translators (pytorch-CycleGAN-and-pix2pix's, ``genlab import``) take photos at their own size instead:

>>> g = genlab.load("horse2zebra")
>>> x = photo_input("horses.jpg", g.in_channels)          # (1, 3, H, W): long side <= MAX_SIDE, sides % 4 == 0
>>> zebras = translate_photo(g, x)                         # (1, 3, H, W), eval mode
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..datasets.degrade import make_input
from ..images import open_image, prepare, prepare_mnist, to_channels
from ..models import UNetGenerator

TASKS = {
    "sketch2digit": "mnist-sketch2digit",  # task -> shipped checkpoint
    "superres": "mnist-superres",
}


def model_input(task: str, source) -> torch.Tensor:
    """An upload or drawing -> the task's model input (1, 1, 28, 28), MNIST-style preprocessed."""
    return make_input(task, prepare_mnist(source))


def input_for(g: UNetGenerator, source) -> torch.Tensor:
    """An upload or drawing -> what this translator takes: a digit task builds its own input (sketch,
    7x7); a model trained on a folder pair takes the upload cropped/resized to its size and channels; an imported
    translator the whole photo (``photo_input``)."""
    if getattr(g, "full_size", False):
        return photo_input(source, g.in_channels)
    return model_input(g.task, source) if g.task in TASKS else prepare(source, g)


# --- Photos at their own size (imported pytorch-CycleGAN-and-pix2pix translators) -------------------------------

MAX_SIDE = int(os.environ.get("GENLAB_TRANSLATE_MAX_SIDE", 1024))  # px: longer uploads are shrunk to this first


def photo_input(source, channels: int, max_side: int = MAX_SIDE) -> torch.Tensor:
    """Any upload (path, PIL, array; any mode, 16-bit, alpha) -> (1, channels, H, W) in [-1, 1] at its own size: shrunk
    so its longer side is at most ``max_side`` (a big JPEG is decoded at reduced size, so a 4000x3000 photo never
    exists at full size as floats), then each side rounded to a multiple of 4 (bicubic), as upstream's
    ``--preprocess none`` does. A file is decoded once per (path, version, channels, size): the tab's k, seed and
    variety events, and the note after each, reuse it."""
    if isinstance(source, (str, Path)):
        st = os.stat(source)
        return _photo_file(str(source), st.st_mtime_ns, st.st_size, channels, max_side).clone()
    return _photo(source, channels, max_side)


@lru_cache(maxsize=4)  # at most 4 x 12 MB (1024 x 1024 RGB as float32)
def _photo_file(path: str, mtime_ns: int, size: int, channels: int, max_side: int) -> torch.Tensor:
    return _photo(path, channels, max_side)


def _photo(source, channels: int, max_side: int) -> torch.Tensor:
    img = open_image(source, work_size=max_side)
    arr = to_channels(img, channels)  # uint8 (h, w, C)
    h, w = arr.shape[:2]
    rh, rw = max(4, int(round(h / 4)) * 4), max(4, int(round(w / 4)) * 4)
    if (rh, rw) != (h, w):
        small = Image.fromarray(arr[..., 0] if channels == 1 else arr)
        arr = np.asarray(small.resize((rw, rh), Image.BICUBIC))
        arr = arr[..., None] if channels == 1 else arr
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float()[None] / 127.5 - 1


def _run(fn, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """fn on x padded to sides divisible by ``multiple`` (reflected where the image is big enough, else its edge
    repeated), cropped back to x's size."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode=mode)
    y = fn(x)
    return y[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]


@torch.inference_mode()
def translate_photo(g, x: torch.Tensor, k: int = 1, seed: int = 0, variety: bool = False,
                    direction: str | None = None) -> torch.Tensor:
    """An imported translator on one photo (1, C_in, H, W) -> (k, C_out, H, W). variety=False: eval mode, one answer
    (k ignored). variety=True: k samples as upstream's test.py draws them (dropout on, each image normalised by its own
    batch statistics), one at a time so memory stays that of one; the dropout masks come from ``seed``.
    direction: a CycleGAN pair's ("A->B" or "B->A")."""
    if not 1 <= k <= 16:
        raise ValueError(f"samples must be 1-16, got {k!r}")
    device = next(g.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    kwargs = {} if direction is None else {"direction": direction}
    n = k if variety and g.has_variety else 1
    x = x.to(device)
    outs = [_run(lambda t: g(t, variety=variety, generator=gen, **kwargs), x, g.multiple).float().cpu()
            for _ in range(n)]
    return torch.cat(outs)


@torch.inference_mode()
def translate_photo_pair(model, x: torch.Tensor, direction: str = "A->B") -> tuple[torch.Tensor, torch.Tensor]:
    """An imported CycleGAN pair on one photo: (translation, cycle reconstruction), each (1, C, H, W), eval mode."""
    model.generator(direction)  # a bad direction: the model's ValueError
    back = "B->A" if direction == "A->B" else "A->B"
    out = translate_photo(model, x, direction=direction)
    return out, translate_photo(model, out, direction=back)


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
    if getattr(model, "full_size", False):
        return translate_photo_pair(model, x, direction)
    device = next(model.parameters()).device
    out, back = model.translate_and_back(x.to(device), direction)
    return out.float().cpu(), back.float().cpu()
