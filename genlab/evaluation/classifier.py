"""A classifier checkpoint: accuracy on the held-out split of its data."""

from __future__ import annotations



from ..hub import load
from .common import MAX_REAL, folder_for
from .metrics import accuracy


def evaluate_classifier(name: str, data: str = "mnist") -> dict:
    model = load(name, model_type="classifier", device="cpu")
    _, held_out = folder_for(model, data)
    x, y = held_out.tensors(MAX_REAL)
    return {"accuracy": accuracy(model, x, y), "held_out": len(x), "classes": model.labels}
