"""The cascade's learned 2x upsampler (a part of ``gan.Generator`` when its config sets ``upsampler``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_WIDTH, MAX_BLOCKS = 256, 8  # bounds on a config's upsampler and upsampler_blocks (models/bounds.py reads them too)


class Upsampler(nn.Module):
    """A learned 2x upsampler, the cascade's second stage: (B, C, s, s) image in [-1, 1] and the class embedding
    -> (B, C, 2s, 2s) in [-1, 1]. It works at the small side (its convolutions cost a quarter of the same ones at
    2s), then one 3x3 conv makes four sub-pixels per pixel (pixel shuffle, ESPCN) and a last 3x3 conv at 2s draws
    the detail that is added to the nearest-upsampled input. The class reaches every block (FiLM: a gain and a
    bias per channel from the embedding), so the class sliders' embedding shift moves the detail too."""

    def __init__(self, image_channels: int, embed_dim: int, channels: int = 24, blocks: int = 2):
        super().__init__()
        half = max(8, channels // 2)
        self.inp = nn.Conv2d(image_channels, channels, 3, 1, 1)  # (B, c, s, s)
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, 1, 1) for _ in range(2 * blocks))
        self.film = nn.Linear(embed_dim, 2 * channels * blocks)  # per block: gain and bias, (B, 2c) each
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.shuffle = nn.Sequential(nn.Conv2d(channels, 4 * half, 3, 1, 1), nn.PixelShuffle(2))  # (B, half, 2s, 2s)
        self.out = nn.Conv2d(half, image_channels, 3, 1, 1)
        nn.init.zeros_(self.out.weight)  # starts as nearest upsampling: training adds the detail
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.inp(x))  # (B, c, s, s)
        film = self.film(e)[:, :, None, None].chunk(len(self.convs), dim=1)  # 2 per block: (B, c, 1, 1) each
        for i in range(0, len(self.convs), 2):  # residual blocks: conv-FiLM-ReLU-conv, + input
            gain, bias = film[i], film[i + 1]
            r = F.relu(self.convs[i](h) * (1 + gain) + bias)
            h = h + self.convs[i + 1](r)
        h = F.relu(self.shuffle(F.relu(h)))  # (B, half, 2s, 2s)
        return (F.interpolate(x, scale_factor=2, mode="nearest") + self.out(h)).clamp(-1, 1)
