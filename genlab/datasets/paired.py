"""Paired images for translation (pix2pix): ``DIR/A/<name>`` -> ``DIR/B/<name>``, and the digit tasks.

Pairs match by file name without extension (the pix2pix convention: ``A/0001.png`` goes with
``B/0001.jpg``). Files without a partner, and pairs where either side is unreadable, are
skipped and named. The held-out split is by a hash of the name, as for single folders.

>>> from genlab.datasets import paired_folder
>>> train, held_out = paired_folder("edges2shoes/", resolution=64, channels=3, in_channels=1)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ..errors import DatasetError
from .degrade import make_input
from .base import MEMORY_BUDGET_MB, ImageSet, PairedSet
from .folders import EVAL_FRACTION, FileLoader, _visible, read, split, subset


def _by_stem(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder} is missing: paired data is DIR/A/<name> (inputs) and DIR/B/<name> (targets) "
                           "with matching file names.")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and _visible(p):
            found.setdefault(p.stem, p)
    return found


def paired_folder(root: str | Path, resolution: int, channels: int, in_channels: int | None = None,
                  fit: str = "crop", eval_fraction: float = EVAL_FRACTION,
                  memory_budget_mb: float = MEMORY_BUDGET_MB) -> tuple[PairedSet, PairedSet]:
    """(train, held-out) PairedSets from ``root/A`` (inputs, ``in_channels``) and ``root/B`` (targets,
    ``channels``), both at ``resolution`` px."""
    root = Path(root).expanduser()
    in_channels = in_channels or channels
    a_files, b_files = _by_stem(root / "A"), _by_stem(root / "B")
    stems = sorted(a_files.keys() & b_files.keys())
    skipped = [(str(p), "no partner with the same name in the other folder")
               for side in (a_files, b_files) for s, p in side.items() if s not in stems]
    load_a, load_b = FileLoader(resolution, in_channels, fit), FileLoader(resolution, channels, fit)
    a_paths, b_paths = [a_files[s] for s in stems], [b_files[s] for s in stems]
    in_memory = len(stems) * (in_channels + channels) * resolution**2 <= memory_budget_mb * 2**20
    xa, ok_a, skip_a = read(a_paths, load_a, in_memory, 4)
    xb, ok_b, skip_b = read(b_paths, load_b, in_memory, 4)
    skipped += skip_a + skip_b
    keep = [i for i in range(len(stems)) if ok_a[i] and ok_b[i]]  # both sides of a pair readable
    if len(keep) < 2:
        raise DatasetError(f"{root} has {len(keep)} readable pairs; paired data needs at least 2: DIR/A/<name> and "
                           "DIR/B/<name> with matching names: add pairs (or give the partner files the same names).")
    parts = []
    for idx in split([a_paths[i] for i in keep], [0] * len(keep), root, eval_fraction):
        fields = dict(labels=torch.zeros(len(idx), dtype=torch.long), class_names=[], resolution=resolution, fit=fit,
                      root=str(root), skipped=skipped)
        parts.append(PairedSet(subset(idx, keep, xa, a_paths, load_a, channels=in_channels, **fields),
                               subset(idx, keep, xb, b_paths, load_b, channels=channels, **fields)))
    return parts[0], parts[1]


def paired_digits(task: str, split: str = "train", seed: int = 0, variants: int = 1) -> TensorDataset:
    """(input, target, label) triples for a digit translation task, deterministic under ``seed``.

    variants: inputs per digit (different jitter) for the randomised sketch task.
    """
    from .digits import digits

    images, labels = digits(split).tensors
    rng = np.random.default_rng(seed)
    xs = torch.cat([make_input(task, images, rng) for _ in range(variants)])
    return TensorDataset(xs, images.repeat(variants, 1, 1, 1), labels.repeat(variants))


def paired_digit_set(task: str, split: str = "train", seed: int = 0, variants: int = 1) -> PairedSet:
    """``paired_digits`` as a PairedSet (float images held in memory)."""
    x, y, labels = paired_digits(task, split, seed, variants).tensors
    names = [str(i) for i in range(10)]
    return PairedSet(ImageSet(labels, names, 28, 1, images=x, fit="mnist"),
                     ImageSet(labels, names, 28, 1, images=y, fit="mnist"))
