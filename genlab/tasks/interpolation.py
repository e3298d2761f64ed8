"""VAE latent-space tasks: encode images, interpolate between them, traverse dimensions.

>>> import genlab
>>> from genlab.tasks.interpolation import encode, path
>>> vae = genlab.load("mnist-vae")
>>> za, _ = encode(vae, "a.png"); zb, _ = encode(vae, "b.png")
>>> frames = path(vae, za, zb, n=8, mode="spherical")   # (8, C, R, R) in [-1, 1]
"""

from __future__ import annotations

import torch

from ..images import prepare
from ..models import ConvVAE

MODES = ("linear", "spherical")


@torch.inference_mode()
def encode(vae: ConvVAE, source) -> tuple[torch.Tensor, torch.Tensor]:
    """An image (path, PIL or array) -> (z = posterior mean (latent_dim,), model input (1, C, R, R)).

    The upload is prepared as the model's config declares: MNIST-style centring for digit
    models, square crop (or pad) and resize to its resolution and channels for others."""
    x = prepare(source, vae)
    device = next(vae.parameters()).device
    return vae.encode(x.to(device))[0][0].cpu(), x


@torch.inference_mode()
def decode(vae: ConvVAE, z: torch.Tensor) -> torch.Tensor:
    """Latents (B, latent_dim) or (latent_dim,) -> images (B, C, R, R) in [-1, 1]."""
    device = next(vae.parameters()).device
    return vae.decode(z.reshape(-1, vae.latent_dim).to(device)).float().cpu()


PRIORS = ("fitted", "normal")


def prior_sample(vae: ConvVAE, seed: int, prior: str = "fitted") -> torch.Tensor:
    """A latent from the prior, fixed by seed: (latent_dim,). "fitted": the mixture fitted to the training
    codes (the model's own, where its checkpoint has one), "normal": N(0, I)."""
    return vae.sample_prior(1, torch.Generator().manual_seed(seed), prior)[0]


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: follows the great circle, interpolating the norm linearly.

    Equals z0 at t = 0 and z1 at t = 1; falls back to linear when the two are (anti)parallel.
    """
    n0, n1 = z0.norm(), z1.norm()
    if n0 < 1e-8 or n1 < 1e-8:
        return torch.lerp(z0, z1, t)
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos(torch.clamp((u0 * u1).sum(), -1.0, 1.0))
    if omega.abs() < 1e-4 or (torch.pi - omega).abs() < 1e-4:
        return torch.lerp(z0, z1, t)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return direction * torch.lerp(n0, n1, t)


def interpolate_latent(z0: torch.Tensor, z1: torch.Tensor, t: float, mode: str = "linear") -> torch.Tensor:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be between 0 and 1, got {t!r}")
    return slerp(z0, z1, t) if mode == "spherical" else torch.lerp(z0, z1, t)


def path(vae: ConvVAE, z0: torch.Tensor, z1: torch.Tensor, n: int, mode: str = "linear") -> torch.Tensor:
    """n frames from z0 to z1 inclusive: (n, C, R, R)."""
    if not 2 <= n <= 64:
        raise ValueError(f"frames must be 2-64, got {n!r}")
    zs = torch.stack([interpolate_latent(z0, z1, i / (n - 1), mode) for i in range(n)])
    return decode(vae, zs)


def kl_ranking(vae: ConvVAE) -> list[tuple[int, float]]:
    """Latent dimensions with their average held-out KL (nats), most informative first."""
    kl = vae.kl_per_dim.detach().cpu()
    return [(int(d), float(kl[d])) for d in torch.argsort(kl, descending=True)]


def traversal(vae: ConvVAE, z: torch.Tensor, rows: int = 8, steps: int = 7, span: float = 3.0):
    """Vary one dimension at a time from -span to +span around z (other dims fixed).

    Returns (images (rows * steps, C, R, R), [(dim, kl), ...] for the rows), rows ordered
    by the dimension's average KL, most informative first.
    """
    ranking = kl_ranking(vae)[:rows]
    values = torch.linspace(-span, span, steps)
    zs = z.reshape(1, -1).repeat(len(ranking) * steps, 1)  # (rows * steps, latent)
    for r, (dim, _) in enumerate(ranking):
        zs[r * steps : (r + 1) * steps, dim] = values
    return decode(vae, zs), ranking
