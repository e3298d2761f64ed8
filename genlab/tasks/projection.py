"""Project an image into a GAN: find the latent z (and the class) whose sample looks like it, so the image can
then be edited with every slider of the GAN tab (the StyleGAN projector's idea, for genlab's small GANs on a CPU).

Two stages, both gradient descent on z only (the model is shared and never changes):
1. search: ``restarts`` random latents for every class (up to MAX_CLASSES; more classes or none: the
   "any class" label) are optimised together against the pixels for a quarter of the steps; the best
   (z, class) pair is kept. This is how the class is chosen: by which class can draw the image best.
2. refine: that one latent is optimised for the remaining steps against the pixels plus, where a feature
   net is given (a classifier of the model's domain), the distance between its features of the sample and of
   the image (so shapes count, not only colours).
A small prior term keeps z where the generator was trained (|z|² near latent_dim). A StyleGAN is projected into W
(the StyleGAN2 projector's space): its restarts start from mapped random latents pulled halfway to w_avg, steps are
scaled to W's spread, and there is no prior (``code_start``, ``code_prior``).

>>> import genlab
>>> from genlab.tasks.projection import project, target_of
>>> g = genlab.load("mnist-cgan")
>>> for step in project(g, target_of(g, "genlab/ui/examples/digit_3.png"), steps=100): pass
>>> step.label, round(step.mse, 3)        # e.g. (3, 0.03)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import GenlabError
from ..images import prepare
from ..models import Generator

MAX_STEPS = 1000  # the most a caller may ask for (about 1-2 min for the emoji GAN on 2 cores)
MAX_CLASSES = 20  # classes searched in stage 1; a model with more uses its "any class" label
PRIOR = 1e-3  # weight of the prior term (z² - 1) averaged over dimensions
FEATURE_WEIGHT = 0.5  # weight of the feature distance (features scaled to unit norm) against the pixel MSE


class ProjectionError(GenlabError):
    """A projection argument out of range; the message says the valid one."""


@dataclass
class Step:
    """One report of a projection: the step, the best sample so far (1, C, R, R) in [-1, 1], its latent (L,),
    its class label (an index, or the model's any-class label), and its pixel MSE on [-1, 1] values."""

    step: int
    steps: int
    image: torch.Tensor
    z: torch.Tensor
    label: int
    mse: float
    stage: str


def target_of(g: Generator, source) -> torch.Tensor:
    """An upload (path, PIL, array) -> the projection target (1, C, R, R) in [-1, 1], prepared as the GAN's
    training images were (its config's ``preprocess``: digit centring, crop or pad)."""
    return prepare(source, g)


def project(g: Generator, target: torch.Tensor, *, steps: int = 200, seed: int = 0, restarts: int = 4,
            feature_net=None, lr: float = 0.05, every: int = 10) -> Iterator[Step]:
    """Find z and the class for target (1, C, R, R) in [-1, 1]; yields a ``Step`` every ``every`` steps and at
    the end (the last one is the result)."""
    if g.training:
        raise ProjectionError("project needs the generator in eval mode (g.eval()); it does not change it")
    if not (isinstance(steps, int) and 8 <= steps <= MAX_STEPS):
        raise ProjectionError(f"steps must be a whole number from 8 to {MAX_STEPS}, got {steps!r}")
    if not (isinstance(restarts, int) and 1 <= restarts <= 16):
        raise ProjectionError(f"restarts must be 1-16, got {restarts!r}")
    expected = (1, g.image_channels, g.resolution, g.resolution)
    if tuple(target.shape) != expected:
        raise ProjectionError(f"the target must have shape {expected} (the model's channels and size), "
                              f"got {tuple(target.shape)}")
    device = next(g.parameters()).device
    target = target.to(device).float()
    classes = list(range(g.num_classes)) if 0 < g.num_classes <= MAX_CLASSES else [g.any_class]
    if g.num_classes > MAX_CLASSES and not getattr(g, "any_class_token", True):  # no "any class" label to fall back on
        classes = list(range(MAX_CLASSES))
    per = restarts if len(classes) > 1 else 4 * restarts
    labels = torch.tensor(classes, device=device).repeat_interleave(per)  # (K * per,)
    with torch.no_grad():  # the start codes: random z (genlab's GANs, DCGAN), or mapped ones in W (StyleGAN)
        z = g.code_start(len(labels), labels, torch.Generator().manual_seed(seed)).to(device).float()
    lr = lr * g.code_scale()  # steps in the code space's own units (z: 1; W: the spread of mapped latents)
    search = max(4, steps // 4)
    want = None
    if feature_net is not None:
        feature_net.eval()
        with torch.no_grad():
            want = torch.nn.functional.normalize(feature_net.features(target.to(next(feature_net.parameters()).device)), dim=1)

    def losses(z, labels, features: bool):
        out = g(z, labels)
        pixel = ((out - target) ** 2).flatten(1).mean(1)  # (B,)
        loss = pixel + PRIOR * g.code_prior(z)
        if features and want is not None:
            f = torch.nn.functional.normalize(feature_net.features(out), dim=1)
            loss = loss + FEATURE_WEIGHT * ((f - want) ** 2).sum(1)
        return loss, pixel, out

    z = z.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    best = 0
    for it in range(1, steps + 1):
        if it == search + 1:  # stage 2: the best (z, class) of the search, alone
            with torch.no_grad():
                _, pixel, _ = losses(z, labels, False)
            best = int(pixel.argmin())
            z = z.detach()[best:best + 1].clone().requires_grad_(True)
            labels = labels[best:best + 1]
            opt = torch.optim.Adam([z], lr=lr / 2)
        stage = "search" if it <= search else "refine"
        loss, pixel, out = losses(z, labels, stage == "refine")
        (z.grad,) = torch.autograd.grad(loss.sum(), [z])  # z only: the model's weights get no .grad
        opt.step()
        if it % every == 0 or it == steps:
            k = int(pixel.detach().argmin())
            with torch.no_grad():  # the image of z after this step: what the sliders will start from
                zk = z.detach()[k:k + 1]
                image = g(zk, labels[k:k + 1]).float()
            yield Step(it, steps, image.cpu(), zk[0].cpu(), int(labels[k]),
                       float(((image - target) ** 2).mean()), stage)
