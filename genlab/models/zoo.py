"""The generators of pytorch-CycleGAN-and-pix2pix's model zoo, for translators imported with ``genlab import``.

Two families, each in upstream's variants (``--netG``, ``--norm``, ``--no_dropout``, ``--input_nc``/``--output_nc``,
``--ngf``), written here from their published structure (genlab.formats.cyclegan_pix2pix maps upstream's state-dict keys onto
these names):

- ``resnet_<n>blocks`` (CycleGAN's): reflection-padded 7x7 conv, two stride-2 3x3 convs, n residual blocks, two
  3x3 transposed convs (output_padding 1), reflection-padded 7x7 conv with bias, tanh. Fully convolutional: any
  size divisible by 4.
- ``unet_<2^d>`` (pix2pix's): d stride-2 4x4 convs down to 1x1 at 2^d px and d transposed convs back, each level's
  input (after LeakyReLU(0.2), as upstream's in-place activation leaves it) joined to its output; dropout 0.5 in the
  d - 5 innermost 8*ngf levels. Sides divisible by 2^d.

Norms: "instance" (no affine, no running statistics; convs then carry biases), "batch" (affine, running statistics;
convs without biases) or "none". Inputs and outputs are in [-1, 1] (upstream normalises with mean 0.5, std 0.5).

``variety=True`` runs the network as upstream's ``test.py`` does without ``--eval``: dropout active and batch norm on
the batch's own statistics (one image: its own), so each call with another ``generator`` gives another sample.
``variety=False`` is eval mode: one answer.

>>> g = ZooTranslator("resnet_6blocks", ngf=8)
>>> g(torch.zeros(1, 3, 64, 96)).shape
torch.Size([1, 3, 64, 96])
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from .base import HubModel, seeded_dropout

NORMS = ("instance", "batch", "none")
ARCH = re.compile(r"resnet_(\d{1,2})blocks|unet_(\d{2,4})")
MAX_BLOCKS = 32  # residual blocks an architecture may name
UNET_DEPTHS = range(5, 10)  # unet_32 ... unet_512 (upstream ships unet_128 and unet_256)
MAX_NGF = 256  # upstream's default 64; bounds what a config may allocate
MAX_NAME = 80  # characters in a domain's name
TRAINED_SIZES = range(16, 4097)


def parse_arch(arch: str) -> tuple[str, int]:
    """"resnet_9blocks" -> ("resnet", 9); "unet_256" -> ("unet", 8); else ValueError naming the known forms."""
    m = ARCH.fullmatch(str(arch))
    if m and m.group(1) and 1 <= int(m.group(1)) <= MAX_BLOCKS:
        return "resnet", int(m.group(1))
    if m and m.group(2):
        side = int(m.group(2))
        depth = side.bit_length() - 1
        if side == 1 << depth and depth in UNET_DEPTHS:
            return "unet", depth
    raise ValueError(f"arch must be resnet_<n>blocks (n 1-{MAX_BLOCKS}, e.g. resnet_9blocks) or unet_<2^d> "
                     f"(unet_32 ... unet_512, e.g. unet_256), got {arch!r}")


class Norm(nn.Module):
    """One of NORMS over (B, C, H, W). Batch norm keeps upstream's parameter and buffer names (weight, bias,
    running_mean, running_var); ``batch_stats`` normalises with the batch's own statistics (upstream's train mode,
    without touching the running ones)."""

    def __init__(self, channels: int, kind: str):
        super().__init__()
        self.kind = kind
        if kind == "batch":
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))
            self.register_buffer("running_mean", torch.zeros(channels))
            self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, batch_stats: bool = False) -> torch.Tensor:
        if self.kind == "instance":
            return F.instance_norm(x, eps=1e-5)
        if self.kind == "batch":
            if batch_stats:
                return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, 1e-5)
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, 1e-5)
        return x


def dropout(x: torch.Tensor, on: bool, generator: torch.Generator | None) -> torch.Tensor:
    """Upstream's Dropout(0.5) when ``on`` (variety), with genlab's seeded masks; else x."""
    return seeded_dropout(x, 0.5, generator) if on else x


class _Block(nn.Module):
    """x + [pad, conv, norm, relu, (dropout), pad, conv, norm](x) at (B, C, H, W)."""

    def __init__(self, c: int, norm: str, bias: bool, use_dropout: bool):
        super().__init__()
        self.use_dropout = use_dropout
        self.conv1, self.norm1 = nn.Conv2d(c, c, 3, bias=bias), Norm(c, norm)
        self.conv2, self.norm2 = nn.Conv2d(c, c, 3, bias=bias), Norm(c, norm)

    def forward(self, x, variety: bool, generator):
        h = F.relu(self.norm1(self.conv1(F.pad(x, (1, 1, 1, 1), mode="reflect")), variety), inplace=True)
        h = dropout(h, self.use_dropout and variety, generator)
        return x + self.norm2(self.conv2(F.pad(h, (1, 1, 1, 1), mode="reflect")), variety)


class ResnetNet(nn.Module):
    """upstream ResnetGenerator: (B, in, H, W) -> (B, out, H, W), H and W divisible by 4."""

    def __init__(self, in_channels: int, out_channels: int, ngf: int, blocks: int, norm: str, use_dropout: bool):
        super().__init__()
        bias = norm == "instance"
        self.stem, self.stem_norm = nn.Conv2d(in_channels, ngf, 7, bias=bias), Norm(ngf, norm)  # (B, ngf, H, W)
        self.down = nn.ModuleList([nn.Conv2d(ngf, 2 * ngf, 3, 2, 1, bias=bias),  # (B, 2ngf, H/2, W/2)
                                   nn.Conv2d(2 * ngf, 4 * ngf, 3, 2, 1, bias=bias)])  # (B, 4ngf, H/4, W/4)
        self.down_norm = nn.ModuleList([Norm(2 * ngf, norm), Norm(4 * ngf, norm)])
        self.blocks = nn.ModuleList([_Block(4 * ngf, norm, bias, use_dropout) for _ in range(blocks)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(4 * ngf, 2 * ngf, 3, 2, 1, output_padding=1, bias=bias),
                                 nn.ConvTranspose2d(2 * ngf, ngf, 3, 2, 1, output_padding=1, bias=bias)])
        self.up_norm = nn.ModuleList([Norm(2 * ngf, norm), Norm(ngf, norm)])
        self.head = nn.Conv2d(ngf, out_channels, 7)  # always with bias, as upstream

    def forward(self, x: torch.Tensor, variety: bool = False, generator: torch.Generator | None = None):
        # ReLUs in place: a 1024x768 photo's full-size activations are 200 MB each (ngf 64)
        h = F.relu(self.stem_norm(self.stem(F.pad(x, (3, 3, 3, 3), mode="reflect")), variety), inplace=True)
        for conv, norm in zip(self.down, self.down_norm):
            h = F.relu(norm(conv(h), variety), inplace=True)
        for block in self.blocks:
            h = block(h, variety, generator)
        for conv, norm in zip(self.up, self.up_norm):
            h = F.relu(norm(conv(h), variety), inplace=True)
        return torch.tanh(self.head(F.pad(h, (3, 3, 3, 3), mode="reflect")))


def unet_widths(ngf: int, depth: int) -> list[tuple[int, int]]:
    """(outer, inner) channels of levels 0 (outermost) .. depth-1 (innermost): ngf, 2ngf, 4ngf, 8ngf, then 8ngf."""
    inner = [ngf * min(2**i, 8) for i in range(depth)]
    return [(inner[i - 1] if i else 0, inner[i]) for i in range(depth)]


class UNetNet(nn.Module):
    """upstream UnetGenerator with ``depth`` levels: (B, in, H, W) -> (B, out, H, W), sides divisible by 2^depth.

    Level i halves the size with ``down[i]`` and doubles it back with ``up[i]``; levels 1 .. depth-1 join their
    input, LeakyReLU'd, to their output (upstream's in-place LeakyReLU changes the tensor its skip connection holds).
    """

    def __init__(self, in_channels: int, out_channels: int, ngf: int, depth: int, norm: str, use_dropout: bool):
        super().__init__()
        bias = norm == "instance"
        w = unet_widths(ngf, depth)
        self.depth = depth
        self.down = nn.ModuleList([nn.Conv2d(w[i][0] or in_channels, w[i][1], 4, 2, 1, bias=bias)
                                   for i in range(depth)])
        # Down norms on the middle levels only (not the outermost, not the innermost), up norms on all but level 0.
        self.down_norm = nn.ModuleList([Norm(w[i][1], norm if 0 < i < depth - 1 else "none") for i in range(depth)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(w[i][1] * (1 if i == depth - 1 else 2), w[i][0] or out_channels,
                                                    4, 2, 1, bias=bias or i == 0) for i in range(depth)])
        self.up_norm = nn.ModuleList([Norm(w[i][0], norm if i else "none") for i in range(depth)])
        self.dropout_levels = range(4, depth - 1) if use_dropout else range(0)  # the depth - 5 innermost 8ngf levels

    def forward(self, x: torch.Tensor, variety: bool = False, generator: torch.Generator | None = None):
        h = self.down[0](x)  # (B, ngf, H/2, W/2)
        skips = []
        for i in range(1, self.depth):
            a = F.leaky_relu(h, 0.2, inplace=True)  # what level i's skip connection carries (upstream: in place too)
            skips.append(a)
            h = self.down_norm[i](self.down[i](a), variety)  # (B, w_i, H/2^(i+1), ...)
        for i in range(self.depth - 1, 0, -1):  # h is a fresh tensor each time (a conv's output, a cat): ReLU in place
            h = self.up_norm[i](self.up[i](F.relu(h, inplace=True)), variety)
            h = dropout(h, variety and i in self.dropout_levels, generator)
            h = torch.cat([skips[i - 1], h], 1)  # (B, 2 w_(i-1)... , H/2^i, ...)
        return torch.tanh(self.up[0](F.relu(h, inplace=True)))


def build_net(arch: str, in_channels: int, out_channels: int, ngf: int, norm: str, dropout: bool) -> nn.Module:
    """One upstream generator, its options checked (config.json and foreign files are untrusted)."""
    kind, n = parse_arch(arch)
    for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
        if c not in (1, 3) or isinstance(c, bool):
            raise ValueError(f"{name} must be 1 (grey) or 3 (RGB), got {c!r}")
    if not (isinstance(ngf, int) and not isinstance(ngf, bool) and 1 <= ngf <= MAX_NGF):
        raise ValueError(f"ngf must be a whole number from 1 to {MAX_NGF}, got {ngf!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    if not isinstance(dropout, bool):
        raise ValueError(f"dropout must be true or false, got {dropout!r}")
    net = ResnetNet if kind == "resnet" else UNetNet
    return net(in_channels, out_channels, ngf, n, norm, dropout)


def _check_name(name) -> str:
    if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME):
        raise ValueError(f"domain names must be non-empty strings of at most {MAX_NAME} characters, got {name!r}")
    return name


class _ZooBase(HubModel):
    """What the translation tasks ask of an imported translator: the size multiple its sides need, whether it can
    give varied samples, and its input/output channels."""

    full_size = True  # translates a photo at its own size (genlab's own translators take a fixed square)
    preprocess = "photo"

    def _common(self, arch, ngf, norm, dropout, in_channels, out_channels, trained_size):
        kind, n = parse_arch(arch)
        self.multiple = 4 if kind == "resnet" else 2**n  # image sides must be multiples of this
        if not (isinstance(trained_size, int) and trained_size in TRAINED_SIZES):
            raise ValueError(f"trained_size must be {TRAINED_SIZES.start}-{TRAINED_SIZES.stop - 1} px, got "
                             f"{trained_size!r}")
        self.arch, self.ngf, self.norm, self.dropout = arch, ngf, norm, dropout
        self.in_channels, self.image_channels, self.trained_size = in_channels, out_channels, trained_size
        self.resolution = trained_size  # the size it was trained at (what the app's notes quote)

    @property
    def has_variety(self) -> bool:
        """Whether upstream's test mode (dropout on, batch statistics) differs from eval mode."""
        return self.norm == "batch" or self.dropout


