"""Latent-optimisation repair: search a VAE's or a GAN's latent space for an image that matches the
known pixels (the ``vae`` and ``gan`` methods of ``genlab.tasks.inpainting``).

The whole upload is one sample of the model's domain (a framed digit for the shipped models, or
what a model was trained on), brought to the model's resolution and channels; the result is
scaled back and only masked pixels are pasted (by ``genlab.tasks.inpainting``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from PIL import Image, ImageOps

from ..errors import ImageInputError
from ..images import to_pil_grid


def digit_domain(image: np.ndarray, mask: np.ndarray, size: int = 28, channels: int = 1, preprocess: str = "mnist"
                 ) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """An image and its mask in a generative model's domain -> (x (1, C, R, R) in [-1, 1], known (1, 1, R, R),
    inverted).

    The whole image is one sample, area-averaged to size x size. Digit models ("mnist"): grey,
    inverted if dark-on-light (MNIST is light on dark). Models trained on a folder: kept in
    colour (or grey) as is. A cell counts as masked if over a quarter of it was painted.
    """
    gray = image.astype(np.float32).mean(axis=2) / 255.0
    known_px = gray[~mask]
    invert = False
    if preprocess == "mnist":
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        invert = float(np.median(border)) > 0.5
        planes = [1 - gray if invert else gray]
    else:
        planes = [gray] if channels == 1 else [image[..., c].astype(np.float32) / 255.0 for c in range(3)]
    small = np.stack([np.asarray(Image.fromarray(p).resize((size, size), Image.BOX), dtype=np.float32) for p in planes])
    if preprocess == "mnist" and channels > 1:
        small = np.repeat(small, channels, axis=0)
    cover = np.asarray(Image.fromarray(mask.astype(np.float32)).resize((size, size), Image.BOX), dtype=np.float32)
    known = cover <= 0.25
    if not known.any() or known_px.size == 0:
        raise ImageInputError("The mask covers the whole image: leave some of it unpainted.")
    if known.all():
        known = cover < 1e-6  # a tiny mask: still repair the cells it touches
    x = torch.from_numpy(np.clip(small, 0, 1) * 2 - 1)[None]
    return x, torch.from_numpy(known)[None, None].float(), invert


def model_domain(image: np.ndarray, mask: np.ndarray, model) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """``digit_domain`` at the model's resolution, channels and declared preprocessing."""
    return digit_domain(image, mask, getattr(model, "resolution", 28), getattr(model, "image_channels", 1),
                        getattr(model, "preprocess", "mnist"))


def _fit_latents(decode, z: torch.Tensor, x: torch.Tensor, known: torch.Tensor, steps: int, sigma: float,
                 lr: float = 0.05, every: int = 25, center: torch.Tensor | float = 0.0, scale: float = 1.0
                 ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """Maximise log p(known pixels | z) + log N(z; center, scale² I) for a batch of latents; yields (step, z, losses).
    center/scale: 0/1 for z; a StyleGAN's W uses w_avg and the spread of mapped latents."""
    z = z.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr * scale)
    for it in range(1, steps + 1):
        out = decode(z)
        data = (((out - x) * known) ** 2).flatten(1).sum(1) / (2 * sigma**2)
        loss = data + 0.5 * (((z - center) / scale) ** 2).sum(1)
        (z.grad,) = torch.autograd.grad(loss.sum(), [z])  # z only: the model's weights get no .grad
        opt.step()
        if it % every == 0 or it == steps:
            yield it, z.detach(), loss.detach()


