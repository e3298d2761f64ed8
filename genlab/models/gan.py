"""Class-conditional DCGAN at any resolution, grey or colour, and DiffAugment.

The generator maps a latent z and a class label to an image in [-1, 1]. Label
``num_classes`` is the "any class" token: both networks see it for a random 10 % of
training images (label dropout), so the same weights also sample without a class.

Losses are the standard non-saturating GAN losses, written with softplus so they are
numerically stable on logits:
    L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = softplus(-D(x)) + softplus(D(G(z)))
    L_G = -E[log D(G(z))]                    = softplus(-D(G(z)))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import GANInterface, HubModel, check_shape_config, octaves
from .upsampler import MAX_BLOCKS, MAX_WIDTH, Upsampler


UPSAMPLES = ("transposed", "nearest")
MIN_PSI = 0.3  # the lowest default truncation a checkpoint may carry (lower draws near one picture per class)
# plain conv stacks (Radford et al. 2015); the same stack with class-conditional batch norm after every conv (the
# class reaches every octave, as in BigGAN; generator only); or residual blocks (SNGAN/BigGAN)
ARCHS = ("dcgan", "dcgan-cbn", "resnet")
D_ARCHS = ("dcgan", "resnet")  # the discriminator has no batch norm to condition


class CondBatchNorm(nn.Module):
    """Batch norm whose gain and bias come from the class embedding (conditional BN, as in BigGAN): every
    block, not only the first layer, knows the class. Starts as plain batch norm (gain 1, bias 0)."""

    def __init__(self, channels: int, embed_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)  # affine too (ONNX's BatchNormalization needs a scale of known size)
        self.gain, self.bias = nn.Linear(embed_dim, channels), nn.Linear(embed_dim, channels)
        for layer in (self.gain, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * (1 + self.gain(e))[:, :, None, None] + self.bias(e)[:, :, None, None]


class GBlock(nn.Module):
    """Residual up block: (B, c_in, s, s) -> (B, c_out, 2s, 2s). CBN-ReLU-up-conv3x3-CBN-ReLU-conv3x3, plus a
    nearest-upsampled 1x1 conv of the input (nearest upsampling: no checkerboard on flat colour)."""

    def __init__(self, c_in: int, c_out: int, embed_dim: int):
        super().__init__()
        self.bn1, self.conv1 = CondBatchNorm(c_in, embed_dim), nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.bn2, self.conv2 = CondBatchNorm(c_out, embed_dim), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, e)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), e)))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """Residual down block: (B, c_in, s, s) -> (B, c_out, ceil(s/2), ceil(s/2)) (or the same side without
    ``down``). ReLU-conv3x3-ReLU-conv3x3-avgpool, plus a 1x1 conv of the (pooled) input; the first block sees
    raw pixels, so it has no leading ReLU and pools before its shortcut conv (SNGAN's "optimized" block)."""

    def __init__(self, c_in: int, c_out: int, sn, first: bool = False, down: bool = True):
        super().__init__()
        self.conv1, self.conv2 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1)), sn(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.skip = sn(nn.Conv2d(c_in, c_out, 1))
        self.first, self.down = first, down

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2, ceil_mode=True) if self.down else x  # 7 -> 4 on the digits' odd sides

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        skip = self.skip(self._pool(x)) if self.first else self._pool(self.skip(x))
        return self._pool(h) + skip


