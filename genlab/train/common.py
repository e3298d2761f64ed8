"""What every family's training run shares: the common flags, data, run folder, resume, logging.

Each family's loop stays plain top-to-bottom code (``gan.py``, ``vae.py``, ``pix2pix.py``,
``classifier.py``); this module only does the bookkeeping they would otherwise each repeat:

    run = Run(cfg, "vae", command)              # Accelerator, run folder, data, progress bar
    step = run.resume({"vae": vae, "opt": opt})   # 0, or the saved step with state restored
    while step < cfg.steps:
        ...; step += 1
        run.log(step, loss=loss)                  # averaged every 50 steps into the loss curve
        if run.due(step): run.save(objects, step, preview)   # sample grid + resumable state
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..evaluation.cards import command_line, machine
from ..datasets import EVAL_FRACTION, MEMORY_BUDGET_MB, ImageSet, describe_skipped, load_data
from ..errors import DatasetError, GenlabError
from ..hub import output_dir
from .report import plot_losses
from .state import load_state, save_state

LOG_EVERY = 50  # steps averaged into one loss-curve point (one host sync per LOG_EVERY steps)
# A job driver (the app's Train tab) watches a run through these, set in the run's environment:
EVENTS_ENV = "GENLAB_JOB_EVENTS"  # a file: one JSON line per loss point, sample grid, stop and the end
STOP_ENV = "GENLAB_JOB_STOP"  # a file path: once it exists, the run saves its state and stops at the next step
PARENT_ENV = "GENLAB_JOB_PARENT"  # the driver's pid: if the run's parent is another process, the driver died: exit
LOG_EVERY_ENV = "GENLAB_LOG_EVERY"  # loss-curve points every this many steps instead of LOG_EVERY


class TrainingError(GenlabError):
    """A run that cannot go on: its loss is no longer a number (lower --lr, or check the data)."""


@dataclass
class CommonConfig:
    """Flags every family takes, with the same names and meanings."""

    name: str = "run"  # checkpoint name: writes checkpoints/<name> and runs/<name> unless --out/--run-dir
    data: str = "mnist"  # "mnist" (the 4,500 bundled training digits) or a folder (class subfolders, or flat)
    resolution: int = 28  # image side in px: base x 2^n (28, 32, 48, 64, 96, 128, 256, ...)
    channels: int = 1  # 1: grey, 3: RGB; every image is converted to it
    fit: str = "crop"  # folders: "crop" (square centre crop) or "pad" (pad to square) before resizing
    eval_fraction: float = EVAL_FRACTION  # share of each class held out (never trained on)
    memory_budget_mb: float = MEMORY_BUDGET_MB  # larger data sets stream from disk instead of sitting in memory
    workers: int = 2  # DataLoader worker processes when streaming
    steps: int = 1000  # optimizer steps
    batch_size: int = 64  # images per step (per process)
    seed: int = 0  # fixes init, data order and noise
    sample_every: int = 500  # steps between sample grids and resumable-state saves
    out: str = ""  # checkpoint folder; default checkpoints/<name>
    run_dir: str = ""  # samples, loss curve, resumable state; default runs/<name>
    resume: bool = False  # continue from run_dir/training_state.* if present
    minutes: float = 0.0  # wall-clock training budget: stop after this many minutes (0: run all --steps)
    mixed_precision: str = "auto"  # "auto" (bf16 where the hardware has it), "no", "fp16" or "bf16"


def resolve_precision(choice: str) -> str:
    """"auto" -> "bf16" on GPUs with bf16 and on CPUs with AVX512-BF16/AMX (1.5x faster here for
    the GAN; weights and optimizer stay float32), else "no"."""
    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "no"
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "no"


class Run:
    """One training run's bookkeeping. ``cfg`` is a CommonConfig subclass."""

    def __init__(self, cfg: CommonConfig, family: str, command: str | None = None, mixed_precision: str | None = None):
        from accelerate import Accelerator

        self.cfg, self.family = cfg, family
        self.command = command or command_line()
        precision = resolve_precision(mixed_precision or cfg.mixed_precision)
        from accelerate.state import AcceleratorState, is_initialized

        if is_initialized() and AcceleratorState().mixed_precision != precision:
            # A second run in the same process (tests, notebooks) with another precision: Accelerate keeps
            # one global state and refuses to change it, so clear it (the process group stays).
            AcceleratorState._reset_state()
        # Without an accelerator (GPU, MPS, XPU) every process computes on the CPU. Saying so (cpu=True) is what makes
        # a multi-process launch (accelerate launch --multi_gpu --num_processes N, or torchrun) one gloo process
        # group; without it each process trained alone and wrote the checkpoint (measured: 2 processes, 2 "wrote"
        # lines, 24 images each).
        self.accelerator = Accelerator(mixed_precision=precision, cpu=not torch.accelerator.is_available())
        self.device = self.accelerator.device
        if os.environ.get("MASTER_PORT") and "WORLD_SIZE" not in os.environ and self.accelerator.num_processes == 1:
            # accelerate's single-process launcher (its --cpu flag) sets a rendezvous port but starts one process
            self.print("note: one training process. `accelerate launch --cpu` starts one whatever --num_processes "
                       "says; for several on the CPU use `accelerate launch --multi_gpu --num_processes N` (genlab "
                       "computes on the CPU when there is no GPU) or `torchrun --nproc_per_node N` (docs/training.md)")
        self.out = Path(cfg.out) if cfg.out else output_dir() / cfg.name
        self.run_dir = Path(cfg.run_dir) if cfg.run_dir else Path("runs") / cfg.name
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.run_dir / "training_state"
        self.history: dict[str, list[float]] = {}
        self.log_steps: list[int] = []
        self.elapsed = 0.0
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        self._start = time.perf_counter()
        self.bar = None
        self.data_info: dict = {}
        self.log_every = max(1, int(os.environ.get(LOG_EVERY_ENV, LOG_EVERY)))
        self.events = os.environ.get(EVENTS_ENV, "")
        self.stop_file = os.environ.get(STOP_ENV, "")
        self.stop_reason = ""
        self._next_stop_check = 0.0
        self.images_drawn = 0  # real images this process drew in this invocation (counted(); finish() gathers them)

    # --- data -----------------------------------------------------------------------------

    def data(self) -> tuple[ImageSet, ImageSet]:
        """(train, held-out) for --data, logged with what was skipped."""
        cfg = self.cfg
        train, held = load_data(cfg.data, cfg.resolution, cfg.channels, cfg.fit, cfg.eval_fraction,
                                cfg.memory_budget_mb)
        self.describe_data(train, held)
        return train, held

    def describe_data(self, train, held, root: str | None = None) -> None:
        """Record (for the card and resume checks) and print what the run trains on."""
        one = getattr(train, "a", train)  # a PairedSet's input side carries the bookkeeping
        self.data_info = {
            "data": self.cfg.data, "root": root or one.root, "train": len(train), "held_out": len(held),
            "class_names": one.class_names, "skipped": [list(s) for s in one.skipped],
            "in_memory": bool(one.in_memory), "resolution": self.cfg.resolution, "channels": self.cfg.channels,
            "fit": one.fit,
        }
        self.print(f"data: {self.data_info['root']}: {len(train)} train, {len(held)} held out, "
                   f"{len(one.class_names) or 'no'} classes {one.class_names[:12]}"
                   f"{'' if one.in_memory else ', streamed from disk'}; skipped: "
                   f"{describe_skipped(one.skipped, one.root)}")
        self.clip_batch(len(train))

    def clip_batch(self, n_train: int) -> None:
        """A batch larger than the training set is clipped to it (small folders are the normal case), and the
        log says so; the card and ``images_seen`` then record the batch that was really used."""
        if n_train < 1:
            raise DatasetError(f"{self.cfg.data}: no training images left after holding out the evaluation share; "
                               "add images (at least 2 per class), or lower --eval-fraction.")
        if self.cfg.batch_size > n_train:
            self.print(f"batch size {self.cfg.batch_size} is larger than the {n_train} training images: "
                       f"using batches of {n_train} (every step sees the whole set; --batch-size sets it)")
            self.cfg.batch_size = n_train

    def order(self) -> torch.Generator:
        """The data-order (and jitter) generator: seed + process rank, so each GPU draws its own batches."""
        return torch.Generator().manual_seed(self.cfg.seed + self.accelerator.process_index)

    def counted(self, batches: Iterator[tuple]) -> Iterator[tuple]:
        """``batches`` as they are, counting the images this process draws (a batch's first tensor's rows): with
        several processes each draws its own share, and finish() records every process's count."""
        for batch in batches:
            self.images_drawn += len(batch[0])
            yield batch

    @property
    def preprocess(self) -> str:
        """What the model's config declares for uploads: digit centring for the bundled digits."""
        return "mnist" if self.cfg.data == "mnist" else self.cfg.fit

    # --- progress ------------------------------------------------------------------------

    def print(self, *args) -> None:
        self.accelerator.print(*args)

    def start(self, step: int) -> None:
        self.bar = tqdm(total=self.cfg.steps, initial=step, desc=f"train {self.cfg.name}",
                        disable=not self.accelerator.is_main_process)
        self._start = time.perf_counter()

    def log(self, step: int, **losses: torch.Tensor) -> None:
        """Add this step's losses (tensors: no host sync); every LOG_EVERY steps, one averaged point."""
        for k, v in losses.items():
            v = v.detach().float()
            self._sums[k] = self._sums[k] + v if k in self._sums else v.clone()
        self._count += 1
        if self.bar is not None:
            self.bar.update(1)
        if step % self.log_every == 0 or step == self.cfg.steps:
            means = {k: (v / self._count).item() for k, v in self._sums.items()}
            bad = [k for k, v in means.items() if not math.isfinite(v)]
            if bad:
                self.emit("error", step=step, message=f"the {', '.join(bad)} loss became {means[bad[0]]} at step {step}")
                raise TrainingError(f"the {', '.join(bad)} loss became {means[bad[0]]} by step {step}: training "
                                    "diverged. Lower the learning rate (--lr), or check the data; the last saved "
                                    "state is kept in the run folder.")
            for k, v in means.items():
                self.history.setdefault(k, []).append(v)
            self.log_steps.append(step)
            self._sums, self._count = {}, 0
            if self.bar is not None:
                self.bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()})
            if self.events:
                self.emit("log", step=step, steps=self.cfg.steps, seconds=self.seconds(),
                          images=step * self.cfg.batch_size * self.accelerator.num_processes, losses=means)

    def seconds(self) -> float:
        """Training time so far, resumed parts included."""
        return self.elapsed + time.perf_counter() - self._start

    def emit(self, kind: str, **fields) -> None:
        """One JSON line in the job's events file (GENLAB_JOB_EVENTS), if a driver asked for one."""
        if not self.events or not self.accelerator.is_main_process:
            return
        with open(self.events, "a") as f:
            f.write(json.dumps({"type": kind, "time": time.time(), **fields}) + "\n")

    def should_stop(self, step: int, objects: dict, preview=None) -> bool:
        """True (after saving the resumable state) once the --minutes budget is spent or the job's driver asked
        to stop; the loop then breaks and releases what it has, like a finished run."""
        reason = ""
        if self.out_of_time(self.cfg.minutes):
            reason = f"the {self.cfg.minutes:g}-minute budget is spent"
        elif self.stop_file and time.perf_counter() >= self._next_stop_check:
            self._next_stop_check = time.perf_counter() + 0.25  # one stat per quarter second, not per step
            if os.path.exists(self.stop_file):
                reason = "stopped on request"
            parent = os.environ.get(PARENT_ENV, "")
            if parent and str(os.getppid()) != parent:  # the server that started this job is gone
                raise SystemExit(f"the job's server (pid {parent}) has stopped; so does the job")
        if not reason or step >= self.cfg.steps:
            return False
        self.stop_reason = reason
        self.print(f"stopped at step {step}: {reason}")
        self.save(objects, step, preview)
        self.emit("stopped", step=step, reason=reason)
        return True

    def due(self, step: int) -> bool:
        return self.accelerator.is_main_process and (step % self.cfg.sample_every == 0 or step == self.cfg.steps)

    # --- state ---------------------------------------------------------------------------

    def _meta(self, step: int) -> dict:
        return {"step": step, "history": self.history, "log_steps": self.log_steps, "elapsed_s": self.elapsed,
                "torch_rng": torch.get_rng_state().tolist(), "config": dataclasses.asdict(self.cfg),
                "family": self.family, "command": self.command, "machine": machine(), "data": self.data_info,
                "images_seen": step * self.cfg.batch_size * self.accelerator.num_processes}

    def save(self, objects: dict, step: int, preview=None) -> None:
        """Sample grid (``preview(path)``), loss curve and resumable state, all in the run folder."""
        self.elapsed += time.perf_counter() - self._start
        if preview is not None:
            preview(self.run_dir / f"samples_{step:06d}.png")
            self.emit("sample", step=step, path=str((self.run_dir / f"samples_{step:06d}.png").resolve()))
        if self.log_steps:
            plot_losses(self.history, self.log_steps, self.run_dir / "loss_curve.png",
                        f"{self.cfg.name} (averaged over {self.log_every} steps)")
        save_state(self.state_path, objects, self._meta(step))
        self._start = time.perf_counter()

    def resume(self, objects: dict) -> int:
        """With --resume and a saved state: restore ``objects`` and the run's history; return its step."""
        if not (self.cfg.resume and self.state_path.with_suffix(".json").exists()):
            return 0
        saved = json.loads(self.state_path.with_suffix(".json").read_text())
        before = saved.get("data", {}).get("class_names")
        now = self.data_info.get("class_names")
        if before is not None and now is not None and before != now:
            raise DatasetError(f"--resume: {self.cfg.data} has classes {now}, but the run in {self.run_dir} was "
                               f"trained on {before}. Use the same folder, or a new --run-dir.")
        meta = load_state(self.state_path, objects)
        self.history, self.log_steps, self.elapsed = meta["history"], meta["log_steps"], meta["elapsed_s"]
        torch.set_rng_state(torch.tensor(meta["torch_rng"], dtype=torch.uint8))
        self.print(f"resumed from {self.state_path} at step {meta['step']}")
        return meta["step"]

    def out_of_time(self, minutes: float) -> bool:
        """True once this run's training time (resumed parts included) has reached ``minutes`` (0: never)."""
        return minutes > 0 and self.elapsed + time.perf_counter() - self._start >= minutes * 60

    def finish(self, step: int | None = None) -> dict:
        """Stop the clock; copy the loss curve into the checkpoint folder; return the run's meta (at ``step``,
        default the configured last step: a run stopped by its time budget passes where it stopped)."""
        if self.bar is not None:
            self.bar.close()
        self.elapsed += time.perf_counter() - self._start
        self._start = time.perf_counter()
        meta = self._meta(self.cfg.steps if step is None else step)
        # every process's count of the images it drew (a collective: each process calls finish); their sum is what
        # the run saw in this invocation, each the steps x batch of its own share
        drawn = torch.tensor([self.images_drawn], device=self.device)
        meta["images_per_process"] = [int(n) for n in self.accelerator.gather(drawn).tolist()]
        self.emit("trained", step=meta["step"], seconds=self.elapsed)  # the release (and any evaluation) follows
        if not self.accelerator.is_main_process:
            return meta
        self.out.mkdir(parents=True, exist_ok=True)
        if self.log_steps:
            plot_losses(self.history, self.log_steps, self.out / "loss_curve.png",
                        f"{self.cfg.name} (averaged over {self.log_every} steps)")
        (self.run_dir / "run.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "torch_rng"},
                                                          indent=1))
        return meta

