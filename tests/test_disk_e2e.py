"""Every folder the server writes to stops growing: Gradio's cache (outputs, uploads, editor layers) is swept
by age, our output folder is capped by age and size, and oversized uploads are refused."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from genlab.testing import launched_app

DIRS = [0.0] * 6


def _files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def short_lived_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("disk")
    cache = root / "gradio-cache"
    env = {"GRADIO_TEMP_DIR": str(cache), "GENLAB_CACHE_SECONDS": "4", "GENLAB_MAX_FILE_SIZE": "1mb",
           "GENLAB_FIRST_VISIT": "0"}  # its files are what this module counts
    with launched_app(root / "app.log", extra_env=env) as (url, _):
        yield Client(url, verbose=False), cache, root


@pytest.mark.slow
def test_cache_is_swept_and_stops_growing(short_lived_app, tmp_path):
    client, cache, _ = short_lived_app
    layer = np.zeros((64, 64, 4), np.uint8)
    layer[20:40, 20:40] = (255, 0, 255, 255)
    Image.fromarray(layer).save(tmp_path / "mask.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    counts = []
    for round_ in range(4):
        for seed in range(round_ * 10, round_ * 10 + 10):  # distinct outputs: new cache files each time
            client.predict("mnist-cgan", "", seed, "any", 1.0, 4, *DIRS, api_name="/sample")
        editor = {"background": handle_file(str(tmp_path / "p.png")), "layers": [handle_file(str(tmp_path / "mask.png"))],
                  "composite": None}
        client.predict(editor, "biharmonic", 10, round_, api_name="/inpaint")
        counts.append(_files(cache))
        time.sleep(5)  # longer than GENLAB_CACHE_SECONDS: the sweep (every 4 s) removes the round's files
    time.sleep(5)
    after = _files(cache)
    # measured without the sweep (GENLAB_CACHE_SECONDS=3600): 30, 40, 50, 60 files, 60 at the end; with it:
    # 30, 30, 32, 30 and 16 (a sweep may land mid-round, hence the slack of 8 files)
    assert counts[-1] <= counts[0] + 8 and after <= counts[0], (counts, after)


def test_oversized_upload_is_refused_and_server_keeps_serving(short_lived_app, tmp_path):
    client, _, _ = short_lived_app
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (1200, 1200, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > 2**20
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict(handle_file(str(big)), 2, 0, True, api_name="/augment_classic")
    assert client.predict("mnist-cgan", "", 1, "any", 1.0, 1, *DIRS, api_name="/sample")


def test_output_folder_is_capped_by_age_and_size(monkeypatch, tmp_path):
    from genlab.ui import common

    monkeypatch.setattr(common, "OUT_DIR", tmp_path)
    monkeypatch.setattr(common, "OUTPUT_MAX_MB", 1.0)
    paths = []
    for i in range(6):
        p = common.output_path(f"out{i}.bin")
        p.write_bytes(os.urandom(400_000))  # 0.4 MB each
        paths.append(p)
        time.sleep(0.01)
    total = sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())
    assert total <= 1.0 * 2**20 + 400_000 and paths[-1].exists() and not paths[0].exists()
    monkeypatch.setattr(common, "KEEP_SECONDS", 0)
    time.sleep(0.01)
    common.output_path("new.bin")
    assert not any(p.exists() for p in paths)


def test_a_file_registered_during_a_sweep_waits_for_the_next_one(tmp_path, monkeypatch, capsys):
    """The cause of test_cache_is_swept_and_stops_growing's failures (1 run in several: [48, 48, 48, 52] files, 52
    after): Gradio's sweep iterated a component's temp-file set while a request added to it, raised "Set changed
    size during iteration", and its schedule ended, so nothing was swept again. genlab.ui.cache_fix's sweep reads
    snapshots: here every removal registers a new file, as a request landing mid-sweep does."""
    from types import SimpleNamespace

    import gradio.route_utils as route_utils

    from genlab.ui import cache_fix

    assert route_utils.delete_files_created_by_app is cache_fix.delete_files_created_by_app  # the schedule calls ours
    files = [tmp_path / f"old{i}.png" for i in range(3)]
    for f in files:
        f.write_bytes(b"x")
    temp_set = {str(f) for f in files}
    blocks = SimpleNamespace(blocks={}, temp_file_sets=[temp_set])
    remove, added = os.remove, []

    def remove_while_a_request_lands(path):
        remove(path)
        new = tmp_path / f"new{len(added)}.png"
        new.write_bytes(b"y")
        added.append(str(new))
        temp_set.add(str(new))  # what a request handler does, in its own thread, meanwhile

    monkeypatch.setattr(os, "remove", remove_while_a_request_lands)
    time.sleep(0.01)
    cache_fix.delete_files_created_by_app(blocks, 0)
    assert not any(f.exists() for f in files) and temp_set == set(added)  # the new ones wait for the next sweep
    monkeypatch.setattr(os, "remove", remove)
    time.sleep(0.01)
    cache_fix.delete_files_created_by_app(blocks, 0)
    assert temp_set == set() and not any(Path(f).exists() for f in added)
    cache_fix.delete_files_created_by_app(SimpleNamespace(blocks=None, temp_file_sets=[]), 0)  # a failing sweep:
    assert "Traceback" in capsys.readouterr().err  # printed, not raised (the schedule goes on)
