"""pix2pix (Isola et al. 2017) for 28x28 grayscale images: U-Net G(x, z), PatchGAN D(x, y).

The generator's noise z is dropout that stays on at sampling time, so one input gives several
plausible outputs. Loss: conditional adversarial (non-saturating) + lambda * L1 (lambda = 100).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import HubModel


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]  # halves H and W
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class UNetGenerator(HubModel, tags=["pix2pix", "image-to-image"]):
    """U-Net on (B, 1, 28, 28) in [-1, 1] (padded to 32x32 inside) -> (B, 1, 28, 28) in [-1, 1].

    >>> UNetGenerator()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
    """

    model_type = "pix2pix"

    def __init__(
        self,
        channels: int = 32,  # width of the first level; doubled per level, capped at 4x
        dropout: float = 0.5,  # the noise z: on in training AND sampling (pix2pix)
        task: str = "",  # what the checkpoint translates, e.g. "sketch2digit" (for the app)
    ):
        super().__init__()
        c = channels
        self.dropout = dropout
        self.task = task
        self.d1 = _down(1, c, norm=False)  # (B, c, 16, 16)
        self.d2 = _down(c, 2 * c)  # (B, 2c, 8, 8)
        self.d3 = _down(2 * c, 4 * c)  # (B, 4c, 4, 4)
        self.d4 = _down(4 * c, 4 * c)  # (B, 4c, 2, 2)
        self.bottom = nn.Sequential(nn.Conv2d(4 * c, 4 * c, 4, 2, 1), nn.ReLU(inplace=True))  # (B, 4c, 1, 1)
        self.u1 = self._up(4 * c, 4 * c)  # (B, 4c, 2, 2)
        self.u2 = self._up(8 * c, 4 * c)  # (B, 4c, 4, 4)
        self.u3 = self._up(8 * c, 2 * c)  # (B, 2c, 8, 8)
        self.u4 = self._up(4 * c, c)  # (B, c, 16, 16)
        self.out = nn.Sequential(nn.ConvTranspose2d(2 * c, 1, 4, 2, 1), nn.Tanh())  # (B, 1, 32, 32)

    @staticmethod
    def _up(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def _noise(self, h: torch.Tensor) -> torch.Tensor:
        return F.dropout(h, self.dropout, training=True)  # z: always sampled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (2, 2, 2, 2), value=-1.0)  # (B, 1, 32, 32), background value
        e1 = self.d1(x)
        e2 = self.d2(e1)
        e3 = self.d3(e2)
        e4 = self.d4(e3)
        h = self._noise(self.u1(self.bottom(e4)))
        h = self._noise(self.u2(torch.cat([h, e4], 1)))
        h = self._noise(self.u3(torch.cat([h, e3], 1)))
        h = self.u4(torch.cat([h, e2], 1))
        return self.out(torch.cat([h, e1], 1))[:, :, 2:30, 2:30]  # (B, 1, 28, 28)


class PatchDiscriminator(HubModel, tags=["pix2pix"]):
    """PatchGAN D(x, y): sees input and output together, one logit per overlapping patch."""

    model_type = "pix2pix-discriminator"

    def __init__(self, channels: int = 32):  # width of the first conv; doubled twice
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(2, c, 4, 2, 1),  # (B, c, 14, 14)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False),  # (B, 2c, 7, 7)
            nn.BatchNorm2d(2 * c),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * c, 4 * c, 3, 1, 1, bias=False),  # (B, 4c, 7, 7)
            nn.BatchNorm2d(4 * c),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * c, 1, 3, 1, 1),  # (B, 1, 7, 7): each logit sees a 22x22 patch
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], 1))


def generator_loss(fake_logits: torch.Tensor, fake: torch.Tensor, target: torch.Tensor, l1_weight: float = 100.0):
    """Non-saturating cGAN term + l1_weight * L1: returns (total, adversarial, l1)."""
    adv = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    l1 = (fake - target).abs().mean()
    return adv + l1_weight * l1, adv, l1


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
