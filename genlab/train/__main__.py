"""Command line: ``python -m genlab.train {gan,vae,pix2pix,classifier} --preset NAME [--field value ...]``.

Every field of the family's config dataclass is a flag (``--steps 100``, ``--diffaugment ""``),
so the preset is the documented starting point and the command line says what changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from .classifier import PRESETS as CLASSIFIER_PRESETS
from .classifier import train_classifier
from .gan import PRESETS as GAN_PRESETS
from .gan import train_gan
from .report import command_line
from .pix2pix import PRESETS as PIX2PIX_PRESETS
from .pix2pix import train_pix2pix
from .vae import PRESETS as VAE_PRESETS
from .vae import train_vae

FAMILIES = {
    "gan": (GAN_PRESETS, train_gan),
    "classifier": (CLASSIFIER_PRESETS, train_classifier),
    "vae": (VAE_PRESETS, train_vae),
    "pix2pix": (PIX2PIX_PRESETS, train_pix2pix),
}


def _flag_type(field: dataclasses.Field):
    if field.type in ("bool", bool):
        return lambda s: s.lower() in ("1", "true", "yes", "on")
    return {"int": int, "float": float}.get(field.type if isinstance(field.type, str) else field.type.__name__, str)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m genlab.train", description=__doc__)
    parser.add_argument("family", choices=sorted(FAMILIES), help="model family to train")
    parser.add_argument("--preset", help="starting config (default: the shipped model's)")
    known, rest = parser.parse_known_args(argv)
    presets, train = FAMILIES[known.family]
    preset_name = known.preset or next(iter(presets))
    if preset_name not in presets:
        parser.error(f"unknown preset {preset_name!r} for {known.family}; choose from {', '.join(presets)}")
    base = presets[preset_name]
    sub = argparse.ArgumentParser(prog=f"python -m genlab.train {known.family}")
    for f in dataclasses.fields(base):
        sub.add_argument(f"--{f.name.replace('_', '-')}", type=_flag_type(f), default=getattr(base, f.name))
    cfg = type(base)(**vars(sub.parse_args(rest)))
    train(cfg, command=command_line(argv))


if __name__ == "__main__":
    main()
