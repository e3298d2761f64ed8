"""Small image classifier: the project's own feature net for FID/KID and class accuracy.

Trained by genlab on the same data as the generative model (digits, or a user's class
folders; never on the held-out split), so the metrics need no Inception download and measure
what matters for that data.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import HubModel, check_shape_config, octaves, widths


class ImageClassifier(HubModel, tags=["image-classification"]):
    """CNN on (B, image_channels, R, R) images in [-1, 1] -> (B, num_classes) logits.

    Two 3x3 convs and a 2x2 max-pool per octave down to the base map (7x7 at 28 px, 4x4 at
    32-256 px). ``features(x)`` returns the penultimate activations (B, feature_dim) used by
    FID/KID: any classes and channels, the feature net of every genlab FID (not only the digits').

    >>> ImageClassifier()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    model_type = "classifier"

    def __init__(
        self,
        num_classes: int = 10,  # digits 0-9
        channels: int = 32,  # first conv width; doubled after each pooling (at most 8x)
        feature_dim: int = 128,  # penultimate width = FID/KID feature size
        dropout: float = 0.3,  # before the last layer; off in eval()
        image_channels: int = 1,  # 1: grey, 3: RGB
        resolution: int = 28,  # image side in px: base x 2^n (28, 32, 48, 64, 96, 128, 256, ...)
        class_names: list[str] | None = None,  # display names, index = class; default "0", "1", ...
        preprocess: str = "mnist",  # how uploads are prepared: "mnist" (digit centring), "crop" or "pad"
    ):
        super().__init__()
        self.class_names = check_shape_config(resolution, image_channels, class_names, num_classes, preprocess)
        n, base = octaves(resolution)
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.image_channels = image_channels
        self.resolution = resolution
        self.preprocess = preprocess
        layers: list[nn.Module] = []
        c_in = image_channels
        for c in widths(channels, n, 8 * channels):  # (B, c, s, s) -> (B, c, s/2, s/2)
            layers += [
                nn.Conv2d(c_in, c, 3, padding=1),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.Conv2d(c, c, 3, padding=1),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in = c
        self.body = nn.Sequential(
            *layers,  # (B, c_in, base, base)
            nn.Flatten(),
            nn.Linear(c_in * base * base, feature_dim),
            nn.ReLU(inplace=True),  # (B, feature_dim): the features
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))

    @property
    def labels(self) -> list[str]:
        """Display names of the classes, index = label."""
        return self.class_names or [str(i) for i in range(self.num_classes)]

    def fit_size(self, x: torch.Tensor) -> torch.Tensor:
        """Images of another side length are resampled (bilinear, antialiased) to the classifier's own, so one
        feature net measures a model at 32 px and one at 64 px. Images at its size pass unchanged."""
        if x.shape[-1] == self.resolution and x.shape[-2] == self.resolution:
            return x
        return torch.nn.functional.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear",
                                               align_corners=False, antialias=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.fit_size(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

