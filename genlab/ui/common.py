"""Pieces more than one tab uses."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def sketch_to_file(sketch) -> str | None:
    """A Sketchpad drawing (dark strokes, transparent background) -> PNG file for the endpoint."""
    if not sketch or sketch.get("composite") is None:
        return None
    comp = np.asarray(sketch["composite"])
    if comp.ndim == 3 and comp.shape[2] == 4 and comp[..., 3].max() == 0:
        return None  # nothing drawn yet
    out = Path(tempfile.mkdtemp(prefix="genlab-")) / "drawing.png"
    Image.fromarray(comp).save(out)
    return str(out)
