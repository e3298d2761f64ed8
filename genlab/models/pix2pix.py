"""pix2pix (Isola et al. 2017) at any resolution, grey or colour: U-Net G(x, z), PatchGAN D(x, y).

The generator's noise z is dropout that stays on at sampling time, so one input gives several
plausible outputs. Loss: conditional adversarial (non-saturating) + lambda * L1 (lambda = 100).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import HubModel, check_shape_config, seeded_dropout, widths


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]  # halves H and W
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class UNetGenerator(HubModel, tags=["pix2pix", "image-to-image"]):
    """U-Net G(x, z): (B, in_channels, R, R) in [-1, 1] -> (B, image_channels, R, R) in [-1, 1].

    The input is padded (with the background value -1) to the next power of two, P, and
    halved log2(P) times down to 1x1; skip connections join each level on the way up. At
    28 px: padded to 32, 5 levels.

    >>> UNetGenerator()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
    >>> UNetGenerator(resolution=64, in_channels=1, image_channels=3)(torch.zeros(1, 1, 64, 64)).shape
    torch.Size([1, 3, 64, 64])
    """

    model_type = "pix2pix"

    def __init__(
        self,
        channels: int = 32,  # width of the first level; doubled per level, capped at 4x
        dropout: float = 0.5,  # the noise z: on in training AND sampling (pix2pix)
        task: str = "",  # what the checkpoint translates, e.g. "sketch2digit" (for the app); "" for a folder pair
        resolution: int = 28,  # image side in px (28, 32, 48, 64, 96, 128, 256, ...)
        in_channels: int = 1,  # input: 1 grey, 3 RGB
        image_channels: int = 1,  # output: 1 grey, 3 RGB
        preprocess: str = "mnist",  # how uploads are prepared: "mnist" (digit centring), "crop" or "pad"
    ):
        super().__init__()
        check_shape_config(resolution, image_channels, preprocess=preprocess)
        check_shape_config(resolution, in_channels)
        c = channels
        self.dropout = dropout
        self.task = task
        self.resolution = resolution
        self.in_channels = in_channels
        self.image_channels = image_channels
        self.preprocess = preprocess
        self.padded = 1 << (resolution - 1).bit_length()  # next power of two: 28 -> 32
        self.levels = self.padded.bit_length() - 1  # halvings down to 1x1: 32 -> 5
        w = widths(c, self.levels - 1, 4 * c)  # encoder widths d1 .. d(L-1): c, 2c, 4c, 4c, ...
        # Encoder d1..d(L-1), then the bottom (no norm, ReLU) to 1x1. Named attributes (not a
        # ModuleList) keep the weight names of the shipped 28-px checkpoints: d1.0.weight, ...
        for i, (c_in, c_out) in enumerate(zip([in_channels, *w], w), start=1):
            setattr(self, f"d{i}", _down(c_in, c_out, norm=i > 1))  # (B, c_out, P / 2^i, ...)
        self.bottom = nn.Sequential(nn.Conv2d(w[-1], w[-1], 4, 2, 1), nn.ReLU(inplace=True))  # (B, w, 1, 1)
        # Decoder u1..u(L-1): u_i makes d_(L-i)'s width; from u2 on its input is [h, skip of d_(L-i+1)].
        for i in range(1, self.levels):
            c_in = w[-1] if i == 1 else 2 * w[self.levels - i]
            setattr(self, f"u{i}", self._up(c_in, w[self.levels - 1 - i]))  # (B, ., P / 2^(L-i), ...)
        self.out = nn.Sequential(nn.ConvTranspose2d(2 * w[0], image_channels, 4, 2, 1), nn.Tanh())  # (B, C, P, P)

    @staticmethod
    def _up(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        pad = self.padded - self.resolution
        lo = pad // 2
        x = F.pad(x, (lo, pad - lo, lo, pad - lo), value=-1.0)  # (B, C_in, P, P), background value
        skips = []  # e1 .. e(L-1)
        for i in range(1, self.levels):
            x = getattr(self, f"d{i}")(x)
            skips.append(x)
        h = self.bottom(x)  # (B, w, 1, 1)
        for i in range(1, self.levels):
            h = getattr(self, f"u{i}")(h if i == 1 else torch.cat([h, skips[1 - i]], 1))
            if i <= 3:  # noise on the three deepest decoder levels (pix2pix)
                h = seeded_dropout(h, self.dropout, generator)  # the noise z: always sampled
        y = self.out(torch.cat([h, skips[0]], 1))  # (B, C, P, P)
        return y[:, :, lo : lo + self.resolution, lo : lo + self.resolution]


class PatchDiscriminator(HubModel, tags=["pix2pix"]):
    """PatchGAN D(x, y): sees input and output together, one logit per overlapping patch.

    Stride-2 levels grow with the image (2 at 28-32 px, one more per octave), then a stride-1
    conv and the logit map (7x7 at 28 px).
    """

    model_type = "pix2pix-discriminator"

    def __init__(
        self,
        channels: int = 32,  # width of the first conv; doubled per level (at most 8x)
        resolution: int = 28,  # image side in px, as the generator's
        in_channels: int = 1,  # the generator's input channels
        image_channels: int = 1,  # the generator's output channels
        spectral_norm: bool = False,  # spectral normalisation on every conv (batch norm then off: SN alone, as in SNGAN)
    ):
        super().__init__()
        check_shape_config(resolution, image_channels)
        check_shape_config(resolution, in_channels)
        downs = max(2, (resolution // 8).bit_length() - 1)  # 28, 32 -> 2; 64 -> 3; 128 -> 4: logits about 8x8
        w = widths(channels, downs + 1, 8 * channels)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        norm = (lambda c: nn.Identity()) if spectral_norm else nn.BatchNorm2d
        layers: list[nn.Module] = [sn(nn.Conv2d(in_channels + image_channels, w[0], 4, 2, 1)),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in zip(w[: downs - 1], w[1:downs]):  # (B, c_out, R / 2^i, ...)
            layers += [sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)), norm(c_out), nn.LeakyReLU(0.2, inplace=True)]
        layers += [
            sn(nn.Conv2d(w[downs - 1], w[downs], 3, 1, 1, bias=False)),
            norm(w[downs]),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(w[downs], 1, 3, 1, 1)),  # (B, 1, R / 2^downs, ...): 7x7 logits at 28 px
        ]
        self.net = nn.Sequential(*layers)

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
