"""CycleGAN (Zhu et al. 2017): unpaired translation between two image domains A and B.

Two generators, G_AB: A -> B and G_BA: B -> A (ResNet generators: down twice, residual blocks,
up twice), and two PatchGAN discriminators, D_A and D_B, which see single images of their
domain. Loss per generator step: least-squares adversarial terms (as the original) + lambda *
cycle L1 (A -> B -> A and B -> A -> B, lambda = 10) + identity L1 (G_AB(b) ~ b, weight
0.5 lambda). The discriminators learn from a buffer of past fakes (ImagePool).

The checkpoint (``CycleGAN``) holds both generators and says which domain is which; the
discriminators are a training artefact and stay in the run folder.

>>> m = CycleGAN(resolution=32, image_channels=3, channels=8, blocks=2)
>>> m(torch.zeros(1, 3, 32, 32), "A->B").shape
torch.Size([1, 3, 32, 32])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import HubModel, check_shape_config, widths

DIRECTIONS = ("A->B", "B->A")
MAX_BLOCKS = 32  # residual blocks a config may ask for (bounds allocation from untrusted configs)
MAX_NAME = 80  # characters in a domain's name


class _Residual(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded: the shape stays (B, C, H, W)."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), nn.InstanceNorm2d(c, affine=True), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), nn.InstanceNorm2d(c, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """(B, C, R, R) in [-1, 1] -> (B, C, R, R) in [-1, 1]; R divisible by 2^downsamples.

    7x7 conv (width c), ``downsamples`` stride-2 convs (2c, 4c), ``blocks`` residual blocks at
    R/4 (R/2 with one), as many upsampling steps (nearest x2 + 3x3 conv: no checkerboard), 7x7
    conv to C channels and tanh. Instance norm (no running statistics): the same output in
    training and eval mode."""

    def __init__(self, image_channels: int, channels: int, blocks: int, downsamples: int = 2):
        super().__init__()
        w = widths(channels, downsamples + 1, 4 * channels)  # c, 2c, 4c
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(image_channels, w[0], 7, bias=False),
                                   nn.InstanceNorm2d(w[0], affine=True), nn.ReLU(True)]  # (B, c, R, R)
        for c_in, c_out in zip(w, w[1:]):  # (B, 2c, R/2, R/2), (B, 4c, R/4, R/4)
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.InstanceNorm2d(c_out, affine=True), nn.ReLU(True)]
        layers += [_Residual(w[-1]) for _ in range(blocks)]
        for c_in, c_out in zip(w[:0:-1], w[-2::-1]):  # (B, 2c, R/2, R/2), (B, c, R, R)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
                       nn.InstanceNorm2d(c_out, affine=True), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w[0], image_channels, 7), nn.Tanh()]  # (B, C, R, R)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CycleGAN(HubModel, tags=["cyclegan", "image-to-image", "unpaired"]):
    """Both generators of a CycleGAN and the names of their domains: ``model(x, "A->B")``.

    >>> CycleGAN(domain_a="summer", domain_b="winter").domains
    {'A': 'summer', 'B': 'winter'}
    """

    model_type = "cyclegan"

    def __init__(
        self,
        channels: int = 32,  # generator width c of the first conv (then 2c, 4c at R/2, R/4)
        blocks: int = 6,  # residual blocks at R/4 (the original: 6 at 128 px, 9 at 256 px)
        downsamples: int = 2,  # stride-2 steps before the blocks (the original: 2); 1 keeps small images' detail
        resolution: int = 64,  # image side in px, divisible by 4 (32, 48, 64, 96, 128, 256, ...)
        image_channels: int = 3,  # both domains: 1 grey or 3 RGB
        domain_a: str = "A",  # what domain A is (e.g. "OpenMoji"), shown in the app
        domain_b: str = "B",  # what domain B is (e.g. "Noto Color Emoji")
        preprocess: str = "crop",  # how uploads are prepared: "crop" or "pad" to square, then resized
    ):
        super().__init__()
        check_shape_config(resolution, image_channels, preprocess=preprocess)
        if downsamples not in (1, 2):
            raise ValueError(f"downsamples must be 1 or 2, got {downsamples!r}")
        if resolution % 4:
            raise ValueError(f"a CycleGAN's resolution must be divisible by 4, got {resolution}")
        if not (isinstance(blocks, int) and not isinstance(blocks, bool) and 1 <= blocks <= MAX_BLOCKS):
            raise ValueError(f"blocks must be a whole number from 1 to {MAX_BLOCKS}, got {blocks!r}")
        for d in (domain_a, domain_b):
            if not (isinstance(d, str) and 0 < len(d) <= MAX_NAME):
                raise ValueError(f"domain names must be non-empty strings of at most {MAX_NAME} characters")
        self.resolution, self.image_channels, self.preprocess = resolution, image_channels, preprocess
        self.domains = {"A": domain_a, "B": domain_b}
        self.g_ab = ResnetGenerator(image_channels, channels, blocks, downsamples)  # A -> B
        self.g_ba = ResnetGenerator(image_channels, channels, blocks, downsamples)  # B -> A

    def generator(self, direction: str) -> ResnetGenerator:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be {' or '.join(DIRECTIONS)}, got {direction!r}")
        return self.g_ab if direction == "A->B" else self.g_ba

    def forward(self, x: torch.Tensor, direction: str = "A->B") -> torch.Tensor:
        return self.generator(direction)(x)

    @torch.no_grad()
    def translate_and_back(self, x: torch.Tensor, direction: str = "A->B") -> tuple[torch.Tensor, torch.Tensor]:
        """(output, cycle reconstruction): x -> the other domain -> back again (A->B->A)."""
        back = "B->A" if direction == "A->B" else "A->B"
        y = self(x, direction)
        return y, self(y, back)


class CycleDiscriminator(HubModel, tags=["cyclegan"]):
    """PatchGAN D(y): one real/fake score per overlapping patch of a single image (no input beside it).

    Stride-2 levels grow with the image (2 at 28-32 px, 3 at 64, 4 at 128: about 70 px patches at
    256 as the original), then a stride-1 conv and the score map; instance norm."""

    model_type = "cyclegan-discriminator"

    def __init__(
        self,
        channels: int = 32,  # width of the first conv; doubled per level (at most 8x)
        resolution: int = 64,  # image side in px
        image_channels: int = 3,  # 1 grey or 3 RGB
        spectral_norm: bool = False,  # spectral normalisation on every conv (instance norm then off: SN alone)
    ):
        super().__init__()
        check_shape_config(resolution, image_channels)
        downs = max(2, (resolution // 8).bit_length() - 1)
        w = widths(channels, downs + 1, 8 * channels)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        norm = (lambda c: nn.Identity()) if spectral_norm else (lambda c: nn.InstanceNorm2d(c, affine=True))
        layers: list[nn.Module] = [sn(nn.Conv2d(image_channels, w[0], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(w[: downs - 1], w[1:downs]):  # (B, c_out, R / 2^i, ...)
            layers += [sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)), norm(c_out), nn.LeakyReLU(0.2, True)]
        layers += [sn(nn.Conv2d(w[downs - 1], w[downs], 3, 1, 1, bias=False)), norm(w[downs]),
                   nn.LeakyReLU(0.2, True), sn(nn.Conv2d(w[downs], 1, 3, 1, 1))]  # (B, 1, R / 2^downs, ...)
        self.net = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)


class ImagePool:
    """The last ``size`` fakes; each query returns, per image, with probability 1/2 a stored fake (and stores
    the new one in its place), else the new one. Keeps D from chasing G's latest output (Shrivastava et al.)."""

    def __init__(self, size: int = 50, generator: torch.Generator | None = None):
        self.size, self.images, self.generator = size, [], generator

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        for img in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif torch.rand((), generator=self.generator) < 0.5:
                i = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[i])
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)


def lsgan(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss: mean (D(.) - 1)^2 for real targets, D(.)^2 for fake ones."""
    return F.mse_loss(scores, torch.ones_like(scores) if real else torch.zeros_like(scores))
