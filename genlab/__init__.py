"""genlab: explore and use deep generative models for image analysis.

>>> import genlab
>>> g = genlab.load("mnist-cgan")

``import genlab`` itself is light: torch loads with the first use of ``load`` (so ``genlab
--help`` answers at once, and the app can set its thread count before torch starts). On a
ZeroGPU Space the ``spaces`` package is imported first of all (see genlab/zerogpu.py).
"""

from . import zerogpu  # noqa: F401  (first: on ZeroGPU, `spaces` must precede anything that touches CUDA)
from .errors import CheckpointError, DatasetError, GenlabError, HubNotCachedError, ImageInputError, UnknownModelError

__all__ = [
    "CheckpointError", "DatasetError", "GenlabError", "HubNotCachedError", "ImageInputError", "UnknownModelError", "load", "shipped_names",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("load", "shipped_names"):
        from . import hub

        return getattr(hub, name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")
