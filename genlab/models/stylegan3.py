"""StyleGAN3 (Karras et al. 2021, "Alias-Free Generative Adversarial Networks") generators, configs -T and -R, for
checkpoints trained elsewhere (``genlab import``). The mapping network, classes, truncation and the GAN tools'
interface are StyleGAN2's (``genlab.models.stylegan``); the synthesis network is its own: Fourier-feature input, then
layers whose leaky ReLU runs at a raised sampling rate between low-pass filters (their taps are part of the weights).
Same arithmetic as the reference code; tests/test_import_checkpoints.py compares it with the reference's outputs."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .resample import SQRT2, upfirdn2d
from .stylegan import NOISE_MODES, StyleGANBase


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


class StyleGAN3Generator(StyleGANBase, tags=["gan", "stylegan3", "image-generation"]):
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
