"""CycleGAN: the model family, the unpaired emoji-design data, training on two folders, evaluation, and the
Translation tab's /translate_unpaired endpoint (shipped emoji-openmoji2noto and a folder-trained model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from PIL import Image

import genlab
from genlab.errors import CheckpointError, DatasetError
from genlab.hub import CHECKPOINTS_DIR
from genlab.models.cyclegan import CycleDiscriminator, CycleGAN, ImagePool, lsgan

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


# --- the model family -----------------------------------------------------------------------------------


@pytest.mark.parametrize("res, c", [(16, 1), (32, 3), (48, 3), (64, 1)])
def test_both_generators_keep_the_shape_and_range(res, c):
    m = CycleGAN(channels=4, blocks=1, resolution=res, image_channels=c).eval()
    x = torch.rand(2, c, res, res) * 2 - 1
    for direction in ("A->B", "B->A"):
        y = m(x, direction)
        assert y.shape == x.shape and y.abs().max() <= 1
    out, back = m.translate_and_back(x, "B->A")
    assert out.shape == back.shape == x.shape
    assert not torch.equal(m(x, "A->B"), m(x, "B->A"))  # two different generators
    assert CycleDiscriminator(channels=4, resolution=res, image_channels=c)(x).shape[1] == 1


def test_bad_configs_are_refused_before_building():
    for kwargs in ({"resolution": 30}, {"resolution": 28 * 2 + 2}, {"blocks": 0}, {"blocks": 500},
                   {"image_channels": 2}, {"domain_a": ""}, {"domain_b": "x" * 81}, {"preprocess": "../x"},
                   {"downsamples": 3}):
        with pytest.raises(ValueError):
            CycleGAN(**kwargs)
    with pytest.raises(ValueError, match="A->B or B->A"):
        CycleGAN(channels=4, blocks=1, resolution=16)(torch.zeros(1, 3, 16, 16), "sideways")


def test_save_load_round_trip_keeps_both_generators_and_domains(tmp_path):
    m = CycleGAN(channels=4, blocks=1, resolution=16, domain_a="summer", domain_b="winter").eval()
    m.save_pretrained(tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert config["model_type"] == "cyclegan" and config["domain_b"] == "winter"
    back = genlab.load(str(tmp_path / "ck"), device=None)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert back.domains == {"A": "summer", "B": "winter"}
    assert torch.equal(back(x, "A->B"), m(x, "A->B")) and torch.equal(back(x, "B->A"), m(x, "B->A"))
    config["blocks"] = 10_000  # a hostile config: refused before any layer is built
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="blocks"):
        genlab.load(str(tmp_path / "ck"), device=None)


def test_image_pool_mixes_past_fakes_in_and_keeps_its_size():
    pool = ImagePool(4, torch.Generator().manual_seed(0))
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling up: the new fakes themselves
    later = [pool.query(torch.full((4, 1, 1, 1), 10.0 + i)) for i in range(5)]
    assert len(pool.images) == 4
    assert any((q < 10).any() for q in later)  # some answers are older fakes
    assert torch.equal(ImagePool(0).query(first), first)
    assert lsgan(torch.ones(3), True) == 0 and lsgan(torch.zeros(3), False) == 0


# --- the two emoji designs, unpaired --------------------------------------------------------------------


def test_emoji_designs_are_split_so_no_emoji_is_seen_in_both():
    from genlab.datasets.emoji import held_out
    from genlab.datasets.emoji_styles import half, style_sets

    s = style_sets(16, limit=12)
    assert s.a.channels == s.b.channels == 3 and s.a.root.startswith("openmoji") and s.b.root.startswith("noto")
    assert len(s.a) + len(s.b) == len(s.pairs) and len(s.held_out) > 0
    # the same emoji in both designs differs (outlines vs none), and the held-out pairs line up by emoji
    assert not torch.equal(s.held_out.a.images, s.held_out.b.images)
    assert torch.equal(s.held_out.a.labels, s.held_out.b.labels)
    assert half("1F600") in "AB" and held_out("1F600") in (True, False)
    # A's emoji and B's emoji are disjoint: none of A's images is the OpenMoji drawing of one of B's emoji
    pair_a = {bytes(x.numpy()) for x in s.pairs.a.images}
    a_imgs = {bytes(x.numpy()) for x in s.a.images}
    b_noto = {bytes(x.numpy()) for x in s.b.images}
    b_as_openmoji = {bytes(s.pairs.a.images[i].numpy()) for i in range(len(s.pairs))
                     if bytes(s.pairs.b.images[i].numpy()) in b_noto}
    assert len(b_as_openmoji) == len(s.b)  # every B emoji's OpenMoji drawing is found among the pairs
    assert a_imgs <= pair_a and not a_imgs & b_as_openmoji


def test_missing_noto_font_names_the_debian_package(monkeypatch, tmp_path):
    from genlab.datasets import emoji

    monkeypatch.setattr(emoji, "NOTO_FONTS", (str(tmp_path / "none.ttf"),))
    monkeypatch.delenv("GENLAB_NOTO_FONT", raising=False)
    with pytest.raises(DatasetError, match="fonts-noto-color-emoji"):
        emoji.build(16, limit=1, out=tmp_path, style="noto")
    with pytest.raises(DatasetError, match="openmoji, noto"):
        emoji.font_path("comic")


# --- training on two folders, evaluation ----------------------------------------------------------------


def test_cyclegan_trains_on_two_folders_resumes_and_is_evaluated(trained, folders, capsys):
    from genlab.evaluation.cli import main as eval_main

    root, _ = folders
    ck = trained["cyclegan"]
    m = genlab.load(str(ck), device=None)
    assert m.domains == {"A": "A", "B": "B"} and m.resolution == 32
    meta = json.loads((root / "run-cyclegan" / "run.json").read_text())
    cycle = meta["history"]["cycle L1"]
    assert all(np.isfinite(v) for v in cycle) and cycle[-1] < cycle[0]  # the cycle loss moves down
    card = (ck / "README.md").read_text()
    assert "CycleGAN" in card and "Cycle reconstruction" in card and "--data-a" in card
    assert (root / "run-cyclegan" / "training_state.safetensors").exists()  # D_A, D_B stay in the run folder
    assert "d_a" not in " ".join(json.loads((ck / "config.json").read_text())).lower()
    eval_main(["cyclegan", str(ck), "--data-a", str(root / "pairs" / "A"), "--data-b", str(root / "pairs" / "B"),
               "--feature-net", str(trained["classifier"]), "--json"])
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["paired"] is False and r["held_out"] == {"A": 1, "B": 1} and r["B->A"]["cycle_l1"] > 0


@pytest.mark.parametrize("spectral_norm", ["false", "true"])
def test_resume_continues_the_cyclegan_run(folders, tmp_path, spectral_norm):
    from genlab.train.__main__ import main as train_main

    root, _ = folders
    args = ["cyclegan", "--preset", "tiny", "--data-a", str(root / "pairs" / "A"), "--data-b",
            str(root / "pairs" / "B"), "--out", str(tmp_path / "ck"), "--run-dir", str(tmp_path / "run"),
            "--spectral-norm", spectral_norm]
    train_main(args)
    train_main([*args, "--steps", "6", "--resume", "true"])  # the discriminators' state (SN's too) comes back
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["step"] == 6 and meta["log_steps"][-1] == 6
    said = "two spectrally normalised PatchGAN discriminators" in (tmp_path / "ck" / "README.md").read_text()
    assert said == (spectral_norm == "true")  # the card says which discriminators it was trained with


def test_spectral_norm_discriminator_keeps_its_shape_and_bounds_each_layer():
    """--spectral-norm true: every conv of both discriminators is spectrally normalised (largest singular value about
    1 after a few power iterations), instance norm is off, and the score map keeps its shape."""
    from genlab.models import CycleDiscriminator

    torch.manual_seed(0)
    plain, sn = CycleDiscriminator(resolution=32), CycleDiscriminator(resolution=32, spectral_norm=True)
    y = torch.randn(2, 3, 32, 32)
    assert sn(y).shape == plain(y).shape
    assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in sn.modules())
    convs = [m for m in sn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    for _ in range(20):  # power iterations run in training mode
        sn(y)
    assert abs(float(torch.linalg.matrix_norm(convs[1].weight.detach().flatten(1), ord=2)) - 1) < 0.1


def test_cli_needs_both_domains(tmp_path, capsys):
    from genlab.train.__main__ import main as train_main

    with pytest.raises(SystemExit):
        train_main(["cyclegan", "--preset", "tiny", "--out", str(tmp_path / "x"), "--run-dir", str(tmp_path / "r")])
    assert "--data-a DIR --data-b DIR" in capsys.readouterr().err


# --- the shipped emoji-openmoji2noto ---------------------------------------------------------------------


def card() -> str:
    return (CHECKPOINTS_DIR / "emoji-openmoji2noto" / "README.md").read_text()


@pytest.mark.slow
def test_emoji_openmoji2noto_reproduces_its_card_and_beats_the_identity():
    from genlab.evaluation.cyclegan import evaluate_cyclegan

    r = evaluate_cyclegan("emoji-openmoji2noto", "openmoji", "noto", "emoji-classifier")
    text = card()
    for d in ("A->B", "B->A"):
        m, ident = r[d]["model"], r[d]["identity"]
        assert f"{m['l1']:.4f}" in text and f"{m['fid']:.2f}" in text and f"{r[d]['cycle_l1']:.4f}" in text
        assert m["fid"] < ident["fid"]  # the outputs look more like the other design than the input does
        assert r[d]["cycle_l1"] < 0.1  # the round trip comes back close to the input
    assert r["A->B"]["model"]["l1"] < r["A->B"]["identity"]["l1"]
    assert "pix2pix on the pairs" in text and "cc-by-sa-4.0" in text and "Apache" in text
    assert r["held_out"] == {"A": 191, "B": 191} and r["paired"]


@pytest.mark.parametrize("example, direction", [("emoji_0_smileys-emotion.png", "A->B"),
                                                ("noto_emoji_3_food-drink.png", "B->A")])
def test_translate_unpaired_endpoint_returns_output_and_cycle(client, example, direction):
    out, back = client.predict(handle_file(str(EXAMPLES / example)), "emoji-openmoji2noto", direction,
                               api_name="/translate_unpaired")
    out, back, src = Image.open(out), Image.open(back), Image.open(EXAMPLES / example).convert("RGB")
    assert out.mode == back.mode == "RGB" and out.size == back.size and out.width >= 256
    arr = lambda im: np.asarray(im.resize((32, 32), Image.BILINEAR), dtype=float)  # noqa: E731
    # the cycle comes back near the input; the translation itself changes it
    assert np.abs(arr(back) - arr(src)).mean() < np.abs(arr(out) - arr(src)).mean() + 1e-6
    assert np.abs(arr(back) - arr(src)).mean() < 25


def test_translate_unpaired_takes_odd_uploads_and_refuses_bad_requests(client, tmp_path):
    cmyk = tmp_path / "big.jpg"
    Image.open(EXAMPLES / "emoji_2_animals-nature.png").convert("CMYK").resize((300, 180)).save(cmyk)
    out, back = client.predict(handle_file(str(cmyk)), "emoji-openmoji2noto", "A->B", api_name="/translate_unpaired")
    assert Image.open(out).size == Image.open(back).size
    png = handle_file(str(EXAMPLES / "emoji_0_smileys-emotion.png"))
    for model, direction, message in [("emoji-openmoji2noto", "up", "A->B"), ("no-such-model", "A->B", "Unknown model"),
                                      ("emoji-sketch2color", "A->B", "cyclegan")]:
        with pytest.raises(Exception, match=message):
            client.predict(png, model, direction, api_name="/translate_unpaired")
    (tmp_path / "t.png").write_bytes(b"not a png")
    with pytest.raises(Exception):
        client.predict(handle_file(str(tmp_path / "t.png")), "emoji-openmoji2noto", "A->B",
                       api_name="/translate_unpaired")


def test_translate_unpaired_serves_a_folder_trained_model(client, trained, folders):
    root, _ = folders
    out, back = client.predict(handle_file(str(root / "pairs" / "A" / "0000.png")), str(trained["cyclegan"]), "A->B",
                               api_name="/translate_unpaired")
    assert Image.open(out).size == Image.open(back).size
