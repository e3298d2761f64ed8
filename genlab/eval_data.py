"""What every evaluation module shares: the data a checkpoint was trained on, and how much of it is read.

Its own module so that the per-family evaluations (augment_eval, cyclegan_eval) and the ``eval`` CLI that
imports them do not import each other in a circle.
"""

from __future__ import annotations

from .datasets import EVAL_FRACTION, ImageSet, digit_set, image_folder

MAX_REAL = 10_000  # real images held in memory for FID (the held-out split, and the train side of the floor)


def folder_for(model, data: str) -> tuple[ImageSet, ImageSet]:
    """(train, held-out) of ``data`` ("mnist" or a folder) as the checkpoint saw it in training."""
    if data == "mnist":
        return digit_set("train"), digit_set("eval")
    if data == "emoji":
        from .datasets.emoji import emoji_set

        return emoji_set(model.resolution)
    fit = model.preprocess if model.preprocess in ("crop", "pad") else "crop"
    return image_folder(data, model.resolution, model.image_channels, fit, EVAL_FRACTION)
