"""Small digit classifier: the project's own feature net for FID/KID and class accuracy.

Trained by genlab on the bundled digits (never on the held-out split), so the metrics need
no Inception download and measure what matters for 28x28 digits.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import HubModel


class DigitClassifier(HubModel, tags=["image-classification"]):
    """CNN on (B, 1, 28, 28) images in [-1, 1] -> (B, num_classes) logits.

    ``features(x)`` returns the penultimate activations (B, feature_dim) used by FID/KID.

    >>> DigitClassifier()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    model_type = "classifier"

    def __init__(
        self,
        num_classes: int = 10,  # digits 0-9
        channels: int = 32,  # first conv width; doubled after each pooling
        feature_dim: int = 128,  # penultimate width = FID/KID feature size
        dropout: float = 0.3,  # before the last layer; off in eval()
    ):
        super().__init__()
        c = channels
        self.feature_dim = feature_dim
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1),  # (B, c, 28, 28)
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=1),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 3, padding=1),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # (B, 2c, 7, 7)
            nn.Flatten(),
            nn.Linear(2 * c * 7 * 7, feature_dim),
            nn.ReLU(inplace=True),  # (B, feature_dim): the features
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
