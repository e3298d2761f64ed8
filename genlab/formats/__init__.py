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
from ..models.bounds import IMPORTED_TRANSLATORS

ARCHS = ("stylegan2", "stylegan3", "dcgan", "huggan-dcgan", "cyclegan-pix2pix")  # what --arch may name
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


def read_source(source: Path, arch: str | None, dropout: bool | None = None
                ) -> tuple[str, dict, dict[str, torch.Tensor], dict]:
    """(arch, config, state dict, facts) from a file or folder; arch None: detected. dropout: a U-Net translator's
    (pix2pix's default when None; genlab.formats.cyclegan_pix2pix)."""
    from . import cyclegan_pix2pix as zoo, dcgan, nvlabs_pickle
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
        if arch == "cyclegan-pix2pix" or (arch is None and zoo.detect(state)):
            cfg, sd, notes = zoo.convert(state, dropout)
            return "cyclegan-pix2pix", cfg, sd, {"file": source, "notes": notes}
        config = _json(source.parent / "config.json") if (source.parent / "config.json").is_file() else {}
        found = arch or dcgan.detect(state, config)
        if found not in ("dcgan", "huggan-dcgan"):
            keys = ", ".join(list(state)[:4])
            raise CheckpointError(f"{source.name}: a state dict genlab does not recognise (keys {keys}, ...); known: "
                                  "PyTorch's DCGAN example (main.0 ... main.12), HugGAN's DCGAN (model.0 ...), "
                                  "pytorch-CycleGAN-and-pix2pix generators (model.1 ... / model.model.0 ...). Say "
                                  "which with --arch if it is one of those")
        cfg, sd = dcgan.convert(state, config, layout="huggan" if found == "huggan-dcgan" else "example")
        return found, cfg, sd, {"file": source}
    raise CheckpointError(f"{source.name}: genlab imports .pkl (StyleGAN2-ADA/StyleGAN3 network pickles), .pth/.pt/"
                          ".bin/.safetensors state dicts (DCGAN, CycleGAN/pix2pix) and HugGAN folders; say the format "
                          "with --arch if the name hides it")


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
              "huggan-dcgan": "DCGAN 64 px (Hugging Face HugGAN layout)",
              "cyclegan-pix2pix": "pytorch-CycleGAN-and-pix2pix generator (state dict)"}
ZOO_LICENSE_NOTE = ("pytorch-CycleGAN-and-pix2pix's code is BSD-licensed; its published weights carry no stated "
                    "licence: check the terms of the data they were trained on before you share outputs")