def latent_inpaint(model, x: torch.Tensor, known: torch.Tensor, kind: str, steps: int = 200, seed: int = 0,
                   candidates: int = 6, sigma: float = 0.15, restarts: int = 2
                   ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, list[list[str]]]]:
    """Latent-optimisation repair of N digits at once.

    x: (N, C, R, R), known: (N, 1, R, R). Yields (step, images (N, K, C, R, R), losses (N, K), names),
    candidates sorted best first. vae: K latents per digit, the first started from the
    encoder's posterior mean of the known pixels, the rest from prior samples. gan:
    ``restarts`` latents for each of the 10 classes, all optimised together; the best
    ``candidates`` by loss are kept. The decoded images are not yet pasted back.
    """
    g = torch.Generator().manual_seed(seed)
    # The model may be shared by concurrent requests (the app's cache), so it is never changed:
    # gradients go to z only (autograd.grad in _fit_latents, nothing accumulates in the weights),
    # and batch norm must use its running statistics (genlab.load returns models in eval mode).
    if model.training:
        raise ValueError("latent_inpaint needs the model in eval mode (model.eval()); it does not change it")
    device = next(model.parameters()).device
    x, known = x.to(device), known.to(device)
    n = x.size(0)
    prior = {}
    if kind == "vae":
        with torch.no_grad():
            mu = model.encode(torch.where(known.bool(), x, torch.full_like(x, -1.0)))[0].float().cpu()  # (N, D)
        per = candidates
        z0 = torch.cat([mu[:, None], torch.randn(n, per - 1, model.latent_dim, generator=g)], 1).flatten(0, 1)
        decode = model.decode
        names = ["from encoder"] + [f"prior start {i}" for i in range(1, per)]
    elif kind == "gan":
        # Every class (up to 10) with ``restarts`` latents each; more classes or none: the "any class" label.
        classes = list(range(model.num_classes)) if 0 < model.num_classes <= 10 else [model.any_class]
        if model.num_classes > 10 and not getattr(model, "any_class_token", True):  # a StyleGAN: no "any class"
            classes = list(range(10))
        restarts = restarts if len(classes) > 1 else 10 * restarts
        per = len(classes) * restarts
        labels = torch.tensor(classes).repeat_interleave(restarts).repeat(n).to(device)
        # the search moves in the model's code space: z (genlab's GANs, DCGAN), or W (StyleGAN, from mapped z, its
        # prior centred on w_avg with W's own spread: GANInterface.code_center, code_scale)
        with torch.no_grad():
            z0 = model.code_start(n * per, labels, g).float().cpu()
        prior = {"center": model.code_center(), "scale": model.code_scale()}  # z: N(0, I); W: about w_avg

        def decode(z):
            return model(z, labels)

        label_names = [*model.labels, "any class"]
        names = [f"class {label_names[c]}" for c in classes for _ in range(restarts)]
    else:
        raise ValueError(f"kind must be 'vae' or 'gan', got {kind!r}")
    xr, kr = x.repeat_interleave(per, 0), known.repeat_interleave(per, 0)
    for it, z, losses in _fit_latents(decode, z0.to(device), xr, kr, steps, sigma, **prior):
        with torch.no_grad():
            images = decode(z).float().cpu().view(n, per, *x.shape[1:])
        losses = losses.cpu().view(n, per)
        order = torch.argsort(losses, dim=1)[:, :candidates]
        rows = torch.arange(n)[:, None]
        yield it, images[rows, order], losses[rows, order], [[names[j] for j in o] for o in order.tolist()]


def _from_digit(digit: torch.Tensor, size: tuple[int, int], inverted: bool) -> np.ndarray:
    """A (C, R, R) sample in [-1, 1] -> RGB float (H, W, 3) in [0, 1] at the image's (width, height)."""
    arr = ((digit.clamp(-1, 1) + 1) / 2).numpy().astype(np.float32)  # (C, R, R)
    if inverted:
        arr = 1 - arr
    big = np.stack([np.asarray(Image.fromarray(p).resize(size, Image.BILINEAR), dtype=np.float32) for p in arr], -1)
    return np.clip(big if big.shape[2] == 3 else np.repeat(big, 3, axis=2), 0, 1)


def _digit_tile(digit: torch.Tensor, inverted: bool, scale: int = 4) -> Image.Image:
    """A (C, R, R) sample -> a crisp PIL tile about 112 px (scale 4 at 28 px), in the upload's polarity."""
    tile = to_pil_grid(digit[None], display_size=28 * scale)
    return ImageOps.invert(tile) if inverted else tile
