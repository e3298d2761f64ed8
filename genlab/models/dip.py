"""The deep-image-prior network (Ulyanov et al. 2018): an untrained encoder-decoder fitted to one image.

Never shipped or loaded: ``genlab.tasks.inpainting.deep_image_prior`` builds a fresh one per repair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SkipHourglass(nn.Module):
    """The deep-image-prior net: encoder-decoder with skip connections, noise in, image out.

    ``depth`` downsamplings by 2, so inputs must be a multiple of 2**depth in each side.
    """

    def __init__(self, in_channels: int = 8, out_channels: int = 3, width: int = 32, skip: int = 4, depth: int = 4,
                 padding: str = "zeros"):
        super().__init__()

        def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, padding_mode=padding),
                                 nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True))

        self.down, self.skips, self.up = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        cin = in_channels
        for _ in range(depth):
            self.skips.append(block(cin, skip))
            self.down.append(nn.Sequential(block(cin, width, 2), block(width, width)))
            cin = width
        for i in range(depth):
            self.up.append(nn.Sequential(nn.BatchNorm2d(width + skip), block(width + skip, width), block(width, width, 1)))
        self.head = nn.Conv2d(width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for skip, down in zip(self.skips, self.down):
            skips.append(skip(x))
            x = down(x)
        for up, s in zip(self.up, reversed(skips)):
            x = F.interpolate(x, size=s.shape[-2:], mode="bilinear", align_corners=False)
            x = up(torch.cat([x, s], dim=1))
        return torch.sigmoid(self.head(x))