def import_checkpoint(source: str | Path | list, name: str, out: str | Path | None = None, *, arch: str | None = None,
                      license: str | None = None, class_names: list[str] | None = None, overwrite: bool = False,
                      command: str | None = None, domains: tuple[str, str] | None = None,
                      dropout: bool | None = None, accept: tuple[str, ...] | None = None) -> Imported:
    """Convert ``source`` (a file, or a HugGAN folder; or two CycleGAN generator files, G_A then G_B, imported as a
    pair) into ``out/name`` (default: genlab's checkpoints folder).

    arch: the format, if detection should be overridden (one of ARCHS). license: the licence the user states for
    the weights (recorded in the card). class_names: names for a conditional model's classes. domains: a
    translator's (input, output) names, else read from the name (horse2zebra) or "A", "B". dropout: a U-Net
    translator's dropout (pix2pix's default, on, when None). accept: the model types the caller takes (the app's
    GAN tab: generators; its Translation tab: translators). Raises CheckpointError with a readable message for
    anything it cannot import safely."""
    from ..hub import output_dir

    sources = [Path(p).expanduser() for p in ([source] if isinstance(source, (str, Path)) else source)]
    if not 1 <= len(sources) <= 2:
        raise CheckpointError(f"give one checkpoint file, or two (a CycleGAN's G_A and G_B); got {len(sources)}")
    if not NAME.fullmatch(str(name)) or ".." in str(name):
        raise CheckpointError(f"--name must be 1-64 letters, digits, '.', '_' or '-' (a folder name), got {name!r}")
    for path in sources:
        if not path.exists():
            raise CheckpointError(f"{path} does not exist")
    read = [read_source(path, arch, dropout) for path in sources]
    found = read[0][0]
    if len(sources) == 2 and any(r[0] != "cyclegan-pix2pix" for r in read):
        raise CheckpointError("two files import as a CycleGAN pair (latest_net_G_A.pth latest_net_G_B.pth); "
                              f"{', '.join(p.name for p, r in zip(sources, read) if r[0] != 'cyclegan-pix2pix')} is not "
                              "a pytorch-CycleGAN-and-pix2pix generator")
    if found == "cyclegan-pix2pix":
        model, facts = _translator(sources, read, name, domains)
        model_type = model.model_type
    else:
        _, config, state, facts = read[0]
        model_type = MODEL_TYPE[found]
    if accept is not None and model_type not in accept:
        what = ("an image translator (in the app, the Translation tab imports those)" if model_type in IMPORTED_TRANSLATORS
                else "an image generator (in the app, the GAN tab imports those)")
        raise CheckpointError(f"{sources[0].name} holds a {ARCH_NAMES[found]}: {what}, not what is imported here")
    if found != "cyclegan-pix2pix":
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
    if found == "cyclegan-pix2pix":
        command = command or " ".join(["genlab import", *(shlex.quote(str(p)) for p in sources), "--name",
                                       shlex.quote(name)])
        notes = [f"detected: {ARCH_NAMES[found]}, {_describe(model)}", *facts["notes"], ZOO_LICENSE_NOTE]
        card = _translator_card(name, model, sources, command, license, notes, facts)
        (folder / "README.md").write_text(card)
        return Imported(folder=folder, arch=found, notes=notes, card=card)
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
    classes = f"{model.num_classes} ({', '.join(model.labels[:10])}{' ...' if model.num_classes > 10 else ''})" \
        if model.num_classes else "none (unconditional)"
    rows = [("source file", f"`{Path(facts['file']).name}`"), ("SHA-256", f"`{digest}`"),
            ("architecture", ARCH_NAMES[arch]), ("resolution", f"{model.resolution} px, "
                                                 f"{'RGB' if model.image_channels == 3 else 'grey'}"),
            ("classes", classes)]
    if facts.get("generator"):
        rows.append(("generator", f"`{facts['generator']}` of the pickle"))
    if facts.get("training_set"):
        rows.append(("training set (as the file records it)", f"`{facts['training_set']}`"))
    intro = ("A generator imported into genlab from a checkpoint trained elsewhere. genlab read the file without running "
             "anything\nfrom it, converted the weights to safetensors, and draws the same pictures as the reference "
             "code on them (float32,\nCPU; see docs/pretrained.md).")
    return _card_text(name, ["gan", arch], intro, rows, model, command, license, notes)


def _card_text(name: str, tags: list[str], intro: str, rows: list, model, command: str, license, notes) -> str:
    """A model card: front matter (licence id, tags), the intro, the facts table (+ weights and licence), the
    command and the notes."""
    lic = license or "not stated (pass --license when you import)"
    license_id = re.sub(r"[^a-z0-9.-]+", "-", license.lower()).strip("-") if license else "other"
    rows = [*rows, ("weights", f"{sum(p.numel() for p in model.parameters()):,}"), ("licence", lic)]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    note_lines = "\n".join(f"- {n}" for n in notes)
    tag_lines = "\n".join(f"- {t}" for t in ["genlab", *tags, "imported"])
    return f"""---
license: {license_id}
library_name: genlab
tags:
{tag_lines}
---

# {name}

{intro}

| | |
|---|---|
{table}

Imported with:

```
{command}
```

{note_lines}
"""


