"""The in-page generator's server side: ONNX export, the spec the page computes from, named directions."""

from __future__ import annotations

import base64

import numpy as np
import onnxruntime as ort
import pytest
import torch

import genlab
from genlab.tasks.directions import hue_name, measure, name_directions
from genlab.models import ConvVAE, Generator
from genlab.tasks.sampling import MAX_SAMPLES, SamplingError, latents, sample, sefa_directions
from genlab.web import ExportError, digest, export_onnx, gan_spec, vae_spec


def _floats(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


def _run(path, **feeds):
    return ort.InferenceSession(str(path)).run(None, {k: v.numpy() for k, v in feeds.items()})[0]


@pytest.mark.parametrize("kwargs", [dict(latent_dim=8, channels=16, embed_dim=4),
                                    dict(latent_dim=16, channels=32, embed_dim=4, num_classes=3,
                                         image_channels=3, resolution=32, class_names=["a", "b", "c"]),
                                    dict(latent_dim=8, channels=16, num_classes=0, resolution=64),
                                    dict(latent_dim=8, channels=16, embed_dim=4, num_classes=3, image_channels=3,
                                         resolution=32, arch="dcgan-cbn")])
def test_exported_generator_matches_torch_at_every_batch_size(kwargs):
    torch.manual_seed(0)
    g = Generator(**kwargs).eval()
    for m in g.modules():  # conditional BN starts as plain BN: give the class a say in the graph
        if hasattr(m, "gain"):
            torch.nn.init.normal_(m.gain.weight, std=0.5)
            torch.nn.init.normal_(m.bias.weight, std=0.5)
    path = export_onnx(g)
    for n in (1, 5, MAX_SAMPLES):
        z = torch.randn(n, g.latent_dim)
        labels = torch.randint(0, g.any_class + 1, (n,))
        out = _run(path, z=z, labels=labels, embed_shift=torch.zeros(n, g.embed.embedding_dim))
        assert out.shape == (n, g.image_channels, g.resolution, g.resolution)
        np.testing.assert_allclose(out, g(z, labels).detach().numpy(), atol=2e-5)


def test_exported_vae_decoder_matches_torch():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=6, image_channels=3, resolution=32).eval()
    z = torch.randn(9, 6)
    np.testing.assert_allclose(_run(export_onnx(vae), z=z), vae.decode(z).detach().numpy(), atol=2e-5)
    assert not vae.training  # the app's cached model stays in eval mode (its wrapper is not what is restored)


def test_export_is_once_per_weights_and_keeps_the_model_as_it_was(tiny_gan):
    path = export_onnx(tiny_gan)
    mtime = path.stat().st_mtime_ns
    assert export_onnx(tiny_gan) == path and path.stat().st_mtime_ns == mtime
    tiny_gan.train()
    other = Generator(latent_dim=8, channels=16, embed_dim=4)
    with torch.no_grad():
        other.load_state_dict(tiny_gan.state_dict())
        other.fc.weight.add_(0.1)
    assert export_onnx(other) != path  # other weights, other file
    assert other.training and tiny_gan.training  # export switched to eval and back
    assert path.name.startswith("gan2-") and path.suffix == ".onnx"  # gan2: with the class sliders' input


def test_only_generators_and_decoders_are_exported():
    with pytest.raises(ExportError, match="only GAN generators and VAE decoders"):
        export_onnx(genlab.load("mnist-classifier"))


def test_the_spec_gives_the_page_what_sample_computes(tiny_gan):
    """The page's arithmetic (z * psi + offsets @ directions on the spec's data) through the exported graph
    equals sampling.sample for the same controls."""
    directions = sefa_directions(tiny_gan, 4)[0]
    for label, psi, n, offsets in [(None, 1.0, 16, [0, 0, 0, 0]), (3, 0.6, 1, [2.0, -1.5, 0, 0.5]),
                                   (tiny_gan.any_class, 0.0, 64, [0, 0, 5.0, 0])]:
        spec = gan_spec(tiny_gan, seed=11, label=label, directions=directions)
        z = _floats(spec["z"]).reshape(MAX_SAMPLES, spec["latent_dim"])[:n]
        d = _floats(spec["directions"]).reshape(spec["n_directions"], spec["latent_dim"])
        page_z = (z * np.float32(psi) + np.asarray(offsets, dtype=np.float32) @ d).astype(np.float32)
        page = _run(export_onnx(tiny_gan), z=torch.from_numpy(page_z),
                    labels=torch.tensor(spec["labels"][:n]), embed_shift=torch.zeros(n, spec["embed_dim"]))
        server = sample(tiny_gan, seed=11, label=label, psi=psi, n=n, offsets=offsets, directions=directions)
        np.testing.assert_allclose(page, server.numpy(), atol=1e-4)


