"""Repair the masked region of an image.

Four methods, one interface (``mask`` is True where pixels are to be repaired):

- ``dip``: deep image prior (Ulyanov et al. 2018). A randomly initialised conv net is fitted to
  the known pixels of this one image; its structure fills the hole. Needs no training data, so
  it works on any photo. Runs on a crop around the mask at a bounded resolution.
- ``biharmonic``: the classical baseline (scikit-image's biharmonic inpainting).
- ``vae`` / ``gan``: images of the model's domain (digits with the shipped models, or what a
  model was trained on). Optimise a latent so the decoded image matches the known pixels, with
  the prior N(0, I) as regulariser; several candidates, best first.

Every method pastes the result into the full-size original and keeps known pixels exactly.

>>> from genlab.tasks.inpainting import inpaint_steps
>>> for step in inpaint_steps("photo.png", "mask.png", method="dip", iterations=300):
...     step.preview   # the window around the hole, improving; the last step also has step.image
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ..errors import ImageInputError
from ..images import open_image, to_gray_array, to_rgb
from .latent_inpainting import (  # noqa: F401 (digit_domain, latent_inpaint also re-exported from here)
    _digit_tile, _from_digit, digit_domain, latent_inpaint, model_domain)
from ..models.dip import SkipHourglass
from ..rng import seeded

METHODS = ("dip", "biharmonic", "vae", "gan")
DIGIT_METHODS = ("vae", "gan")
MIN_KNOWN_FRACTION = 0.02  # refuse masks that leave (almost) nothing to fit


# --- Image and mask -------------------------------------------------------------------------


def load_rgb(source) -> np.ndarray:
    """Any upload -> uint8 (H, W, 3) at full resolution (transparency composited on white)."""
    return np.asarray(to_rgb(open_image(source, work_size=None)))


def mask_from_layer(source, size: tuple[int, int] | None = None) -> np.ndarray:
    """A painted layer -> bool mask (H, W), True = repair.

    Layers with transparency (what the editor's brush paints): painted = alpha > 0. Layers
    without it (a mask file): painted = brightness > 50 %, i.e. white marks the region.
    size: (width, height) of the image; the mask is resized to it (nearest) if it differs.
    """
    img = open_image(source, work_size=None)
    if "A" in img.getbands():  # RGBA, LA, PA: read the alpha band without copying the colour bands
        mask = np.asarray(img.getchannel("A")) > 0
    elif "transparency" in img.info:
        mask = np.asarray(img.convert("RGBA").getchannel("A")) > 0
    else:
        mask = to_gray_array(img) > 0.5
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        mask = np.asarray(Image.fromarray(mask).resize(size, Image.NEAREST))
    return mask


def mask_from_editor(value: dict) -> tuple[np.ndarray, np.ndarray]:
    """A gr.ImageEditor value {"background", "layers", "composite"} -> (RGB uint8 image, bool mask).

    The mask is the union of every painted layer's alpha; the image is the background (the
    upload without paint).
    """
    if not value or value.get("background") is None:
        raise ImageInputError("No image: upload an image (or pick an example), then paint over the region to repair.")
    image = load_rgb(value["background"])
    if image.min() == image.max():
        raise ImageInputError("The image is blank (one flat colour): upload an image or pick an example, "
                              "then paint over the region to repair.")
    size = (image.shape[1], image.shape[0])
    mask = np.zeros(image.shape[:2], dtype=bool)
    for layer in value.get("layers") or []:
        if layer is not None:
            mask |= mask_from_layer(layer, size)
    return image, mask


def check_mask(mask: np.ndarray) -> None:
    """Refuse empty and (almost) full masks with a message that says what to do."""
    if not mask.any():
        raise ImageInputError("The mask is empty: paint over the region to repair with the brush.")
    if (~mask).mean() < MIN_KNOWN_FRACTION:
        raise ImageInputError(
            f"The mask covers {mask.mean():.0%} of the image: leave at least {MIN_KNOWN_FRACTION:.0%} of it "
            "unpainted, since the repair is fitted to the pixels outside the mask."
        )


# --- Crop and paste back --------------------------------------------------------------------


@dataclass(frozen=True)
class Crop:
    """A window of the original (top, left, height, width) and the working size it is resized to."""

    top: int
    left: int
    height: int
    width: int
    work_height: int
    work_width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


def crop_box(mask: np.ndarray, max_side: int = 256, margin: int | None = None, multiple: int = 1) -> Crop:
    """The window around the mask's bounding box plus context, and its bounded working size.

    margin: context on each side (default: the hole's longer side, at least 16 px), clamped to
    the image. The working size keeps the aspect ratio, its longer side is at most max_side,
    and both sides are rounded to a multiple of ``multiple`` (for nets that downsample).
    """
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if len(rows) == 0:
        raise ImageInputError("The mask is empty: paint over the region to repair with the brush.")
    h, w = mask.shape
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if margin is None:
        margin = max(16, r1 - r0, c1 - c0)
    top, bottom = max(0, r0 - margin), min(h, r1 + margin)
    left, right = max(0, c0 - margin), min(w, c1 + margin)
    ch, cw = bottom - top, right - left
    scale = min(1.0, max_side / max(ch, cw))
    wh = max(multiple, round(ch * scale / multiple) * multiple)
    ww = max(multiple, round(cw * scale / multiple) * multiple)
    return Crop(int(top), int(left), int(ch), int(cw), int(wh), int(ww))


def cut(image: np.ndarray, mask: np.ndarray, crop: Crop) -> tuple[np.ndarray, np.ndarray]:
    """The crop at working size: float32 image (h, w, C) in [0, 1] and bool mask (True = repair).

    The image is area-averaged; a working pixel counts as masked if any of it was painted.
    """
    sl = crop.slices
    size = (crop.work_width, crop.work_height)
    patch = Image.fromarray(image[sl])
    if patch.size != size:
        patch = patch.resize(size, Image.BOX if patch.width > size[0] else Image.BICUBIC)
    m = Image.fromarray(mask[sl].astype(np.uint8) * 255)
    if m.size != size:
        m = m.resize(size, Image.BOX)
    return np.asarray(patch, dtype=np.float32) / 255.0, np.asarray(m) > 0


def paste(image: np.ndarray, mask: np.ndarray, filled: np.ndarray, crop: Crop) -> np.ndarray:
    """Put a working-size result (h, w, C) in [0, 1] back into a copy of the full image.

    Only masked pixels change; everything else stays byte-identical to the original.
    """
    sl = crop.slices
    patch = (np.clip(filled, 0, 1) * 255).round().astype(np.uint8)
    if patch.shape[:2] != (crop.height, crop.width):
        patch = np.asarray(Image.fromarray(patch).resize((crop.width, crop.height), Image.BICUBIC))
    out = image.copy()
    region, m = out[sl], mask[sl]
    region[m] = patch[m]
    return out


# --- Methods --------------------------------------------------------------------------------


@dataclass
class Step:
    """One streamed result.

    preview: the repaired window around the mask (at most PREVIEW_SIDE px), cheap to show often.
    image: the full-size repaired image, set on the last step only (done=True).
    candidates: digit methods' alternative completions with captions, best first (last step).
    """

    preview: Image.Image
    iteration: int
    iterations: int
    loss: float
    seconds: float
    done: bool = False
    image: Image.Image | None = None
    candidates: list[tuple[Image.Image, str]] = field(default_factory=list)

    @property
    def status(self) -> str:
        state = "done" if self.done else "running"
        return f"{state}: iteration {self.iteration}/{self.iterations}, loss {self.loss:.4f}, {self.seconds:.1f} s"


PREVIEW_SIDE = 512


def window_preview(image: np.ndarray, mask: np.ndarray, filled: np.ndarray, crop: Crop) -> Image.Image:
    """The crop window with the working-size fill pasted into its masked pixels, for previews."""
    sl = crop.slices
    out = paste(image[sl], mask[sl], filled, Crop(0, 0, crop.height, crop.width, crop.work_height, crop.work_width))
    img = Image.fromarray(out)
    img.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return img


def biharmonic(patch: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic inpainting of a working crop (h, w, C) in [0, 1]."""
    from skimage.restoration import inpaint_biharmonic

    return inpaint_biharmonic(patch, mask, channel_axis=-1)


def deep_image_prior(patch: np.ndarray, mask: np.ndarray, iterations: int = 300, seed: int = 0, lr: float = 0.01,
                     every: int = 25, width: int = 32, device: str = "cpu") -> Iterator[tuple[int, float, np.ndarray]]:
    """Fit a fresh SkipHourglass to the known pixels of one crop; yields (iteration, loss, result).

    patch (h, w, C) in [0, 1] with h, w multiples of 16; mask (h, w) True = repair. Results are
    yielded every ``every`` iterations and at the end; known pixels are not yet pasted back.
    Input noise is perturbed each step (std 1/30), as in the paper. device: "cpu", "cuda", or
    "auto" (a GPU when there is one). Seeded results are reproducible per device.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator().manual_seed(seed)
    with seeded(seed):  # weight init draws from the global generator: alone, under a lock
        net = SkipHourglass(out_channels=patch.shape[2], width=width).to(device)
    target = torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)))[None].to(device)
    known = torch.from_numpy(~mask)[None, None].float().to(device)
    noise = (torch.rand(1, 8, *mask.shape, generator=g) * 0.1).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n_known = known.sum() * patch.shape[2]
    for it in range(1, iterations + 1):
        jitter = (torch.randn(noise.shape, generator=g) / 30).to(device)
        out = net(noise + jitter)
        loss = (((out - target) * known) ** 2).sum() / n_known
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if it % every == 0 or it == iterations:
            with torch.no_grad():
                result = net(noise)[0].permute(1, 2, 0).cpu().numpy()
            yield it, float(loss.detach()), result


# --- The one entry point --------------------------------------------------------------------


MAX_SIDE = {"dip": 128, "biharmonic": 512}  # working-crop side: bounds time and memory for any upload


def inpaint_steps(image, mask=None, method: str = "dip", iterations: int | None = None, seed: int = 0,
                  max_side: int | None = None, every: int | None = None, model=None, device: str = "auto"
                  ) -> Iterator[Step]:
    """Repair ``image`` where ``mask`` is True, streaming intermediate results.

    image: an upload (path, PIL, array) or an already loaded RGB uint8 array. mask: bool array,
    a mask file/layer (white or painted = repair), or None when ``image`` is an editor value dict.
    iterations: optimisation steps (dip default 300, digits 200; ignored by biharmonic).
    max_side: the working crop's longest side (default MAX_SIDE[method]): memory and time stay
    bounded whatever the upload's size. model: the VAE/GAN for digit methods (default: shipped ones).
    Yields Steps; the last one has done=True.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    start = time.perf_counter()
    if isinstance(image, dict):
        image, mask = mask_from_editor(image)
    elif not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        image = load_rgb(image)
    if mask is None:
        raise ImageInputError("No mask: paint over the region to repair.")
    if not isinstance(mask, np.ndarray):
        mask = mask_from_layer(mask, (image.shape[1], image.shape[0]))
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape[:2]:
        raise ImageInputError(f"The mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                              f"{image.shape[1]}x{image.shape[0]}; they must match.")
    check_mask(mask)
    size = (image.shape[1], image.shape[0])

    if method in DIGIT_METHODS:
        steps = iterations or 200
        if model is None:
            from ..hub import load

            model = load("mnist-vae" if method == "vae" else "mnist-cgan", model_type=method, device="cpu")
        x, known, inverted = model_domain(image, mask, model)
        whole = Crop(0, 0, size[1], size[0], size[1], size[0])
        for it, images, losses, names in latent_inpaint(model, x, known, method, steps=steps, seed=seed):
            images, losses, names = images[0], losses[0], names[0]
            best = torch.where(known.bool()[0], x[0], images[0])  # known cells from the input
            step = Step(_digit_tile(best, inverted, scale=8), it, steps, float(losses[0]), time.perf_counter() - start)
            if it == steps:
                step.done = True
                step.image = Image.fromarray(paste(image, mask, _from_digit(images[0], size, inverted), whole))
                step.candidates = [(_digit_tile(torch.where(known.bool()[0], x[0], img), inverted),
                                    f"{name} (loss {loss:.1f})") for img, loss, name in zip(images, losses, names)]
            yield step
        return

    crop = crop_box(mask, max_side=max_side or MAX_SIDE[method], multiple=16 if method == "dip" else 1)
    patch, work_mask = cut(image, mask, crop)
    if method == "biharmonic":
        result = biharmonic(patch, work_mask)
        yield Step(window_preview(image, mask, result, crop), 1, 1, 0.0, time.perf_counter() - start, True,
                   Image.fromarray(paste(image, mask, result, crop)))
        return
    steps = iterations or 300
    for it, loss, result in deep_image_prior(patch, work_mask, iterations=steps, seed=seed, device=device,
                                             every=every or max(1, min(25, math.ceil(steps / 12)))):
        step = Step(window_preview(image, mask, result, crop), it, steps, loss, time.perf_counter() - start)
        if it == steps:
            step.done, step.image = True, Image.fromarray(paste(image, mask, result, crop))
        yield step


def inpaint(image, mask=None, method: str = "dip", **kwargs) -> Image.Image:
    """Run ``inpaint_steps`` to the end and return the repaired full-size image."""
    for step in inpaint_steps(image, mask, method=method, **kwargs):
        pass
    return step.image
