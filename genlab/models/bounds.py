"""Bounds on what a checkpoint may ask for, checked before any layer is allocated: a hostile config.json (or a
foreign file's constructor arguments, genlab.formats) cannot make genlab build a huge model, and weights must have
the shapes their config describes. Used by genlab.hub.load and genlab import."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError
from .base import HubModel, meta_skeleton
from .gan import MIN_PSI
from .upsampler import MAX_BLOCKS, MAX_WIDTH

# Imported families (genlab import): no genlab training recipe; their constructors bound every field themselves.
IMPORTED_TYPES = ("stylegan2", "stylegan3", "dcgan")
IMPORTED_TRANSLATORS = ("zoo-translator", "zoo-cyclegan")  # pytorch-CycleGAN-and-pix2pix generators (models/zoo.py)

# Bounds on what a config.json may ask for, checked before any layer is allocated: a hostile
# config cannot make the server build a huge model. Generous for real models (a 256-px colour
# GAN at width 512 fits easily).
CONFIG_BOUNDS = {"latent_dim": 1024, "channels": 1024, "embed_dim": 1024, "hidden": 8192, "feature_dim": 4096,
                 "num_classes": 10_000, "blocks": 32, "prior_components": 256, "prior_refine": 20,
                 "upsampler": MAX_WIDTH, "upsampler_blocks": MAX_BLOCKS}
ZERO_ALLOWED = ("num_classes", "prior_components", "prior_refine", "upsampler", "upsampler_blocks")


def check_config(name: str, config: dict) -> None:
    """Refuse config values outside CONFIG_BOUNDS, or a bad resolution/channels/class list, readably."""
    from .base import check_shape_config

    if config.get("model_type") in IMPORTED_TRANSLATORS:  # their constructors bound every field (meta device)
        return
    if config.get("model_type") in IMPORTED_TYPES:  # their constructors bound every field (on the meta device)
        psi = config.get("psi", 1.0)
        if not isinstance(psi, (int, float)) or isinstance(psi, bool) or not MIN_PSI <= psi <= 1.0:
            raise CheckpointError(f"{name!r}: config.json psi = {psi!r} is outside {MIN_PSI}-1; refusing to build it.")
        return
    for key, hi in CONFIG_BOUNDS.items():
        value = config.get(key, 1)
        lo = 0 if key in ZERO_ALLOWED else 1
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise CheckpointError(f"{name!r}: config.json {key} = {value!r} is outside {lo}-{hi}; refusing to build it.")
    for key in ("dropout", "beta"):
        if not isinstance(config.get(key, 0.0), (int, float)) or isinstance(config.get(key, 0.0), bool):
            raise CheckpointError(f"{name!r}: config.json {key} must be a number.")
    psi = config.get("psi", 1.0)  # a GAN's default truncation
    if not isinstance(psi, (int, float)) or isinstance(psi, bool) or not MIN_PSI <= psi <= 1.0:
        raise CheckpointError(f"{name!r}: config.json psi = {psi!r} is outside {MIN_PSI}-1; refusing to build it.")
    try:
        check_shape_config(config.get("resolution", 28), config.get("image_channels", 1), config.get("class_names"),
                           config.get("num_classes"), config.get("preprocess"))
        if "in_channels" in config:
            check_shape_config(config.get("resolution", 28), config["in_channels"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{name!r}: config.json: {e}") from None


MAX_PARAMETERS = 200_000_000  # elements in one model (800 MB of float32): far above any genlab family's needs
MAX_HEADER_BYTES = 10_000_000  # a safetensors header is a few kB; refuse absurd ones before reading them


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor name -> shape from a safetensors file's JSON header, without reading any weights."""
    import struct

    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError("shorter than a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES:
            raise ValueError(f"header of {n} bytes")
        header = json.loads(f.read(n))
    return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}


def expected_shapes(what: str, cls: type[HubModel], config: dict) -> dict[str, list[int]]:
    """Tensor name -> shape of ``cls(**config)``, built on the meta device (no memory), its size bounded.
    ``what`` starts the messages ("'name': config.json")."""
    import inspect

    params = inspect.signature(cls.__init__).parameters
    kwargs = {k: v for k, v in config.items() if k in params}
    try:
        skeleton = meta_skeleton(cls, kwargs)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{what} does not describe a {cls.__name__} ({e}).") from None
    size = sum(t.numel() for t in skeleton.state_dict().values())
    if size > MAX_PARAMETERS:
        raise CheckpointError(f"{what} describes {size:,} weights (limit {MAX_PARAMETERS:,}); refusing to build it.")
    return {k: list(t.shape) for k, t in skeleton.state_dict().items()}


def shape_mismatch(expected: dict[str, list[int]], found: dict[str, list[int]], source: str) -> str | None:
    """What differs between the shapes a config describes and those a file holds (up to 3 of each kind), or None."""
    wrong = [f"{k}: {found.get(k)} in the file, {v} in {source}" for k, v in expected.items() if found.get(k) != v]
    extra = sorted(set(found) - set(expected))
    return "; ".join(wrong[:3] + [f"unexpected {k}" for k in extra[:3]]) or None


def check_weights(name: str, cls: type[HubModel], config: dict, weights: Path) -> None:
    """Before any weight is allocated: build the model on the meta device (shapes only), bound its size,
    and compare every tensor's shape with the safetensors header."""
    expected = expected_shapes(f"{name!r}: config.json", cls, config)
    try:
        found = safetensors_shapes(weights)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{name!r}: model.safetensors is corrupt or truncated ({e}).") from None
    detail = shape_mismatch(expected, found, "config.json")
    if detail:
        raise CheckpointError(f"{name!r}: the weights do not match config.json ({detail}).")
