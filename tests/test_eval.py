import json

import pytest

from genlab.evaluation.cli import main


def test_eval_cli_prints_metrics(capsys):
    main(["gan", "mnist-cgan", "--samples", "200", "--json"])
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["mnist-cgan"]
    assert {"accuracy", "fid", "kid", "kid_std", "floor_fid", "floor_kid"} <= set(r)
    # measured: accuracy 98.0 %, FID 62.3 with 200 samples (the shipped card's 37.7 is with 5,000), floor 21.03
    assert r["accuracy"] >= 0.96 and 50 < r["fid"] < 75 and abs(r["floor_fid"] - 21.03) < 0.1


def test_inpaint_cli_scores_every_method(capsys, tmp_path):
    main(["inpaint", "--digits", "3", "--dip-digits", "1", "--dip-iterations", "2", "--digit-steps", "3",
          "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert "| digits | square | VAE latent optimisation | 3 |" in out and "| photos (512x512) | strokes |" in out
    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert {(r["domain"].split()[0], r["method"]) for r in rows} == {
        ("digits", m) for m in ("vae", "gan", "dip", "biharmonic")} | {("photos", m) for m in ("dip", "biharmonic")}
    assert all(0 < r["psnr"] < 60 and -1 <= r["ssim"] <= 1 for r in rows)
    # the classical fill is deterministic: measured 7.91 / 11.43 dB on 3 digits, 17.75 / 22.72 dB on the photos
    biharmonic = [round(r["psnr"], 1) for r in rows if r["method"] == "biharmonic"]
    assert biharmonic == pytest.approx([7.9, 11.4, 17.8, 22.7], abs=0.3), biharmonic
    assert len(rows[-1]["per_image"]) == 6


def test_augment_cli_reports_mean_and_std(capsys, tmp_path):
    main(["augment", "--n-real", "2", "--k-generated", "2", "--seeds", "2", "--steps", "2",
          "--json", str(tmp_path / "a.json")])
    assert "| 2 | real + 2 generated/class |" in capsys.readouterr().out
    data = json.loads((tmp_path / "a.json").read_text())
    assert len(data["rows"]) == 8 and [s["seeds"] for s in data["summary"]] == [2] * 4


def test_memorisation_tells_copies_from_new_images():
    import torch

    from genlab.evaluation.metrics import memorisation, nearest_distances

    g = torch.Generator().manual_seed(0)
    train = torch.rand(200, 3, 8, 8, generator=g) * 2 - 1
    held = torch.rand(50, 3, 8, 8, generator=g) * 2 - 1
    d = nearest_distances(train[:5], train)
    assert torch.allclose(d, torch.zeros(5), atol=1e-3)  # a training image is at distance 0 from itself
    assert (nearest_distances(train[:5], train, exclude_self=True) > 0.1).all()
    # brute force agrees with the matrix form
    q, r = (held[:3].flatten(1) + 1) / 2, (train.flatten(1) + 1) / 2
    brute = torch.stack([((r - x) ** 2).mean(1).min().sqrt() for x in q])
    assert torch.allclose(nearest_distances(held[:3], train), brute, atol=1e-4)
    copies = memorisation(train[:50] + 0.01 * torch.randn(50, 3, 8, 8, generator=g), train, held)
    fresh = memorisation(torch.rand(50, 3, 8, 8, generator=g) * 2 - 1, train, held)
    assert copies["ratio"] < 0.1 and copies["near_copies"] > 0.9
    assert 0.8 < fresh["ratio"] < 1.25 and fresh["near_copies"] < 0.1


def test_class_spread_tells_a_collapsed_generator_from_a_varied_one():
    """The collapse measure: samples drawn like the real images of their class score about 1; one picture per
    class scores 0; a picture per class plus a little noise stays far below 1."""
    import torch

    from genlab.evaluation.metrics import class_spread

    class Features(torch.nn.Module):  # the identity feature net: pixels as features
        def features(self, x):
            return x.flatten(1)

    g = torch.Generator().manual_seed(0)
    centres = torch.rand(3, 1, 6, 6, generator=g) * 2 - 1
    labels = torch.arange(300) % 3

    def draw(n_labels, noise):
        return (centres[n_labels] + noise * torch.randn(len(n_labels), 1, 6, 6, generator=g)).clamp(-1, 1)

    real, real_labels = draw(labels[:90], 0.3), labels[:90]
    varied = class_spread(Features(), draw(labels, 0.3), labels, real, real_labels)
    collapsed = class_spread(Features(), centres[labels], labels, real, real_labels)
    nearly = class_spread(Features(), draw(labels, 0.03), labels, real, real_labels)
    assert 0.9 < varied < 1.1 and collapsed == 0.0 and nearly < 0.2, (varied, collapsed, nearly)
