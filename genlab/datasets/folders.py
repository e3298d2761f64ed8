"""A user's image folder: class subfolders (``DIR/<class>/<image>``) or a flat folder (unconditional).

Every file goes through genlab's upload gate (``genlab.images.open_image``): 16-bit, CMYK,
alpha, palette and EXIF orientation are converted; empty, truncated, non-image, tiny and huge
files are skipped, counted and named (``ImageSet.skipped``), never fatal. Images are made
square (centre crop, or pad) and resized with antialiasing to the model's resolution.

A fixed held-out split (``eval_fraction``, default 10 %) is chosen per class by a hash of each
file's path relative to the folder, so it does not depend on the order files are listed in
or on the seed, and adding files does not move existing ones between the splits.

>>> from genlab.datasets import image_folder
>>> train, held_out = image_folder("my_photos/", resolution=64, channels=3)
>>> train.class_names, len(train), len(held_out), train.skipped[:3]
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from ..errors import DatasetError, ImageInputError
from ..images import FITS, load_uint8, open_header
from .base import MEMORY_BUDGET_MB, ImageSet

EVAL_FRACTION = 0.1  # held out per class, never trained on
MIN_PER_CLASS = 2  # a class needs at least this many readable images (one to train, one to hold out)


class FileLoader:
    """Decode one file to uint8 (C, R, R); picklable, so DataLoader workers can use it."""

    def __init__(self, resolution: int, channels: int, fit: str = "crop"):
        if fit not in FITS:
            raise ValueError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
        self.resolution, self.channels, self.fit = resolution, channels, fit

    def __call__(self, files: tuple[str, ...]) -> torch.Tensor:
        return load_uint8(files[0], self.resolution, self.channels, self.fit)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def scan(root: str | Path) -> tuple[list[Path], list[int], list[str]]:
    """(files, labels, class names) of a folder; class names are the sorted subfolder names, or []
    for a flat folder. Hidden files and folders (``.DS_Store``, ``.git``) are ignored."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder: give a folder of images, or of class subfolders of images.")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    if subdirs:
        files, labels = [], []
        for label, d in enumerate(subdirs):
            found = sorted(p for p in d.rglob("*") if p.is_file() and not any(q.startswith(".") for q in p.relative_to(d).parts))
            files += found
            labels += [label] * len(found)
        return files, labels, [d.name for d in subdirs]
    files = sorted(p for p in root.iterdir() if p.is_file() and _visible(p))
    return files, [0] * len(files), []


def probe(path: Path) -> None:
    """The upload gate's header checks, without decoding pixels (``genlab.images.open_header``): empty,
    SVG/text, unknown format, too small or too large. Truncation shows only when the image is loaded."""
    open_header(path).close()


def split(files: list[Path], labels: list[int], root: Path, eval_fraction: float) -> tuple[list[int], list[int]]:
    """(train, held-out) positions: per class the files with the smallest path hashes are held out,
    round(n * eval_fraction) of them, at least 1 and at most n - 1 (when eval_fraction > 0)."""
    if not 0 <= eval_fraction < 1:
        raise DatasetError(f"eval fraction must be in [0, 1), got {eval_fraction}")
    train, held = [], []
    for c in sorted(set(labels)):
        idx = [i for i, label in enumerate(labels) if label == c]
        idx.sort(key=lambda i: hashlib.sha1(files[i].relative_to(root).as_posix().encode()).hexdigest())
        k = min(len(idx) - 1, max(1, round(len(idx) * eval_fraction))) if eval_fraction > 0 else 0
        held += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(held)


def _check_classes(root: Path, labels: list[int], class_names: list[str]) -> None:
    if not labels:
        raise DatasetError(f"No readable images in {root}: put PNG/JPEG/WebP/BMP/TIFF/GIF files in it "
                           "(flat, for an unconditional model) or in one subfolder per class.")
    counts = np.bincount(labels, minlength=max(len(class_names), 1))
    small = [(class_names[c] if class_names else str(root), int(n)) for c, n in enumerate(counts) if n < MIN_PER_CLASS]
    if small:
        where = ", ".join(f"{root / name if class_names else name} ({n})" for name, n in small)
        raise DatasetError(f"Each class needs at least {MIN_PER_CLASS} readable images (one to train on, one to "
                           f"hold out); too few in: {where}. Add images to that class, or move its folder out (or "
                           "merge it into another class).")


