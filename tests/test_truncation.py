"""A GAN's default truncation psi: stored in config.json, kept out of the weights digest, used by the app's slider,
the evaluation and the card, and chosen by `genlab eval truncation` against the training images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import genlab
from genlab.evaluation.gan import set_truncation
from genlab.evaluation.metrics import generate
from genlab.models import Generator
from genlab.models.base import weights_digest

ROOT = Path(__file__).resolve().parent.parent


def test_psi_is_bounded_and_kept_out_of_the_digest(tiny_gan):
    for bad in (0.2, 1.5, -1, True, "0.7"):
        with pytest.raises(ValueError, match="psi"):
            Generator(latent_dim=8, channels=16, embed_dim=4, psi=bad)
    truncated = Generator(latent_dim=8, channels=16, embed_dim=4, psi=0.7)
    truncated.load_state_dict(tiny_gan.state_dict())
    assert truncated.psi == 0.7 and tiny_gan.psi == 1.0
    # same weights, another default truncation: the files fitted on the weights stay keyed to them
    assert weights_digest(truncated) == weights_digest(tiny_gan)
    # ... but the weights themselves still count
    other = Generator(latent_dim=8, channels=16, embed_dim=4, psi=0.7)
    assert weights_digest(other) != weights_digest(tiny_gan)


def test_generate_samples_at_the_model_psi_unless_told(tiny_gan):
    truncated = Generator(latent_dim=8, channels=16, embed_dim=4, psi=0.5).eval()
    truncated.load_state_dict(tiny_gan.state_dict())
    at_default, labels = generate(truncated, 20, seed=3)
    assert torch.equal(at_default, generate(tiny_gan, 20, seed=3, psi=0.5)[0])
    assert not torch.allclose(at_default, generate(truncated, 20, seed=3, psi=1.0)[0])
    assert torch.equal(generate(tiny_gan, 20, seed=3)[0], generate(tiny_gan, 20, seed=3, psi=1.0)[0])


def test_a_recorded_psi_loads_and_a_hostile_one_is_refused(tmp_path):
    ck = tmp_path / "cgan"
    shutil.copytree(ROOT / "checkpoints" / "mnist-cgan", ck)
    before = weights_digest(genlab.load(str(ck), device="cpu"))
    set_truncation(ck, 0.8)
    g = genlab.load(str(ck), device="cpu")
    assert g.psi == 0.8 and weights_digest(g) == before
    set_truncation(ck, 1.0)  # the plain default leaves no key behind
    assert "psi" not in json.loads((ck / "config.json").read_text())
    for bad in (0.0, 7, "0.8", None):
        config = json.loads((ck / "config.json").read_text())
        (ck / "config.json").write_text(json.dumps({**config, "psi": bad}))
        with pytest.raises(genlab.CheckpointError, match="psi"):
            genlab.load(str(ck), device="cpu")
    with pytest.raises(ValueError, match="psi"):
        set_truncation(ck, 0.1)


def test_the_gan_tab_opens_a_model_at_its_psi(monkeypatch):
    """The slider follows the chosen model: its recorded psi (here set on the loaded shipped model), or 1 (the psi
    update comes before the grid size and noise updates)."""
    from genlab.ui.common import cached_model
    from genlab.ui.gan_tab import classes_for

    assert classes_for("mnist-cgan")[-3]["value"] == 1.0
    monkeypatch.setattr(cached_model("mnist-cgan", "gan"), "psi", 0.75)
    assert classes_for("mnist-cgan")[-3]["value"] == 0.75


def test_truncation_cli_chooses_by_training_fid_and_writes_it(trained, tmp_path, capsys):
    from genlab.evaluation.cli import main as eval_main

    ck = tmp_path / "gan"
    shutil.copytree(trained["gan"], ck)  # the shared folder GAN stays as it is
    data = str(trained["gan"].parent / "shapes")
    eval_main(["truncation", str(ck), "--data", data, "--feature-net", str(trained["classifier"]), "--samples", "120",
               "--grid", "1,0.7", "--json"])
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [row["psi"] for row in r["rows"]] == [1.0, 0.7] and r["psi"] in (1.0, 0.7) and r["seeds"] == 4
    for row in r["rows"]:  # four sample sets per psi; the row's FID is their mean
        assert len(row["fid_train_seeds"]) == 4 and row["fid_train"] == pytest.approx(sum(row["fid_train_seeds"]) / 4)
        assert len(set(row["fid_train_seeds"])) == 4  # four different sets, not one scored four times
    allowed = [row for row in r["rows"] if row["psi"] == 1.0 or (row["spread_train"] >= 0.95
                                                                  and row["memorisation_ratio"] >= 1)]
    tied = [row for row in allowed if row["tied"]]
    assert min(allowed, key=lambda row: row["fid_train"]) in tied
    assert r["psi"] == max(tied, key=lambda row: (round(row["accuracy"], 6), row["psi"]))["psi"]
    eval_main(["truncation", str(ck), "--data", data, "--feature-net", str(trained["classifier"]), "--samples", "120",
               "--grid", "1,0.7", "--min-spread", "0", "--write"])
    out = capsys.readouterr().out
    assert "| ψ |" in out and "chosen psi" in out and "wrote psi" in out
    psi = json.loads((ck / "config.json").read_text()).get("psi", 1.0)
    assert genlab.load(str(ck), device="cpu").psi == psi
    record = json.loads((ck / "truncation.json").read_text())  # the table the card reads, with how it was made
    assert record["psi"] == psi and len(record["rows"]) == 2 and record["seconds"] > 0
    assert record["command"].startswith("python -m genlab eval truncation ") and "--write" in record["command"]
    # a truncated default gets its own class-per-row grid beside the training run's
    assert (ck / "samples_truncated.png").exists() == (psi != 1.0)
    from genlab.evaluation.gan import truncated_grid

    assert truncated_grid(ck, 0.6).exists() and truncated_grid(ck, 1.0) is None
    assert not (ck / "samples_truncated.png").exists()
    for bad in (["--grid", "1,0.1"], ["--grid", "one"], ["--samples", "10"], ["--samples", "10000000"],
                ["--seeds", "0"], ["--seeds", "1000"]):
        with pytest.raises(SystemExit):
            eval_main(["truncation", str(ck), "--data", data, "--feature-net", str(trained["classifier"]), *bad])


def test_the_card_reads_the_truncation_record_only_when_it_chose_the_model_psi(tmp_path):
    from genlab.evaluation.gan import truncation_section, write_truncation_record

    rows = [{"psi": p, "fid_train": f, "spread_train": 1.0, "fid_held_out": f + 1, "accuracy": 0.5,
             "memorisation_ratio": 1.1} for p, f in ((1.0, 110.0), (0.8, 100.0))]
    result = {"rows": rows, "psi": 0.8, "samples": 300, "min_spread": 0.95, "train": 90, "held_out": 30}
    assert truncation_section(tmp_path, 0.8) == ""  # no record
    write_truncation_record(tmp_path, result, 12.3, "python -m genlab eval truncation g --write")
    text = truncation_section(tmp_path, 0.8)
    assert text.startswith("### Default truncation: ψ = 0.8") and "(12 s on " in text and "300 class-balanced" in text
    assert "| **0.8** | **100.00** |" in text and "| 1 | 110.00 |" in text
    assert truncation_section(tmp_path, 0.7) == ""  # config.json edited since: the record describes other weights
    assert truncation_section(tmp_path, 1.0) == ""  # no truncation, no section
    full = json.loads((tmp_path / "truncation.json").read_text())
    for broken in ("{", "[]", json.dumps({**full, "rows": []}), json.dumps({**full, "psi": "x"}),
                   json.dumps({k: v for k, v in full.items() if k != "train"}), json.dumps({**full, "rows": [{}]})):
        (tmp_path / "truncation.json").write_text(broken)
        assert truncation_section(tmp_path, 0.8) == ""
    # a record made by the tie rule: the card says how many sample sets, and which psi tied
    from genlab.evaluation.gan import pick_truncation

    rows = [{**_row(p, fids, acc), "fid_held_out": 90.0} for p, fids, acc in
            ((1.0, [110.0, 112.0], 0.5), (0.8, [100.0, 103.0], 0.55), (0.7, [101.0, 102.5], 0.6))]
    psi = pick_truncation(rows)["psi"]
    assert psi == 0.7
    write_truncation_record(tmp_path, {"rows": rows, "psi": psi, "samples": 300, "seeds": 2, "tie_se": 2.0,
                                       "min_spread": 0.95, "train": 90, "held_out": 30}, 5.0, "python -m genlab x")
    text = truncation_section(tmp_path, 0.7)
    assert "2 sets of 300 class-balanced samples per ψ" in text and "highest class accuracy is chosen" in text
    assert "| tied with the lowest |" in text and "| **0.7** | **101.75** | yes (+0.25) | 1.000 |" in text
    assert "| 1 | 111.00 | no (+9.50) |" in text and "| 0.8 | 101.50 | yes (+0.00) |" in text


def _row(psi, fids, accuracy, spread=1.0, memorisation=1.1):
    return {"psi": psi, "fid_train_seeds": fids, "fid_train": sum(fids) / len(fids), "accuracy": accuracy,
            "spread_train": spread, "memorisation_ratio": memorisation}


def test_a_psi_within_the_sample_noise_of_the_lowest_fid_ties_and_the_most_class_faithful_tie_wins():
    from genlab.evaluation.gan import pick_truncation

    # the shipped emoji-cgan's measured case, four sets of 2,000: 0.7 is 0.47 behind 0.75 on average, but the
    # per-set gaps (+1.15, -0.33, +0.85, +0.23) straddle zero, while 0.8 is behind in every set
    rows = [_row(1.0, [113.9, 115.0, 118.0, 116.0], 0.52), _row(0.8, [102.51, 105.53, 107.49, 106.62], 0.566),
            _row(0.75, [102.28, 104.16, 106.98, 105.62], 0.585), _row(0.7, [103.43, 103.83, 107.83, 105.85], 0.607),
            _row(0.65, [105.99, 105.77, 110.27, 108.15], 0.626)]
    assert pick_truncation(rows)["psi"] == 0.7
    assert [r["tied"] for r in rows] == [False, False, True, True, False]
    assert rows[3]["fid_gap"] == pytest.approx(0.475) and rows[4]["fid_gap"] == pytest.approx(2.785)
    # a tie needs noise: the same gap in every set is a real difference, and one set has no noise to measure
    steady = [_row(1.0, [110.0, 111.0, 112.0], 0.5), _row(0.8, [100.0, 101.0, 102.0], 0.55),
              _row(0.7, [100.5, 101.5, 102.5], 0.6)]
    assert pick_truncation(steady)["psi"] == 0.8 and not steady[2]["tied"]
    single = [_row(1.0, [110.0], 0.5), _row(0.8, [100.0], 0.55), _row(0.7, [100.1], 0.6)]
    assert pick_truncation(single)["psi"] == 0.8
    # the constraints still bind: the tied psi that makes samples too alike, or too near the training set, is out
    rows[3]["spread_train"] = 0.9
    assert pick_truncation(rows)["psi"] == 0.75 and rows[3]["fid_gap"] is None
    rows[3]["spread_train"], rows[3]["memorisation_ratio"] = 1.0, 0.99
    assert pick_truncation(rows)["psi"] == 0.75
    # equal accuracy: the larger psi (the less truncated)
    even = [_row(1.0, [100.0, 103.0], 0.6), _row(0.9, [101.0, 102.0], 0.6)]
    assert pick_truncation(even)["psi"] == 1.0
    # nothing allowed (no psi 1 in the grid and every other psi breaks a constraint): no truncation
    assert pick_truncation([_row(0.7, [90.0, 91.0], 0.7, spread=0.5)]) == {"psi": 1.0}
