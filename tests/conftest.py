"""Shared fixtures: tiny seeded models, and the real app launched on a free port."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from genlab.testing import launched_app, make_paired_folder, make_shapes_folder


# `make test` runs the suite on 2 pytest-xdist workers, a whole test file on one (--dist loadfile, in file order), so
# a module's own server or browser page starts once. Each worker starts the app once (app_server) and trains the
# folder models once (trained), the first time one of its tests needs them: session fixtures are per worker process.
# Nothing pins the app tests to one worker: with pytest 9, xdist's loadgroup no longer sees the group mark it adds to
# node ids (measured 2026-12-02: the "app" group marked here ran on both workers), and balance matters more on 2
# cores than one server fewer (the app tests' durations sum to 811 s of an 822 s run: on one worker they would be
# the longest path).
# A worker computes with one torch thread: two one-thread processes get more done on the 2 cores than one two-thread
# process. A third worker does not pay: measured 2026-12-03, the whole suite took 775 s of pytest on 3 workers
# against 682 s on 2. The 2 cores are not idle on 2 workers: sampling every process in /proc during a full run used
# 1,594 CPU-seconds in 828 s (1.93 cores; `time` had shown 1,131 because it misses Chromium's processes), so the
# suite is bound by CPU (docs/performance.md, "What make test spends its time on").
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
    os.environ.setdefault("GENLAB_THREADS", "1")  # the launched app and other child processes too
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    """Where the browser tests' screenshots go: $GENLAB_SCREENSHOTS if set (CI keeps them as artefacts), else one
    temp dir per session whose path the tests print."""
    from pathlib import Path

    folder = Path(os.environ.get("GENLAB_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return folder


@pytest.fixture(scope="session")
def foreign(tmp_path_factory):
    """The import tests' checkpoints from elsewhere as users have them (NVIDIA network pickles, a DCGAN .pth, a HugGAN
    folder), written once per session from the safetensors + JSON the repository keeps (tests/import_fixtures.py)."""
    from import_fixtures import write_all

    return write_all(tmp_path_factory.mktemp("foreign"))


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """pytorch-CycleGAN-and-pix2pix generator files as users have them (tests/zoo_fixtures.py)."""
    from zoo_fixtures import write_all

    return write_all(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def tiny_gan():
    from genlab.models import Generator

    torch.manual_seed(0)
    return Generator(latent_dim=8, channels=16, embed_dim=4).eval()


@pytest.fixture(scope="module")
def client(app_url):
    """A gradio_client Client of the launched app, one per test module."""
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """``python app.py`` on a free port, as a user would start it: (url, process). One per session, shared by
    every test in the "app" group (one worker, one test at a time: a test may even stop it for a while). Trained and
    imported models go to its temporary folder, never into checkpoints/."""
    try:
        folder = tmp_path_factory.mktemp("app")  # the Train tab's models go here, not into checkpoints/
        with launched_app(folder / "app.log", extra_env={"GENLAB_TRAIN_OUT": str(folder / "trained"),
                                                         "GENLAB_IMPORT_OUT": str(folder / "imported")}) as served:
            yield served
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server[0]


# --- A user's own colour folder, and every family trained on it (shared by e2e and browser tests) ---

OWN_RES = 32


def _shared_root(tmp_path_factory):
    """One folder for the whole run: xdist workers share it (its parent is the run's base temp dir); alone, the
    session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def folders(tmp_path_factory):
    """The user's colour folders (12 shapes per class, 12 outline -> colour pairs), made once per run: the first
    worker to need them writes them under a lock, the other reuses them."""
    from filelock import FileLock

    shared = _shared_root(tmp_path_factory)
    root = shared / "own"
    made = root / "shapes.json"  # what make_shapes_folder returned: the good files and the broken ones
    with FileLock(str(shared / "own.lock")):
        if not made.exists():
            shapes = make_shapes_folder(root / "shapes", per_class=12, size=48)
            make_paired_folder(root / "pairs", n=12, size=48)
            made.write_text(json.dumps({k: [str(p) for p in v] for k, v in shapes.items()}))
    return root, {k: [Path(p) for p in v] for k, v in json.loads(made.read_text()).items()}


@pytest.fixture(scope="session")
def trained(folders, tmp_path_factory):
    """Every family trained for a few steps on the colour folder (CPU, seconds; 40 s on one busy worker). Trained
    once per run: the first worker to need it trains under a lock; the other waits and reuses the checkpoints
    (read-only for every test that uses them)."""
    from filelock import FileLock

    root, _ = folders
    out = {f: root / f"ckpt-{f}" for f in ("classifier", "gan", "vae", "pix2pix", "cyclegan")}
    with FileLock(str(_shared_root(tmp_path_factory) / "trained.lock")):
        if not (root / "trained").exists():
            _train_every_family(root)
            (root / "trained").touch()
    return out


def _train_every_family(root):
    from genlab.train.__main__ import main as train_main

    common = ["--data", str(root / "shapes"), "--resolution", str(OWN_RES), "--channels", "3", "--batch-size", "8",
              "--sample-every", "10"]
    for family, extra in [
        ("classifier", ["--steps", "30"]),
        ("gan", ["--steps", "20", "--g-channels", "32", "--d-channels", "16", "--eval-samples", "60",
                 "--feature-net", str(root / "ckpt-classifier")]),
        ("vae", ["--steps", "20", "--eval-samples", "60", "--feature-net", str(root / "ckpt-classifier")]),
    ]:
        train_main([family, *common, *extra, "--out", str(root / f"ckpt-{family}"), "--run-dir",
                    str(root / f"run-{family}")])
    train_main(["pix2pix", "--data", str(root / "pairs"), "--resolution", str(OWN_RES), "--channels", "3",
                "--in-channels", "1", "--steps", "6", "--batch-size", "4", "--g-channels", "8", "--out",
                str(root / "ckpt-pix2pix"), "--run-dir", str(root / "run-pix2pix")])
    # unpaired: the pair folder's two sides as two separate sets (100 steps: two points of the loss curve)
    train_main(["cyclegan", "--data-a", str(root / "pairs" / "A"), "--data-b", str(root / "pairs" / "B"),
                "--resolution", str(OWN_RES), "--channels", "3", "--steps", "100", "--batch-size", "4",
                "--g-channels", "4", "--blocks", "1", "--d-channels", "4", "--sample-every", "50", "--out",
                str(root / "ckpt-cyclegan"), "--run-dir", str(root / "run-cyclegan")])
