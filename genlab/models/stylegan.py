"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN") and StyleGAN3 (Karras et
al. 2021, "Alias-Free Generative Adversarial Networks") generators, for checkpoints trained elsewhere.

genlab does not train these; it runs the weights people already have (NVIDIA's stylegan2-ada-pytorch and stylegan3
network pickles, converted by ``genlab import``: ``genlab/formats/nvlabs_pickle.py``) on a CPU, in float32, and
gives them every GAN tool. Written from the papers and the structure of the reference code, with the same
arithmetic so that the same weights draw the same pictures (tests/test_import_nvlabs.py compares them with outputs
of the reference code). Differences in how, not what:
- the equalised-learning-rate gains of every fully connected layer (and of ToRGB's styles and the ResNet skip
  convolution) are folded into the stored weights at import: plain ``nn.Linear`` / ``nn.Conv2d`` here;
- modulation is applied to the activations, not the weights (x * s, one shared convolution, then the demodulation
  coefficients): the same product, one convolution for the whole batch instead of a grouped one per image;
- resampling filters are applied with strided and transposed convolutions instead of zero-stuffing and slicing.

The GAN tools see the same interface as genlab's own ``Generator`` (see ``genlab.tasks.sampling``):
``code(z, labels)`` is the mapping network (z -> W), ``truncate(w, psi)`` pulls W towards ``w_avg`` (the reference's
truncation), ``forward(w, labels)`` draws from W, and the sliders move in W (``latent_weight``: the style affine
weights, SeFa's StyleGAN case).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import HubModel

MAX_RESOLUTION = 1024  # the largest published StyleGAN (FFHQ, MetFaces)
NOISE_MODES = ("const", "random", "none")
ARCHITECTURES = ("skip", "resnet", "orig")
SQRT2 = math.sqrt(2)


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


def lrelu(x: torch.Tensor, gain: float = SQRT2, clamp: float | None = None, slope: float = 0.2) -> torch.Tensor:
    """Leaky ReLU scaled by ``gain`` (sqrt 2 keeps the variance), then clamped to ±clamp (the reference's bias_act
    after its bias)."""
    x = F.leaky_relu(x, slope) if slope != 1 else x
    if gain != 1:
        x = x * gain
    return x.clamp(-clamp, clamp) if clamp is not None else x


def upfirdn2d(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1,
              pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample by ``up`` (zeros between samples), pad (x0, x1, y0, y1; negative crops), convolve with the FIR
    filter f (1-D: separable, the same along both axes; 2-D: as given), keep every ``down``-th sample.
    (B, C, H, W) -> (B, C, (H*up + y0 + y1 - fh + 1) / down, ...)."""
    c, h, w = (int(v) for v in x.shape[1:])  # constants (an exported graph keeps only the batch dynamic)
    if f is None:
        f = torch.ones(1, 1, dtype=torch.float32, device=x.device)
    f = (f * gain ** (f.ndim / 2)).flip(list(range(f.ndim))).to(x.dtype)  # convolution = correlation, flipped
    x0, x1, y0, y1 = pad
    if up > 1 and f.ndim == 1:
        return _up_separable(x, f, up, down, pad)
    if up > 1:
        x = F.pad(x.reshape(-1, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(-1, c, h * up, w * up)
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]
    if f.ndim == 2:
        return F.conv2d(x, _depthwise(f[None, None].expand(c, 1, *f.shape)), groups=c, stride=down)
    x = F.conv2d(x, _depthwise(f[None, None, None, :].expand(c, 1, 1, -1)), groups=c, stride=(1, down))
    return F.conv2d(x, _depthwise(f[None, None, :, None].expand(c, 1, -1, 1)), groups=c, stride=(down, 1))


def _depthwise(weight: torch.Tensor) -> torch.Tensor:
    """A per-channel filter bank in channels-last layout: PyTorch's CPU depthwise convolution is about 10x faster
    on channels-last activations (measured: a 4x4 filter over 128 x 256 x 256, 49.5 ms NCHW, 4.9 ms NHWC)."""
    return weight.contiguous(memory_format=torch.channels_last)


def _up_separable(x: torch.Tensor, f: torch.Tensor, up: int, down: int, pad) -> torch.Tensor:
    """upfirdn2d for a separable (already flipped) filter and up > 1, one axis at a time with a transposed
    convolution (no multiplications by the inserted zeros): the same samples as zero-stuffing, padding and
    convolving."""
    c, h, w = (int(v) for v in x.shape[1:])
    x0, x1, y0, y1 = pad
    k = f.numel()

    def along(x, n, lo, hi, axis):  # upsample one axis: zero-stuffed length n*up, padded lo/hi, filtered with f
        # conv_transpose with the (re-flipped) filter = zero-stuffing then full convolution: length (n-1)*up + k
        weight = f.flip(0)[None, None].expand(c, 1, k)
        shape = (c, 1, 1, k) if axis == 3 else (c, 1, k, 1)
        stride = (1, up) if axis == 3 else (up, 1)
        y = F.conv_transpose2d(x, _depthwise(weight.reshape(shape)), stride=stride, groups=c)
        # zero-stuffed signal s (length n*up) padded by lo, hi, then 'valid' correlation with flipped f:
        # out[i] = sum_j s_p[i+j] f[j], which is full_conv index i + k - 1 - lo; the full length is (n-1)*up + k
        start = k - 1 - lo
        length = n * up + lo + hi - k + 1
        full = int(y.shape[axis])
        if start < 0 or start + length > full:  # the window reaches past the full convolution: zeros there
            padding = [0, 0, 0, 0]
            before, after = max(-start, 0), max(start + length - full, 0)
            if axis == 3:
                padding[0], padding[1] = before, after
            else:
                padding[2], padding[3] = before, after
            y = F.pad(y, padding)
            start += before
        y = y.narrow(axis, start, length)
        return y[..., ::down] if axis == 3 else y[:, :, ::down]

    x = along(x, w, x0, x1, 3)
    return along(x, h, y0, y1, 2)


def setup_filter(taps) -> torch.Tensor:
    """The reference's resampling filter from its taps: [1, 3, 3, 1] -> the normalised 4x4 outer product
    (fewer than 8 taps are applied as a 2-D filter, as its setup_filter does)."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    if f.ndim == 1 and f.numel() < 8:
        f = torch.outer(f, f)
    return f / f.sum()


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


class _StyleGANBase(HubModel):
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
        self.code_dim = w_dim  # the sliders, directions and projection move in W
        self.resolution, self.image_channels, self.psi = resolution, image_channels, float(psi)
        self.preprocess = "crop"  # an upload to project is centre-cropped and resized, as photos are
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, mapping_layers, embed_features or w_dim,
                                      layer_features or w_dim)

    @property
    def any_class(self) -> int:
        """The one label of an unconditional model (0); past the last class of a conditional one (never drawn)."""
        return self.num_classes

    @property
    def labels(self) -> list[str]:
        return self.class_names or [str(i) for i in range(self.num_classes)]

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


class StyleGAN2Generator(_StyleGANBase, tags=["gan", "stylegan2", "image-generation"]):
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


# --- StyleGAN3 ----------------------------------------------------------------------------------------------


def stylegan3_layout(resolution: int, image_channels: int, channel_base: int, channel_max: int, num_layers: int,
                     num_critical: int, first_cutoff: float, first_stopband: float, last_stopband_rel: float,
                     margin_size: int, filter_size: int, lrelu_upsampling: int, conv_kernel: int,
                     use_radial_filters: bool) -> list[dict]:
    """Each StyleGAN3 layer's geometry (the paper's schedule of cutoffs, stopbands and sampling rates; Appendix F):
    channels, sizes, up/down factors, filter taps and padding. Layer 0 is the Fourier-feature input."""
    last_cutoff = resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, resolution))))
    sizes = rates + margin_size * 2
    sizes[-2:] = resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = image_channels
    layers = []
    for i in range(num_layers + 1):
        prev, torgb = max(i - 1, 0), i == num_layers
        in_rate, out_rate = int(rates[prev]), int(rates[i])
        tmp_rate = max(in_rate, out_rate) * (1 if torgb else lrelu_upsampling)
        up, down = tmp_rate // in_rate, tmp_rate // out_rate
        kernel = 1 if torgb else conv_kernel
        up_taps = filter_size * up if up > 1 and not torgb else 1
        down_taps = filter_size * down if down > 1 and not torgb else 1
        in_size, out_size = int(sizes[prev]), int(sizes[i])
        pad_total = (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        pad_lo = (pad_total + up) // 2
        layers.append(dict(c_in=int(channels[prev]), c_out=int(channels[i]), in_size=in_size, out_size=out_size,
                           up=up, down=down, kernel=kernel, up_taps=up_taps, down_taps=down_taps, torgb=torgb,
                           radial=use_radial_filters and i < num_layers - num_critical and down_taps > 1,
                           pad=(pad_lo, pad_total - pad_lo, pad_lo, pad_total - pad_lo),
                           rate=float(rates[0]), bandwidth=float(cutoffs[0])))
    return layers


class SynthesisInput(nn.Module):
    """Fourier features (B, C, size, size), rotated and translated by an affine of w (the paper's input layer)."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.size, self.sampling_rate, self.bandwidth = size, sampling_rate, bandwidth
        self.weight = nn.Parameter(torch.zeros(channels, channels))
        self.affine = nn.Linear(w_dim, 4)
        self.register_buffer("transform", torch.eye(3))  # user-specified inverse transform of the image
        self.register_buffer("freqs", torch.zeros(channels, 2))
        self.register_buffer("phases", torch.zeros(channels))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        t = self.affine(w)  # (B, 4): cos, sin of a rotation, then a translation
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        b = w.shape[0]  # not len(w): an exported graph keeps the batch dynamic
        m_r = torch.eye(3, device=w.device).repeat(b, 1, 1)
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = torch.eye(3, device=w.device).repeat(b, 1, 1)
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = m_r @ m_t @ self.transform[None]  # (B, 3, 3)
        phases = self.phases[None] + (self.freqs[None] @ transforms[:, :2, 2:]).squeeze(2)  # (B, C)
        freqs = self.freqs[None] @ transforms[:, :2, :2]  # (B, C, 2)
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        # the sample positions: affine_grid's (align_corners=False) pixel centres, scaled by size / sampling rate
        coords = ((torch.arange(self.size, device=w.device, dtype=torch.float32) * 2 + 1) / self.size - 1) * (
            0.5 * self.size / self.sampling_rate)  # (S,)
        grid = torch.stack(torch.meshgrid(coords, coords, indexing="xy"), dim=-1)[None]  # (1, S, S, 2): (x, y)
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1)[:, None, None]).squeeze(3)  # (B, S, S, C)
        x = torch.sin((x + phases[:, None, None]) * (2 * math.pi)) * amplitudes[:, None, None]
        x = x @ (self.weight / math.sqrt(self.weight.shape[0])).t()
        return x.permute(0, 3, 1, 2)  # (B, C, S, S)


class AliasFreeLayer(nn.Module):
    """StyleGAN3's layer: modulated conv, then bias and a leaky ReLU evaluated at a higher sampling rate (upsample
    with a low-pass filter, activate, low-pass and downsample), so the non-linearity adds no aliasing."""

    def __init__(self, w_dim: int, c_in: int, c_out: int, kernel: int, up: int, down: int, up_taps: int,
                 down_taps: int, radial: bool, pad, torgb: bool, conv_clamp, **_):
        super().__init__()
        self.up, self.down, self.pad, self.torgb, self.conv_clamp = up, down, tuple(pad), torgb, conv_clamp
        self.affine = nn.Linear(w_dim, c_in)  # ToRGB's weight gain folded in
        self.weight = nn.Parameter(torch.zeros(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("magnitude_ema", torch.ones([]))  # input magnitude over training: the input gain
        self.register_buffer("up_filter", torch.zeros(up_taps) if up_taps > 1 else None)
        self.register_buffer("down_filter", (torch.zeros(down_taps, down_taps) if radial else torch.zeros(down_taps))
                             if down_taps > 1 else None)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # (B, c_in)
        weight = self.weight
        if not self.torgb:  # demodulated: weight and styles normalised first (the reference's fp16 safety)
            weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            s = s * s.square().mean().rsqrt()
        gain = self.magnitude_ema.rsqrt()
        x = x.contiguous(memory_format=torch.channels_last)  # every op below keeps it (see _depthwise)
        x = F.conv2d(x * s[:, :, None, None], weight.contiguous(memory_format=torch.channels_last),
                     padding=weight.shape[-1] - 1)  # (B, c_out, S + k - 1, ...)
        if not self.torgb:
            x = x * ((weight[None] * s[:, None, :, None, None]).square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None]
        x = x * gain + self.bias[:, None, None]
        if self.torgb:  # linear: bias and clamp only
            return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x
        # the leaky ReLU's gain (sqrt 2) rides in the upsampling filter (lrelu(g x) = g lrelu(x) for g > 0), and
        # clamp(lrelu(y), -c, c) = lrelu(clamp(y, -5c, c)): two in-place passes over the 2x-upsampled activations
        x = upfirdn2d(x, self.up_filter, up=self.up, pad=self.pad, gain=self.up**2 * SQRT2)
        if self.conv_clamp is not None:
            x = x.clamp_(-self.conv_clamp / 0.2, self.conv_clamp)
        x = F.leaky_relu_(x, 0.2)
        return upfirdn2d(x, self.down_filter, down=self.down)


class StyleGAN3Generator(_StyleGANBase, tags=["gan", "stylegan3", "image-generation"]):
    """StyleGAN3 generator (configs -T: 3x3 convs; -R: 1x1 convs and radial filters): w -> image (B, C, R, R).

    >>> g = StyleGAN3Generator(z_dim=8, w_dim=8, resolution=16, channel_base=256, channel_max=8)
    >>> g.sample_latents(torch.randn(1, 8), torch.zeros(1, dtype=torch.long)).shape
    torch.Size([1, 3, 16, 16])
    """

    model_type = "stylegan3"

    def __init__(
        self,
        z_dim: int = 512,  # size of z
        c_dim: int = 0,  # classes (0: unconditional)
        w_dim: int = 512,  # size of W
        resolution: int = 256,  # output side in px, a power of two
        image_channels: int = 3,  # 1: grey, 3: RGB
        mapping_layers: int = 2,  # the reference's StyleGAN3 default
        channel_base: int = 32768,  # -T: 32768, -R: 65536
        channel_max: int = 512,  # -T: 512, -R: 1024
        num_layers: int = 14,  # synthesis layers besides the input and ToRGB
        num_critical: int = 2,  # critically sampled layers at the end
        first_cutoff: float = 2,  # the schedule of cutoffs and stopbands (the paper's Appendix F)
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,  # extra pixels around the image inside the network
        output_scale: float = 0.25,  # the image is the last layer's output times this
        filter_size: int = 6,  # low-pass filter taps per resampling factor
        lrelu_upsampling: int = 2,  # how much higher the leaky ReLU's sampling rate is
        conv_kernel: int = 3,  # -T: 3, -R: 1
        use_radial_filters: bool = False,  # -R: radially symmetric downsampling filters
        conv_clamp: float | None = 256,  # activations clamped to ±conv_clamp
        class_names: list[str] | None = None,  # names of the c_dim classes
        psi: float = 1.0,  # default truncation ψ
    ):
        super().__init__()
        self._common(z_dim, c_dim, w_dim, resolution, image_channels, mapping_layers, None, None, class_names, psi)
        for name, value, lo, hi in (("channel_base", channel_base, 1, 2**20), ("channel_max", channel_max, 1, 2048),
                                    ("num_layers", num_layers, 3, 32), ("margin_size", margin_size, 0, 64),
                                    ("filter_size", filter_size, 1, 16), ("lrelu_upsampling", lrelu_upsampling, 1, 4),
                                    ("conv_kernel", conv_kernel, 1, 7)):
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
        if not isinstance(num_critical, int) or not 0 <= num_critical < num_layers:
            raise ValueError(f"num_critical must be 0-{num_layers - 1}, got {num_critical!r}")
        self.output_scale = float(output_scale)
        layout = stylegan3_layout(resolution, image_channels, channel_base, channel_max, num_layers, num_critical,
                                  first_cutoff, first_stopband, last_stopband_rel, margin_size, filter_size,
                                  lrelu_upsampling, conv_kernel, use_radial_filters)
        first = layout[0]
        self.synthesis = nn.Module()
        self.synthesis.input = SynthesisInput(w_dim, first["c_in"], first["in_size"], first["rate"], first["bandwidth"])
        self.layer_names = []
        for i, spec in enumerate(layout):
            name = f"L{i}_{spec['out_size']}_{spec['c_out']}"  # the reference's layer names
            self.synthesis.add_module(name, AliasFreeLayer(w_dim, conv_clamp=conv_clamp, **spec))
            self.layer_names.append(name)

    def forward(self, w: torch.Tensor, labels: torch.Tensor | None = None, shift=None, noise_mode: str = "const",
                noise_seed: int = 0) -> torch.Tensor:
        """w (B, w_dim) -> images (B, C, R, R). StyleGAN3 has no noise inputs: noise_mode is accepted and unused."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
        x = self.synthesis.input(w)
        for name in self.layer_names:
            x = getattr(self.synthesis, name)(x, w)
        return x * self.output_scale if self.output_scale != 1 else x
