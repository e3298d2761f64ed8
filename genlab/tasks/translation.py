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
"""

from __future__ import annotations

import torch

from ..datasets.degrade import make_input
from ..images import prepare, prepare_mnist
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
