"""Sampling a conditional GAN: seed, class, truncation, and semantic latent directions.

Directions come from the generator itself, in closed form (SeFa, Shen & Zhou 2021): the
first layer maps z linearly, fc(z) = A z + ..., so the unit vectors d that change its output
most maximise |A d|^2 = d^T A^T A d: the top eigenvectors of A^T A. No sampling needed.

>>> import genlab
>>> from genlab.tasks.sampling import sample_image
>>> g = genlab.load("mnist-cgan")
>>> img = sample_image(g, seed=3, label=7, n=16, offsets=[2.0])  # PIL grid of sevens
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from PIL import Image

from ..images import to_pil_grid
from ..models import Generator
from ..models.stylegan import NOISE_MODES

MAX_SEED = 2**31 - 1  # seeds are 0..MAX_SEED, as in the UI
MAX_SAMPLES = 64  # largest grid
DIRECTION_RANGE = 5.0  # sliders move -5..5 along a unit direction (z has unit variance)


class SamplingError(ValueError):
    """A sampling argument out of range; the message says the valid range."""


@torch.no_grad()
def sefa_directions(g: Generator, k: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k SeFa directions: (k, code_dim) unit vectors and their eigenvalues (k,), largest first (code_dim: z's
    size, or W's for StyleGAN, whose latent_weight stacks the style affine weights)."""
    a = g.latent_weight().detach().float().cpu()  # (outputs, code_dim)
    eigenvalues, vectors = torch.linalg.eigh(a.T @ a)  # ascending
    order = eigenvalues.argsort(descending=True)[:k]
    return vectors[:, order].T.contiguous(), eigenvalues[order]


