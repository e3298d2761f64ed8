"""A GAN checkpoint against held-out images: class accuracy, FID/KID with the real floor, memorisation."""

from __future__ import annotations

from pathlib import Path


from ..datasets import ImageSet
from ..errors import DatasetError
from ..hub import load
from .common import MAX_REAL, feature_net_for, folder_for, memorisation_check, real_floor
from .metrics import any_class_fid, evaluate_generator


def evaluate_gan(name: str, samples: int = 5000, seed: int = 0, feature_net: str = "mnist-classifier",
                 data: str = "mnist", held_out: ImageSet | None = None, train: ImageSet | None = None,
                 figure: Path | None = None) -> dict:
    """Accuracy, FID, KID of a GAN checkpoint against the held-out split, and the real floor; on data other
    than the digits also the memorisation check (``figure``: where its PNG goes)."""
    g = load(name, model_type="gan", device="cpu")
    if held_out is None or train is None:
        train, held_out = folder_for(g, data)
    if held_out.class_names and g.num_classes and g.labels != held_out.class_names and data != "mnist":
        raise DatasetError(f"{name} was trained on classes {g.labels}, but {data} has {held_out.class_names}.")
    classifier = feature_net_for(feature_net, data, g)
    real, real_labels = held_out.tensors(MAX_REAL)
    result = evaluate_generator(g, classifier, real, n=samples, seed=seed, real_labels=real_labels)
    if not g.num_classes:
        result.pop("accuracy", None)  # unconditional: no class to agree with
    else:  # the no-class ("any") label: does it sample the data as a whole as well as the classes do?
        result["fid_any"] = any_class_fid(g, classifier, real, samples, seed)
    floor = real_floor(classifier, train, held_out)
    if data != "mnist":
        result["memorisation"] = memorisation_check(g, train, held_out, figure, seed)
    return {**result, "floor_fid": floor["fid"], "floor_kid": floor["kid"], "floor_kid_std": floor["kid_std"],
            "feature_net": feature_net or "mnist-classifier", "held_out": len(held_out), "data": data}
