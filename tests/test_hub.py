import json

import pytest
import torch
from safetensors.torch import save_file

import genlab
from genlab import hub
from genlab.models import ImageClassifier, Generator


def test_save_pretrained_round_trip(tmp_path, tiny_gan):
    tiny_gan.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors", "README.md"} <= {p.name for p in tmp_path.iterdir()}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "gan" and config["latent_dim"] == 8
    loaded = genlab.load(str(tmp_path), device=None)
    assert isinstance(loaded, Generator) and not loaded.training
    for k, v in tiny_gan.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    z = torch.randn(2, 8)
    assert torch.allclose(tiny_gan(z, torch.tensor([1, 2])), loaded(z, torch.tensor([1, 2])))
    # the mixin's own loader, strict, agrees
    assert isinstance(Generator.from_pretrained(tmp_path, strict=True), Generator)


def test_shipped_names_load():
    assert set(genlab.shipped_names()) == set(hub.SHIPPED)
    for name, kind in hub.SHIPPED.items():
        assert isinstance(genlab.load(name, device=None), hub.MODEL_TYPES[kind])


def test_unknown_name_lists_valid_ones():
    with pytest.raises(genlab.UnknownModelError) as e:
        genlab.load("no-such-model")
    for name in hub.SHIPPED:
        assert name in str(e.value)


@pytest.mark.parametrize("name", ["../checkpoints/mnist-cgan", "..", "a/../../etc", "/", "mnist-cgan/../../x"])
def test_names_never_become_paths_outside(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # none of these is a checkpoint folder from here
    with pytest.raises(genlab.GenlabError):
        genlab.load(name)


def test_dotdot_is_refused_even_when_the_folder_exists(tmp_path, monkeypatch, tiny_gan):
    tiny_gan.save_pretrained(tmp_path / "ckpt")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(genlab.UnknownModelError, match=r"'\.\.'"):
        genlab.load("../ckpt")
    assert isinstance(genlab.load(str(tmp_path / "ckpt"), device=None), Generator)  # absolute is fine


def test_wrong_family_is_refused():
    with pytest.raises(genlab.CheckpointError, match="classifier"):
        genlab.load("mnist-classifier", model_type="gan")


def test_offline_hub_miss_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(genlab.HubNotCachedError) as e:
        genlab.load("someone/not-cached-gan")
    assert "hf download someone/not-cached-gan" in str(e.value)


def test_hub_repo_loads_from_offline_cache(tmp_path, monkeypatch, tiny_gan):
    """A repo already in the HF cache loads with no network (cache laid out as the hub does)."""
    snap = tmp_path / "models--someone--cached-gan" / "snapshots" / ("a" * 40)
    tiny_gan.save_pretrained(snap)
    (tmp_path / "models--someone--cached-gan" / "refs").mkdir()
    (tmp_path / "models--someone--cached-gan" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    g = genlab.load("someone/cached-gan", device=None)
    assert isinstance(g, Generator) and g.latent_dim == 8


def test_corrupt_checkpoints_give_typed_errors(tmp_path, tiny_gan):
    tiny_gan.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    good = weights.read_bytes()

    weights.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(genlab.CheckpointError, match="corrupt"):
        genlab.load(str(tmp_path))

    weights.write_bytes(good)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "channels": 32}))  # config != weights
    with pytest.raises(genlab.CheckpointError, match="do not match"):
        genlab.load(str(tmp_path))

    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(genlab.CheckpointError, match="JSON"):
        genlab.load(str(tmp_path))

    (tmp_path / "config.json").write_text(json.dumps(config))
    state = {k: v.clone() for k, v in tiny_gan.state_dict().items()}
    state["fc.weight"][0, 0] = float("nan")
    save_file(state, str(weights))
    with pytest.raises(genlab.CheckpointError, match="NaN"):
        genlab.load(str(tmp_path))


def test_pickle_only_folder_is_refused_without_unpickling(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gan"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"not even read")
    with pytest.raises(genlab.CheckpointError, match="never unpickles"):
        genlab.load(str(tmp_path))


def test_loads_on_cpu_float32_by_default(tmp_path):
    c = ImageClassifier()
    c.half().save_pretrained(tmp_path)  # e.g. saved by a GPU run in half precision
    loaded = genlab.load(str(tmp_path), device=None)
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in loaded.parameters())


def test_checkpoints_folder_lists_what_it_holds(tmp_path, monkeypatch, tiny_gan):
    """GENLAB_CHECKPOINTS (a Space carrying some models, or an installed package): the names served are the
    folders there; a model trained into it is listed by name; a shipped name it lacks says so."""
    import shutil

    shutil.copytree(hub.CHECKPOINTS_DIR / "mnist-cgan", tmp_path / "mnist-cgan")
    tiny_gan.save_pretrained(tmp_path / "my_photos-gan")
    (tmp_path / "not-a-model").mkdir()
    (tmp_path / "bad name!").mkdir()
    tiny_gan.save_pretrained(tmp_path / "bad name!")
    monkeypatch.setattr(hub, "CHECKPOINTS_DIR", tmp_path)
    assert hub.available() == {"mnist-cgan": "gan", "my_photos-gan": "gan"}
    assert genlab.shipped_names("gan") == ["mnist-cgan", "my_photos-gan"] and genlab.shipped_names("vae") == []
    assert hub.resolve("my_photos-gan", allow_local=False) == tmp_path / "my_photos-gan"
    assert isinstance(genlab.load("my_photos-gan", device=None), Generator)
    with pytest.raises(genlab.UnknownModelError, match="does not carry it"):
        genlab.load("mnist-vae")
    with pytest.raises(genlab.UnknownModelError):
        hub.resolve("bad name!", allow_local=False)
