"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN") generators, and what
StyleGAN3 (genlab.models.stylegan3) shares with them: the mapping network, classes, truncation and the GAN tools'
interface. For checkpoints trained elsewhere.

genlab does not train these; it runs the weights people already have (NVIDIA's stylegan2-ada-pytorch and stylegan3
network pickles, converted by ``genlab import``: ``genlab/formats/nvlabs_pickle.py``) on a CPU, in float32, and
gives them every GAN tool. Written from the papers and the structure of the reference code, with the same
arithmetic so that the same weights draw the same pictures (tests/test_import_checkpoints.py compares them with outputs
of the reference code). Differences in how, not what:
- the equalised-learning-rate gains of every fully connected layer (and of ToRGB's styles and the ResNet skip
  convolution) are folded into the stored weights at import: plain ``nn.Linear`` / ``nn.Conv2d`` here;
- modulation is applied to the activations, not the weights (x * s, one shared convolution, then the demodulation
  coefficients): the same product, one convolution for the whole batch instead of a grouped one per image;
- resampling filters are applied with strided and transposed convolutions instead of zero-stuffing and slicing
  (genlab.models.resample).

The GAN tools see the same interface as genlab's own ``Generator`` (see ``genlab.tasks.sampling``):
``code(z, labels)`` is the mapping network (z -> W), ``truncate(w, psi)`` pulls W towards ``w_avg`` (the reference's
truncation), ``forward(w, labels)`` draws from W, and the sliders move in W (``latent_weight``: the style affine
weights, SeFa's StyleGAN case).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import GANInterface, HubModel
from .resample import SQRT2, lrelu, setup_filter, upfirdn2d

MAX_RESOLUTION = 1024  # the largest published StyleGAN (FFHQ, MetFaces)
NOISE_MODES = ("const", "random", "none")
ARCHITECTURES = ("skip", "resnet", "orig")


def _check_common(z_dim, c_dim, w_dim, resolution, image_channels, mapping_layers) -> None:
    for name, value, lo, hi in (("z_dim", z_dim, 1, 1024), ("c_dim", c_dim, 0, 10_000), ("w_dim", w_dim, 1, 1024),
                                ("mapping_layers", mapping_layers, 1, 16)):
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    if resolution not in [2**i for i in range(2, 11)]:
        raise ValueError(f"resolution must be a power of two from 4 to {MAX_RESOLUTION}, got {resolution!r}")
    if image_channels not in (1, 3):
        raise ValueError(f"image_channels must be 1 (grey) or 3 (RGB), got {image_channels!r}")


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square (the mapping network's input normalisation)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z (B, z_dim) and a one-hot class c (B, c_dim) -> w (B, w_dim): normalised z (and class embedding), then
    ``layers`` fully connected layers with leaky ReLU (gains folded into the weights)."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, layers: int, embed_features: int, layer_features: int):
        super().__init__()
        self.z_dim, self.c_dim, self.layers = z_dim, c_dim, layers
        if c_dim:
            self.embed = nn.Linear(c_dim, embed_features)
        features = [z_dim + (embed_features if c_dim else 0)] + [layer_features] * (layers - 1) + [w_dim]
        for i in range(layers):
            setattr(self, f"fc{i}", nn.Linear(features[i], features[i + 1]))
        self.register_buffer("w_avg", torch.zeros(w_dim))  # mean of W over training: the truncation centre

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = normalize_2nd_moment(z.float())
        if self.c_dim:
            x = torch.cat([x, normalize_2nd_moment(self.embed(c.float()))], dim=1)
        for i in range(self.layers):
            x = lrelu(getattr(self, f"fc{i}")(x))
        return x  # (B, w_dim)


class StyleGANBase(GANInterface, HubModel):
    """What both generations share: the mapping network, classes, truncation and the GAN tools' interface."""

    digest_ignores = ("psi",)
    no_class_mode = False  # a StyleGAN has no "any class" label: a conditional one always gets a class
    any_class_token = False

    def _common(self, z_dim, c_dim, w_dim, resolution, image_channels, mapping_layers, embed_features,
                layer_features, class_names, psi):
        _check_common(z_dim, c_dim, w_dim, resolution, image_channels, mapping_layers)
        if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0.3 <= psi <= 1.0:
            raise ValueError(f"psi (the default truncation) must be a number from 0.3 to 1, got {psi!r}")
        if class_names is not None:
            from .base import check_shape_config

            class_names = check_shape_config(8, image_channels, class_names, c_dim)
        self.class_names = class_names
        self.z_dim, self.latent_dim, self.num_classes, self.w_dim = z_dim, z_dim, c_dim, w_dim
        self.resolution, self.image_channels, self.psi = resolution, image_channels, float(psi)
        self.preprocess = "crop"  # an upload to project is centre-cropped and resized, as photos are
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, mapping_layers, embed_features or w_dim,
                                      layer_features or w_dim)

    @property
    def code_dim(self) -> int:
        return self.w_dim  # the sliders, directions and projection move in W

    def onehot(self, labels: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """Labels (B,) -> the reference's class input c (B, c_dim); ``shift`` (B, c_dim) blends towards others."""
        if not self.num_classes:
            return torch.zeros(len(labels), 0, device=labels.device)
        if not labels.is_meta and (labels >= self.num_classes).any():
            raise ValueError(f"this model draws classes 0-{self.num_classes - 1} only (it has no unconditional mode)")
        c = F.one_hot(labels, self.num_classes).float()
        return c + shift.to(c) if shift is not None else c

    def class_shift(self, labels: torch.Tensor, amounts: torch.Tensor) -> torch.Tensor:
        """The class sliders' blend as a shift of the one-hot class input (B, c_dim): sum_c a_c (e_c - e_label)."""
        amounts = amounts.to(self.mapping.w_avg)
        return amounts[None].expand(len(labels), -1) - amounts.sum() * F.one_hot(labels, self.num_classes).float()

    def code(self, z: torch.Tensor, labels: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, z_dim) and labels (B,) -> w (B, w_dim), untruncated."""
        return self.mapping(z, self.onehot(labels, shift))

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """The reference's truncation trick: w_avg + psi (w - w_avg)."""
        return self.mapping.w_avg.lerp(w, psi) if psi != 1 else w

    def code_center(self) -> torch.Tensor:
        return self.mapping.w_avg

    def code_scale(self) -> float:
        """The spread of mapped latents about w_avg (256 of seed 0): W's own unit for steps and priors."""
        with torch.no_grad():
            z = torch.randn(256, self.z_dim, generator=torch.Generator().manual_seed(0)).to(self.mapping.w_avg.device)
            labels = torch.arange(256, device=z.device) % max(self.num_classes, 1)
            return float((self.code(z, labels) - self.mapping.w_avg).std())

    def code_start(self, n: int, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Where a projection starts: n mapped random latents (B, w_dim), pulled halfway to w_avg."""
        z = torch.randn(n, self.z_dim, generator=generator).to(self.mapping.w_avg.device)
        return self.truncate(self.code(z, labels.to(z.device)), 0.5)

    def code_prior(self, w: torch.Tensor) -> torch.Tensor:
        """No prior in W (the StyleGAN projector has none on w): zeros (B,)."""
        return torch.zeros(len(w), device=w.device)

    def latent_weight(self) -> torch.Tensor:
        """SeFa's StyleGAN case: every layer's style affine weights stacked (sum of in_channels, w_dim), each
        output row scaled to unit norm (as the SeFa code does), so wide layers do not outvote narrow ones."""
        a = torch.cat([m.weight for name, m in self.named_modules() if name.endswith("affine")], dim=0)
        return a / a.norm(dim=1, keepdim=True).clamp_min(1e-8)

    def sample_latents(self, z: torch.Tensor, labels: torch.Tensor, psi: float = 1.0, **kwargs) -> torch.Tensor:
        """The reference's G(z, onehot(labels), truncation_psi=psi, noise_mode=...) in one call."""
        return self(self.truncate(self.code(z, labels), psi), labels, **kwargs)


# --- StyleGAN2 ----------------------------------------------------------------------------------------------


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (optionally 2x up), demodulated, plus noise, bias, leaky ReLU, clamp."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, up: bool, conv_clamp, use_noise: bool,
                 kernel: int = 3):
        super().__init__()
        self.up, self.resolution, self.conv_clamp, self.use_noise = up, resolution, conv_clamp, use_noise
        self.affine = nn.Linear(w_dim, c_in)
        self.weight = nn.Parameter(torch.zeros(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        if use_noise:
            self.register_buffer("noise_const", torch.zeros(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, noise_mode: str, noise_gen, gain: float = 1):
        s = self.affine(w)  # (B, c_in)
        d = ((self.weight[None] * s[:, None, :, None, None]).square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # (B, c_out)
        x = x * s[:, :, None, None]
        if self.up:  # transposed 3x3 conv at stride 2, then the [1,3,3,1] low-pass (gain 4): (B, c, 2s, 2s)
            x = F.conv_transpose2d(x, self.weight.transpose(0, 1), stride=2)
            x = upfirdn2d(x, f, pad=(1, 1, 1, 1), gain=4)
        else:
            x = F.conv2d(x, self.weight, padding=self.weight.shape[-1] // 2)
        x = x * d[:, :, None, None]
        if self.use_noise and noise_mode != "none":
            if noise_mode == "const":
                noise = self.noise_const
            else:
                noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, generator=noise_gen).to(x)
            x = x + noise * self.noise_strength
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return lrelu(x + self.bias[:, None, None], SQRT2 * gain, clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to the image channels, not demodulated (its weight gain folded into affine)."""

    def __init__(self, c_in: int, image_channels: int, w_dim: int, conv_clamp):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = nn.Linear(w_dim, c_in)
        self.weight = nn.Parameter(torch.zeros(image_channels, c_in, 1, 1))
        self.bias = nn.Parameter(torch.zeros(image_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x * self.affine(w)[:, :, None, None], self.weight) + self.bias[:, None, None]
        return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x


class SynthesisBlock(nn.Module):
    """One resolution: (B, c_in, s/2, s/2) -> (B, c_out, s, s) by two modulated convs (the first upsamples; the
    4x4 block starts from a learned constant), with its ToRGB ('skip') or a 1x1 upsampled shortcut ('resnet')."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, image_channels: int, is_last: bool,
                 architecture: str, conv_clamp, use_noise: bool):
        super().__init__()
        self.c_in, self.architecture, self.is_last = c_in, architecture, is_last
        if c_in == 0:
            self.const = nn.Parameter(torch.zeros(c_out, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(c_in, c_out, w_dim, resolution, True, conv_clamp, use_noise)
        self.conv1 = SynthesisLayer(c_out, c_out, w_dim, resolution, False, conv_clamp, use_noise)
        if is_last or architecture == "skip":
            self.torgb = ToRGB(c_out, image_channels, w_dim, conv_clamp)
        if c_in and architecture == "resnet":
            self.skip = nn.Conv2d(c_in, c_out, 1, bias=False)  # weight gain folded in

    def forward(self, x, img, w, f, noise_mode, noise_gen):
        if self.c_in == 0:
            x = self.conv1(self.const[None].expand(w.shape[0], -1, -1, -1), w, f, noise_mode, noise_gen)  # traced: batch stays dynamic
        elif self.architecture == "resnet":
            y = upfirdn2d(self.skip(x), f, up=2, pad=(2, 1, 2, 1), gain=4) * math.sqrt(0.5)
            x = self.conv0(x, w, f, noise_mode, noise_gen)
            x = y + self.conv1(x, w, f, noise_mode, noise_gen, gain=math.sqrt(0.5))
        else:
            x = self.conv1(self.conv0(x, w, f, noise_mode, noise_gen), w, f, noise_mode, noise_gen)
        if img is not None:  # 'skip': the image so far, upsampled 2x with the low-pass filter
            img = upfirdn2d(img, f, up=2, pad=(2, 1, 2, 1), gain=4)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, w)
            img = img + y if img is not None else y
        return x, img


class StyleGAN2Generator(StyleGANBase, tags=["gan", "stylegan2", "image-generation"]):
    """StyleGAN2 (and StyleGAN2-ADA) generator: w (B, w_dim) -> image (B, C, R, R), about [-1, 1].

    Channels per resolution r: min(channel_base / r, channel_max) (config-f: 32768 / 512; paper256: 16384 / 512;
    cifar: 16384 / 512 at 32 px). One w for every layer (no style mixing).

    >>> g = StyleGAN2Generator(z_dim=8, w_dim=8, resolution=8, channel_base=64, channel_max=8)
    >>> g.sample_latents(torch.randn(2, 8), torch.zeros(2, dtype=torch.long)).shape
    torch.Size([2, 3, 8, 8])
    """

    model_type = "stylegan2"

    def __init__(
        self,
        z_dim: int = 512,  # size of z (the published models: 512)
        c_dim: int = 0,  # classes (0: unconditional); the reference's one-hot conditioning size
        w_dim: int = 512,  # size of W, where truncation, the sliders and projection work
        resolution: int = 256,  # output side in px, a power of two 4-1024
        image_channels: int = 3,  # 1: grey, 3: RGB
        mapping_layers: int = 8,  # fully connected layers of the mapping network (config-f 8, cifar 2)
        embed_features: int | None = None,  # class embedding size (None: w_dim)
        layer_features: int | None = None,  # mapping network width (None: w_dim)
        channel_base: int = 32768,  # channels at resolution r: min(channel_base // r, channel_max)
        channel_max: int = 512,  # the most channels of any layer
        architecture: str = "skip",  # "skip" (ToRGB per block, summed), "resnet" (residual blocks) or "orig"
        conv_clamp: float | None = 256,  # activations clamped to ±conv_clamp (the published models: 256)
        resample_filter: tuple[int, ...] = (1, 3, 3, 1),  # taps of the up-sampling low-pass filter
        use_noise: bool = True,  # per-pixel noise inputs (their const values are part of the weights)
        class_names: list[str] | None = None,  # names of the c_dim classes (default "0", "1", ...)
        psi: float = 1.0,  # default truncation ψ the page opens with
    ):
        super().__init__()
        self._common(z_dim, c_dim, w_dim, resolution, image_channels, mapping_layers, embed_features,
                     layer_features, class_names, psi)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
        for name, value in (("channel_base", channel_base), ("channel_max", channel_max)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**20:
                raise ValueError(f"{name} must be a whole number from 1 to {2**20}, got {value!r}")
        taps = list(resample_filter)
        if not 1 <= len(taps) <= 16 or not all(isinstance(t, (int, float)) for t in taps) or sum(taps) <= 0:
            raise ValueError(f"resample_filter must be 1-16 numbers with a positive sum, got {resample_filter!r}")
        self.register_buffer("resample", setup_filter(taps), persistent=False)
        self.resolutions = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
        ch = {r: min(channel_base // r, channel_max) for r in self.resolutions}
        if min(ch.values()) < 1:
            raise ValueError(f"channel_base {channel_base} leaves no channels at {resolution} px")
        self.synthesis = nn.Module()
        for r in self.resolutions:
            self.synthesis.add_module(f"b{r}", SynthesisBlock(ch[r // 2] if r > 4 else 0, ch[r], w_dim, r,
                                                              image_channels, r == resolution, architecture,
                                                              conv_clamp, use_noise))

    def forward(self, w: torch.Tensor, labels: torch.Tensor | None = None, shift=None, noise_mode: str = "const",
                noise_seed: int = 0) -> torch.Tensor:
        """w (B, w_dim) -> images (B, C, R, R). labels and shift are unused here (the class enters through the
        mapping network, ``code``); noise_mode: "const" (the stored noise, as the reference's generate.py),
        "random" (fresh noise, fixed by noise_seed) or "none"."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
        gen = torch.Generator().manual_seed(noise_seed) if noise_mode == "random" else None
        x = img = None
        for r in self.resolutions:
            x, img = getattr(self.synthesis, f"b{r}")(x, img, w, self.resample, noise_mode, gen)
        return img
