"""The translator-import tests' checkpoints as users have them: pytorch-CycleGAN-and-pix2pix's ``torch.save``d state
dicts (``latest_net_G_A.pth``, ``horse2zebra.pth``, ...), written per session from the safetensors the repository
keeps in tests/data/zoo/ (scripts/make_zoo_fixtures.py made them with the reference structure, with their reference
outputs)."""

from __future__ import annotations

import collections
import os
import pickle
from pathlib import Path

import torch
from safetensors.torch import load_file

DATA = Path(__file__).parent / "data" / "zoo"
# case -> (netG, norm, dropout, input_nc, output_nc, ngf, reference input (H, W), seed): what
# scripts/make_zoo_fixtures.py builds (0.5-2 MB each), and what the tests expect genlab to read from the weights
CASES = {
    "horse2zebra_G_A": ("resnet_9blocks", "instance", False, 3, 3, 8, (60, 88), 1),  # CycleGAN's published layout
    "horse2zebra_G_B": ("resnet_9blocks", "instance", False, 3, 3, 8, (60, 88), 2),  # its other direction (a pair)
    "grey2colour_resnet6": ("resnet_6blocks", "batch", True, 1, 3, 8, (48, 64), 3),
    "facades_label2photo": ("unet_256", "batch", True, 3, 3, 4, (256, 256), 4),  # pix2pix's published layout
    "sketch_unet128": ("unet_128", "instance", False, 3, 1, 4, (128, 128), 5),
}


def _natural(key: str):
    return [int(p) if p.isdigit() else p for p in key.split(".")]


def state(case: str) -> collections.OrderedDict:
    """The state dict in upstream's module order (as net.state_dict() lists it), stale InstanceNorm keys included."""
    return collections.OrderedDict(sorted(load_file(str(DATA / f"{case}.safetensors")).items(),
                                          key=lambda kv: _natural(kv[0])))


def reference(case: str) -> dict[str, torch.Tensor]:
    """x, and the reference network's eval (and, for batch norm, batch_stats) outputs on it."""
    return load_file(str(DATA / f"{case}.reference.safetensors"))


def write_all(out: Path) -> Path:
    """The files under out/: a CycleGAN run's checkpoints folder (horse2zebra/latest_net_G_A.pth, _B), the zoo's
    single-direction file (horse2zebra.pth = G_A), and the other cases as <case>.pth."""
    out.mkdir(parents=True, exist_ok=True)
    run = out / "horse2zebra"
    run.mkdir(exist_ok=True)
    torch.save(state("horse2zebra_G_A"), run / "latest_net_G_A.pth")
    torch.save(state("horse2zebra_G_B"), run / "latest_net_G_B.pth")
    torch.save(state("horse2zebra_G_A"), out / "horse2zebra.pth")
    for case in ("grey2colour_resnet6", "facades_label2photo", "sketch_unet128"):
        torch.save(state(case), out / f"{case}.pth")
    return out


class _Touch:
    """Unpickled, this would run ``touch <marker>``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def hostile_pth(path: Path, marker: Path) -> Path:
    """A ``latest_net_G.pth``-like file whose pickle would run ``touch marker``: the marker must never appear."""
    with open(path, "wb") as f:
        pickle.dump(collections.OrderedDict(model=_Touch(marker)), f)
    return path
