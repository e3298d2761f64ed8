"""nn.Modules only: one model family per file, each constructor's kwargs are its config."""

from .base import weights_digest
from .classifier import ImageClassifier
from .cyclegan import CycleDiscriminator, CycleGAN
from .dip import SkipHourglass
from .gan import Discriminator, Generator
from .pix2pix import PatchDiscriminator, UNetGenerator
from .vae import ConvVAE

__all__ = [
    "ConvVAE", "CycleDiscriminator", "CycleGAN", "Discriminator", "Generator", "ImageClassifier", "PatchDiscriminator", "SkipHourglass",
    "UNetGenerator", "weights_digest",
]