def test_the_page_blends_classes_as_sample_does(tiny_gan):
    """The class sliders' arithmetic as genlab.js does it (shift_i = sum_c a_c (E[c] - E[label_i]) from the spec's
    embeddings) through the graph equals sampling.sample with class_amounts; amount 1 alone draws that class."""
    spec = gan_spec(tiny_gan, seed=4, label=None, class_sliders=list(range(tiny_gan.num_classes)), first_class_slider=0)
    n, e_dim = 16, spec["embed_dim"]
    embed = _floats(spec["embed"]).reshape(tiny_gan.num_classes, e_dim)
    own = _floats(spec["label_embed"]).reshape(MAX_SAMPLES, e_dim)[:n]
    z = torch.from_numpy(_floats(spec["z"]).reshape(MAX_SAMPLES, -1)[:n].copy())
    for amounts in ([0.0] * 10, [0, 0, 0, 1.0, 0, 0, 0, 0, 0, 0], [0.3, 0, 0, 0, 0, 0, 0.5, 0, 0, 0]):
        a = np.asarray(amounts, dtype=np.float32)
        shift = (a @ embed)[None] - a.sum() * own
        page = _run(export_onnx(tiny_gan), z=z, labels=torch.tensor(spec["labels"][:n]),
                    embed_shift=torch.from_numpy(shift.astype(np.float32)))
        server = sample(tiny_gan, seed=4, label=None, n=n, class_amounts=amounts)
        np.testing.assert_allclose(page, server.numpy(), atol=1e-4)
    three = sample(tiny_gan, seed=4, label=3, n=n)
    np.testing.assert_allclose(sample(tiny_gan, seed=4, label=None, n=n, class_amounts=[0, 0, 0, 1.0] + [0] * 6),
                               three.numpy(), atol=1e-5)
    with pytest.raises(SamplingError, match="from 0 to 1"):
        sample(tiny_gan, seed=4, n=2, class_amounts=[1.5])


def test_latents_do_not_depend_on_the_grid_size(tiny_gan):
    z64, l64 = latents(tiny_gan, seed=5, n=64)
    z3, l3 = latents(tiny_gan, seed=5, n=3)
    assert torch.equal(z64[:3], z3) and torch.equal(l64[:3], l3)
    assert set(l64.tolist()) <= set(range(tiny_gan.num_classes))  # "any": a random class each


def test_vae_spec_carries_both_latents_and_the_ranked_dimensions():
    vae = ConvVAE(latent_dim=6).eval()
    vae.kl_per_dim.copy_(torch.tensor([0.1, 3.0, 0.5, 2.0, 0.0, 1.0]))
    za, zb = torch.randn(6), torch.randn(6)
    spec = vae_spec(vae, za, zb, "linear", rows=3)
    np.testing.assert_array_equal(_floats(spec["za"]), za.numpy())
    np.testing.assert_array_equal(_floats(spec["zb"]), zb.numpy())
    assert spec["traversal_dims"] == [1, 3, 5] and spec["mode"] == "linear"


# --- named directions ---