def _check(seed: int, label: int | None, psi: float, n: int, g: Generator) -> None:
    if not (isinstance(seed, int) and 0 <= seed <= MAX_SEED):
        raise SamplingError(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    if label is not None and not (0 <= label <= g.any_class):
        raise SamplingError(f"class must be 0-{g.num_classes - 1}, {g.any_class} (unconditional) or None (random), "
                            f"got {label!r}" if g.num_classes else f"this model is unconditional: class must be "
                            f"{g.any_class} or None, got {label!r}")
    if not (0.0 <= psi <= 2.0):
        raise SamplingError(f"truncation psi must be between 0 and 2, got {psi!r}")
    if not (1 <= n <= MAX_SAMPLES):
        raise SamplingError(f"grid size must be 1-{MAX_SAMPLES}, got {n!r}")
    if label is not None and label == g.any_class and g.num_classes and not getattr(g, "any_class_token", True):
        raise SamplingError(f"this model has no unconditional mode: class must be 0-{g.num_classes - 1} or None "
                            f"(random), got {label!r}")
    if n > max_grid(g):
        raise SamplingError(f"grid size must be 1-{max_grid(g)} at this model's {g.resolution} px (at most "
                            f"{MAX_PIXELS // 2**20} megapixel per request), got {n!r}")


MAX_PIXELS = 2**20  # pixels one request may draw: 64 images of 128 px, 16 of 256, 4 of 512, 1 of 1024


def max_grid(g) -> int:
    """The largest grid this model may draw in one request (MAX_SAMPLES, fewer for big images)."""
    return max(1, min(MAX_SAMPLES, MAX_PIXELS // g.resolution**2))


@torch.inference_mode()
def sample(
    g: Generator,
    *,
    seed: int = 0,
    label: int | None = None,
    psi: float = 1.0,
    n: int = 1,
    offsets: Sequence[float] = (),
    directions: torch.Tensor | None = None,
    class_amounts: Sequence[float] | None = None,
    start: tuple[torch.Tensor, int] | None = None,
    noise_mode: str = "const",
) -> torch.Tensor:
    """Images (n, C, R, R) in [-1, 1] at the generator's channels C and resolution R.

    seed: fixes z; image i is the same for any n > i.
    label: class index (``g.labels`` names them); None: a random class per image (fixed by the seed);
        g.any_class: the model's own unconditional ("any class") token.
    psi: truncation towards the centre of the model's code space: z scaled by psi (genlab's GANs, DCGAN), or the
        reference's w_avg + psi (w - w_avg) (StyleGAN), trading variety for fidelity.
    offsets: amounts along ``directions`` (default: the generator's SeFa directions), added in the code space
        (z, or W for StyleGAN) after truncation.
    class_amounts: per class, how far each image's class moves towards that class's (0-1; the attribute
        sliders' class blends, ``class_shift``).
    start: (code (code_dim,), label): image 0's code and class instead of the seed's (a projected upload,
        ``genlab.tasks.projection``), truncated like the others; the other images keep the seed's.
    noise_mode: StyleGAN2's noise inputs: "const" (the stored noise, as the reference's generate.py), "random"
        (fresh noise, fixed by the seed) or "none"; other generators have none and take only "const".
    """
    _check(seed, label, psi, n, g)
    z, labels = latents(g, seed=seed, label=label, n=n)
    if start is not None:
        code0, label0 = check_start(g, start)
        labels = labels.clone()
        labels[0] = label0
    offsets = [float(o) for o in offsets]
    if any(abs(o) > DIRECTION_RANGE for o in offsets):
        raise SamplingError(f"direction offsets must be within ±{DIRECTION_RANGE}, got {offsets}")
    device = next(g.parameters()).device
    shift = None
    if class_amounts is not None and any(float(a) for a in class_amounts):
        amounts = torch.zeros(g.num_classes)
        values = [float(a) for a in class_amounts]
        if len(values) > g.num_classes or any(not (0.0 <= a <= 1.0) for a in values):
            raise SamplingError(f"class amounts must be {g.num_classes} or fewer values from 0 to 1, got {values}")
        amounts[: len(values)] = torch.tensor(values)
        shift = g.class_shift(labels.to(device), amounts)
    codes = g.code(z.to(device), labels.to(device), shift)  # (n, code_dim): z, or W for StyleGAN
    if start is not None:
        codes = codes.clone()
        codes[0] = code0.to(codes)
    codes = g.truncate(codes, psi)
    if any(offsets):
        if directions is None:
            directions = sefa_directions(g, len(offsets))[0]
        if len(offsets) > len(directions):
            raise SamplingError(f"{len(offsets)} offsets but only {len(directions)} directions")
        codes = codes + (torch.tensor(offsets) @ directions[: len(offsets)]).to(codes)  # (n, code_dim)
    return g(codes, labels.to(device), shift, **noise_options(g, noise_mode, seed)).float().cpu()


def noise_options(g, noise_mode: str, seed: int) -> dict:
    """The forward() options for a noise mode: none for "const" (every generator's default)."""
    if noise_mode not in NOISE_MODES:
        raise SamplingError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
    if noise_mode == "const":
        return {}
    if not has_noise(g):
        raise SamplingError(f"this model has no noise inputs: noise mode must be const, got {noise_mode!r}")
    return {"noise_mode": noise_mode, "noise_seed": seed}


@lru_cache(maxsize=16)
def has_noise(g) -> bool:
    """Whether the generator has per-pixel noise inputs a caller can switch (StyleGAN2); once per model (every
    /sample and slider spec asks)."""
    return any(name.endswith("noise_strength") for name, _ in g.named_parameters())


def check_start(g: Generator, start) -> tuple[torch.Tensor, int]:
    """A projected start (code, label) checked against the model: ((code_dim,) float32, label)."""
    code0, label0 = start
    code0 = torch.as_tensor(code0, dtype=torch.float32).reshape(-1)
    if code0.shape != (g.code_dim,) or not torch.isfinite(code0).all() or code0.abs().max() > START_BOUND:
        raise SamplingError(f"a start latent must be {g.code_dim} finite numbers within ±{START_BOUND:g}")
    if not (isinstance(label0, int) and 0 <= label0 <= g.any_class) or (
            label0 == g.any_class and g.num_classes and not getattr(g, "any_class_token", True)):
        raise SamplingError(f"a start label must be 0-{g.any_class}, got {label0!r}")
    return code0, label0


START_BOUND = 1000.0  # a bound on a projected start, not a prior: wide enough for a StyleGAN's W (its w_avg is not 0)


@torch.no_grad()
def draw(g: Generator, z: torch.Tensor, labels: torch.Tensor, psi: float = 1.0,
         shift: torch.Tensor | None = None) -> torch.Tensor:
    """Images of latents z (B, latent_dim) with labels (B,), truncated by psi: any generator's forward from z."""
    return g(g.truncate(g.code(z, labels, shift), psi), labels, shift)


def latents(g: Generator, *, seed: int = 0, label: int | None = None, n: int = MAX_SAMPLES
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """The seed's latents before truncation and its labels: ((n, latent_dim) float32, (n,) int64).

    Row i does not depend on n (MAX_SAMPLES rows are drawn and sliced). ``sample`` scales z by psi
    and adds the direction offsets; the in-page generator (genlab/web/__init__.py) gets these same rows.
    """
    _check(seed, label, 1.0, n, g)
    z = torch.randn(MAX_SAMPLES, g.latent_dim, generator=torch.Generator().manual_seed(seed))[:n]  # (n, latent)
    if label is None and g.num_classes:
        labels = torch.randint(0, g.num_classes, (MAX_SAMPLES,), generator=torch.Generator().manual_seed(seed))[:n]
    elif label is None:  # an unconditional model: its one "any class" label
        labels = torch.full((n,), g.any_class, dtype=torch.long)
    else:
        labels = torch.full((n,), label, dtype=torch.long)
    return z, labels


def sample_image(g: Generator, *, display_size: int = 512, **kwargs) -> Image.Image:
    """``sample`` as one PIL grid, upscaled with nearest-neighbour to about display_size px."""
    return to_pil_grid(sample(g, **kwargs), display_size=display_size)


def class_index(g: Generator, label: str) -> int | None:
    """A class picker value -> sample()'s label: "any" (None: a random class per image), "unconditional"
    (the model's any-class token), a class name from ``g.labels``, or a class index as text."""
    label = str(label).strip()
    if label == "any":
        return None
    if label == "unconditional":
        if g.num_classes and not getattr(g, "any_class_token", True):
            raise SamplingError("This model has no unconditional mode (its class enters its mapping network): pick "
                                "'any' (a random class per image) or a class.")
        if g.num_classes and not g.no_class_mode:
            raise SamplingError("This model's no-class (unconditional) mode is not offered: its samples measured "
                                "far worse than its classes' (FID over 1.5x, in the model card). Pick 'any' (a random "
                                "class per image) or a class.")
        return g.any_class
    if label in g.labels:
        return g.labels.index(label)
    if label.isdigit() and int(label) < g.num_classes:
        return int(label)
    raise SamplingError(f"Class must be any, unconditional or one of this model's classes "
                        f"({', '.join(g.labels[:20])}{' ...' if len(g.labels) > 20 else ''}), got {label!r}.")


def class_choices(g: Generator) -> list[str]:
    """What the class picker offers for this generator."""
    if not g.num_classes:
        return ["any"]
    return ["any", *(["unconditional"] if g.no_class_mode else []), *g.labels]
