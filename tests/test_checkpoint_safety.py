"""No code path unpickles: planted pickles with a payload are refused and never executed."""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import genlab

ROOT = Path(__file__).resolve().parent.parent


class Payload:
    """Unpickling this creates the marker folder: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PAYLOAD_RAN"
    yield path
    assert not path.exists(), "a pickle payload was executed"


def _plant(folder: Path, marker: Path, names=("pytorch_model.bin", "model.pt", "model.pkl", "weights.ckpt")):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.endswith(".pt"):
            torch.save({"state": Payload(marker)}, folder / name)  # torch's zip-of-pickle format
        else:
            (folder / name).write_bytes(pickle.dumps(Payload(marker)))


def test_the_payload_really_runs_when_unpickled(tmp_path):
    """Guard for the tests below: the planted file is live."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_pickle_only_folder_is_refused(tmp_path, marker):
    _plant(tmp_path / "ckpt", marker)
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps({"model_type": "gan"}))
    with pytest.raises(genlab.CheckpointError, match="never unpickles"):
        genlab.load(str(tmp_path / "ckpt"))


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "model.pkl", "weights.ckpt"])
def test_a_pickle_file_path_is_refused(tmp_path, marker, name):
    _plant(tmp_path, marker, names=(name,))
    with pytest.raises(genlab.CheckpointError, match="pickle file"):
        genlab.load(str(tmp_path / name))


def test_pickle_renamed_to_safetensors_is_refused_as_corrupt(tmp_path, marker, tiny_gan):
    tiny_gan.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(genlab.CheckpointError, match="corrupt"):
        genlab.load(str(tmp_path))


def test_pickles_beside_a_good_checkpoint_are_never_read(tmp_path, marker, tiny_gan):
    tiny_gan.save_pretrained(tmp_path)
    _plant(tmp_path, marker)
    assert isinstance(genlab.load(str(tmp_path), device=None), genlab.models.Generator)


def test_hub_repo_with_only_pickles_is_refused(tmp_path, marker, monkeypatch):
    snapshot = tmp_path / "models--someone--pickled" / "snapshots" / ("0" * 40)
    _plant(snapshot, marker)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "gan"}))
    refs = tmp_path / "models--someone--pickled" / "refs"
    refs.mkdir()
    (refs / "main").write_text("0" * 40)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises((genlab.CheckpointError, genlab.HubNotCachedError)):
        genlab.load("someone/pickled")


def test_inf_weights_are_refused(tmp_path, tiny_gan):
    tiny_gan.save_pretrained(tmp_path)
    state = {k: v.clone() for k, v in tiny_gan.state_dict().items()}
    state["fc.weight"][0, 0] = float("inf")
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(genlab.CheckpointError, match="NaN/Inf"):
        genlab.load(str(tmp_path))


def test_no_code_path_can_unpickle():
    """The package never calls pickle.load(s) and never torch.load without weights_only=True. The one module that
    reads pickles (genlab/formats/safe_pickle.py: foreign network pickles) subclasses pickle.Unpickler with a
    find_class that answers from its own table; tests/test_import_checkpoints.py proves a command in a pickle does
    not run."""
    offenders = []
    for path in (ROOT / "genlab").rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(ROOT).as_posix()
        patterns = [r"\bpickle\.loads?\(", r"weights_only\s*=\s*False", r"\bdill\b", r"\bjoblib\b",
                    r"allow_pickle\s*=\s*True", r"\bcloudpickle\b"]
        if rel != "genlab/formats/safe_pickle.py":
            patterns.append(r"\bimport pickle\b")
        for pattern in patterns:
            if re.search(pattern, text):
                offenders.append(f"{rel}: {pattern}")
        for call in re.finditer(r"\btorch\.load\(([^()]|\([^()]*\))*\)", text):
            if not re.search(r"weights_only\s*=\s*True", call.group(0)):
                offenders.append(f"{rel}: {call.group(0)[:80]}")
    assert not offenders, offenders
    reader = (ROOT / "genlab/formats/safe_pickle.py").read_text()
    assert "class _Reader(pickle.Unpickler)" in reader and "def find_class" in reader


def test_app_refuses_a_pickled_folder_and_keeps_serving(app_url, tmp_path, marker):
    from gradio_client import Client

    _plant(tmp_path / "evil", marker)
    (tmp_path / "evil" / "config.json").write_text(json.dumps({"model_type": "gan"}))
    client = Client(app_url, verbose=False)
    with pytest.raises(Exception, match="never unpickles"):
        client.predict("mnist-cgan", str(tmp_path / "evil"), 0, "any", 1.0, 4, 0, 0, 0, 0, 0, 0, api_name="/sample")
    with pytest.raises(Exception, match="pickle file"):
        client.predict("mnist-cgan", str(tmp_path / "evil" / "model.pt"), 0, "any", 1.0, 4, 0, 0, 0, 0, 0, 0,
                       api_name="/sample")
    assert Path(client.predict("mnist-cgan", "", 0, "any", 1.0, 4, 0, 0, 0, 0, 0, 0, api_name="/sample")).exists()
