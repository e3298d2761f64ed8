"""What a Train-tab job trains: the request (``JobSpec``), its bounds (``check``, the server's ``caps``) and the
CLI command it becomes (``command``): each job is ``python -m genlab.train`` itself, so the model card records a
command anyone can rerun."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ...errors import GenlabError
from ...hub import available, trained_folder

FAMILIES = ("gan", "vae", "classifier", "pix2pix", "cyclegan")
BUILT_IN = ("emoji", "digits")  # besides an uploaded ZIP (or, locally, a folder on this machine)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")


class JobError(GenlabError, ValueError):
    """A training request this server will not run (off, over a cap, unknown job, bad settings)."""


# --- Switches and caps (environment; see docs/serving.md) ------------------------------------------------------


def on_space() -> bool:
    return bool(os.environ.get("SPACE_ID"))


def training_enabled() -> bool:
    """GENLAB_TRAIN=1/0; default on locally, off on a Space (a stranger's CPU) unless its owner turns it on."""
    flag = os.environ.get("GENLAB_TRAIN", "").strip()
    if flag in ("0", "1"):
        return flag == "1"
    return not on_space()


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Caps:
    """Hard bounds on one job, enforced on the server (the tab's controls only mirror them)."""

    max_minutes: float  # training budget of one job (0: none)
    max_images: int  # images in one data set (each side of a pair / domain)
    max_resolution: int  # px
    max_upload_mb: float  # one ZIP
    max_steps: int
    max_queue: int  # jobs waiting or running at once


def caps() -> Caps:
    """Read per call (a test or a Space owner sets them). On a Space: 10 minutes, 2,000 images, 64 px, 50 MB,
    4 jobs in line by default; locally: no minute cap, 50,000 images, 256 px, 500 MB, 16 in line."""
    space = on_space()
    return Caps(
        max_minutes=_env_number("GENLAB_TRAIN_MAX_MINUTES", 10 if space else 0),
        max_images=int(_env_number("GENLAB_TRAIN_MAX_IMAGES", 2000 if space else 50000)),
        max_resolution=int(_env_number("GENLAB_TRAIN_MAX_RESOLUTION", 64 if space else 256)),
        max_upload_mb=_env_number("GENLAB_TRAIN_MAX_UPLOAD_MB", 50 if space else 500),
        max_steps=int(_env_number("GENLAB_TRAIN_MAX_STEPS", 100000 if space else 1000000)),
        max_queue=int(_env_number("GENLAB_TRAIN_MAX_QUEUE", 4 if space else 16)),
    )


def job_threads() -> int:
    """Torch threads of a job: GENLAB_TRAIN_THREADS, default half the cores (1 on this 2-core machine)."""
    return max(1, int(_env_number("GENLAB_TRAIN_THREADS", max(1, (os.cpu_count() or 2) // 2))))


RESOLUTIONS = (16, 28, 32, 48, 64, 96, 128, 192, 256)


# --- What to train ---------------------------------------------------------------------------------------------


@dataclass
class JobSpec:
    """One training request, as the tab (or an API caller) sends it. Every field is checked by ``check``."""

    family: str = "gan"  # one of FAMILIES
    data: str = "upload"  # "emoji", "digits", "upload" (the ZIP given to submit) or, locally, a folder path
    name: str = ""  # the model's name (default: from the data and family)
    resolution: int = 32  # px (digits: 28)
    channels: int = 3  # 1 grey, 3 RGB (digits: 1)
    fit: str = "crop"  # non-square images: "crop" (centre) or "pad"
    minutes: float = 5.0  # wall-clock budget (0: until --steps)
    steps: int = 2000  # at most this many optimizer steps
    batch_size: int = 32  # clipped to the data set by the loop when larger
    sample_every: int = 100  # steps between sample grids (and resumable-state saves)
    seed: int = 0
    feature_net: str = ""  # a served classifier (shipped, or trained by a job) for held-out FID/accuracy; "" none

    def flags(self) -> list[str]:
        return ["--resolution", str(self.resolution), "--channels", str(self.channels), "--fit", self.fit,
                "--steps", str(self.steps), "--batch-size", str(self.batch_size), "--sample-every",
                str(self.sample_every), "--seed", str(self.seed), "--minutes", f"{self.minutes:g}"]


def check(spec: JobSpec, limits: Caps | None = None) -> JobSpec:
    """Bound every field of a request before anything is allocated; JobError names the problem and the range."""
    limits = limits or caps()
    if spec.family not in FAMILIES:
        raise JobError(f"family must be one of {', '.join(FAMILIES)}, got {spec.family!r}")
    if spec.data not in (*BUILT_IN, "upload"):
        if on_space() or not Path(str(spec.data)).expanduser().is_dir():
            raise JobError(f"data must be one of {', '.join(BUILT_IN)} or an uploaded ZIP"
                           + ("" if on_space() else " (or a folder on this machine)") + f"; got {spec.data!r}")
    if spec.data == "digits":
        spec.resolution, spec.channels = 28, 1
    if spec.data == "emoji":
        spec.channels = 3
    if spec.family == "cyclegan" and spec.data == "digits":
        raise JobError("a CycleGAN needs two image sets: upload two ZIPs (domain A and domain B), or pick emoji "
                       "(OpenMoji <-> Noto Color Emoji).")

    def whole(value, what: str, lo: int, hi: int) -> int:
        try:
            ok = value is not None and float(value) == int(value) and lo <= int(value) <= hi
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise JobError(f"{what} must be a whole number from {lo:,} to {hi:,}, got {value!r}")
        return int(value)

    spec.resolution = whole(spec.resolution, "resolution", 16, limits.max_resolution)
    if spec.resolution not in RESOLUTIONS:
        raise JobError(f"resolution must be one of {', '.join(str(r) for r in RESOLUTIONS if r <= limits.max_resolution)} "
                       f"px, got {spec.resolution}")
    spec.channels = whole(spec.channels, "channels", 1, 3)
    if spec.channels == 2:
        raise JobError("channels must be 1 (grey) or 3 (colour)")
    if spec.fit not in ("crop", "pad"):
        raise JobError(f"fit must be 'crop' or 'pad', got {spec.fit!r}")
    spec.steps = whole(spec.steps, "steps", 1, limits.max_steps)
    spec.batch_size = whole(spec.batch_size, "batch size", 1, 512)
    spec.sample_every = whole(spec.sample_every, "sample every", 1, limits.max_steps)
    spec.seed = whole(spec.seed, "seed", 0, 2**31 - 1)
    try:
        minutes = float(spec.minutes or 0)
    except (TypeError, ValueError):
        raise JobError(f"minutes must be a number, got {spec.minutes!r}") from None
    if not 0 <= minutes <= 7 * 24 * 60:
        raise JobError(f"minutes must be from 0 to {7 * 24 * 60}, got {spec.minutes!r}")
    if limits.max_minutes and (minutes == 0 or minutes > limits.max_minutes):
        raise JobError(f"this server trains for at most {limits.max_minutes:g} minutes per job; set minutes from "
                       f"0.1 to {limits.max_minutes:g}.")
    spec.minutes = minutes
    name = str(spec.name or "").strip()
    if name and not NAME.fullmatch(name):
        raise JobError(f"model name {name!r}: use letters, digits, '-', '_' or '.', at most 48, starting with a "
                       "letter or digit")
    spec.name = name
    net = str(spec.feature_net or "").strip()
    if net in ("none", "default"):
        net = ""
    if net and not (available().get(net) == "classifier" or trained_folder(net) is not None):
        raise JobError(f"feature net {net!r} is not a classifier this server serves; pick one of "
                       f"{', '.join(n for n, t in available().items() if t == 'classifier')}, or train one first "
                       "(family: classifier) on the same images.")
    spec.feature_net = net
    return spec


def preset_for(spec: JobSpec) -> str:
    """The CLI preset a job starts from: the shipped model's recipe for the built-in sets, the family's general
    one for a folder (the GAN gets the shipped emoji recipe's spectral norm on top, below)."""
    built_in = {
        ("gan", "emoji"): "emoji-cgan", ("gan", "digits"): "mnist-cgan",
        ("vae", "emoji"): "emoji-vae", ("vae", "digits"): "mnist-vae",
        ("classifier", "emoji"): "emoji-classifier", ("classifier", "digits"): "mnist-classifier",
        ("pix2pix", "emoji"): "emoji-sketch2color", ("pix2pix", "digits"): "mnist-sketch2digit",
        ("cyclegan", "emoji"): "emoji-openmoji2noto",
    }
    general = {"gan": "mnist-cgan", "vae": "mnist-vae", "classifier": "mnist-classifier",
               "pix2pix": "mnist-sketch2digit", "cyclegan": "folders"}
    return built_in.get((spec.family, spec.data), general[spec.family])


def command(spec: JobSpec, data: list[str], out: Path, run_dir: Path, resume: bool = False) -> list[str]:
    """The CLI command of a job (what its card records). ``data``: one folder/name, or two for a CycleGAN."""
    cmd = [sys.executable, "-m", "genlab.train", spec.family, "--preset", preset_for(spec), "--name", spec.name,
           "--out", str(out), "--run-dir", str(run_dir), *spec.flags()]
    built_in = spec.data in BUILT_IN
    if spec.family == "cyclegan":
        if not built_in:
            cmd += ["--data-a", data[0], "--data-b", data[1]]
    elif not built_in:
        cmd += ["--data", data[0]]
    elif spec.data == "emoji":
        cmd += ["--data", "emoji"]
    if spec.family == "gan" and not built_in:
        cmd += ["--spectral-norm", "true"]  # the shipped emoji recipe (docs/models.md, "GAN recipe")
    net = spec.feature_net
    if net and spec.family in ("gan", "vae", "pix2pix", "cyclegan"):
        folder = trained_folder(net)
        cmd += ["--feature-net", str(folder) if folder is not None else net]
    measured = built_in or bool(net)  # a feature net that knows the data: the built-in sets', or the one picked
    if spec.family in ("gan", "vae"):
        # the card's FID on 1,000 samples (the shipped cards use 5,000); none without a feature net that knows the
        # images (a stranger's classes): the card says so
        cmd += ["--eval-samples", "1000" if measured else "0"]
    if spec.family == "gan" and measured:
        cmd += ["--preview-eval", "500"]  # held-out FID and class accuracy at every sample grid
    if spec.family == "pix2pix" and not built_in:
        cmd += ["--in-channels", str(spec.channels)]
    if resume:
        cmd += ["--resume", "true"]
    return cmd


