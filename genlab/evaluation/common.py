"""What every evaluation module shares: the data a checkpoint was trained on (and how much of it is read),
the feature net for FID/KID, the real-data floor and the memorisation check.

The per-family modules (gan, vae, pix2pix, classifier, cyclegan, augment, inpaint) import this one, and the
``eval`` CLI (cli.py) imports them; nothing here imports them back, so there is no circle.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..datasets import EVAL_FRACTION, ImageSet, digit_set, image_folder
from ..errors import DatasetError
from ..hub import load
from .metrics import fid_kid

MAX_REAL = 10_000  # real images held in memory for FID (the held-out split, and the train side of the floor)


def folder_for(model, data: str) -> tuple[ImageSet, ImageSet]:
    """(train, held-out) of ``data`` ("mnist" or a folder) as the checkpoint saw it in training."""
    if data == "mnist":
        return digit_set("train"), digit_set("eval")
    if data == "emoji":
        from ..datasets.emoji import emoji_set

        return emoji_set(model.resolution)
    fit = model.preprocess if model.preprocess in ("crop", "pad") else "crop"
    return image_folder(data, model.resolution, model.image_channels, fit, EVAL_FRACTION)


def feature_net_for(name: str, data: str, like) -> torch.nn.Module:
    """The classifier for FID/KID: ``name``, or mnist-classifier on digits; checked against the data."""
    name = name or ("mnist-classifier" if data == "mnist" else "")
    if not name:
        raise DatasetError("FID/KID on a folder need a feature net trained on it: run `python -m genlab.train "
                           f"classifier --data {data} --resolution {like.resolution} --channels {like.image_channels}` "
                           "and pass its checkpoint as --feature-net.")
    net = load(name, model_type="classifier", device="cpu")
    if net.image_channels != like.image_channels:
        raise DatasetError(f"feature net {name!r} takes {net.image_channels}-channel images; the model makes "
                           f"{like.image_channels}-channel ones: train a classifier on the same data.")
    # Another side length is resampled to the net's own (ImageClassifier.fit_size): the real images go the
    # same way, so FID, KID and the floor stay comparable.
    return net


def real_floor(classifier, train: ImageSet, held_out: ImageSet) -> dict:
    """FID/KID of the training images vs the held-out ones: what real data scores."""
    return fid_kid(held_out.tensors(MAX_REAL)[0], train.tensors(MAX_REAL)[0], classifier)


MEMORISATION_SAMPLES = 2000  # generated images whose nearest training image is looked up


def memorisation_check(g, train: ImageSet, held_out: ImageSet, figure: Path | None = None, seed: int = 0) -> dict:
    """How near the GAN's samples come to their nearest training image, against held-out real images' nearest
    training image (metrics.memorisation); with ``figure``, a PNG: both histograms, and the 8 samples nearest to
    the training set beside the training image each is nearest to."""
    from .metrics import generate, memorisation_from_distances, nearest_distances

    fake = generate(g, MEMORISATION_SAMPLES, seed=seed + 7)[0]
    train_x, held_x = train.tensors(MAX_REAL)[0], held_out.tensors(MAX_REAL)[0]
    d_fake, d_real = nearest_distances(fake, train_x), nearest_distances(held_x, train_x)
    result = {**memorisation_from_distances(d_fake, d_real), "samples": len(fake), "train": len(train_x),
              "held_out": len(held_x)}
    if figure is not None:
        _memorisation_figure(fake, train_x, d_fake, d_real, Path(figure))
    return result


def _memorisation_figure(fake: torch.Tensor, train_x: torch.Tensor, d_fake: torch.Tensor, d_real: torch.Tensor,
                         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..images import to_pil_grid

    closest = d_fake.argsort()[:8]
    flat_train = (train_x.flatten(1) + 1) / 2
    partner = [int((((fake[i].flatten() + 1) / 2 - flat_train) ** 2).sum(1).argmin()) for i in closest]
    pairs = torch.stack([fake[closest], train_x[partner]], 1).flatten(0, 1)  # sample, its nearest training image
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100, gridspec_kw={"width_ratios": [1.2, 1]})
    bins = torch.linspace(0, float(max(d_fake.max(), d_real.max())), 40).numpy()
    ax.hist(d_real.numpy(), bins=bins, density=True, alpha=0.6, label=f"held-out real → train (n={len(d_real)})")
    ax.hist(d_fake.numpy(), bins=bins, density=True, alpha=0.6, label=f"GAN sample → train (n={len(d_fake)})")
    ax.axvline(float(torch.quantile(d_real, 0.01)), color="k", ls="--", lw=1, label="1 % of held-out (near-copy line)")
    ax.set_xlabel("RMS pixel distance to the nearest training image ([0, 1] intensities)")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    ax2.imshow(to_pil_grid(pairs, nrow=4))
    ax2.set_title("8 samples nearest to the training set,\neach beside its nearest training image", fontsize=8)
    ax2.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