class ZooTranslator(_ZooBase, tags=["image-to-image", "pix2pix", "cyclegan", "imported"]):
    """One direction, ``source`` -> ``target``: a pix2pix generator, or one generator of a CycleGAN."""

    model_type = "zoo-translator"

    def __init__(
        self,
        arch: str = "resnet_9blocks",  # upstream's --netG: resnet_<n>blocks or unet_<2^d>
        ngf: int = 64,  # upstream's --ngf: width of the first conv
        norm: str = "instance",  # upstream's --norm: instance, batch or none
        dropout: bool = False,  # upstream's dropout (pix2pix's default on; CycleGAN's --no_dropout off)
        in_channels: int = 3,  # upstream's --input_nc: 1 grey, 3 RGB
        out_channels: int = 3,  # upstream's --output_nc
        source: str = "A",  # what goes in, e.g. "horse"
        target: str = "B",  # what comes out, e.g. "zebra"
        trained_size: int = 256,  # the crop size it was trained at (upstream's --crop_size)
    ):
        super().__init__()
        self._common(arch, ngf, norm, dropout, in_channels, out_channels, trained_size)
        self.source, self.target = _check_name(source), _check_name(target)
        self.net = build_net(arch, in_channels, out_channels, ngf, norm, dropout)

    @property
    def direction_name(self) -> str:
        return f"{self.source} → {self.target}"

    def forward(self, x: torch.Tensor, variety: bool = False, generator: torch.Generator | None = None):
        return self.net(x, variety, generator)


