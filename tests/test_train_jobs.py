"""The Train tab's jobs (genlab.tasks.training), without the app: a ZIP of a 30-image folder trains in the
background through the CLI's own loop, reports progress, stops and resumes from its saved state, fails with a
readable message, and is bounded by the server's caps."""

from __future__ import annotations

import math
import time
import zipfile
from pathlib import Path

import pytest
import torch

from genlab import hub
from genlab.errors import DatasetError
from genlab.tasks.training import JobError, JobQueue, JobSpec, caps, check, command, failure, training_enabled
from genlab.testing import make_shapes_folder


def zip_folder(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder.parent))
    return path


@pytest.fixture(scope="module")
def shapes_zip(tmp_path_factory):
    """30 good images in 3 class subfolders (plus the broken files a real folder has), zipped as a folder."""
    root = tmp_path_factory.mktemp("zip")
    make_shapes_folder(root / "shapes", per_class=10, size=40)
    return zip_folder(root / "shapes", root / "shapes.zip")


@pytest.fixture
def queue(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_TRAIN_OUT", str(tmp_path / "models"))
    monkeypatch.delenv("SPACE_ID", raising=False)
    q = JobQueue(tmp_path / "jobs")
    yield q
    q.close()


def wait(q: JobQueue, job_id: str, until, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = q.status(job_id)
        if until(s):
            return s
        time.sleep(0.2)
    raise AssertionError(f"timed out; last status: {s['state']} {s['message']} {s['log_tail'][-5:]}")


def ended(s):
    return s["state"] in ("finished", "stopped", "failed")


def test_a_zip_trains_a_gan_in_the_background_and_is_served_by_name(queue, shapes_zip):
    job = queue.submit(JobSpec(family="gan", resolution=16, steps=12, batch_size=8, sample_every=4, minutes=0),
                       [str(shapes_zip)])
    assert job.summary["images"] == [42] and job.spec.name == "upload-gan"
    seen = set()
    s = wait(queue, job.id, lambda s: seen.add((s["state"], s["step"], s["samples"])) or ended(s))
    assert s["state"] == "finished", s["log_tail"]
    assert any(state == "running" and 0 < step < 12 for state, step, _ in seen), "progress arrived while it ran"
    assert s["samples"] == 3 and Path(s["sample"]).is_file()  # every 4 steps: 4, 8, 12
    d = [v for _, v in s["losses"]["D"]]
    assert len(d) >= 3 and all(math.isfinite(v) for v in d) and len(set(d)) > 1  # the loss moves
    assert s["model"] == "upload-gan" and s["images_per_s"] > 0
    model = hub.load("upload-gan", model_type="gan", device=None)  # registered: loads by its name
    assert model.class_names == ["circle", "square", "triangle"] and model.resolution == 16
    card = (job.out / "README.md").read_text()
    assert "python -m genlab.train gan --preset mnist-cgan" in card and "--spectral-norm true" in card
    # the run folder lives in the job's own folder; deleting the job removes it (a local model stays)
    queue.delete(job.id)
    assert not job.folder.exists() and (job.out / "model.safetensors").is_file()
    with pytest.raises(JobError, match="no such training job"):
        queue.status(job.id)


def test_stop_saves_and_releases_then_continue_resumes_from_the_saved_step(queue, shapes_zip):
    job = queue.submit(JobSpec(family="gan", resolution=16, steps=400, batch_size=8, sample_every=2, minutes=0),
                       [str(shapes_zip)])
    # one job runs at a time: a second one waits, sees its place, and may leave the line
    second = queue.submit(JobSpec(family="classifier", resolution=16, steps=3, minutes=0, name="b"), [str(shapes_zip)])
    assert queue.status(second.id)["state"] == "queued" and queue.status(second.id)["position"] == 1
    wait(queue, job.id, lambda s: s["samples"] >= 1)
    queue.stop(second.id)
    assert queue.status(second.id)["state"] == "stopped" and queue.status(second.id)["position"] == 0
    with pytest.raises(JobError, match="saved no training state"):
        queue.resume(second.id)
    queue.stop(job.id)
    s = wait(queue, job.id, ended)
    assert s["state"] == "stopped" and 2 <= s["step"] < 400, s["message"]
    assert s["model"] and "stopped at step" in s["message"]
    stopped_at = s["step"]
    queue.resume(job.id)
    s = wait(queue, job.id, lambda s: s["state"] == "running" and s["step"] > stopped_at, timeout=120)
    first = min(step for step, _ in s["losses"]["G"] if step > stopped_at)
    assert first <= stopped_at + 25, "it continued from the saved step, not from 0"
    queue.stop(job.id)
    s = wait(queue, job.id, ended)
    assert s["state"] == "stopped" and s["step"] > stopped_at
    log = (job.folder / "log.txt").read_text()
    assert f"resumed from {job.folder / 'run' / 'training_state'} at step {stopped_at}" in log


def test_a_failing_job_ends_with_a_readable_message_and_the_next_one_runs(queue, shapes_zip):
    import shutil

    bad = queue.prepare(JobSpec(family="gan", resolution=16, steps=4, batch_size=8, minutes=0), [str(shapes_zip)])
    shutil.rmtree(bad.data[0])  # the data vanish before it runs
    queue.enqueue(bad)
    good = queue.submit(JobSpec(family="classifier", resolution=16, steps=2, batch_size=64, minutes=0,
                                name="after-failure"), [str(shapes_zip)])
    s = wait(queue, bad.id, ended)
    assert s["state"] == "failed" and "is not a folder" in s["message"], s["message"]
    assert wait(queue, good.id, ended)["state"] == "finished"
    # the 30-image folder through the tab: the batch is clipped to the set, and the log says so
    log = (good.folder / "log.txt").read_text()
    assert "batch size 64 is larger than the 27 training images: using batches of 27" in log
    assert hub.load("after-failure", model_type="classifier", device=None).class_names == ["circle", "square", "triangle"]
    # a classifier from one job is the next job's feature net: held-out FID and accuracy at every grid, and the card
    gan = queue.submit(JobSpec(family="gan", resolution=16, steps=4, batch_size=8, sample_every=2, minutes=0,
                               feature_net="after-failure"), [str(shapes_zip)])
    s = wait(queue, gan.id, ended)
    assert s["state"] == "finished", s["log_tail"]
    assert [m[0] for m in s["metrics"]] == [2, 4], s["metrics"]
    assert all(m[1] > 0 and 0 <= m[2] <= 1 and m[3] == "27 training" for m in s["metrics"]), s["metrics"]
    assert "--feature-net" in (gan.folder / "log.txt").read_text()
    assert "FID" in (gan.out / "README.md").read_text()
    with pytest.raises(JobError, match="not a classifier this server serves"):
        queue.submit(JobSpec(feature_net="mnist-cgan"), [str(shapes_zip)])


def test_requests_are_bounded_before_anything_is_unpacked(queue, shapes_zip, monkeypatch, tmp_path):
    for spec, words in [
        (JobSpec(family="diffusion"), "family must be one of"),
        (JobSpec(resolution=100), "resolution must be one of"),
        (JobSpec(resolution=512), "from 16 to 256"),
        (JobSpec(steps=0), "steps must be a whole number"),
        (JobSpec(batch_size=10**6), "batch size must be"),
        (JobSpec(channels=2), "1 \\(grey\\) or 3"),
        (JobSpec(minutes=-1), "minutes must be from 0"),
        (JobSpec(name="../evil"), "model name"),
        (JobSpec(data="/etc/passwd"), "data must be one of"),
    ]:
        with pytest.raises(JobError, match=words):
            check(spec)
    with pytest.raises(JobError, match="upload a ZIP"):
        queue.submit(JobSpec(), [])
    with pytest.raises(JobError, match="two ZIPs"):
        queue.submit(JobSpec(family="cyclegan"), [str(shapes_zip)])
    with pytest.raises(DatasetError, match="A/ \\(inputs\\) and B/"):
        queue.submit(JobSpec(family="pix2pix"), [str(shapes_zip)])
    (tmp_path / "models" / "taken").mkdir(parents=True)
    with pytest.raises(JobError, match="exists already"):
        queue.submit(JobSpec(name="taken"), [str(shapes_zip)])
    with pytest.raises(JobError, match="exists already"):
        queue.submit(JobSpec(name="mnist-cgan"), [str(shapes_zip)])  # never over a shipped model
    assert queue.prepare(JobSpec(), [str(shapes_zip)]).spec.name == "upload-gan"
    (tmp_path / "models" / "upload-gan").mkdir()
    assert queue.prepare(JobSpec(), [str(shapes_zip)]).spec.name == "upload-gan-2"  # the default name is a free one
    assert len(list(queue.root.iterdir())) == 2  # the two prepared ones; refused requests leave nothing behind


def test_space_caps_and_switch(monkeypatch, tmp_path, shapes_zip):
    monkeypatch.setenv("SPACE_ID", "someone/space")
    monkeypatch.delenv("GENLAB_TRAIN", raising=False)
    assert not training_enabled()
    q = JobQueue(tmp_path / "jobs")
    try:
        with pytest.raises(JobError, match="training is off on this server"):
            q.submit(JobSpec(), [str(shapes_zip)])
        monkeypatch.setenv("GENLAB_TRAIN", "1")
        assert caps().max_minutes == 10 and caps().max_resolution == 64
        with pytest.raises(JobError, match="at most 10 minutes"):
            q.submit(JobSpec(minutes=30), [str(shapes_zip)])
        with pytest.raises(JobError, match="at most 10 minutes"):
            q.submit(JobSpec(minutes=0), [str(shapes_zip)])  # "until the steps" is not offered on a Space
        with pytest.raises(JobError, match="from 16 to 64"):
            q.submit(JobSpec(resolution=128), [str(shapes_zip)])
        with pytest.raises(JobError, match="data must be one of"):
            q.submit(JobSpec(data=str(tmp_path)), [])  # no server folders on a Space
        monkeypatch.setenv("GENLAB_TRAIN_MAX_IMAGES", "20")
        with pytest.raises(JobError, match="at most 20"):
            q.submit(JobSpec(), [str(shapes_zip)])
        monkeypatch.setenv("GENLAB_TRAIN_MAX_UPLOAD_MB", "0.001")
        with pytest.raises(DatasetError, match="at most 0.001 MB"):
            q.submit(JobSpec(), [str(shapes_zip)])
        monkeypatch.delenv("GENLAB_TRAIN_MAX_IMAGES")
        monkeypatch.delenv("GENLAB_TRAIN_MAX_UPLOAD_MB")
        job = q.prepare(JobSpec(resolution=16), [str(shapes_zip)])
        # a visitor's model lives in the job's folder, under a name that carries the job's secret id
        assert job.out == job.folder / "model" and job.model_id == f"upload-gan-{job.id}" and len(job.id) >= 16
        assert not list(q.root.iterdir())[0].name.startswith("upload")
    finally:
        q.close()
    assert not (tmp_path / "jobs").exists()  # server stop removes every job folder


def test_the_job_is_the_clis_command():
    spec = check(JobSpec(family="gan", data="emoji", resolution=32, steps=100, minutes=2, name="e"))
    cmd = command(spec, ["emoji"], Path("out"), Path("run"))
    assert cmd[1:6] == ["-m", "genlab.train", "gan", "--preset", "emoji-cgan"]
    assert cmd[cmd.index("--minutes") + 1] == "2" and cmd[cmd.index("--data") + 1] == "emoji"
    digits = check(JobSpec(family="vae", data="digits", resolution=64, channels=3))
    assert (digits.resolution, digits.channels) == (28, 1)


def test_failure_messages_name_the_problem():
    assert failure(["...", "error: data: no images"], 2) == "data: no images"
    oom = failure(["Traceback", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB"], 1)
    assert oom.startswith("out of memory") and "lower the batch size" in oom
    assert "killed (signal 9)" in failure([], -9)


def test_a_nan_loss_stops_the_run_with_the_fix(tmp_path):
    from genlab.train.common import CommonConfig, Run, TrainingError

    run = Run(CommonConfig(name="nan", run_dir=str(tmp_path / "run"), out=str(tmp_path / "out"), steps=100), "gan")
    run.log_every = 2
    run.log(1, D=torch.tensor(0.5))
    with pytest.raises(TrainingError, match="became nan by step 2.*Lower the learning rate"):
        run.log(2, D=torch.tensor(float("nan")))


def test_a_job_dies_with_its_server(tmp_path, shapes_zip):
    """A server killed outright (SIGKILL: no atexit) takes its running job with it: no orphan keeps the CPU."""
    import os
    import signal
    import subprocess
    import sys

    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from genlab.tasks.training import JobQueue, JobSpec
q = JobQueue({str(tmp_path / "jobs")!r})
job = q.submit(JobSpec(family="gan", resolution=16, steps=100000, batch_size=8, sample_every=1000, minutes=0),
               [{str(shapes_zip)!r}])
while q.status(job.id)["state"] != "running" or job.process is None:
    time.sleep(0.1)
print(job.process.pid, flush=True)
time.sleep(600)
"""
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "GENLAB_TRAIN_OUT": str(tmp_path / "models")})
    child = int(server.stdout.readline())
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the job outlived its server")


def test_pairs_and_two_domains_unpack_and_are_summarised(queue, tmp_path):
    """pix2pix takes a ZIP of A/ and B/; a CycleGAN two ZIPs: each is unpacked, checked and shown as the model will
    see it (the runs themselves are the CLI's, tested on the same folders in test_scarce_data / test_cyclegan)."""
    from genlab.tasks.training import describe
    from genlab.testing import make_paired_folder

    pairs = make_paired_folder(tmp_path / "pairs", n=12, size=40)
    job = queue.prepare(JobSpec(family="pix2pix", resolution=16, channels=3), [str(zip_folder(pairs, tmp_path / "p.zip"))])
    text, grid = describe(job)
    assert "pairs (A -> B)" in text and "no partner" in text
    cmd = command(job.spec, job.data, job.out, job.folder / "run")
    assert cmd[cmd.index("--data") + 1] == job.data[0] and (Path(job.data[0]) / "A").is_dir()
    a = zip_folder(pairs / "A", tmp_path / "a.zip")
    b = zip_folder(pairs / "B", tmp_path / "b.zip")
    job = queue.prepare(JobSpec(family="cyclegan", resolution=16, channels=3), [str(a), str(b)])
    text, grid = describe(job)
    assert "**domain A**" in text and "**domain B**" in text and grid.width >= 8 * 16
    cmd = command(job.spec, job.data, job.out, job.folder / "run")
    assert cmd[cmd.index("--data-a") + 1].endswith("data_a") and cmd[cmd.index("--data-b") + 1].endswith("data_b")
