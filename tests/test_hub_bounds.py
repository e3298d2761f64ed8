"""Hub loading within bounds, against a local fake of the Hugging Face cache (no network):
config checked first, weights' size bounded before download, failed lookups remembered,
no server token for a caller's repo id on a public server, and an offline switch."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import LocalEntryNotFoundError

import genlab
from genlab import hub
from genlab.models import Generator


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    """A cached snapshot of a tiny GAN as `hf download` would leave it, and offline mode."""
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("GENLAB_OFFLINE", "1")
    monkeypatch.setattr(hub, "_hub_failures", {})

    def add(repo_id: str, config_edit=None, weights: bool = True):
        repo = tmp_path / f"models--{repo_id.replace('/', '--')}"
        snap = repo / "snapshots" / "0123456789abcdef"
        Generator(latent_dim=8, embed_dim=4, channels=16).save_pretrained(snap)
        (snap / "README.md").unlink()
        if config_edit:
            config = json.loads((snap / "config.json").read_text())
            config.update(config_edit)
            (snap / "config.json").write_text(json.dumps(config))
        if not weights:
            (snap / "model.safetensors").unlink()
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text("0123456789abcdef")
        return snap

    return add


def test_cached_repo_loads_offline_also_on_a_public_server(fake_cache):
    fake_cache("tester/tiny-gan")
    assert isinstance(genlab.load("tester/tiny-gan", device=None), Generator)
    assert isinstance(genlab.load("tester/tiny-gan", device=None, allow_local=False), Generator)


def test_weights_over_the_size_limit_are_refused(fake_cache, monkeypatch):
    fake_cache("tester/big-gan")
    monkeypatch.setattr(hub, "HUB_MAX_MB", 0.01)  # the tiny GAN's weights are about 0.1 MB
    with pytest.raises(genlab.CheckpointError, match="loads at most"):
        genlab.load("tester/big-gan", device=None)


def test_hostile_config_is_refused_before_the_weights_are_fetched(fake_cache, monkeypatch):
    fake_cache("tester/hostile", config_edit={"channels": 10**6}, weights=False)
    with pytest.raises(genlab.CheckpointError, match="outside"):  # not "not cached": the config is judged first
        genlab.load("tester/hostile", device=None)


def test_offline_switch_and_missing_repo(fake_cache):
    with pytest.raises(genlab.HubNotCachedError, match="not in the local Hugging Face cache"):
        genlab.load("tester/never-downloaded", device=None)


def test_failed_lookups_are_remembered(monkeypatch):
    monkeypatch.setattr(hub, "_hub_failures", {})
    calls = []

    def failing(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs.get("token")))
        raise LocalEntryNotFoundError("offline")

    monkeypatch.setattr(hub, "hf_hub_download", failing)
    for _ in range(3):
        with pytest.raises(genlab.HubNotCachedError):
            genlab.load("tester/flaky", device=None, allow_local=False)
    assert len(calls) == 1  # the next two were answered from memory
    assert calls[0][2] is False  # a public server never lends its token to a caller's repo id
    monkeypatch.setattr(hub, "HUB_RETRY_SECONDS", 0)
    with pytest.raises(genlab.HubNotCachedError):
        genlab.load("tester/flaky", device=None)
    assert len(calls) == 2 and calls[1][2] is None  # retried after the window; locally the user's login


def test_app_cache_asks_the_hub_once_per_model_not_per_event(fake_cache, monkeypatch):
    """A slider event on a Hub model must not make a Hub request: the app's cache loads it once."""
    from genlab.ui import common

    fake_cache("tester/slider-gan")
    calls = []
    real = hub.hf_hub_download

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(hub, "hf_hub_download", counting)
    common._cached.cache_clear()
    models = {id(common.cached_model("tester/slider-gan", "gan")) for _ in range(5)}
    assert len(models) == 1 and len(calls) == 2  # config.json and model.safetensors, once
