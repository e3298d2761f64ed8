"""Training jobs behind the app's Train tab: a queue that runs ``python -m genlab.train`` in the background.

The tab does not copy the training loops: each job is the CLI's own command (one loop per family stays
the one source of truth), run as a child process with its threads capped, so that a job

- outlives the request and the browser tab that started it (closing the page does not stop it);
- leaves the server a core (``GENLAB_TRAIN_THREADS``, default half the CPU cores) and survives a crash,
  a NaN loss or an out-of-memory error in the job, which ends it with a readable message;
- reports through the run's events file (``GENLAB_JOB_EVENTS``: loss points, sample grids) and stops,
  saving its resumable state, when its stop file appears (``GENLAB_JOB_STOP``).

One job runs at a time per server; the others wait in line and see their place. A job's id is an
unguessable token: on a public Space it is what a visitor holds (in the page's browser storage), and
another visitor can neither list, load nor stop a job whose id they do not have. Its data, run folder
and (on a Space) its model live in the job's own temporary folder, removed when the job is deleted
or the server stops.

    jobs = JobQueue()
    job = jobs.submit(JobSpec(family="gan", data="emoji", minutes=5), data_zip=None)
    jobs.status(job.id)          # state, step, images/s, time left, losses, latest grid, model id
    jobs.stop(job.id); jobs.resume(job.id)
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..datasets.archives import ArchiveLimits, Extracted, extract_images
from ..errors import DatasetError, GenlabError
from ..hub import available, output_dir, register_trained, trained_folder, unregister_trained

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


# --- Jobs ------------------------------------------------------------------------------------------------------

_STATES = ("checking", "queued", "running", "stopping", "stopped", "finished", "failed")


@dataclass
class Job:
    id: str
    spec: JobSpec
    folder: Path  # the job's own temporary folder: data/, run/, log.txt, events.jsonl (and model/ on a Space)
    data: list[str]  # what --data (or --data-a/--data-b) names
    out: Path  # the checkpoint folder the run writes
    model_id: str  # the name every tab loads it by
    summary: dict = field(default_factory=dict)  # counts per class, skipped files
    state: str = "queued"
    message: str = ""
    step: int = 0
    steps: int = 0
    seconds: float = 0.0
    images: int = 0
    images_per_s: float = 0.0
    losses: dict = field(default_factory=dict)  # series -> [(step, value), ...]
    metrics: list = field(default_factory=list)  # [(step, held-out FID, class accuracy), ...] (GANs with a feature net)
    sample: str = ""  # the newest sample grid
    samples: int = 0
    submitted: float = field(default_factory=time.time)
    log_tail: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    _events_read: int = 0
    _rates: deque = field(default_factory=lambda: deque(maxlen=6))

    @property
    def stop_file(self) -> Path:
        return self.folder / "stop"

    @property
    def events(self) -> Path:
        return self.folder / "events.jsonl"

    def eta(self) -> float | None:
        """Seconds left: the nearer of the steps left at the current rate and the minutes budget."""
        if self.state != "running" or not self.images_per_s:
            return None
        left = (self.steps - self.step) * self.spec.batch_size / self.images_per_s
        if self.spec.minutes:
            left = min(left, max(0.0, self.spec.minutes * 60 - self.seconds))
        return left


class JobQueue:
    """The server's training jobs: one runs, the rest wait in line (FIFO)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="genlab-jobs-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self.line: deque[str] = deque()
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.closed = False
        self.worker = threading.Thread(target=self._work, name="genlab-train-jobs", daemon=True)
        self.worker.start()
        atexit.register(self.close)

    # --- requests -------------------------------------------------------------------------------------------

    def prepare(self, spec: JobSpec, zips: list[str] | None = None) -> Job:
        """Check a request and unpack its data into a new job's folder (not yet queued). JobError/DatasetError
        (ArchiveError) for anything wrong, with nothing left behind."""
        if not training_enabled():
            raise JobError("training is off on this server (GENLAB_TRAIN=0; on a Space its owner turns it on with "
                           "GENLAB_TRAIN=1). Run genlab on your own machine to train: pip install genlab && genlab.")
        limits = caps()
        spec = check(spec, limits)
        zips = [z for z in (zips or []) if z]
        need = 2 if spec.family == "cyclegan" else 1
        if spec.data == "upload" and len(zips) != need:
            raise JobError("a CycleGAN trains on two ZIPs: domain A and domain B." if need == 2 else
                           "upload a ZIP of images (class subfolders, or flat), or pick a built-in set.")
        job_id = secrets.token_urlsafe(12)
        folder = self.root / job_id
        folder.mkdir()
        try:
            data: list[str] = []
            counts: list[Extracted] = []
            if spec.data == "upload":
                archive_limits = ArchiveLimits(max_upload_mb=limits.max_upload_mb,
                                               max_total_mb=max(50.0, limits.max_upload_mb * 4),
                                               max_files=min(limits.max_images * 2 + 64, 200000))
                for k, z in enumerate(zips):
                    side = ("domain A", "domain B")[k] if need == 2 else "the ZIP"
                    try:
                        found = extract_images(z, folder / (f"data_{'ab'[k]}" if need == 2 else "data"), archive_limits)
                    except DatasetError as e:
                        raise DatasetError(f"{side}: {e}") from None
                    if found.images > limits.max_images:
                        raise JobError(f"{side} holds {found.images:,} images; this server trains on at most "
                                       f"{limits.max_images:,}. Send a subset.")
                    data.append(str(found.root))
                    counts.append(found)
                if spec.family == "pix2pix" and not all((Path(data[0]) / s).is_dir() for s in ("A", "B")):
                    raise DatasetError("a pix2pix ZIP holds two folders, A/ (inputs) and B/ (targets), with the "
                                       "same file names for each pair (A/cat1.png -> B/cat1.png).")
            elif spec.data in BUILT_IN:
                data = ["emoji"] if spec.data == "emoji" else ["mnist"]
            else:
                data = [str(Path(spec.data).expanduser().resolve())]
            spec.name = spec.name or self._free_name(
                f"{'upload' if spec.data == 'upload' else Path(spec.data).name}-{spec.family}")
            if on_space():  # a visitor's model is theirs alone: its name carries the job's secret id
                out, model_id = folder / "model", f"{spec.name}-{job_id}"
            else:  # locally: saved like the CLI's output, checkpoints/<name>, and listed by that name
                out_root = Path(os.environ.get("GENLAB_TRAIN_OUT", "") or output_dir())
                out, model_id = out_root / spec.name, spec.name
                with self.lock:
                    taken = {j.model_id for j in self.jobs.values()}
                if spec.name in available() or spec.name in taken or out.exists():
                    raise JobError(f"a model named {spec.name!r} exists already ({out}); choose another name.")
            skipped = [s for c in counts for s in c.skipped]
            job = Job(id=job_id, spec=spec, folder=folder, data=data, out=out, model_id=model_id,
                      summary={"images": [c.images for c in counts], "skipped": skipped[:50],
                               "skipped_total": len(skipped)}, steps=spec.steps)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return job

    def _free_name(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``...: the first that no served model and no job uses."""
        with self.lock:
            taken = set(available()) | {j.model_id for j in self.jobs.values()} | {j.spec.name for j in self.jobs.values()}
        out_root = Path(os.environ.get("GENLAB_TRAIN_OUT", "") or output_dir())
        for k in range(1, 10000):
            name = base if k == 1 else f"{base}-{k}"
            if name not in taken and not (out_root / name).exists():
                return name
        return f"{base}-{secrets.token_hex(3)}"

    def submit(self, spec: JobSpec, zips: list[str] | None = None) -> Job:
        """Check, unpack and queue a job; it starts when the job before it ends."""
        self._check_line()
        return self.enqueue(self.prepare(spec, zips))

    def _check_line(self) -> None:
        with self.lock:
            waiting = sum(1 for j in self.jobs.values() if j.state in ("queued", "running", "stopping"))
        if waiting >= caps().max_queue:
            raise JobError(f"{waiting} training jobs are queued or running on this server (at most "
                           f"{caps().max_queue}); try again when one has finished.")

    def enqueue(self, job: Job) -> Job:
        """Queue a prepared job (its folder is removed if the line is full)."""
        try:
            self._check_line()
        except JobError:
            shutil.rmtree(job.folder, ignore_errors=True)
            raise
        with self.lock:
            self.jobs[job.id] = job
            self.line.append(job.id)
        self.wake.set()
        return job

    def get(self, job_id: str) -> Job:
        with self.lock:
            job = self.jobs.get(str(job_id or ""))
        if job is None:
            raise JobError("no such training job on this server (it may have been deleted, or the server restarted).")
        return job

    def stop(self, job_id: str) -> Job:
        """Ask a running job to save its state and stop (it then releases its model); a queued one leaves the line."""
        job = self.get(job_id)
        with self.lock:
            if job.state == "queued":
                self.line.remove(job.id)
                job.state, job.message = "stopped", "stopped before it started"
            elif job.state == "running":
                job.stop_file.touch()
                job.state = "stopping"
        return job

    def resume(self, job_id: str, more_steps: int = 0, more_minutes: float = 0.0) -> Job:
        """Continue a stopped job from its saved state, or a finished GAN/pix2pix with more steps/minutes."""
        job = self.get(job_id)
        limits = caps()
        with self.lock:
            if job.state not in ("stopped", "finished", "failed"):
                raise JobError(f"the job is {job.state}; only a stopped or finished job can be continued.")
            if not (job.folder / "run" / "training_state.json").exists():
                raise JobError("this job saved no training state (it stopped before its first sample grid); start "
                               "it again instead.")
            spec = job.spec
            if job.state == "finished" or job.step >= spec.steps:
                if spec.family not in ("gan", "pix2pix"):
                    raise JobError(f"a finished {spec.family}'s learning-rate schedule has ended; start a new job with "
                                   "more steps instead.")
                spec.steps = min(limits.max_steps, job.step + max(1, int(more_steps or spec.steps)))
            if spec.minutes:  # the budget counts the whole run, resumed parts included
                extra = float(more_minutes or spec.minutes)
                total = job.seconds / 60 + extra
                if limits.max_minutes and extra > limits.max_minutes:
                    raise JobError(f"this server trains for at most {limits.max_minutes:g} minutes at a time.")
                spec.minutes = round(total, 3)
            job.steps = spec.steps
            job.stop_file.unlink(missing_ok=True)
            job.state, job.message = "queued", "continues from its saved state"
            self.line.append(job.id)
        self.wake.set()
        return job

    def delete(self, job_id: str) -> None:
        """Stop a job, remove its folder, and (on a Space, where the model lives there) its model."""
        job = self.get(job_id)
        with self.lock:
            if job.id in self.line:
                self.line.remove(job.id)
            self.jobs.pop(job.id, None)
            process = job.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        if job.out.is_relative_to(job.folder):
            unregister_trained(job.model_id)
        shutil.rmtree(job.folder, ignore_errors=True)

    def position(self, job: Job) -> int:
        """1 for the next to start, 0 when not waiting."""
        with self.lock:
            return list(self.line).index(job.id) + 1 if job.id in self.line else 0

    def status(self, job_id: str) -> dict:
        """A JSON-able view of a job for the tab and API callers."""
        job = self.get(job_id)
        with self.lock:
            eta = job.eta()
            return {
                "id": job.id, "name": job.spec.name, "family": job.spec.family, "data": job.spec.data,
                "state": job.state, "message": job.message, "position": self.position(job),
                "step": job.step, "steps": job.steps, "seconds": round(job.seconds, 1),
                "images_per_s": round(job.images_per_s, 1), "eta_s": None if eta is None else round(eta),
                "minutes": job.spec.minutes, "losses": {k: [list(p) for p in v] for k, v in job.losses.items()},
                "sample": job.sample, "samples": job.samples, "metrics": [list(m) for m in job.metrics],
                "model": job.model_id if job.state == "finished" or (job.out / "model.safetensors").exists() else "",
                "model_family": job.spec.family, "summary": job.summary, "spec": asdict(job.spec),
                "log_tail": job.log_tail[-20:], "threads": job_threads(),
            }

    def close(self) -> None:
        """Server stop: kill a running job, remove every job's folder (local models in checkpoints/ stay)."""
        self.closed = True
        self.wake.set()
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            if job.process is not None and job.process.poll() is None:
                job.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the worker -----------------------------------------------------------------------------------------

    def _work(self) -> None:
        while not self.closed:
            with self.lock:
                job = self.jobs.get(self.line.popleft()) if self.line else None
            if job is None:
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            try:
                self._run(job)
            except Exception as e:  # noqa: BLE001 - a job's failure never ends the worker
                with self.lock:
                    job.state, job.message = "failed", f"the job could not run: {e}"

    def _run(self, job: Job) -> None:
        resume = (job.folder / "run" / "training_state.json").exists()
        cmd = command(job.spec, job.data, job.out, job.folder / "run", resume)
        threads = str(job_threads())
        env = {**os.environ, "GENLAB_JOB_EVENTS": str(job.events), "GENLAB_JOB_STOP": str(job.stop_file),
               "GENLAB_JOB_PARENT": str(os.getpid()),
               "GENLAB_LOG_EVERY": str(max(1, min(25, job.spec.sample_every // 4))), "OMP_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads, "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("GENLAB_TRAIN_OUT", None)
        package_parent = str(Path(__file__).resolve().parents[2])  # the child imports this same genlab
        env["PYTHONPATH"] = os.pathsep.join([package_parent, *filter(None, [os.environ.get("PYTHONPATH")])])
        log = open(job.folder / "log.txt", "a")
        log.write("$ " + " ".join(cmd[1:]) + "\n")
        log.flush()
        with self.lock:
            if job.state != "queued":  # stopped while it waited
                log.close()
                return
            job.state, job.message = "running", "starting (loading the data)"
            job.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=os.getcwd(),
                                           stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        try:
            while job.process.poll() is None and not self.closed:
                self._read_events(job)
                time.sleep(0.3)
        finally:
            log.close()
        self._read_events(job)
        code = job.process.wait()
        tail = (job.folder / "log.txt").read_text(errors="replace").splitlines()[-40:]
        with self.lock:
            job.log_tail = tail
            stopped = job.stop_file.exists()
            if code == 0:
                register_trained(job.model_id, job.out)
                job.state = "stopped" if stopped else "finished"
                job.message = (f"stopped at step {job.step:,}; its model is saved (continue it from here)" if stopped
                               else f"finished: {job.step:,} steps in {job.seconds:.0f} s")
            elif job.state != "failed":
                job.state, job.message = "failed", failure(tail, code)

    def _read_events(self, job: Job) -> None:
        try:
            with open(job.events) as f:
                f.seek(job._events_read)
                lines = f.readlines()
                if lines and not lines[-1].endswith("\n"):
                    lines = lines[:-1]  # a line still being written: read it next time
                job._events_read += sum(len(line.encode()) for line in lines)
        except OSError:
            return
        with self.lock:
            for line in lines:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                kind = e.get("type")
                if kind == "log":
                    if job.step and e["seconds"] > job.seconds and e["images"] > job.images:
                        job._rates.append((e["images"] - job.images) / (e["seconds"] - job.seconds))
                        job.images_per_s = sum(job._rates) / len(job._rates)
                    job.step, job.steps, job.seconds, job.images = e["step"], e["steps"], e["seconds"], e["images"]
                    for k, v in e.get("losses", {}).items():
                        job.losses.setdefault(k, []).append((e["step"], round(float(v), 5)))
                    if job.state == "running":
                        job.message = "training"
                elif kind == "metrics":
                    job.metrics.append((e["step"], round(float(e["fid"]), 2), round(float(e["accuracy"]), 4),
                                        e.get("against", "held-out")))
                elif kind == "sample":
                    job.sample, job.samples = e["path"], job.samples + 1
                elif kind == "trained":
                    job.step = e.get("step", job.step)
                    if job.state in ("running", "stopping"):
                        job.message = "trained; writing the model and its card" + (
                            " (with its held-out evaluation)" if job.spec.data in BUILT_IN else "")
                elif kind == "error":  # the process exits next; its log's "error: ..." line is the full message
                    job.message = e.get("message", "failed")


def _die_with_parent() -> None:
    """In the job's process, before it starts: on Linux, be killed when the server dies, however it dies (SIGTERM
    from a supervisor does not run the server's atexit handlers). Elsewhere the run notices a new parent itself
    (GENLAB_JOB_PARENT, checked with the stop file)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def failure(tail: list[str], code: int) -> str:
    """A readable reason from a failed job's log: the CLI's 'error: ...' line, or the exception's last line."""
    for line in reversed(tail):
        if line.startswith("error: "):
            return line[len("error: "):]
    for line in reversed(tail):
        if re.match(r"^[\w.]*(Error|Exception)\b", line):
            if "OutOfMemory" in line or "out of memory" in line:
                return f"out of memory ({line.split(':', 1)[-1].strip()}): lower the batch size or the resolution."
            return f"training failed: {line}"
    if code < 0:
        return f"the training process was killed (signal {-code}); if the machine ran out of memory, lower the batch " \
               "size or the resolution."
    return f"the training process exited with code {code}; see its log."


# --- What the model will see -----------------------------------------------------------------------------------


def describe(job: Job, per_class: int = 8):
    """The data summary shown before training: (markdown, grid image of what the model will see at the job's
    size and crop/pad rule). DatasetError (naming the fix) for a set that cannot train."""
    import torch

    from ..datasets import load_data, paired_folder
    from ..images import to_pil_grid

    spec = job.spec
    data = job.data
    rows: list[str] = []
    if spec.family == "pix2pix" and spec.data != "digits" and spec.data != "emoji":
        train, held = paired_folder(data[0], spec.resolution, spec.channels, spec.channels, spec.fit)
        sets = {"pairs (A -> B)": (train.b, held.b)}
        shown = torch.cat([train.a.tensors(per_class)[0].expand(-1, spec.channels, -1, -1),
                           train.b.tensors(per_class)[0]])
        nrow = min(per_class, len(train))
    elif spec.family == "cyclegan" and spec.data == "upload":
        a = load_data(data[0], spec.resolution, spec.channels, spec.fit)
        b = load_data(data[1], spec.resolution, spec.channels, spec.fit)
        sets = {"domain A": a, "domain B": b}
        shown = torch.cat([a[0].tensors(per_class)[0], b[0].tensors(per_class)[0]])
        nrow = per_class
    else:
        source = {"digits": "mnist"}.get(spec.data, data[0])
        if spec.family == "cyclegan":  # the built-in emoji pair of designs: show the OpenMoji side
            source = "emoji"
        train, held = load_data(source, spec.resolution, spec.channels, spec.fit)
        sets = {"images": (train, held)}
        x, y = train.tensors(min(len(train), 5000 if train.in_memory else 400))
        picks = []
        for c in range(max(1, min(train.num_classes, 10))):
            idx = (y == c).nonzero().flatten()[:per_class] if train.num_classes else torch.arange(min(len(x), 4 * per_class))
            picks.append(x[idx])
        shown = torch.cat(picks)
        nrow = per_class
    for what, (train, held) in sets.items():
        names = train.class_names
        if names:
            counts = torch.bincount(train.labels, minlength=len(names)).tolist()
            held_counts = torch.bincount(held.labels, minlength=len(names)).tolist()
            listed = ", ".join(f"{n} {c} (+{h})" for n, c, h in list(zip(names, counts, held_counts))[:30])
            more = f", +{len(names) - 30} more" if len(names) > 30 else ""
            rows.append(f"**{what}**: {len(train):,} to train on, {len(held):,} held out; {len(names)} classes "
                        f"(train (+held out)): {listed}{more}")
        else:
            rows.append(f"**{what}**: {len(train):,} to train on, {len(held):,} held out; no classes (a flat folder: "
                        "unconditional)")
    skipped = list(job.summary.get("skipped", []))
    for _, (train, _) in sets.items():
        one = getattr(train, "a", train)
        root = one.root or ""
        skipped += [(os.path.relpath(p, root) if root else p, why) for p, why in one.skipped]
    if skipped:
        rows.append(f"**skipped** ({len(skipped)}): " + "; ".join(f"`{n}`: {why}" for n, why in skipped[:6])
                    + (f"; and {len(skipped) - 6} more" if len(skipped) > 6 else ""))
    n_train = min(len(t) for t, _ in sets.values())
    if n_train < spec.batch_size:
        rows.append(f"The batch ({spec.batch_size}) is larger than the {n_train} training images: every step "
                    f"will use all {n_train}.")
    if n_train < 100 and spec.family in ("gan", "cyclegan", "pix2pix"):
        rows.append(f"{n_train} images is a small set: the GAN trains with DiffAugment and spectral norm (the "
                    "small-data recipe); expect it to learn colours and layout first, and check the card's "
                    "memorisation figure.")
    rows.append(f"Shown at {spec.resolution} px, {'colour' if spec.channels == 3 else 'grey'}, "
                f"{'centre-cropped' if spec.fit == 'crop' else 'padded'} to square: exactly what the model sees.")
    return "\n\n".join(rows), to_pil_grid(shown, nrow=nrow, display_size=min(960, 120 * nrow))
