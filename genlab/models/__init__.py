"""nn.Modules only: one model family per file, each constructor's kwargs are its config."""

from .classifier import DigitClassifier
from .gan import Discriminator, Generator

__all__ = ["DigitClassifier", "Discriminator", "Generator"]
