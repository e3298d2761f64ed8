"""Checkpoints from elsewhere -> genlab model folders (``genlab import``).

One reader per source format, each turning a file into a genlab config + state dict without running anything from
it: ``nvlabs_pickle`` (StyleGAN2-ADA / StyleGAN3 network pickles, through ``safe_pickle``) and ``dcgan`` (PyTorch's
DCGAN example and HugGAN's layout, through ``torch.load(weights_only=True)`` or safetensors). ``import_checkpoint``
detects the format, checks the weights against the architecture they describe, and writes ``config.json`` +
``model.safetensors`` + a model card; from then on the folder is a genlab model like any other (``genlab.load``,
the app's model boxes, every GAN tool). Nothing above ``genlab.hub`` ever sees a foreign format.

>>> from genlab.formats import import_checkpoint
>>> result = import_checkpoint("network-snapshot-000800.pkl", name="my-stylegan")
>>> result.folder, result.arch               # (PosixPath('checkpoints/my-stylegan'), 'stylegan2')
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import CheckpointError

ARCHS = ("stylegan2", "stylegan3", "dcgan", "huggan-dcgan")  # what --arch may name
PICKLE_SUFFIXES = (".pkl", ".pickle")
TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
MAX_TORCH_BYTES = 2**30  # a .pth state dict read with torch.load(weights_only=True)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
IGNORED_KEYS = ("resample_filter",)  # StyleGAN2's fixed [1,3,3,1] filters: rebuilt from the config, not stored


@dataclass
class Imported:
    """What ``import_checkpoint`` wrote: the folder, the detected architecture, and notes for the user."""

    folder: Path
    arch: str
    notes: list[str] = field(default_factory=list)
    card: str = ""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


def _weights_file(source: Path) -> Path:
    """A HugGAN folder's weights: model.safetensors, else pytorch_model.bin."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (source / name).is_file():
            return source / name
    raise CheckpointError(f"{source.name}/ has neither model.safetensors nor pytorch_model.bin to import")