def _strokes(width: int, slant: float = 0.0, size: int = 8, colour=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """A vertical bar (white on black by default), optionally sheared so its top leans right: (1, C, 28, 28)."""
    img = torch.full((3, 28, 28), -1.0)
    for y in range(14 - size, 14 + size):
        x = 14 + round(slant * (14 - y))
        img[:, y, x - width // 2: x - width // 2 + width] = torch.tensor(colour)[:, None] * 2 - 1
    return img[None]


def test_measurements_move_the_way_their_names_say():
    thin, thick = measure(_strokes(2)), measure(_strokes(5))
    assert thick["thickness"] > thin["thickness"]
    assert measure(_strokes(2, slant=0.5))["slant"] > 0.3 > measure(_strokes(2))["slant"].abs()
    assert measure(_strokes(2, slant=-0.5))["slant"] < -0.3
    assert measure(_strokes(2, size=12))["size"] > measure(_strokes(2, size=4))["size"]
    red, blue = measure(_strokes(4, colour=(1, 0, 0))), measure(_strokes(4, colour=(0, 0, 1)))
    assert hue_name(float(np.degrees(np.arctan2(red["hue_sin"], red["hue_cos"])))) == "red"
    assert hue_name(float(np.degrees(np.arctan2(blue["hue_sin"], blue["hue_cos"])))) == "blue"
    assert measure(_strokes(4, colour=(0.5, 0.5, 0.5)))["saturation"] < red["saturation"]


def test_shipped_gan_directions_are_named_by_effects_that_hold_on_other_samples():
    """The names come from seed 0; on seed 1's samples, moving along each named direction changes the
    named measure with the named sign."""
    g, classifier = genlab.load("mnist-cgan"), genlab.load("mnist-classifier").eval()
    directions = sefa_directions(g, 6)[0]
    named = name_directions(g, directions, classifier)
    assert len(named) == 6 and all(d["label"] and d["summary"] for d in named)
    assert named == name_directions(g, directions, classifier)  # deterministic
    z, labels = latents(g, seed=1, n=64)
    checked = 0
    with torch.no_grad():
        for d, info in zip(directions, named):
            for name, value, unit in info["effects"]:
                if unit != "SD" or abs(value) < 1.0:
                    continue
                lo, hi = measure(g(z - 2 * d, labels))[name], measure(g(z + 2 * d, labels))[name]
                assert np.sign(float((hi - lo).mean())) == np.sign(value), (info, name)
                checked += 1
    assert checked >= 2  # the shipped GAN has strong, named directions (slant, thickness)
    assert "more" in " ".join(d["label"] for d in named)  # and at least one class effect
    # what the checkpoint stores (directions.json, `genlab eval attributes`) is what the app would measure
    from genlab.hub import CHECKPOINTS_DIR
    from genlab.tasks.directions import DIRECTIONS_FILE, load_named

    path = CHECKPOINTS_DIR / "mnist-cgan" / DIRECTIONS_FILE
    stored = load_named(path, digest(g), 6)
    assert stored is not None, "directions.json is missing or was measured on other weights"
    assert [(d["label"], d["summary"]) for d in stored] == [(d["label"], d["summary"]) for d in named]
    assert load_named(path, "other-weights", 6) is None and load_named(path, digest(g), 65) is None


def test_stored_direction_names_are_read_back_and_bounded(tiny_gan, tmp_path):
    import json

    from genlab.tasks.directions import load_named, save_named

    named = name_directions(tiny_gan, sefa_directions(tiny_gan, 2)[0])
    path = save_named(named, tmp_path / "directions.json", "d1")
    back = load_named(path, "d1", 2)
    assert [d["label"] for d in back] == [d["label"] for d in named] and back[0]["effects"] == named[0]["effects"]
    assert load_named(path, "d1", 3) is None  # fewer stored than the tab shows: measured afresh
    data = json.loads(path.read_text())
    data["named"][0]["label"] = "x" * 10_000
    path.write_text(json.dumps(data))
    assert load_named(path, "d1", 2) is None  # a malformed entry is not shown
    path.write_text("{not json")
    assert load_named(path, "d1", 2) is None


def test_class_effects_only_with_a_classifier_that_knows_the_classes(tiny_gan):
    digits = genlab.load("mnist-classifier")
    named = name_directions(tiny_gan, sefa_directions(tiny_gan, 2)[0], digits)  # 28 px grey, classes 0-9
    assert sum(e[0].startswith("p(") for e in named[0]["effects"]) == 2  # the class gained most and lost most
    colour = Generator(latent_dim=8, channels=16, embed_dim=4, image_channels=3, resolution=32).eval()
    named = name_directions(colour, sefa_directions(colour, 2)[0], digits)  # other size and channels: ignored
    assert all(not e[0].startswith("p(") for d in named for e in d["effects"])
    assert {"thickness", "size", "slant", "brightness", "saturation", "hue"} <= {e[0] for e in named[0]["effects"]}


def test_the_page_is_told_why_when_it_must_use_the_server(tiny_gan, monkeypatch):
    from genlab import web
    from genlab.ui import common

    assert common.with_graph({"kind": "gan"}, tiny_gan)["onnx"].startswith("gradio_api/file=/")
    monkeypatch.setattr(common, "WEB_ENABLED", False)
    spec = common.with_graph({"kind": "gan"}, tiny_gan)
    assert spec["onnx"] is None and "GENLAB_WEB=0" in spec["reason"]
    monkeypatch.setattr(common, "WEB_ENABLED", True)
    monkeypatch.setattr(web, "MAX_PAGE_PARAMETERS", 1000)  # a model too big to send to a browser
    spec = common.with_graph({"kind": "gan"}, tiny_gan)
    assert spec["onnx"] is None and "weights; the page draws models of up to" in spec["reason"]


def test_the_graph_folder_keeps_only_the_newest_files(monkeypatch, tmp_path):
    from genlab import web

    monkeypatch.setattr(web, "MAX_FILES", 3)
    monkeypatch.setattr(web, "onnx_dir", lambda: tmp_path)
    paths = []
    for i in range(5):
        torch.manual_seed(i)
        paths.append(export_onnx(Generator(latent_dim=4, channels=8, embed_dim=2).eval()))
    assert sorted(tmp_path.glob("*.onnx")) == sorted(paths[-3:])
