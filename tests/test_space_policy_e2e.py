"""On a public Space (SPACE_ID set) callers may not name folders on the server; locally they may.

Measured before the policy: a launched app served <repo>/checkpoints/mnist-cgan by absolute path
and answered "'/etc' has no model.safetensors", telling a stranger what exists on the server.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from genlab import hub
from genlab.testing import launched_app

ROOT = Path(__file__).resolve().parent.parent
DIRS = [0.0] * 6


@pytest.fixture(scope="module")
def space_client(tmp_path_factory):
    log = tmp_path_factory.mktemp("space") / "app.log"
    env = {"SPACE_ID": "genlab/test-space", "GENLAB_FIRST_VISIT": "0", "GENLAB_TRAIN": "1",
           "GENLAB_TRAIN_MAX_MINUTES": "1"}  # the owner turned training on, with a 1-minute cap
    with launched_app(log, extra_env=env) as (url, _):
        yield Client(url, verbose=False)


def _refusal(client, repo: str) -> str:
    with pytest.raises(Exception) as e:
        client.predict("mnist-cgan", repo, 0, "any", 1.0, 1, *DIRS, api_name="/sample")
    return str(e.value)


def test_space_refuses_server_paths_with_one_message(space_client, tmp_path):
    existing = str(ROOT / "checkpoints" / "mnist-cgan")  # a real checkpoint folder on the server
    messages = {p: _refusal(space_client, p) for p in (existing, "/etc", "/no/such/dir", "~", str(tmp_path))}
    for path, message in messages.items():
        assert "folders on the server are not available here" in message, message
    # the text is the same whatever is at the path (only the echoed name differs)
    assert len({m.replace(repr(p), "NAME") for p, m in messages.items()}) == 1
    assert not any(re.search(r"has no model\.safetensors|is a file|pickle", m) for m in messages.values())
    # shipped models still load, and so do other tabs' model boxes, under the same policy
    assert space_client.predict("mnist-cgan", "", 0, "7", 1.0, 1, *DIRS, api_name="/sample")
    digit = handle_file(str(ROOT / "genlab" / "ui" / "examples" / "digit_1.png"))
    with pytest.raises(Exception, match="not available here"):
        space_client.predict(digit, digit, 0.5, "linear", str(ROOT / "checkpoints" / "mnist-vae"),
                             api_name="/interpolate")


def test_policy_defaults_and_override(monkeypatch):
    monkeypatch.delenv("GENLAB_ALLOW_LOCAL_MODELS", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert hub.local_models_allowed()
    monkeypatch.setenv("SPACE_ID", "someone/space")
    assert not hub.local_models_allowed()
    monkeypatch.setenv("GENLAB_ALLOW_LOCAL_MODELS", "1")
    assert hub.local_models_allowed()
    monkeypatch.delenv("SPACE_ID")
    monkeypatch.setenv("GENLAB_ALLOW_LOCAL_MODELS", "0")
    assert not hub.local_models_allowed()
    with pytest.raises(hub.UnknownModelError, match="not available here"):
        hub.resolve(str(ROOT / "checkpoints" / "mnist-cgan"), allow_local=False)
    assert hub.resolve("mnist-cgan", allow_local=False) == ROOT / "checkpoints" / "mnist-cgan"


def test_on_a_space_a_visitors_jobs_and_models_are_theirs_alone(space_client, tmp_path):
    import time

    from test_train_jobs import zip_folder

    from genlab.testing import make_shapes_folder

    make_shapes_folder(tmp_path / "shapes", per_class=10, size=40, broken=False)
    data = handle_file(str(zip_folder(tmp_path / "shapes", tmp_path / "shapes.zip")))
    for minutes, resolution, words in [(5, 16, "at most 1 minutes"), (0, 16, "at most 1 minutes"),
                                       (1, 128, "from 16 to 64|Resolution.*128 is not one of the choices")]:
        with pytest.raises(Exception, match=words):
            space_client.predict("upload", data, None, "gan", resolution, 3, "crop", minutes, 8, 8, 4, "mine",
                                 api_name="/train_start")
    job = space_client.predict("upload", data, None, "gan", 16, 3, "crop", 1, 8, 8, 4, "mine",
                               api_name="/train_start")[0]
    stranger = Client(space_client.src, verbose=False)
    assert stranger.predict([], api_name="/train_jobs") == []  # sees nothing without the id
    assert stranger.predict(["someone-elses-guess"], api_name="/train_jobs") == []
    with pytest.raises(Exception, match="no such training job"):
        stranger.predict("mine", api_name="/train_stop")
    deadline = time.time() + 120
    while (s := space_client.predict(job, api_name="/train_status"))["state"] not in ("finished", "failed"):
        assert time.time() < deadline, s
        time.sleep(0.5)
    assert s["state"] == "finished" and s["model"] == f"mine-{job}", s
    assert [j["id"] for j in space_client.predict([job], api_name="/train_jobs")] == [job]
    assert space_client.predict("mnist-cgan", s["model"], 0, "circle", 1.0, 1, *DIRS, api_name="/sample")
    for guess in ("mine", "upload-gan", f"mine-{job[:-1]}"):  # the plain name, the default one, a near miss
        with pytest.raises(Exception, match="Unknown model"):
            stranger.predict("mnist-cgan", guess, 0, "any", 1.0, 1, *DIRS, api_name="/sample")
