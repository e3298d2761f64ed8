"""Pieces more than one tab uses."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..hub import load


@lru_cache(maxsize=8)
def cached_model(name: str, model_type: str):
    """Load a checkpoint once per (name, family) for the server's lifetime (CPU/GPU as available)."""
    return load(name, model_type=model_type)


def sketch_to_image(sketch) -> np.ndarray | None:
    """A Sketchpad value -> its composite (H, W, 4) array, or None while nothing is drawn.

    Returned into a gr.Image(type="filepath", format="png"), Gradio writes it to its own cache
    as a lossless PNG, so the drawing becomes an input like any upload.
    """
    if not sketch or sketch.get("composite") is None:
        return None
    comp = np.asarray(sketch["composite"])
    if comp.ndim == 3 and comp.shape[2] == 4 and comp[..., 3].max() == 0:
        return None  # empty, fully transparent canvas
    return comp