def _reason(e: Exception) -> str:
    """An upload-gate message as a skip reason: what is wrong, without the advice to upload another file."""
    return re.split(r"[:;]?\s+(?:[Uu]pload|[Ee]xport it)\b", str(e), maxsplit=1)[0].rstrip(" .:") or str(e)


def _decode_all(files: list[Path], loader: FileLoader, threads: int) -> tuple[list, list[tuple[str, str]]]:
    """Decode every file (threads: PIL releases the GIL while decoding); (arrays or None, skipped)."""
    from tqdm.auto import tqdm

    def one(path: Path):
        try:
            return loader((str(path),)), None
        except ImageInputError as e:
            return None, _reason(e)

    out, skipped = [], []
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for path, (arr, why) in tqdm(zip(files, pool.map(one, files)), total=len(files), desc="reading images",
                                     disable=len(files) < 2000, file=sys.stderr):
            out.append(arr)
            if why:
                skipped.append((str(path), why))
    return out, skipped


def read(files: list[Path], loader: FileLoader, in_memory: bool, threads: int | None = None
         ) -> tuple[list | None, list[bool], list[tuple[str, str]]]:
    """Decode every file (a set held in memory) or only check its header (a streamed set).

    Returns (uint8 arrays or None per file, or None when streaming; readable per file; skipped
    (file, reason))."""
    if in_memory:
        arrays, skipped = _decode_all(files, loader, threads or min(8, os.cpu_count() or 1))
        return arrays, [a is not None for a in arrays], skipped
    ok, skipped = [], []
    for path in files:
        try:
            probe(path)
            ok.append(True)
        except ImageInputError as e:
            ok.append(False)
            skipped.append((str(path), _reason(e)))
    return None, ok, skipped


def subset(idx: list[int], keep: list[int], arrays: list | None, files: list[Path], loader: FileLoader,
           **fields) -> ImageSet:
    """The ImageSet of items ``idx`` (positions among the readable files ``keep``): their uint8 arrays
    when held in memory, else their files and the loader that decodes them."""
    if arrays is None:
        return ImageSet(files=[(str(files[keep[i]]),) for i in idx], load=loader, **fields)
    images = torch.stack([arrays[keep[i]] for i in idx]) if idx else \
        torch.empty(0, loader.channels, loader.resolution, loader.resolution, dtype=torch.uint8)
    return ImageSet(images=images, **fields)


def image_folder(root: str | Path, resolution: int, channels: int, fit: str = "crop",
                 eval_fraction: float = EVAL_FRACTION, memory_budget_mb: float = MEMORY_BUDGET_MB,
                 threads: int | None = None) -> tuple[ImageSet, ImageSet]:
    """(train, held-out) ImageSets of a folder at ``resolution`` px and ``channels`` (1 or 3).

    In memory (uint8) when the whole set fits ``memory_budget_mb``, else streamed from the files
    (checked by header first; files that fail to decode later are reported and replaced).
    Raises DatasetError for a missing or empty folder, or a class with fewer than 2 usable images.
    """
    root = Path(root).expanduser()
    loader = FileLoader(resolution, channels, fit)
    files, labels, class_names = scan(root)
    in_memory = len(files) * channels * resolution**2 <= memory_budget_mb * 2**20
    arrays, ok, skipped = read(files, loader, in_memory, threads)
    keep = [i for i, good in enumerate(ok) if good]
    labels = [labels[i] for i in keep]
    _check_classes(root, labels, class_names)
    return tuple(
        subset(idx, keep, arrays, files, loader, labels=torch.tensor([labels[i] for i in idx], dtype=torch.long),
               class_names=class_names, resolution=resolution, channels=channels, fit=fit, root=str(root),
               skipped=skipped)
        for idx in split([files[i] for i in keep], labels, root, eval_fraction))


def describe_skipped(skipped: list[tuple[str, str]], root: str = "", most: int = 20) -> str:
    """A readable list of skipped files for logs and model cards."""
    if not skipped:
        return "none"
    rel = [(os.path.relpath(p, root) if root else p, why) for p, why in skipped]
    lines = [f"{p}: {why}" for p, why in rel[:most]]
    more = f" (+{len(skipped) - most} more)" if len(skipped) > most else ""
    return f"{len(skipped)} file(s){more}: " + "; ".join(lines)
