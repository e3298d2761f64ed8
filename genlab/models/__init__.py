"""nn.Modules only: one model family per file, each constructor's kwargs are its config."""

from .classifier import DigitClassifier, ImageClassifier
from .gan import Discriminator, Generator
from .pix2pix import PatchDiscriminator, UNetGenerator
from .vae import ConvVAE

__all__ = [
    "ConvVAE", "DigitClassifier", "ImageClassifier", "Discriminator", "Generator", "PatchDiscriminator", "UNetGenerator",
]
