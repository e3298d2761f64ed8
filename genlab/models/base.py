"""The one building block every genlab model shares: Hub save/load with its family name.

``PyTorchModelHubMixin`` already writes ``config.json`` (the constructor's keyword
arguments) and ``model.safetensors``; this adds ``"model_type"`` to the config so that
``genlab.load`` can pick the right class for any folder or Hub repo.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn


class HubModel(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="genlab",
    license="mit",
    repo_url="https://github.com/genlab/genlab",
    tags=["genlab"],
):
    model_type: str = ""  # each subclass names its family; the registry key in genlab.hub
    # Constructor options added after checkpoints were shipped, with the value that means "as before": a model
    # that leaves them there keeps the digest (and so the attributes/arithmetic/directions files) it had.
    added_options: dict = {}

    def _save_pretrained(self, save_directory: Path) -> None:
        super()._save_pretrained(save_directory)  # model.safetensors
        config = {**(self._hub_mixin_config or {}), "model_type": self.model_type}
        (Path(save_directory) / "config.json").write_text(json.dumps(config, sort_keys=True, indent=2))


class GANInterface:
    """What every GAN tool (genlab.tasks: sampling, directions, attributes, projection, augmentation, latent
    inpainting; genlab.web) asks of a generator, with the defaults of one whose sliders move in z itself (genlab's
    ``Generator``, the imported DCGAN). StyleGAN overrides the code-space methods: its sliders move in W.

    code(z, labels, shift): the space the sliders move in (z here); truncate(code, psi): towards code_center();
    code_center() / code_scale(): the code space's centre and spread (a projection's steps and a search's prior are
    in these units); code_start: where a projection starts; code_prior: its penalty per row."""

    @property
    def any_class(self) -> int:
        """The label past the last class: "no particular class" (the only label of an unconditional model)."""
        return self.num_classes

    @property
    def labels(self) -> list[str]:
        """Display names of the classes, index = label."""
        return self.class_names or [str(i) for i in range(self.num_classes)]

    @property
    def code_dim(self) -> int:
        return self.latent_dim

    def code(self, z: torch.Tensor, labels: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        return z

    def truncate(self, z: torch.Tensor, psi: float) -> torch.Tensor:
        return z * psi

    def code_center(self) -> torch.Tensor:
        return torch.zeros(self.code_dim, device=next(self.parameters()).device)

    def code_scale(self) -> float:
        return 1.0

    def code_start(self, n: int, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """n random latents (n, latent_dim)."""
        return torch.randn(n, self.latent_dim, generator=generator).to(next(self.parameters()).device)

    def code_prior(self, z: torch.Tensor) -> torch.Tensor:
        """(|z|²/d - 1)² per row: keeps a projected z where the generator was trained."""
        return ((z**2).mean(1) - 1) ** 2


# --- Shared shape rules -----------------------------------------------------------------------

MAX_RESOLUTION = 512  # largest side a config may ask for (bounds allocation from untrusted configs)
IMAGE_CHANNELS = (1, 3)  # grey or RGB
PREPROCESSING = ("mnist", "crop", "pad")  # how an upload becomes a model input (genlab.images.prepare)


def octaves(resolution: int) -> tuple[int, int]:
    """(n, base) with resolution = base * 2**n, base in 4..7, n >= 1: one up/down block per octave.

    28 -> (2, 7) (the digits' 7x7 base), 32 -> (3, 4), 64 -> (4, 4), 48 -> (3, 6), 256 -> (6, 4).

    >>> octaves(28), octaves(64)
    ((2, 7), (4, 4))
    """
    if not isinstance(resolution, int) or isinstance(resolution, bool) or not 8 <= resolution <= MAX_RESOLUTION:
        raise ValueError(f"resolution must be a whole number from 8 to {MAX_RESOLUTION}, got {resolution!r}")
    n, base = 0, resolution
    while base >= 8 and base % 2 == 0:
        base //= 2
        n += 1
    if n < 1 or not 4 <= base <= 7:
        raise ValueError(f"resolution {resolution} is not base x 2^n with base 4-7 (e.g. 28, 32, 48, 64, 96, 128, "
                         "256); pick one of those")
    return n, base


def check_shape_config(resolution: int, image_channels: int, class_names=None, num_classes: int | None = None,
                       preprocess: str | None = None) -> list[str] | None:
    """Validate the config fields every family shares; return class_names as a list (or None)."""
    octaves(resolution)
    if image_channels not in IMAGE_CHANNELS:
        raise ValueError(f"image_channels must be 1 (grey) or 3 (RGB), got {image_channels!r}")
    if preprocess is not None and preprocess not in PREPROCESSING:
        raise ValueError(f"preprocess must be one of {', '.join(PREPROCESSING)}, got {preprocess!r}")
    if class_names is None:
        return None
    names = list(class_names)
    if (not all(isinstance(c, str) and 0 < len(c) <= 100 and not set(c) & set("/\\\0") and c not in (".", "..")
                for c in names) or len(set(names)) != len(names)):
        raise ValueError("class_names must be distinct, non-empty strings of at most 100 characters, usable as "
                         "folder names (no '/', '\\', '.' or '..')")
    if num_classes is not None and len(names) != num_classes:
        raise ValueError(f"{len(names)} class_names for num_classes={num_classes}")
    return names


def seeded_dropout(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Dropout at rate p that is always on (pix2pix's noise z, upstream's test-time dropout). With a generator (CPU)
    the mask comes from it, so a seeded sample does not touch torch's global RNG (threaded servers)."""
    if generator is None:
        return torch.nn.functional.dropout(x, p, training=True)
    keep = torch.rand(x.shape, generator=generator).to(x.device) >= p
    return x * keep / (1 - p)


def widths(channels: int, levels: int, cap: int) -> list[int]:
    """channels * 2**i for i < levels, each at most ``cap`` (the usual doubling per octave)."""
    return [min(channels * 2**i, cap) for i in range(levels)]


def weights_digest(model: nn.Module) -> str:
    """A short hash of a model's class, config and weights: names an exported graph, and keys the files fitted
    beside a checkpoint (attributes.json, arithmetic.json) to the weights they were fitted on."""
    h = hashlib.sha256(type(model).__name__.encode())
    config = dict(getattr(model, "_hub_mixin_config", None) or {})
    for key, as_before in getattr(model, "added_options", {}).items():
        if key in config and config[key] == as_before:
            del config[key]
    for key in getattr(model, "digest_ignores", ()):
        config.pop(key, None)
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


class _NoMetaInit(torch.overrides.TorchFunctionMode):
    """For meta_skeleton: skips the random fills of parameter initialisation on meta
    tensors (which hold no values) and makes ``torch.eye`` an empty meta tensor of its shape. On the meta device
    both run torch's Python references, whose first call imports torch._dynamo (measured: ``import app`` 11.5
    CPU-s with it, 10.6 without; every process that loads a GAN or a VAE paid it). Torch function modes are per
    thread, and real tensors pass through, so a model another thread builds meanwhile is initialised as usual."""

    FILLS = {torch.Tensor.normal_, torch.Tensor.uniform_, *(getattr(torch.nn.init, n) for n in dir(torch.nn.init)
                                                           if n.endswith("_") and not n.startswith("_"))}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.eye and kwargs.get("device") is None:  # shapes only: eye(n) / eye(n, m)
            n = args[0] if args else kwargs["n"]
            m = args[1] if len(args) > 1 else kwargs.get("m", n)
            return torch.empty(n, n if m is None else m, dtype=kwargs.get("dtype"), device="meta")
        if func in self.FILLS:
            tensor = args[0] if args else kwargs.get("tensor")  # torch.nn.init passes it by keyword
            if isinstance(tensor, torch.Tensor) and tensor.is_meta:
                return tensor
        return func(*args, **kwargs)


def meta_skeleton(cls: type[nn.Module], kwargs: dict) -> nn.Module:
    """``cls(**kwargs)`` on the meta device: every tensor's shape, no memory, no initialisation (the checkpoint
    loader bounds a config's size and checks the weights' shapes on it before allocating anything)."""
    with torch.device("meta"), _NoMetaInit():
        return cls(**kwargs)
