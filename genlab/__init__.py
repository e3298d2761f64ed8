"""genlab: explore and use deep generative models for image analysis.

>>> import genlab
>>> g = genlab.load("mnist-cgan")
"""

from .errors import CheckpointError, DatasetError, GenlabError, HubNotCachedError, ImageInputError, UnknownModelError
from .hub import load, shipped_names

__all__ = [
    "CheckpointError", "DatasetError", "GenlabError", "HubNotCachedError", "ImageInputError", "UnknownModelError", "load", "shipped_names",
]
__version__ = "0.1.0"