def _translator(sources: list[Path], read: list, name: str, domains) -> tuple:
    """The zoo-translator (one file) or zoo-cyclegan (two) for upstream state dicts already converted by
    genlab.formats.cyclegan_pix2pix: names, shapes checked, loaded, one translation run to refuse NaN."""
    from . import cyclegan_pix2pix as zoo

    configs = [r[1] for r in read]
    notes = list(dict.fromkeys(n for r in read for n in r[3]["notes"]))  # a pair's two files say the same
    if len(sources) == 2 and "G_B" in sources[0].stem and "G_A" in sources[1].stem:
        sources, read, configs = sources[::-1], read[::-1], configs[::-1]  # upstream: G_A is A -> B
        notes.append(f"{sources[0].name} is G_A (A -> B), {sources[1].name} G_B (B -> A), as upstream names them")
    if domains is not None:
        if len(domains) != 2 or not all(isinstance(d, str) and d.strip() for d in domains):
            raise CheckpointError("--domains takes two names: what goes in, what comes out (e.g. --domains horse zebra)")
        src, dst, expects = domains[0].strip(), domains[1].strip(), ""
    else:
        known = zoo.names_for(name, sources[0].stem, sources[0].parent.name)
        src, dst, expects = known or ("A", "B", "")
        if known is None:
            notes.append("the direction is called A -> B: name its sides with --domains INPUT OUTPUT "
                         "(e.g. --domains horse zebra)")
    first = configs[0]
    if len(sources) == 1:
        model_type = "zoo-translator"
        config = {**first, "source": src, "target": dst}
        state = {f"net.{k}": v for k, v in read[0][2].items()}
    else:
        second = configs[1]
        same = {k: first[k] for k in ("arch", "ngf", "norm", "dropout")}
        if {k: second[k] for k in same} != same or (second["in_channels"], second["out_channels"]) != (
                first["out_channels"], first["in_channels"]):
            raise CheckpointError(f"{sources[0].name} ({_describe_config(first)}) and {sources[1].name} "
                                  f"({_describe_config(second)}) are not the two generators of one CycleGAN")
        model_type = "zoo-cyclegan"
        config = {**first, "domain_a": src, "domain_b": dst}
        state = {**{f"g_ab.{k}": v for k, v in read[0][2].items()}, **{f"g_ba.{k}": v for k, v in read[1][2].items()}}
    model = build(model_type, config, state)
    with torch.no_grad():
        side = max(64, model.multiple)
        x = torch.rand(1, model.in_channels, side, side, generator=torch.Generator().manual_seed(0)) * 2 - 1
        y = model(x)
    if not torch.isfinite(y).all():
        raise CheckpointError("the imported translator outputs NaN/Inf; the weights are broken")
    return model, {"notes": notes, "expects": expects}


def _describe_config(c: dict) -> str:
    return (f"{c['arch']}, {c['norm']} norm, {'dropout' if c['dropout'] else 'no dropout'}, ngf {c['ngf']}, "
            f"{c['in_channels']} -> {c['out_channels']} channels")


def _describe(model) -> str:
    return _describe_config({"arch": model.arch, "norm": model.norm, "dropout": model.dropout, "ngf": model.ngf,
                             "in_channels": model.in_channels, "out_channels": model.image_channels})


def _translator_card(name, model, sources, command, license, notes, facts) -> str:
    if model.model_type == "zoo-cyclegan":
        a, b = model.domains["A"], model.domains["B"]
        directions = f"{a} → {b} (G_A), {b} → {a} (G_B), with the cycle back"
    else:
        directions = model.direction_name
    rows = [*((f"source file{'s' if len(sources) > 1 else ''}", ", ".join(f"`{p.name}`" for p in sources)),),
            *((f"SHA-256 of {p.name}", f"`{sha256(p)}`") for p in sources),
            ("architecture", f"pytorch-CycleGAN-and-pix2pix {_describe(model)}"), ("translates", directions),
            ("input", facts["expects"] or "an image like its training set's inputs"),
            ("size", "any: the upload at its own size, long side capped (GENLAB_TRANSLATE_MAX_SIDE, default 1024), "
                     + ("sides rounded to multiples of 4" if model.multiple == 4 else
                        f"padded to multiples of {model.multiple} and cropped back")
                     + f"; trained at {model.trained_size} px"),
            ("variety", "dropout and batch statistics (upstream test.py without --eval)" if model.has_variety
             else "none: one answer per input (instance norm, no dropout)")]
    intro = ("An image translator imported into genlab from pytorch-CycleGAN-and-pix2pix. genlab read the file with\n"
             "torch.load(weights_only=True) (plain tensors only), converted the weights to safetensors, and translates "
             "as the\nreference network does on them in eval mode (float32, CPU; see docs/pretrained.md).")
    tags = ["image-to-image", "cyclegan" if model.model_type == "zoo-cyclegan" else "pix2pix"]
    return _card_text(name, tags, intro, rows, model, command, license, notes)