class Generator(GANInterface, HubModel, tags=["gan", "image-generation"]):
    """Conditional DCGAN generator: (z, label) -> image (B, image_channels, resolution, resolution) in [-1, 1].

    A linear map from [z, class embedding] to a base x base map (7x7 at 28 px, 4x4 at 32-256 px),
    then one upsampling block per octave.

    >>> g = Generator()
    >>> g(torch.randn(2, g.latent_dim), torch.tensor([3, 10])).shape
    torch.Size([2, 1, 28, 28])
    >>> Generator(resolution=64, image_channels=3, num_classes=0)(torch.randn(1, 64), torch.tensor([0])).shape
    torch.Size([1, 3, 64, 64])
    """

    model_type = "gan"
    added_options = {"arch": "dcgan", "upsampler": 0, "upsampler_blocks": 2}
    # sampling defaults kept out of weights_digest: they change what is drawn by default, not the weights, so the
    # files fitted on the weights (directions, attributes, the exported graph) stay valid when they change
    digest_ignores = ("psi",)

    def __init__(
        self,
        latent_dim: int = 64,  # size of z; the SeFa sliders move in this space
        num_classes: int = 10,  # classes (0: unconditional); label == num_classes means "any class"
        embed_dim: int = 32,  # class embedding concatenated to z at the input
        channels: int = 128,  # channels at the base map; halved at each upsampling (at least 8)
        image_channels: int = 1,  # 1: grey, 3: RGB
        resolution: int = 28,  # output side in px: base x 2^n (28, 32, 48, 64, 96, 128, 256, ...)
        class_names: list[str] | None = None,  # shown wherever a class is picked; default "0", "1", ...
        preprocess: str = "mnist",  # how real images were prepared: "mnist" (digit centring), "crop" or "pad"
        upsample: str = "transposed",  # "transposed" (DCGAN 4x4 stride-2) or "nearest" (2x nearest + 3x3 conv)
        no_class_mode: bool = True,  # offer the "any class" token as an unconditional mode (off when it measured poorly)
        arch: str = "dcgan",  # "dcgan" (one conv per octave, class at the input), "dcgan-cbn" (the same with
        # conditional BN) or "resnet" (GBlocks, conditional BN)
        psi: float = 1.0,  # default truncation (z scaled by psi): what the page opens with and the card measures at
        upsampler: int = 0,  # width of a learned 2x upsampler after the image (a cascade: the stack above draws at
        # resolution / 2, the Upsampler doubles it; trained on real image pairs, train/cascade.py); 0: none
        upsampler_blocks: int = 2,  # the upsampler's residual blocks (at the small side)
    ):
        super().__init__()
        if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not MIN_PSI <= psi <= 1.0:
            raise ValueError(f"psi (the default truncation) must be a number from {MIN_PSI} to 1, got {psi!r}")
        self.psi = float(psi)
        self.class_names = check_shape_config(resolution, image_channels, class_names, num_classes, preprocess)
        if upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLES)}, got {upsample!r}")
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")
        self.upsample, self.arch = upsample, arch
        self.no_class_mode = bool(no_class_mode) and num_classes > 0
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.channels = channels
        self.image_channels = image_channels
        self.resolution = resolution
        self.preprocess = preprocess
        for key, value, hi in (("upsampler", upsampler, MAX_WIDTH), ("upsampler_blocks", upsampler_blocks, MAX_BLOCKS)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
                raise ValueError(f"{key} must be a whole number from 0 to {hi}, got {value!r}")
        if upsampler and (resolution % 2 or upsampler_blocks < 1):
            raise ValueError(f"an upsampler doubles an image of half the resolution: resolution must be even and "
                             f"upsampler_blocks at least 1 (got {resolution}, {upsampler_blocks})")
        # (B, C, R, R) from the stack below, or (B, C, R/2, R/2) doubled by the upsampler
        self.base_resolution = resolution // 2 if upsampler else resolution
        self.up = Upsampler(image_channels, embed_dim, upsampler, upsampler_blocks) if upsampler else None
        n, self.base = octaves(self.base_resolution)
        self.embed = nn.Embedding(num_classes + 1, embed_dim)
        # First layer: one linear map from [z, e] to the base feature map. SeFa factorises
        # the z-columns of this weight to find semantic latent directions.
        self.fc = nn.Linear(latent_dim + embed_dim, channels * self.base**2, bias=False)
        if arch == "resnet":  # (B, C, base, base) -> one GBlock per octave -> BN-ReLU-conv3x3-tanh
            c_outs = [max(channels >> i, min(8, channels)) for i in range(1, n + 1)]
            self.blocks = nn.ModuleList(GBlock(c_in, c_out, embed_dim) for c_in, c_out in zip([channels, *c_outs], c_outs))
            self.net = nn.Sequential(nn.BatchNorm2d(c_outs[-1]), nn.ReLU(),
                                     nn.Conv2d(c_outs[-1], image_channels, 3, 1, 1), nn.Tanh())
            return
        self.blocks = None

        def norm(c: int) -> nn.Module:
            return CondBatchNorm(c, embed_dim) if arch == "dcgan-cbn" else nn.BatchNorm2d(c)

        layers: list[nn.Module] = [norm(channels), nn.ReLU(inplace=True)]
        c = channels
        for i in range(1, n + 1):  # (B, c, s, s) -> (B, c/2, 2s, 2s)
            c_out = max(channels >> i, min(8, channels))
            if upsample == "nearest":  # no overlapping kernel footprints: no checkerboard on flat colour
                layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c_out, 3, 1, 1, bias=False)]
            else:
                layers += [nn.ConvTranspose2d(c, c_out, 4, 2, 1, bias=False)]
            layers += [norm(c_out), nn.ReLU(inplace=True)]
            c = c_out
        layers += [nn.Conv2d(c, image_channels, 3, 1, 1), nn.Tanh()]  # (B, image_channels, res, res)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor, embed_shift: torch.Tensor | None = None) -> torch.Tensor:
        """embed_shift: optional (B, embed_dim) added to the class embedding (the class sliders blend one
        class's embedding towards another's: ``class_shift``)."""
        e = self.embed(labels)  # (B, embed)
        if embed_shift is not None:
            e = e + embed_shift
        h = torch.cat([z, e], dim=1)  # (B, latent + embed)
        h = self.fc(h).view(-1, self.channels, self.base, self.base)  # (B, C, base, base)
        if self.blocks is not None:
            for block in self.blocks:  # (B, c, s, s) -> (B, c/2, 2s, 2s), each block told the class
                h = block(h, e)
        for layer in self.net:  # "dcgan-cbn": every batch norm told the class
            h = layer(h, e) if isinstance(layer, CondBatchNorm) else layer(h)
        if self.up is not None:  # (B, C, R/2, R/2) -> (B, C, R, R)
            h = self.up(h, e)
        return h

    def class_shift(self, labels: torch.Tensor, amounts: torch.Tensor) -> torch.Tensor:
        """The embedding shift (B, embed_dim) that moves each image's class towards others: amounts (num_classes,)
        weights a_c, shift_i = sum_c a_c (E[c] - E[label_i]); a_c = 1 alone draws class c with the same z."""
        table = self.embed.weight[: self.num_classes]  # (K, embed)
        amounts = amounts.to(table)
        return (amounts @ table)[None] - amounts.sum() * self.embed(labels)  # (B, embed)

    def latent_weight(self) -> torch.Tensor:
        """The first layer's weight restricted to z: (C*base*base, latent_dim)."""
        return self.fc.weight[:, : self.latent_dim]



