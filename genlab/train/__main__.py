"""Command line: ``python -m genlab.train {gan,cascade,vae,pix2pix,cyclegan,classifier} [--preset NAME] [--flag value ...]``.

Every family takes the same common flags (``--data DIR --resolution N --channels C --out
--run-dir --resume --steps --batch-size --seed --mixed-precision --sample-every``), plus its
own. Every field of the family's config dataclass is a flag (``--steps 100``,
``--diffaugment ""``), so the preset is the documented starting point and the command line
says what changed. ``python -m genlab.train gan --help`` lists them with their meaning.

With ``--data DIR`` and no ``--name``, the run is named after the folder (``DIR-gan``; a CycleGAN's
``--data-a A --data-b B``: ``A-to-B-cyclegan``), so a folder run never overwrites a shipped checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from pathlib import Path

from ..errors import GenlabError

from .cascade import PRESETS as CASCADE_PRESETS
from .cascade import train_cascade
from .classifier import PRESETS as CLASSIFIER_PRESETS
from .classifier import train_classifier
from .cyclegan import PRESETS as CYCLEGAN_PRESETS
from .cyclegan import train_cyclegan
from .gan import PRESETS as GAN_PRESETS
from .gan import train_gan
from ..evaluation.cards import command_line
from .pix2pix import PRESETS as PIX2PIX_PRESETS
from .pix2pix import train_pix2pix
from .vae import PRESETS as VAE_PRESETS
from .vae import train_vae

FAMILIES = {
    "gan": (GAN_PRESETS, train_gan),
    "classifier": (CLASSIFIER_PRESETS, train_classifier),
    "vae": (VAE_PRESETS, train_vae),
    "pix2pix": (PIX2PIX_PRESETS, train_pix2pix),
    "cyclegan": (CYCLEGAN_PRESETS, train_cyclegan),
    "cascade": (CASCADE_PRESETS, train_cascade),
}


def _flag_type(field: dataclasses.Field):
    if field.type in ("bool", bool):
        return lambda s: s.lower() in ("1", "true", "yes", "on")
    return {"int": int, "float": float}.get(field.type if isinstance(field.type, str) else field.type.__name__, str)


def _help_texts(cls) -> dict[str, str]:
    """Each config field's trailing comment (the documented meaning of every default)."""
    texts: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for name, text in re.findall(r"^\s+(\w+): [^=\n]+=[^#\n]*#\s*(.+)$", source, re.M):
            texts[name] = text.strip()
    return texts


def _check(cfg, parser: argparse.ArgumentParser) -> None:
    from ..images import FITS
    from ..models.base import octaves

    try:
        octaves(cfg.resolution)
    except ValueError as e:
        parser.error(str(e))
    if cfg.channels not in (1, 3):
        parser.error(f"--channels must be 1 (grey) or 3 (RGB), got {cfg.channels}")
    if cfg.fit not in FITS:
        parser.error(f"--fit must be one of {', '.join(FITS)}, got {cfg.fit!r}")
    for field, choices in getattr(type(cfg), "CHOICES", {}).items():
        if getattr(cfg, field) not in choices:
            parser.error(f"--{field.replace('_', '-')} must be one of {', '.join(choices)}, got {getattr(cfg, field)!r}")
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.sample_every < 1:
        parser.error("--steps, --batch-size and --sample-every must be at least 1")


def main(argv: list[str] | None = None, prog: str = "python -m genlab.train") -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, add_help=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", choices=sorted(FAMILIES), help="model family to train")
    parser.add_argument("--preset", help="starting config (default: the shipped model's)")
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return
    known, rest = parser.parse_known_args(argv)  # "-h" after the family: that family's flags
    presets, train = FAMILIES[known.family]
    preset_name = known.preset or next(iter(presets))
    if preset_name not in presets:
        parser.error(f"unknown preset {preset_name!r} for {known.family}; choose from {', '.join(presets)}")
    base = presets[preset_name]
    sub = argparse.ArgumentParser(prog=f"{prog} {known.family}",
                                  description=f"Train a {known.family} (preset {preset_name!r}).")
    helps = _help_texts(type(base))
    for f in dataclasses.fields(base):
        sub.add_argument(f"--{f.name.replace('_', '-')}", type=_flag_type(f), default=getattr(base, f.name),
                         help=f"{helps.get(f.name, '')} (default: %(default)r)")
    values = vars(sub.parse_args(rest))
    # A new --data without --name names the run after the folder; a preset's own data keeps the preset's name.
    data_flags = [values.get(k, "") for k in ("data_a", "data_b") if values.get(k, "") != getattr(base, k, "")]
    if data_flags and "--name" not in rest and not any(a.startswith("--name=") for a in rest):
        values["name"] = "-to-".join(Path(v.rstrip("/")).expanduser().name or "data" for v in
                                  (values["data_a"], values["data_b"])) + f"-{known.family}"
    if values["data"] != base.data and "--name" not in rest and not any(a.startswith("--name=") for a in rest):
        values["name"] = f"{Path(values['data'].rstrip('/')).expanduser().name or 'data'}-{known.family}"
    cfg = type(base)(**values)
    _check(cfg, sub)
    try:
        train(cfg, command=command_line(argv))
    except GenlabError as e:  # a folder or flag problem: a readable message, not a traceback
        sub.exit(2, f"error: {e}\n")
    leave_process_group()


def leave_process_group() -> None:
    """Several processes (accelerate launch, torchrun): wait until the main one has written the checkpoint, then
    close the process group. A process that left without it died at exit ("terminate called without an active
    exception", SIGABRT) while gloo's threads still ran: tests/test_train_scaleout.py failed so in 1 of 3 full runs.
    One process: nothing to do."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
