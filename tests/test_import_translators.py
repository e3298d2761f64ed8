"""genlab import of pytorch-CycleGAN-and-pix2pix generators: the four upstream generator types and a CycleGAN pair
equal the reference network on the same weights (tests/data/zoo: outputs of scripts/zoo_reference.py's transcription
of upstream), options are inferred from the weights, photos translate at their own size, and files that are not
plain tensors are refused without running anything."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.errors import CheckpointError
from genlab.formats import import_checkpoint
from genlab.tasks.translation import photo_input, translate_photo, translate_photo_pair
from zoo_fixtures import CASES, hostile_pth, reference, state

SINGLE = {"grey2colour_resnet6": "grey2colour_resnet6.pth", "facades_label2photo": "facades_label2photo.pth",
          "sketch_unet128": "sketch_unet128.pth", "horse2zebra_G_A": "horse2zebra.pth"}


@pytest.fixture(scope="module")
def imported(zoo, tmp_path_factory):
    """Every fixture imported once: the four single files and the pair."""
    out = tmp_path_factory.mktemp("zoo-imported")
    results = {case: import_checkpoint(zoo / f, case, out) for case, f in SINGLE.items()}
    results["pair"] = import_checkpoint([zoo / "horse2zebra" / "latest_net_G_A.pth",
                                         zoo / "horse2zebra" / "latest_net_G_B.pth"], "horse2zebra-pair", out)
    return {k: genlab.load(str(r.folder), device=None) for k, r in results.items()}, results


@pytest.mark.parametrize("case", list(SINGLE))
def test_eval_mode_equals_the_reference_network(imported, case):
    models, _ = imported
    ref = reference(case)
    with torch.no_grad():
        y = models[case](ref["x"])
    assert y.shape == ref["eval"].shape
    assert (y - ref["eval"]).abs().max().item() < 1e-4
    assert ref["eval"].std() > 0.03  # the reference outputs carry signal (not a saturated or constant picture)


@pytest.mark.parametrize("case", ["grey2colour_resnet6", "facades_label2photo"])
def test_batch_statistics_equal_upstream_train_mode(imported, case, monkeypatch):
    """Variety's normalisation is upstream's train mode: with dropout switched off, it equals the reference network
    in train mode (its Dropout modules off), and differs from eval mode (the running statistics)."""
    import genlab.models.zoo as zoo_models

    models, _ = imported
    ref = reference(case)
    monkeypatch.setattr(zoo_models, "dropout", lambda x, on, generator: x)
    with torch.no_grad():
        y = models[case](ref["x"], variety=True)
    assert (y - ref["batch_stats"]).abs().max().item() < 1e-4
    assert (ref["batch_stats"] - ref["eval"]).abs().max().item() > 1e-2


def test_pair_equals_both_reference_networks(imported):
    models, results = imported
    pair = models["pair"]
    assert pair.model_type == "zoo-cyclegan" and pair.domains == {"A": "horse", "B": "zebra"}
    for direction, case in (("A->B", "horse2zebra_G_A"), ("B->A", "horse2zebra_G_B")):
        ref = reference(case)
        with torch.no_grad():
            assert (pair(ref["x"], direction) - ref["eval"]).abs().max().item() < 1e-4
    out, back = translate_photo_pair(pair, reference("horse2zebra_G_A")["x"], "A->B")
    with torch.no_grad():
        assert torch.allclose(back, pair(out, "B->A"), atol=1e-5)  # the cycle view: A -> B -> A
    assert "horse → zebra (G_A), zebra → horse (G_B)" in results["pair"].card


def test_options_inferred_from_the_weights(imported):
    models, results = imported
    for case, (arch, norm, dropout, cin, cout, ngf, _, _) in CASES.items():
        if case not in models:
            continue
        m = models[case]
        assert (m.arch, m.norm, m.in_channels, m.image_channels, m.ngf) == (arch, norm, cin, cout, ngf), case
        assert m.dropout == (dropout or arch.startswith("unet")), case  # a U-Net's: assumed on (no weights say)
    assert models["horse2zebra_G_A"].direction_name == "horse → zebra"  # from the zoo's file name
    assert models["facades_label2photo"].direction_name == "labels → facade photo"
    notes = " ".join(results["horse2zebra_G_A"].notes)
    assert "dropped 69 stale InstanceNorm" in notes  # 23 norms x (running_mean, running_var, num_batches_tracked)
    assert "--no-dropout" in " ".join(results["facades_label2photo"].notes)  # a U-Net's dropout: assumed, and said
    assert models["grey2colour_resnet6"].direction_name == "grey → colour"  # "<x>2<y>" in a name
    assert models["sketch_unet128"].direction_name == "A → B"  # no direction in the name: A -> B, and said
    assert "--domains" in " ".join(results["sketch_unet128"].notes)


def test_unknown_keys_and_shapes_refused(zoo, tmp_path):
    """A key no upstream generator has is refused by its name in the file; so is a shape its neighbours contradict."""
    bad = state("horse2zebra_G_A")
    bad["model.1.extra"] = torch.zeros(3)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="model.1.extra"):
        import_checkpoint(tmp_path / "bad.pth", "bad", tmp_path / "out")
    short = state("horse2zebra_G_A")
    short["model.4.weight"] = short["model.4.weight"][:, :5]  # a conv whose shape the others contradict
    torch.save(short, tmp_path / "short.pth")
    with pytest.raises(CheckpointError, match="do not match"):
        import_checkpoint(tmp_path / "short.pth", "short", tmp_path / "out")


def test_variety_samples_differ_and_are_seeded(imported):
    g = imported[0]["facades_label2photo"]
    x = reference("facades_label2photo")["x"]
    a = translate_photo(g, x, k=3, seed=5, variety=True)
    assert a.shape == (3, 3, 256, 256)
    assert torch.equal(a, translate_photo(g, x, k=3, seed=5, variety=True))
    assert (a[0] - a[1]).abs().max() > 1e-3  # dropout masks differ per sample
    one = translate_photo(g, x, k=3, seed=5)  # eval mode: one answer, k ignored
    assert one.shape == (1, 3, 256, 256) and (one - reference("facades_label2photo")["eval"]).abs().max() < 1e-4
    h2z = imported[0]["horse2zebra_G_A"]  # no dropout, instance norm: variety has nothing to vary
    assert translate_photo(h2z, reference("horse2zebra_G_A")["x"], k=4, variety=True).shape[0] == 1


def test_photos_at_their_own_size(imported, tmp_path):
    """A ResNet runs at the upload's size rounded to multiples of 4, the long side capped; a U-Net is padded to its
    multiple and cropped back; grey, alpha and 16-bit uploads convert."""
    models, _ = imported
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (301, 450, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    x = photo_input(tmp_path / "photo.png", 3)
    assert x.shape == (1, 3, 300, 448)  # 301 x 450 -> multiples of 4 as upstream rounds them (Python round: 112.5 -> 112)
    y = translate_photo(models["horse2zebra_G_A"], x)
    assert y.shape == (1, 3, 300, 448) and y.abs().max() <= 1
    u = translate_photo(models["sketch_unet128"], x)  # padded to 384 x 512, cropped back
    assert u.shape == (1, 1, 300, 448)
    big = tmp_path / "big.jpg"
    Image.fromarray(rng.integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(big, quality=80)
    assert photo_input(big, 3, max_side=1024).shape == (1, 3, 768, 1024)
    Image.fromarray((rng.random((40, 64)) * 65535).astype(np.uint16)).save(tmp_path / "deep.png")
    assert photo_input(tmp_path / "deep.png", 1).shape == (1, 1, 40, 64)
    Image.new("RGBA", (64, 48), (255, 0, 0, 0)).save(tmp_path / "alpha.png")
    assert photo_input(tmp_path / "alpha.png", 3).shape == (1, 3, 48, 64)
    tiny = translate_photo(models["facades_label2photo"], photo_input(big, 3, max_side=100))  # 100x76 -> padded 256
    assert tiny.shape == (1, 3, 76, 100)


def test_a_pair_must_be_one_cyclegan(zoo, tmp_path):
    with pytest.raises(CheckpointError, match="not the two generators of one CycleGAN"):
        import_checkpoint([zoo / "horse2zebra.pth", zoo / "sketch_unet128.pth"], "mixed", tmp_path)
    with pytest.raises(CheckpointError, match="one checkpoint file, or two"):
        import_checkpoint([zoo / "horse2zebra.pth"] * 3, "three", tmp_path)
    reversed_pair = import_checkpoint([zoo / "horse2zebra" / "latest_net_G_B.pth",
                                       zoo / "horse2zebra" / "latest_net_G_A.pth"], "swapped", tmp_path,
                                      domains=("horse", "zebra"))
    m = genlab.load(str(reversed_pair.folder), device=None)
    ref = reference("horse2zebra_G_A")
    with torch.no_grad():  # G_A is A -> B whichever order the files came in
        assert (m(ref["x"], "A->B") - ref["eval"]).abs().max() < 1e-4


def test_families_and_model_boxes(imported, zoo, tmp_path):
    """A translator is not a GAN: the GAN tab's import refuses it, and the GAN tools' load refuses it."""
    from genlab.hub import GAN_TYPES

    with pytest.raises(CheckpointError, match="image translator"):
        import_checkpoint(zoo / "horse2zebra.pth", "h2z-as-gan", tmp_path, accept=GAN_TYPES)
    _, results = imported
    folder = str(results["horse2zebra_G_A"].folder)
    assert genlab.load(folder, model_type="pix2pix", device=None).model_type == "zoo-translator"
    assert genlab.load(str(results["pair"].folder), model_type="cyclegan", device=None).model_type == "zoo-cyclegan"
    with pytest.raises(CheckpointError, match="'gan' model is needed"):
        genlab.load(folder, model_type="gan")


def test_a_pth_that_would_run_a_command_is_refused(tmp_path):
    """torch.load(weights_only=True) refuses a reduce to os.system; the marker file never appears."""
    marker = tmp_path / "ran"
    evil = hostile_pth(tmp_path / "latest_net_G.pth", marker)
    with pytest.raises(CheckpointError, match="weights_only"):
        import_checkpoint(evil, "evil", tmp_path / "out")
    assert not marker.exists()


def test_cli_imports_a_pair(zoo, tmp_path):
    out = subprocess.run([sys.executable, "-m", "genlab", "import", str(zoo / "horse2zebra" / "latest_net_G_A.pth"),
                          str(zoo / "horse2zebra" / "latest_net_G_B.pth"), "--name", "h2z", "--out", str(tmp_path),
                          "--domains", "horse", "zebra"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Translation tab" in out.stdout and (tmp_path / "h2z" / "model.safetensors").is_file()
    bad = subprocess.run([sys.executable, "-m", "genlab", "import", str(zoo / "horse2zebra.pth"), "--name", "x",
                          "--out", str(tmp_path), "--domains", "horse"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--domains" in bad.stderr  # argparse: two names


@pytest.mark.parametrize("change, named", [({"arch": "resnet_99blocks"}, "arch"), ({"arch": "unet_1024"}, "arch"),
                                           ({"ngf": 100_000}, "ngf"), ({"norm": "group"}, "norm"),
                                           ({"in_channels": 4}, "in_channels"), ({"dropout": "yes"}, "dropout"),
                                           ({"trained_size": 10**6}, "trained_size"), ({"source": "x" * 500}, "domain"),
                                           ({"arch": "resnet_32blocks", "ngf": 256}, "615,919,619 weights")])
def test_a_hostile_config_is_refused_before_anything_is_allocated(imported, tmp_path, change, named):
    """config.json is untrusted: every field is bounded (the last one: 616 M weights, over the 200 M limit)."""
    import json
    import shutil

    _, results = imported
    folder = tmp_path / "tampered"
    shutil.copytree(results["horse2zebra_G_A"].folder, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(CheckpointError, match=named):  # refused for the field itself, not something after it
        genlab.load(str(folder), device=None)