class Discriminator(HubModel, tags=["gan"]):
    """Projection discriminator: (image, label) -> real/fake logit, shape (B,).

    One stride-2 block per octave down to about 4x4 (a 3x3 kernel on odd sizes: 28 -> 14 -> 7 -> 4).
    No batch norm, so real and fake images can share one forward pass.
    """

    model_type = "gan-discriminator"
    added_options = {"arch": "dcgan", "minibatch_std": 0}

    def __init__(
        self,
        num_classes: int = 10,  # must match the generator; label == num_classes is "any"
        channels: int = 64,  # channels after the first conv; doubled at each downsampling (at most 8x)
        image_channels: int = 1,  # 1: grey, 3: RGB
        resolution: int = 28,  # input side in px, as the generator's
        class_names: list[str] | None = None,  # as the generator's
        spectral_norm: bool = False,  # spectral normalisation (Miyato et al. 2018) on every conv, linear, embedding
        arch: str = "dcgan",  # "dcgan" (one strided conv per octave) or "resnet" (DBlocks: two 3x3 convs each)
        minibatch_std: int = 0,  # group size of the minibatch-stddev feature (ProGAN): D sees how varied a group is (0: off)
    ):
        super().__init__()
        check_shape_config(resolution, image_channels, class_names, num_classes)
        if arch not in D_ARCHS:
            raise ValueError(f"arch must be one of {', '.join(D_ARCHS)}, got {arch!r}")
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers: list[nn.Module] = []
        c_in, size, i = image_channels, resolution, 0
        while size > 4 and arch == "resnet":  # (B, c_in, s, s) -> (B, c_out, ceil(s/2), ceil(s/2))
            c_out = min(channels * 2**i, 8 * channels)
            layers.append(DBlock(c_in, c_out, sn, first=i == 0))
            c_in, size, i = c_out, (size + 1) // 2, i + 1
        if arch == "resnet":
            layers += [DBlock(c_in, c_in, sn, down=False), nn.ReLU()]  # one more block at 4x4, as SNGAN's
        while size > 4:  # (B, c_in, s, s) -> (B, c_out, ceil(s/2), ceil(s/2)); 28 -> 14 -> 7 -> 4
            c_out = min(channels * 2**i, 8 * channels)
            layers += [sn(nn.Conv2d(c_in, c_out, 4 if size % 2 == 0 else 3, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            c_in, size, i = c_out, (size + 1) // 2, i + 1
        self.net = nn.Sequential(*layers)
        if minibatch_std < 0 or minibatch_std == 1:
            raise ValueError(f"minibatch_std must be 0 (off) or a group size of at least 2, got {minibatch_std!r}")
        self.minibatch_std = minibatch_std
        c_in += 1 if minibatch_std else 0  # the group's spread rides along as one more feature
        self.out = sn(nn.Linear(c_in, 1))
        # Projection (Miyato & Koyama 2018): the class enters as <embed(y), features>.
        self.embed = sn(nn.Embedding(num_classes + 1, c_in))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.net(x).sum(dim=(2, 3))  # (B, C) global sum pooling
        if self.minibatch_std:
            h = torch.cat([h, group_std(h, self.minibatch_std)], dim=1)  # (B, C + 1)
        return self.out(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)  # (B,)


def group_std(h: torch.Tensor, group: int) -> torch.Tensor:
    """Minibatch standard deviation (Karras et al. 2018): for each run of ``group`` consecutive rows of h (B, C),
    the features' standard deviation over the run, averaged over the features, given to every row: (B, 1). A
    generator that draws the same picture for different z gives itself away. Runs are consecutive rows, so a batch
    of reals followed by fakes (the D phase's one pass) never mixes the two; a batch whose size is not a multiple
    of ``group`` uses its largest divisor up to ``group``."""
    b = h.size(0)
    g = next(k for k in range(min(group, b), 0, -1) if b % k == 0)
    if g < 2:
        return torch.zeros(b, 1, dtype=h.dtype, device=h.device)
    std = (h.float().view(b // g, g, -1).var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1)  # (B/g,)
    return std.repeat_interleave(g)[:, None].to(h.dtype)  # (B, 1)


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))], on logits."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating L_G = -E[log D(G(z))], on logits."""
    return F.softplus(-fake_logits).mean()


def d_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for D (Lim & Ye 2017; SNGAN, BigGAN): E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The hinge GAN's generator loss: -E[D(G(z))]."""
    return -fake_logits.mean()


LOSSES = {"nonsaturating": (d_loss, g_loss), "hinge": (d_hinge_loss, g_hinge_loss)}  # name -> (D loss, G loss)


def lecam_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, ema_real: torch.Tensor,
               ema_fake: torch.Tensor) -> torch.Tensor:
    """LeCam regulariser (Tseng et al. 2021): keep D's real logits near the running mean of its fake logits and
    vice versa, so D cannot drift to ever more confident verdicts on a small set (google/lecam-gan's form:
    only the side that strays past the anchor is penalised)."""
    return F.relu(real_logits - ema_fake).pow(2).mean() + F.relu(ema_real - fake_logits).pow(2).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Zero-centred gradient penalty on real images (Mescheder et al. 2018): E ||grad_x D(x)||^2, per image.
    ``real`` must require grad and ``real_logits`` come from it."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


# DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
# Training"): the same random, differentiable transforms are applied to real and fake
# images before D, so D cannot memorise the small training set and G still gets gradients.


def diff_augment(x: torch.Tensor, policy: str = "color,translation,cutout") -> torch.Tensor:
    """Apply the DiffAugment policy to a batch (B, C, H, W) in [-1, 1]."""
    for name in filter(None, policy.split(",")):
        for fn in AUGMENTS[name]:
            x = fn(x)
    return x.contiguous()


def _brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)


def _saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean


def _contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sx, sy = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = torch.randint(-sx, sx + 1, size=[b, 1, 1], device=x.device)
    ty = torch.randint(-sy, sy + 1, size=[b, 1, 1], device=x.device)
    gb, gx, gy = torch.meshgrid(
        torch.arange(b, device=x.device), torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij"
    )
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])  # (B, C, H+2, W+2)
    return padded.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ox = torch.randint(0, h + (1 - ch % 2), size=[b, 1, 1], device=x.device)
    oy = torch.randint(0, w + (1 - cw % 2), size=[b, 1, 1], device=x.device)
    gb, gx, gy = torch.meshgrid(
        torch.arange(b, device=x.device), torch.arange(ch, device=x.device), torch.arange(cw, device=x.device), indexing="ij"
    )
    gx = torch.clamp(gx + ox - ch // 2, min=0, max=h - 1)
    gy = torch.clamp(gy + oy - cw // 2, min=0, max=w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


AUGMENTS = {
    "color": [_brightness, _saturation, _contrast],
    "translation": [_translation],
    "cutout": [_cutout],
}
