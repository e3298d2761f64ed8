"""The queue behind the Train tab: one job runs at a time as a child process (the CLI), the rest wait in line.

See ``genlab.tasks.training`` for why a job is a process, how it reports and stops, and who may see it.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...datasets.archives import ArchiveLimits, Extracted, extract_images
from ...errors import DatasetError
from ...hub import available, output_dir, register_trained, unregister_trained
from .process import die_with_parent, failure
from .spec import BUILT_IN, JobError, JobSpec, caps, check, command, job_threads, on_space, training_enabled

# a job's states: queued -> running (-> stopping) -> finished | stopped | failed; stopped/finished/failed can continue


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

    def public(self, text: str) -> str:
        """``text`` without the job's temporary folder (a path on the server): its data by what the visitor sent
        ("the ZIP", "domain A's ZIP"), anything else in it by its name in the job's folder."""
        text = str(text)
        for path, name in ((self.folder / "data_a", "domain A's ZIP"), (self.folder / "data_b", "domain B's ZIP"),
                           (self.folder / "data", "the ZIP"), (self.folder, "the job's folder")):
            text = text.replace(str(path), name)
        return text

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

    def status(self, job_id: str, public: bool = False) -> dict:
        """A JSON-able view of a job for the tab and API callers. ``public``: for an API caller, without server paths
        (the job's folder in its message and log, the sample grid's folder)."""
        job = self.get(job_id)
        with self.lock:
            eta = job.eta()
            view = {
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
        if public:
            view["message"] = job.public(view["message"])
            view["log_tail"] = [job.public(line) for line in view["log_tail"]]
            view["sample"] = Path(view["sample"]).name if view["sample"] else ""
        return view

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
        package_parent = str(Path(__file__).resolve().parents[3])  # the folder holding genlab/: the child imports it
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
                                           stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
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
                    # four significant figures: a barely trained feature net gives FIDs far below 0.01, which are not 0
                    job.metrics.append((e["step"], float(f"{float(e['fid']):.4g}"), round(float(e["accuracy"]), 4),
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
