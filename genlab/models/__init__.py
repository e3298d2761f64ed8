"""nn.Modules only: one model family per file, each constructor's kwargs are its config.

GAN generators share one interface that every GAN tool uses (genlab.tasks.sampling): ``code(z, labels, shift)``
(the space the sliders move in: z for DCGANs, W for StyleGAN), ``truncate(code, psi)``, ``forward(code, labels,
shift)``, ``code_dim``, ``latent_weight()`` (SeFa), ``code_start`` / ``code_prior`` (projection)."""

from .base import weights_digest
from .classifier import ImageClassifier
from .cyclegan import CycleDiscriminator, CycleGAN
from .dcgan import DCGANGenerator
from .dip import SkipHourglass
from .gan import Discriminator, Generator
from .pix2pix import PatchDiscriminator, UNetGenerator
from .stylegan import StyleGAN2Generator
from .stylegan3 import StyleGAN3Generator
from .vae import ConvVAE
from .zoo import ZooCycleGAN, ZooTranslator

__all__ = [
    "ConvVAE", "CycleDiscriminator", "CycleGAN", "DCGANGenerator", "Discriminator", "Generator", "ImageClassifier", "PatchDiscriminator", "SkipHourglass",
    "StyleGAN2Generator", "StyleGAN3Generator", "UNetGenerator", "ZooCycleGAN", "ZooTranslator", "weights_digest",
]
