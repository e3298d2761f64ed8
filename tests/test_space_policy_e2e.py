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
    with launched_app(log, extra_env={"SPACE_ID": "genlab/test-space", "GENLAB_FIRST_VISIT": "0"}) as (url, _):
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
