"""pytorch-CycleGAN-and-pix2pix state dicts (``latest_net_G.pth``, ``latest_net_G_A.pth``, the zoo's
``horse2zebra.pth``) -> genlab's ``zoo-translator`` / ``zoo-cyclegan`` (genlab/models/zoo.py).

Upstream saves weights without the flags that built them (``--netG``, ``--norm``, ``--ngf``, ``--input_nc``,
``--output_nc``, ``--no_dropout``); everything but a U-Net's dropout shows in the keys and shapes, and is read from
them here:

- ResNet (``model.1.weight`` 7x7 after reflection pad 3; ``model.<i>.conv_block.*``): blocks = the conv_block
  modules; dropout = the second conv at ``conv_block.6`` rather than ``.5``; ngf, channels from the first and last
  convs.
- U-Net (``model.model.0.weight``, nested ``model.model.1.model.3...``): depth = the nesting; unet_256 = 8 levels.
  Its dropout has no weights: pix2pix's default (on) is assumed, ``--no-dropout`` says otherwise; it matters only
  for "variety" samples.
- Norm: batch norm has ``weight``/``running_mean`` on its norm layers and no conv biases; instance norm (no affine)
  gives the convs biases; no norm, neither. The published CycleGAN files' stale InstanceNorm
  ``running_mean``/``running_var``/``num_batches_tracked`` keys (written by PyTorch 0.3/0.4) are dropped, as
  upstream's loader drops them.
"""

from __future__ import annotations

import re

import torch

from ..errors import CheckpointError
from ..models.zoo import UNET_DEPTHS

STALE = ("running_mean", "running_var", "num_batches_tracked")
BLOCK = re.compile(r"model\.(\d+)\.conv_block\.(\d+)\.(\w+)")

# The published models (upstream's scripts/download_*_model.sh) -> (input, output, what the input should be).
KNOWN = {
    "apple2orange": ("apple", "orange", "a photo of apples"),
    "orange2apple": ("orange", "apple", "a photo of oranges"),
    "summer2winter_yosemite": ("summer", "winter", "a summer landscape photo (Yosemite)"),
    "winter2summer_yosemite": ("winter", "summer", "a winter landscape photo (Yosemite)"),
    "horse2zebra": ("horse", "zebra", "a photo of horses"),
    "zebra2horse": ("zebra", "horse", "a photo of zebras"),
    "monet2photo": ("Monet", "photo", "a Monet painting"),
    "style_monet": ("photo", "Monet", "a landscape photo"),
    "style_cezanne": ("photo", "Cézanne", "a landscape photo"),
    "style_ukiyoe": ("photo", "ukiyo-e", "a landscape photo"),
    "style_vangogh": ("photo", "Van Gogh", "a landscape photo"),
    "sat2map": ("satellite", "map", "an aerial photo (Google Maps satellite view)"),
    "map2sat": ("map", "satellite", "a Google Maps map tile"),
    "cityscapes_photo2label": ("street photo", "labels", "a street photo (Cityscapes)"),
    "cityscapes_label2photo": ("labels", "street photo", "a Cityscapes label map (colour-coded classes)"),
    "facades_photo2label": ("facade photo", "labels", "a photo of a building facade"),
    "facades_label2photo": ("labels", "facade photo", "a CMP Facades label map (colour-coded parts)"),
    "iphone2dslr_flower": ("iPhone", "DSLR", "a phone photo of flowers"),
    "edges2shoes": ("edges", "shoe", "a black-on-white edge drawing of a shoe"),
    "day2night": ("day", "night", "a daytime outdoor photo"),
}
DIRECTION = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2,30})2([A-Za-z]{2,30})(?![A-Za-z])")  # grey2colour, not e2e-h2z


def detect(state: dict[str, torch.Tensor]) -> str | None:
    """"resnet" or "unet" from the key layout, else None."""
    if "model.model.0.weight" in state:
        return "unet"
    if "model.1.weight" in state and any(BLOCK.fullmatch(k) for k in state):
        return "resnet"
    return None


def _norm_of(state: dict, conv: str, norm: str) -> str:
    """instance / batch / none from one conv and the norm layer after it."""
    if f"{norm}.weight" in state and f"{norm}.running_mean" in state:
        return "batch"
    return "instance" if f"{conv}.bias" in state else "none"


def _shape(state: dict, key: str, ndim: int) -> tuple[int, ...]:
    t = state.get(key)
    if t is None or t.ndim != ndim:
        raise CheckpointError(f"the state dict has no {ndim}-d {key!r}, which every upstream generator of this kind "
                              "has; not a pytorch-CycleGAN-and-pix2pix generator")
    return tuple(t.shape)