def read_source(source: Path, arch: str | None) -> tuple[str, dict, dict[str, torch.Tensor], dict]:
    """(arch, config, state dict, facts) from a file or folder; arch None: detected."""
    from . import dcgan, nvlabs_pickle
    from .safe_pickle import read_pickle

    if arch is not None and arch not in ARCHS:
        raise CheckpointError(f"--arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    if source.is_dir():
        config_path = source / "config.json"
        config = _json(config_path) if config_path.is_file() else {}
        if config.get("model_type") and (source / "model.safetensors").is_file() and arch is None:
            raise CheckpointError(f"{source} is already a genlab model folder (model_type {config['model_type']!r}); "
                                  "load it as it is: genlab.load(folder), or type the folder in the app's model box")
        weights = _weights_file(source)
        state = _read_tensors(weights)
        found = arch or dcgan.detect(state, config)
        if found != "huggan-dcgan":
            raise CheckpointError(f"{source.name}/ holds {weights.name} in no layout genlab knows (a HugGAN DCGAN has "
                                  "model.0 ... model.12 and config.json); say which with --arch")
        cfg, sd = dcgan.convert(state, config, layout="huggan")
        return found, cfg, sd, {"file": weights}
    suffix = source.suffix.lower()
    if suffix in PICKLE_SUFFIXES or arch in ("stylegan2", "stylegan3"):
        data = read_pickle(source)
        found = nvlabs_pickle.detect(data)
        if arch is not None and found is not None and arch != found:
            raise CheckpointError(f"--arch {arch} was given, but {source.name} holds a {found} generator")
        if found is None:
            raise CheckpointError(f"{source.name} is a pickle but not a StyleGAN2-ADA or StyleGAN3 network pickle "
                                  "(no G_ema generator with a synthesis network)")
        cfg, sd, facts = nvlabs_pickle.convert(data, found)
        return found, cfg, sd, {**facts, "file": source, "license_note": nvlabs_pickle.NVIDIA_LICENSE_NOTE}
    if suffix in TORCH_SUFFIXES or suffix == ".safetensors":
        state = _read_tensors(source)
        config = _json(source.parent / "config.json") if (source.parent / "config.json").is_file() else {}
        found = arch or dcgan.detect(state, config)
        if found not in ("dcgan", "huggan-dcgan"):
            keys = ", ".join(list(state)[:4])
            raise CheckpointError(f"{source.name}: a state dict genlab does not recognise (keys {keys}, ...); known: "
                                  "PyTorch's DCGAN example (main.0 ... main.12), HugGAN's DCGAN (model.0 ...). Say "
                                  "which with --arch if it is one of those")
        cfg, sd = dcgan.convert(state, config, layout="huggan" if found == "huggan-dcgan" else "example")
        return found, cfg, sd, {"file": source}
    raise CheckpointError(f"{source.name}: genlab imports .pkl (StyleGAN2-ADA/StyleGAN3 network pickles), .pth/.pt/"
                          ".bin/.safetensors state dicts and HugGAN folders; say the format with --arch if the name "
                          "hides it")


def _json(path: Path) -> dict:
    if path.stat().st_size > 1_000_000:
        raise CheckpointError(f"{path.name} is over 1 MB; not a config")
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return data


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a safetensors file, or a torch.save file read with torch.load(weights_only=True) (torch's
    restricted unpickler: tensors and containers only)."""
    size = path.stat().st_size
    if size > MAX_TORCH_BYTES:
        raise CheckpointError(f"{path.name} is {size / 2**20:.0f} MB; genlab imports files of at most "
                              f"{MAX_TORCH_BYTES / 2**20:.0f} MB")
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # noqa: BLE001 - any reader error is a corrupt file
            raise CheckpointError(f"{path.name}: not a readable safetensors file ({e})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch's restricted loader refuses code and corrupt files alike
        raise CheckpointError(f"{path.name} could not be read as plain tensors with torch.load(weights_only=True): "
                              f"{str(e).splitlines()[0][:300]}. genlab never unpickles anything else.") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f"{path.name} holds no state dict (a dict of named tensors)")
    return state


def build(model_type: str, config: dict, state: dict[str, torch.Tensor]):
    """The genlab model for a converted config and state dict, shapes checked on the meta device first."""
    from ..models.bounds import expected_shapes, shape_mismatch
    from ..hub import MODEL_TYPES

    cls = MODEL_TYPES[model_type]
    expected = expected_shapes("the file's architecture", cls, config)
    state = {k: v for k, v in state.items() if k in expected or k.rsplit(".", 1)[-1] not in IGNORED_KEYS}
    detail = shape_mismatch(expected, {k: list(v.shape) for k, v in state.items()}, "the architecture")
    if detail:
        raise CheckpointError(f"the weights do not match the architecture the file describes ({detail})")
    model = cls(**config)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    bad = [k for k, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise CheckpointError(f"the weights contain NaN/Inf ({', '.join(bad[:3])})")
    return model.eval()


MODEL_TYPE = {"stylegan2": "stylegan2", "stylegan3": "stylegan3", "dcgan": "dcgan", "huggan-dcgan": "dcgan"}
ARCH_NAMES = {"stylegan2": "StyleGAN2 / StyleGAN2-ADA (NVlabs stylegan2-ada-pytorch network pickle)",
              "stylegan3": "StyleGAN3 (NVlabs stylegan3 network pickle)",
              "dcgan": "DCGAN 64 px (pytorch/examples dcgan state dict)",
              "huggan-dcgan": "DCGAN 64 px (Hugging Face HugGAN layout)"}


def import_checkpoint(source: str | Path, name: str, out: str | Path | None = None, *, arch: str | None = None,
                      license: str | None = None, class_names: list[str] | None = None, overwrite: bool = False,
                      command: str | None = None) -> Imported:
    """Convert ``source`` (a file, or a HugGAN folder) into ``out/name`` (default: genlab's checkpoints folder).

    arch: the format, if detection should be overridden (one of ARCHS). license: the licence the user states for
    the weights (recorded in the card). class_names: names for a conditional model's classes. Raises
    CheckpointError with a readable message for anything it cannot import safely."""
    from ..hub import output_dir

    source = Path(source).expanduser()
    if not NAME.fullmatch(str(name)) or ".." in str(name):
        raise CheckpointError(f"--name must be 1-64 letters, digits, '.', '_' or '-' (a folder name), got {name!r}")
    if not source.exists():
        raise CheckpointError(f"{source} does not exist")
    found, config, state, facts = read_source(source, arch)
    model_type = MODEL_TYPE[found]
    if class_names is not None:
        config["class_names"] = list(class_names)
    model = build(model_type, config, state)
    with torch.no_grad():  # one picture, to refuse weights that draw NaN
        labels = torch.zeros(2, dtype=torch.long)
        z = torch.randn(2, model.latent_dim, generator=torch.Generator().manual_seed(0))
        out_images = model(model.code(z, labels), labels)
    if not torch.isfinite(out_images).all():
        raise CheckpointError("the imported generator draws NaN/Inf; the weights are broken")
    folder = Path(out).expanduser() if out is not None else output_dir()
    folder = folder / name
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise CheckpointError(f"{folder} exists already; pick another --name or pass --overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    digest = sha256(facts["file"])
    notes = [f"detected: {ARCH_NAMES[found]}"]
    if facts.get("license_note"):
        notes.append(facts["license_note"])
    if facts.get("fp16_resolutions"):
        notes.append(f"the reference code runs this generator's {facts['fp16_resolutions']} highest resolutions in "
                     "float16 unless told force_fp32=True; genlab computes in float32 throughout, so its pictures equal "
                     "the reference's float32 ones and differ from its float16 ones by that rounding")
    command = command or f"genlab import {shlex.quote(str(source))} --name {shlex.quote(name)}"
    card = _card(name, found, model, facts, digest, command, license, notes)
    (folder / "README.md").write_text(card)
    return Imported(folder=folder, arch=found, notes=notes, card=card)


def _card(name, arch, model, facts, digest, command, license, notes) -> str:
    size = sum(p.numel() for p in model.parameters())
    classes = f"{model.num_classes} ({', '.join(model.labels[:10])}{' ...' if model.num_classes > 10 else ''})" \
        if model.num_classes else "none (unconditional)"
    lic = license or "not stated (pass --license when you import)"
    license_id = re.sub(r"[^a-z0-9.-]+", "-", license.lower()).strip("-") if license else "other"
    rows = [("source file", f"`{Path(facts['file']).name}`"), ("SHA-256", f"`{digest}`"),
            ("architecture", ARCH_NAMES[arch]), ("resolution", f"{model.resolution} px, "
                                                 f"{'RGB' if model.image_channels == 3 else 'grey'}"),
            ("classes", classes), ("weights", f"{size:,}"), ("licence", lic)]
    if facts.get("generator"):
        rows.append(("generator", f"`{facts['generator']}` of the pickle"))
    if facts.get("training_set"):
        rows.append(("training set (as the file records it)", f"`{facts['training_set']}`"))
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    note_lines = "\n".join(f"- {n}" for n in notes)
    return f"""---
license: {license_id}
library_name: genlab
tags:
- genlab
- gan
- {arch}
- imported
---

# {name}

A generator imported into genlab from a checkpoint trained elsewhere. genlab read the file without running anything
from it, converted the weights to safetensors, and draws the same pictures as the reference code on them (float32,
CPU; see docs/pretrained.md).

| | |
|---|---|
{table}

Imported with:

```
{command}
```

{note_lines}
"""
