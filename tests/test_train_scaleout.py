"""Scale-out as docs/training.md describes it: `accelerate launch --multi_gpu --num_processes 2 -m genlab.train ...` on
a tiny folder of this GPU-less machine. Two real processes in one gloo process group on the CPU, each drawing its own
share of the batches; exactly one checkpoint is written, by the main process, and it loads.

(`accelerate launch --cpu --num_processes 2` starts ONE process: Accelerate's --cpu launcher ignores the count. The
second test pins that, and the note genlab prints then.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import genlab
from genlab.testing import free_port, make_shapes_folder

ROOT = Path(__file__).resolve().parent.parent
STEPS, BATCH, PROCESSES = 6, 4, 2


def _launch(tmp_path, *launcher: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    make_shapes_folder(tmp_path / "shapes", per_class=6, size=24, broken=False)
    out, run_dir = tmp_path / "ckpt", tmp_path / "run"
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [str(accelerate), "launch", *launcher, "--num_processes", str(PROCESSES), "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
               "-m", "genlab.train", "gan", "--data", str(tmp_path / "shapes"), "--resolution", "16", "--channels", "3",
               "--steps", str(STEPS), "--batch-size", str(BATCH), "--sample-every", "3", "--g-channels", "8",
               "--d-channels", "8", "--eval-samples", "0", "--workers", "0", "--out", str(out), "--run-dir",
               str(run_dir)]
    # one torch thread per process (two processes on the 2 cores); no accelerate config file is read or written
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENLAB_THREADS": "1", "HF_HOME": str(tmp_path / "hf"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done, out, run_dir


def test_two_processes_share_the_batches_and_write_one_checkpoint(tmp_path):
    done, out, run_dir = _launch(tmp_path, "--multi_gpu")
    log = (done.stdout + done.stderr)[-4000:]

    run = json.loads((run_dir / "run.json").read_text())
    # each process drew its own STEPS x BATCH images; the run's images_seen is their sum
    assert run["images_per_process"] == [STEPS * BATCH] * PROCESSES, (run["images_per_process"], log)
    assert run["images_seen"] == STEPS * BATCH * PROCESSES == sum(run["images_per_process"])
    # exactly one checkpoint, written once (the main process), and it loads as a genlab GAN
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("model.safetensors"))
    assert written == ["ckpt/model.safetensors"], written
    g = genlab.load(str(out))
    assert g.resolution == 16 and g.labels == ["circle", "square", "triangle"]
    assert log.count("wrote ") == 1, log  # the main process alone releases (and says so)



def test_the_cpu_launcher_runs_one_process_and_says_so(tmp_path):
    done, _, run_dir = _launch(tmp_path, "--cpu")
    run = json.loads((run_dir / "run.json").read_text())
    assert run["images_per_process"] == [STEPS * BATCH]  # one process, whatever --num_processes said
    assert "note: one training process" in done.stdout + done.stderr