def _resnet(state: dict) -> tuple[dict, dict]:
    blocks = sorted({int(m.group(1)) for k in state if (m := BLOCK.fullmatch(k))})
    n = len(blocks)
    if blocks != list(range(10, 10 + n)):
        raise CheckpointError(f"residual blocks at model.{blocks[0]} ... model.{blocks[-1]}, not a run from model.10 "
                              "as upstream's ResnetGenerator writes them")
    # With dropout the second conv sits at conv_block.6 (after it: norm at .7); without, .6 is a norm or nothing.
    use_dropout = "model.10.conv_block.6.weight" in state and state["model.10.conv_block.6.weight"].ndim == 4
    ngf, cin = _shape(state, "model.1.weight", 4)[:2]
    head = 10 + n + 7  # convT, norm, relu, convT, norm, relu, pad, conv
    cout = _shape(state, f"model.{head}.weight", 4)[0]
    norm = _norm_of(state, "model.1", "model.2")
    second, second_norm = (6, 7) if use_dropout else (5, 6)
    names = {"model.1": "stem", "model.2": "stem_norm", "model.4": "down.0", "model.5": "down_norm.0",
             "model.7": "down.1", "model.8": "down_norm.1", f"model.{10 + n}": "up.0", f"model.{11 + n}": "up_norm.0",
             f"model.{13 + n}": "up.1", f"model.{14 + n}": "up_norm.1", f"model.{head}": "head"}
    for i, b in enumerate(blocks):
        names.update({f"model.{b}.conv_block.1": f"blocks.{i}.conv1", f"model.{b}.conv_block.2": f"blocks.{i}.norm1",
                      f"model.{b}.conv_block.{second}": f"blocks.{i}.conv2",
                      f"model.{b}.conv_block.{second_norm}": f"blocks.{i}.norm2"})
    config = {"arch": f"resnet_{n}blocks", "ngf": ngf, "norm": norm, "dropout": bool(use_dropout),
              "in_channels": cin, "out_channels": cout}
    return config, names


def _unet(state: dict) -> tuple[dict, dict]:
    # Level i's prefix: the outermost block is model.model; its submodule sits at index 1, every deeper one at its
    # parent's index 3 (after LeakyReLU, conv, norm). The depth is the deepest level with weights.
    prefixes = ["model.model.", "model.model.1.model."]
    while any(k.startswith(prefixes[-1]) for k in state) and len(prefixes) <= max(UNET_DEPTHS):
        prefixes.append(prefixes[-1] + "3.model.")
    prefixes = [p for p in prefixes if any(k.startswith(p) for k in state)]
    depth = len(prefixes)
    if depth not in UNET_DEPTHS:
        raise CheckpointError(f"a U-Net of {depth} levels; genlab imports unet_32 ... unet_512 (5-9 levels)")
    ngf, cin = _shape(state, "model.model.0.weight", 4)[:2]
    cout = _shape(state, "model.model.3.weight", 4)[1]
    norm = _norm_of(state, prefixes[1] + "1", prefixes[1] + "2") if depth > 2 else "none"
    names = {"model.model.0": "down.0", "model.model.3": "up.0"}
    for i in range(1, depth):
        p = prefixes[i][:-1]
        if i == depth - 1:  # innermost: lrelu, conv, relu, convT, norm
            names.update({f"{p}.1": f"down.{i}", f"{p}.3": f"up.{i}", f"{p}.4": f"up_norm.{i}"})
        else:  # lrelu, conv, norm, submodule, relu, convT, norm (, dropout)
            names.update({f"{p}.1": f"down.{i}", f"{p}.2": f"down_norm.{i}", f"{p}.5": f"up.{i}",
                          f"{p}.6": f"up_norm.{i}"})
    config = {"arch": f"unet_{2**depth}", "ngf": ngf, "norm": norm, "dropout": True, "in_channels": cin,
              "out_channels": cout}
    return config, names


def convert(state: dict[str, torch.Tensor], dropout: bool | None = None) -> tuple[dict, dict[str, torch.Tensor], list]:
    """(config, genlab state dict of the net, notes) from one upstream generator's state dict.
    dropout: the caller's word for a U-Net's dropout (None: pix2pix's default, on)."""
    kind = detect(state)
    if kind is None:
        keys = ", ".join(list(state)[:4])
        raise CheckpointError(f"not a pytorch-CycleGAN-and-pix2pix generator (keys {keys}, ...)")
    config, names = _resnet(state) if kind == "resnet" else _unet(state)
    notes = []
    if kind == "unet":
        if dropout is None:
            notes.append("a U-Net's dropout leaves no trace in its weights: pix2pix's default (dropout on in the "
                         "innermost levels) is assumed; it affects only the 'variety' samples. Trained with "
                         "--no_dropout? Import again with --no-dropout")
        else:
            config["dropout"] = bool(dropout)
    out: dict[str, torch.Tensor] = {}
    stale = 0
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if module not in names or leaf not in ("weight", "bias", *STALE):
            raise CheckpointError(f"unexpected key {key!r} for an upstream {config['arch']} generator")
        if leaf in STALE and config["norm"] == "instance":
            stale += 1
            continue  # InstanceNorm's running statistics from PyTorch 0.3/0.4: upstream deletes them on load
        if leaf == "num_batches_tracked":
            continue
        out[f"{names[module]}.{leaf}"] = value
    if stale:
        notes.append(f"dropped {stale} stale InstanceNorm running-statistics entries (written by PyTorch 0.3/0.4; "
                     "upstream deletes them on load too)")
    return config, out, notes


def names_for(*texts: str) -> tuple[str, str, str] | None:
    """(input name, output name, what the input should be) from the first of ``texts`` (a --name, a file or folder
    name) that names an upstream model or reads "<x>2<y>"; None if none does."""
    for text in texts:
        low = text.lower()
        for known, value in sorted(KNOWN.items(), key=lambda kv: -len(kv[0])):
            if known in low:
                return value
    for text in texts:
        m = DIRECTION.search(text)
        if m:
            return m.group(1), m.group(2), f"a {m.group(1)} image"
    return None