class ZooCycleGAN(_ZooBase, tags=["image-to-image", "cyclegan", "unpaired", "imported"]):
    """A CycleGAN's two generators, G_A: A -> B and G_B: B -> A (upstream's latest_net_G_A/B.pth), with the cycle
    view (genlab.tasks.translation.translate_photo_pair): ``model(x, "A->B")``."""

    model_type = "zoo-cyclegan"

    def __init__(
        self,
        arch: str = "resnet_9blocks",
        ngf: int = 64,
        norm: str = "instance",
        dropout: bool = False,
        in_channels: int = 3,  # domain A's channels
        out_channels: int = 3,  # domain B's channels
        domain_a: str = "A",
        domain_b: str = "B",
        trained_size: int = 256,
    ):
        super().__init__()
        self._common(arch, ngf, norm, dropout, in_channels, out_channels, trained_size)
        self.domains = {"A": _check_name(domain_a), "B": _check_name(domain_b)}
        self.g_ab = build_net(arch, in_channels, out_channels, ngf, norm, dropout)
        self.g_ba = build_net(arch, out_channels, in_channels, ngf, norm, dropout)

    def channels(self, direction: str) -> int:
        """The input channels of ``direction``."""
        return self.in_channels if direction == "A->B" else self.image_channels

    def generator(self, direction: str) -> nn.Module:
        if direction not in ("A->B", "B->A"):
            raise ValueError(f"direction must be A->B or B->A, got {direction!r}")
        return self.g_ab if direction == "A->B" else self.g_ba

    def forward(self, x: torch.Tensor, direction: str = "A->B", variety: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generator(direction)(x, variety, generator)
