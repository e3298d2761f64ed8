"""A pix2pix checkpoint on held-out pairs: PSNR/SSIM, class agreement and FID, beside the identity baseline."""

from __future__ import annotations


import torch

from ..datasets import paired_digit_set, paired_folder
from ..errors import DatasetError
from ..hub import load
from .common import MAX_REAL
from .metrics import image_quality


def evaluate_pix2pix(name: str, data: str = "", feature_net: str = "", seed: int = 0) -> dict:
    """L1/PSNR/SSIM (and FID/KID, accuracy with a feature net) of one sample per held-out input, beside
    the plain baseline: the input itself (the task's own baseline for the digit tasks)."""
    g = load(name, model_type="pix2pix", device="cpu")
    if g.task and not data:
        held = paired_digit_set(g.task, "eval", seed=1)
        feature_net = feature_net or "mnist-classifier"
    elif data in ("openmoji2noto", "noto2openmoji"):  # one emoji design -> the other (held-out emoji)
        from ..datasets import PairedSet
        from ..datasets.emoji_styles import style_sets

        held = style_sets(g.resolution).held_out
        held = held if data == "openmoji2noto" else PairedSet(held.b, held.a)
    elif data == "emoji":  # sketch -> colour pairs, the same fixed held-out draw as in training
        from ..datasets.emoji import sketch_pairs

        held = sketch_pairs(g.resolution)[1]
    elif data:
        fit = g.preprocess if g.preprocess in ("crop", "pad") else "crop"
        held = paired_folder(data, g.resolution, g.image_channels, g.in_channels, fit)[1]
    else:
        raise DatasetError(f"{name} was trained on a folder: pass it with --data DIR (DIR/A -> DIR/B).")
    x, y, labels = held.tensors(MAX_REAL)
    classifier = load(feature_net, model_type="classifier", device="cpu") if feature_net else None
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)  # the dropout noise
        outputs = torch.cat([g(x[i : i + 250]) for i in range(0, len(x), 250)])
    baseline = x if x.size(1) == y.size(1) else x.mean(1, keepdim=True).expand_as(y)
    return {"model": image_quality(outputs, y, labels, classifier), "baseline": image_quality(baseline, y, labels,
                                                                                              classifier),
            "held_out": len(x), "feature_net": feature_net or None}
