"""The DCGAN generator of PyTorch's own example (pytorch/examples ``dcgan/main.py``, Radford et al. 2015) and of
Hugging Face's HugGAN sprint (the same layers under ``model.*``), for checkpoints trained with them.

64x64 output from z (B, nz) seen as a 1x1 map: a 4x4 transposed conv to ngf*8 channels, three stride-2 transposed
convs halving the channels, a last one to the image channels, batch norm and ReLU between, tanh at the end; no
biases. genlab does not train this family (its own is ``models.gan.Generator``); it runs the weights people have.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import GANInterface, HubModel


class DCGANGenerator(GANInterface, HubModel, tags=["gan", "dcgan", "image-generation"]):
    """z (B, latent_dim) -> image (B, image_channels, 64, 64) in [-1, 1]; unconditional.

    >>> DCGANGenerator(latent_dim=8, channels=4)(torch.randn(2, 8)).shape
    torch.Size([2, 3, 64, 64])
    """

    model_type = "dcgan"
    digest_ignores = ("psi",)
    num_classes = 0  # unconditional: one "any class" label, 0 (GANInterface: the sliders move in z itself)
    no_class_mode = False
    any_class_token = False
    class_names = None
    resolution = 64  # the example's architecture draws 64x64 only
    preprocess = "crop"  # an upload to project is centre-cropped and resized, as the example's training images

    def __init__(
        self,
        latent_dim: int = 100,  # nz: size of z (the example's default 100)
        channels: int = 64,  # ngf: channels before the last layer; 8x that at 4x4
        image_channels: int = 3,  # nc: 3 (RGB) or 1 (grey)
        psi: float = 1.0,  # default truncation (z scaled by psi)
    ):
        super().__init__()
        for name, value, hi in (("latent_dim", latent_dim, 1024), ("channels", channels, 512)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= hi:
                raise ValueError(f"{name} must be a whole number from 1 to {hi}, got {value!r}")
        if image_channels not in (1, 3):
            raise ValueError(f"image_channels must be 1 (grey) or 3 (RGB), got {image_channels!r}")
        if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0.3 <= psi <= 1.0:
            raise ValueError(f"psi must be a number from 0.3 to 1, got {psi!r}")
        self.latent_dim = latent_dim
        self.channels, self.image_channels, self.psi = channels, image_channels, float(psi)
        c = channels
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, c * 8, 4, 1, 0, bias=False)]  # (B, 8c, 4, 4)
        for c_in, c_out in ((c * 8, c * 4), (c * 4, c * 2), (c * 2, c)):  # 4 -> 8 -> 16 -> 32
            layers += [nn.BatchNorm2d(c_in), nn.ReLU(True), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
        layers += [nn.BatchNorm2d(c), nn.ReLU(True), nn.ConvTranspose2d(c, image_channels, 4, 2, 1, bias=False),
                   nn.Tanh()]  # (B, C, 64, 64)
        self.main = nn.Sequential(*layers)  # the example's own indices: main.0, main.1, ... main.12

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, shift=None) -> torch.Tensor:
        return self.main(z[:, :, None, None])

    def latent_weight(self) -> torch.Tensor:
        """The first layer as a linear map of z: (8c*4*4, latent_dim), what SeFa factorises."""
        w = self.main[0].weight  # (latent, 8c, 4, 4)
        return w.flatten(1).t()
