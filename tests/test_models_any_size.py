"""Every family at every supported size and channel count; configs round-trip; hostile configs refused."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

import genlab
from genlab.models import ConvVAE, Discriminator, Generator, ImageClassifier, PatchDiscriminator, UNetGenerator
from genlab.models.base import octaves

SIZES = [28, 32, 64, 128, 256]


@pytest.mark.parametrize("resolution", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_family_makes_and_takes_the_configured_size(resolution, channels):
    torch.manual_seed(0)
    x = torch.rand(2, channels, resolution, resolution) * 2 - 1
    g = Generator(latent_dim=8, embed_dim=4, channels=32, resolution=resolution, image_channels=channels, num_classes=3,
                  class_names=["a", "b", "c"]).eval()
    assert g(torch.randn(2, 8), torch.tensor([0, 3])).shape == x.shape
    d = Discriminator(channels=8, resolution=resolution, image_channels=channels, num_classes=3)
    assert d(x, torch.tensor([1, 3])).shape == (2,)
    vae = ConvVAE(latent_dim=4, channels=8, hidden=16, resolution=resolution, image_channels=channels)
    assert vae.decode(vae.encode(x)[0]).shape == x.shape
    u = UNetGenerator(channels=8, resolution=resolution, in_channels=1, image_channels=channels)
    assert u(x[:, :1]).shape == x.shape
    p = PatchDiscriminator(channels=8, resolution=resolution, in_channels=1, image_channels=channels)
    logits = p(x[:, :1], x)
    assert logits.shape[:2] == (2, 1) and 4 <= logits.shape[-1] <= 8  # about 8x8 patches (7x7 at 28 px)
    c = ImageClassifier(num_classes=3, channels=8, feature_dim=16, resolution=resolution, image_channels=channels)
    assert c(x).shape == (2, 3) and c.features(x).shape == (2, 16)


def test_one_block_per_octave():
    assert [octaves(r) for r in (28, 32, 48, 64, 128, 256)] == [(2, 7), (3, 4), (3, 6), (4, 4), (5, 4), (6, 4)]
    ups = lambda r: sum(isinstance(m, torch.nn.ConvTranspose2d) for m in Generator(resolution=r).net)  # noqa: E731
    assert [ups(r) for r in (32, 64, 128)] == [3, 4, 5]
    for bad in (0, 7, 30, 100, 1024, 28.0, "64"):
        with pytest.raises(ValueError, match="resolution"):
            octaves(bad)


def test_colour_checkpoint_round_trip_keeps_class_names(tmp_path):
    g = Generator(latent_dim=8, embed_dim=4, channels=16, resolution=64, image_channels=3, num_classes=2,
                  class_names=["cells", "debris"], preprocess="pad")
    g.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["resolution"] == 64 and config["image_channels"] == 3 and config["class_names"] == ["cells", "debris"]
    loaded = genlab.load(str(tmp_path), device=None)
    assert loaded.labels == ["cells", "debris"] and loaded.preprocess == "pad"
    z = torch.randn(1, 8)
    assert torch.equal(g.eval()(z, torch.tensor([1])), loaded(z, torch.tensor([1])))


@pytest.mark.parametrize("field, value, message", [
    ("channels", 10**6, "outside"),
    ("latent_dim", -3, "outside"),
    ("num_classes", 10**9, "outside"),
    ("resolution", 100000, "resolution"),
    ("resolution", 30, "resolution"),
    ("image_channels", 4, "image_channels"),
    ("class_names", ["../../etc", "b"], "class_names"),
    ("class_names", ["a"], "class_names"),
    ("preprocess", "exec", "preprocess"),
])
def test_hostile_configs_are_refused_before_building(tmp_path, field, value, message):
    Generator(latent_dim=8, embed_dim=4, channels=16, num_classes=2).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config[field] = value
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(genlab.CheckpointError, match=message):
        genlab.load(str(tmp_path), device=None)


def test_weights_of_another_size_are_a_readable_error(tmp_path):
    Generator(latent_dim=8, embed_dim=4, channels=16).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["resolution"] = 64  # the weights are for 28 px
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(genlab.CheckpointError, match="do not match"):
        genlab.load(str(tmp_path), device=None)
    save_file({"x": torch.zeros(1)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(genlab.CheckpointError):
        genlab.load(str(tmp_path), device=None)


def test_a_huge_config_is_refused_from_shapes_alone(tmp_path):
    """Each value within its bound, together far too big: refused on the meta device, nothing allocated."""
    import resource

    ImageClassifier(channels=8, feature_dim=16).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config.update(channels=1024, feature_dim=4096, resolution=512, image_channels=3)  # ~540M weights
    (tmp_path / "config.json").write_text(json.dumps(config))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(genlab.CheckpointError, match="refusing"):
        genlab.load(str(tmp_path), device=None)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB: far below the 2 GB it asks


def test_weights_header_is_checked_against_the_config(tmp_path):
    Generator(latent_dim=8, embed_dim=4, channels=16).save_pretrained(tmp_path)
    from safetensors.torch import load_file

    tensors = load_file(str(tmp_path / "model.safetensors"))
    tensors["fc.weight"] = torch.zeros(3, 3)
    tensors["extra"] = torch.zeros(1)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(genlab.CheckpointError, match=r"fc.weight: \[3, 3\] in the file.*unexpected extra"):
        genlab.load(str(tmp_path), device=None)


def test_a_classifier_reads_other_sizes_by_resampling_to_its_own():
    """One feature net measures a 32-px and a 64-px model: other sizes are resampled (antialiased bilinear)
    to the classifier's own; its own size passes unchanged."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    c = ImageClassifier(num_classes=9, image_channels=3, resolution=64).eval()
    small = torch.rand(2, 3, 32, 32) * 2 - 1
    up = F.interpolate(small, size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
    assert torch.equal(c(small), c(up)) and c.features(small).shape == (2, 128)
    same = torch.rand(2, 3, 64, 64)
    assert c.fit_size(same) is same


def test_the_shape_check_builds_without_filling_and_leaves_other_builds_alone():
    """check_weights' meta build skips the random fills (and eye) that torch runs in Python on the meta device, whose
    first call imports torch._dynamo; every shipped family loads in a fresh process without importing it. A model
    built outside the check, or in another thread while it runs, is initialised as usual."""
    import subprocess
    import sys
    import threading

    from genlab.models.base import _NoMetaInit, meta_skeleton

    code = ("import sys, genlab\n"
            "for name in ('emoji-cgan', 'emoji-vae', 'emoji-classifier', 'emoji-sketch2color', 'emoji-openmoji2noto'):\n"
            "    genlab.load(name, device='cpu')\n"
            "print('dynamo' if 'torch._dynamo' in sys.modules else 'no dynamo')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "no dynamo"
    skeleton = meta_skeleton(ConvVAE, {"latent_dim": 6, "prior_components": 3})
    assert skeleton.prior_scale_tril.shape == (3, 6, 6) and skeleton.prior_scale_tril.is_meta
    assert all(t.is_meta for t in skeleton.state_dict().values())  # nothing allocated
    with torch.device("meta"), _NoMetaInit():  # the mode as meta_skeleton holds it, while another thread builds
        built = {}
        thread = threading.Thread(target=lambda: built.update(e=torch.nn.Embedding(50, 40), eye=torch.eye(3)))
        thread.start()
        thread.join()
        here = torch.nn.init.normal_(torch.zeros(100, device="cpu"), std=2.0, generator=torch.Generator().manual_seed(0))
    assert not built["e"].weight.is_meta and 0.8 < built["e"].weight.std().item() < 1.2  # N(0, 1), as usual
    assert torch.equal(built["eye"], torch.eye(3))
    assert 1.5 < here.std().item() < 2.5  # a real tensor in the same thread is filled too
