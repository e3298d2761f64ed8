"""The VAE's ex-post prior: a Gaussian mixture fitted to the training codes, stored in the checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

import genlab
from genlab.models import ConvVAE
from genlab.train.prior import choose_components, fit_gaussian_mixture, fit_prior, mixture_log_likelihood, with_prior


def _two_clusters(n=400, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g) * 0.3 + torch.tensor([4.0, 0, 0])[:d]
    b = torch.randn(n, d, generator=g) * torch.tensor([1.0, 0.2, 0.2])[:d] - torch.tensor([4.0, 0, 0])[:d]
    return torch.cat([a, b])


def test_em_recovers_two_clusters_and_beats_one_gaussian():
    x = _two_clusters()
    w, m, tril, ll = fit_gaussian_mixture(x, 2, seed=0)
    order = m[:, 0].argsort()
    assert torch.allclose(w[order], torch.tensor([0.5, 0.5]), atol=0.02)
    assert torch.allclose(m[order][:, 0], torch.tensor([-4.0, 4.0]), atol=0.1)
    cov = tril @ tril.transpose(1, 2)
    assert abs(cov[order][0, 0, 0].item() - 1.0) < 0.2 and abs(cov[order][1, 0, 0].item() - 0.09) < 0.03
    _, _, _, ll1 = fit_gaussian_mixture(x, 1, seed=0)
    assert ll > ll1 + 1.0
    assert abs(mixture_log_likelihood(x, w, m, tril) - ll) < 1e-4
    best, scores = choose_components(x, (1, 2, 8))
    assert best in (2, 8) and scores[2] > scores[1]


def test_fitted_prior_samples_where_the_codes_are_and_round_trips(tmp_path):
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=3, channels=8, hidden=16).eval()
    assert vae.priors == ("normal",) and vae.sample_prior(4).shape == (4, 3)
    w, m, tril, _ = fit_gaussian_mixture(_two_clusters(), 2)
    fitted = with_prior(vae, w, m, tril)
    assert fitted.priors == ("fitted", "normal")
    z = fitted.sample_prior(2000, torch.Generator().manual_seed(1))
    assert (z[:, 0].abs() > 2).float().mean() > 0.95  # near one of the two clusters, not N(0, I)
    again = fitted.sample_prior(2000, torch.Generator().manual_seed(1))
    assert torch.equal(z, again)  # the seed fixes the draw
    normal = fitted.sample_prior(2000, torch.Generator().manual_seed(1), prior="normal")
    assert abs(normal.std().item() - 1) < 0.05
    mean, std = fitted.prior_spread()
    assert abs(mean[0].item() - z[:, 0].mean().item()) < 0.2 and abs(std[0].item() - z[:, 0].std().item()) < 0.2
    with pytest.raises(ValueError, match="prior must be"):
        fitted.sample_prior(1, prior="gaussian")
    # the decoder is unchanged, and the mixture survives save/load (safetensors + config)
    x = torch.zeros(1, 1, 28, 28)
    assert torch.equal(vae.encode(x)[0], fitted.encode(x)[0])
    fitted.save_pretrained(tmp_path / "v")
    assert json.loads((tmp_path / "v" / "config.json").read_text())["prior_components"] == 2
    loaded = genlab.load(str(tmp_path / "v"))
    assert torch.equal(loaded.prior_means, fitted.prior_means)
    assert torch.equal(loaded.sample_prior(3, torch.Generator().manual_seed(2)),
                       fitted.sample_prior(3, torch.Generator().manual_seed(2)))


def test_fit_prior_on_images_picks_k_by_held_back_likelihood():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=4, channels=8, hidden=16).eval()
    images = torch.rand(120, 1, 28, 28) * 2 - 1
    fitted, report = fit_prior(vae, images, (1, 2, 4))
    assert report["components"] in (1, 2, 4) and report["codes"] == 120
    assert set(report["held_back_log_likelihood"]) == {"1", "2", "4"}
    assert fitted.prior_components == report["components"]


def test_a_hostile_prior_size_is_refused_before_allocation(tmp_path):
    vae = ConvVAE(latent_dim=3, channels=8, hidden=16)
    vae.save_pretrained(tmp_path / "v")
    cfg = json.loads((tmp_path / "v" / "config.json").read_text())
    (tmp_path / "v" / "config.json").write_text(json.dumps({**cfg, "prior_components": 10**9}))
    with pytest.raises(genlab.CheckpointError, match="prior_components"):
        genlab.load(str(tmp_path / "v"))


def test_the_vae_tab_draws_from_either_prior_and_refuses_others():
    import gradio as gr
    import numpy as np

    from genlab.ui.vae_tab import PRIOR_CHOICES, random_digit

    fitted, normal = (np.asarray(random_digit(3, "mnist-vae", p)) for p in PRIOR_CHOICES)
    assert fitted.shape == normal.shape and not np.array_equal(fitted, normal)
    assert np.array_equal(fitted, np.asarray(random_digit(3, "mnist-vae")))  # the default is the fitted prior
    with pytest.raises(gr.Error, match="prior must be one of"):
        random_digit(3, "mnist-vae", "uniform")
    with pytest.raises(gr.Error, match="prior seed"):
        random_digit(-1, "mnist-vae")


def test_decode_encode_passes_move_fitted_draws_and_round_trip(tmp_path):
    from genlab.models import weights_digest
    from genlab.train.prior import with_refine

    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=3, channels=8, hidden=16).eval()
    w, m, tril, _ = fit_gaussian_mixture(_two_clusters(), 2)
    fitted = with_prior(vae, w, m, tril)
    refined = with_refine(fitted, 2)
    assert (fitted.prior_refine, refined.prior_refine) == (0, 2)
    draws = fitted.sample_prior(50, torch.Generator().manual_seed(3))
    with torch.no_grad():
        by_hand = refined.encode(refined.decode(refined.encode(refined.decode(draws))[0]))[0]
    z = refined.sample_prior(50, torch.Generator().manual_seed(3))
    assert torch.allclose(z, by_hand, atol=1e-6) and not torch.allclose(z, draws, atol=1e-3)
    assert torch.equal(refined.sample_prior(50, torch.Generator().manual_seed(3), refine=0), draws)
    normal = refined.sample_prior(50, torch.Generator().manual_seed(3), prior="normal")
    assert torch.equal(normal, fitted.sample_prior(50, torch.Generator().manual_seed(3), prior="normal"))
    for bad in (-1, 21, 1.5):
        with pytest.raises(ValueError, match="from 0 to 20"):
            refined.sample_prior(1, refine=bad)
        with pytest.raises(ValueError, match="prior_refine"):
            ConvVAE(latent_dim=3, channels=8, hidden=16, prior_refine=bad)
    # the passes are part of the checkpoint, and of the digest only where they are used
    refined.save_pretrained(tmp_path / "v")
    assert json.loads((tmp_path / "v" / "config.json").read_text())["prior_refine"] == 2
    loaded = genlab.load(str(tmp_path / "v"))
    assert torch.equal(loaded.sample_prior(5, torch.Generator().manual_seed(4)),
                       refined.sample_prior(5, torch.Generator().manual_seed(4)))
    before = weights_digest(fitted)
    fitted._hub_mixin_config.pop("prior_refine")  # a config saved before the option existed
    assert weights_digest(fitted) == before and weights_digest(refined) != before
    cfg = json.loads((tmp_path / "v" / "config.json").read_text())
    (tmp_path / "v" / "config.json").write_text(json.dumps({**cfg, "prior_refine": 10**6}))
    with pytest.raises(genlab.CheckpointError, match="prior_refine"):
        genlab.load(str(tmp_path / "v"))


def test_refit_cli_stores_the_passes_and_writes_both_grids(tmp_path, capsys):
    from genlab.train.__main__ import main as train_main

    out = tmp_path / "vae"
    train_main(["vae", "--preset", "tiny", "--out", str(out)])
    train_main(["vae", "--preset", "tiny", "--refit", str(out), "--prior-components", "4", "--prior-refine", "2"])
    assert json.loads((out / "config.json").read_text())["prior_refine"] == 2
    assert genlab.load(str(out)).prior_refine == 2
    assert {"samples.png", "samples_unrefined.png", "samples_normal.png"} <= {p.name for p in out.iterdir()}
    assert "2 decode-encode passes" in (out / "README.md").read_text()
    with pytest.raises(SystemExit):
        train_main(["vae", "--preset", "tiny", "--refit", str(out), "--prior-refine", "50"])
    assert "--prior-refine must be a whole number from 0 to 20, got 50" in capsys.readouterr().err


def test_the_prior_section_compares_the_passes_with_the_plain_mixture():
    from genlab.train.vae import PRESETS, prior_text

    report = {"components": 20, "codes": 1723, "held_back_log_likelihood": {}, "refine": 4}
    mem = {"ratio": 1.0019}
    m = {"fid": 415.42, "kid": 0.525, "kid_std": 0.0878, "floor_fid": 90.5, "memorisation": mem,
         "fid_unrefined": 644.98, "kid_unrefined": 0.772, "kid_std_unrefined": 0.0774,
         "memorisation_unrefined": {"ratio": 1.0544}, "fid_normal": 1440.05, "kid_normal": 1.408,
         "kid_std_normal": 0.0352}
    text = prior_text(report, m, PRESETS["emoji-vae"], "python -m genlab.train vae --preset emoji-vae --refit X")
    assert "| fitted mixture + 4 passes | 415.42 | 4.59x | 0.5250 ± 0.0878 | 1.002 |" in text
    assert "| fitted mixture, no passes | 644.98 | 7.13x | 0.7720 ± 0.0774 | 1.054 |" in text
    assert "| N(0, I) | 1440.05 | 15.91x |" in text and "samples_unrefined.png" in text
    plain = prior_text({**report, "refine": 0}, {k: v for k, v in m.items() if "unrefined" not in k},
                       PRESETS["emoji-vae"], "cmd")
    assert "no passes" not in plain and "samples_unrefined.png" not in plain and "| fitted mixture |" in plain


def test_a_subspace_mixture_lives_in_the_codes_leading_directions(tmp_path):
    """rank r: the mixture is fitted to the codes' r principal coordinates and embedded back; samples keep the
    clusters along those directions and only the ridge across the others, and it stores like any mixture."""
    from genlab.train.prior import fit_subspace_mixture

    g = torch.Generator().manual_seed(0)
    x = torch.cat([_two_clusters(d=3), 0.15 * torch.randn(800, 2, generator=g) + 1.0], 1)  # 5-d, 2 thin directions
    w, m, tril, _ = fit_subspace_mixture(x, 2, rank=3, seed=0)
    assert m.shape == (2, 5) and tril.shape == (2, 5, 5)
    assert torch.allclose(m[:, 3:], x[:, 3:].mean(0).expand(2, 2), atol=0.03)  # thin directions at the codes' mean
    cov = tril @ tril.transpose(1, 2)
    ridge = 1e-3 * x.double().var(0).mean().item()
    assert x[:, 3:].var(0).min() > 5 * ridge  # the thin directions' own spread is gone; only the ridge is left
    assert torch.allclose(cov[:, 3:, 3:], ridge * torch.eye(2).expand(2, 2, 2), atol=0.1 * ridge)
    order = m[:, 0].argsort()
    assert torch.allclose(m[order][:, 0], torch.tensor([-4.0, 4.0]), atol=0.15)  # the clusters survive
    vae = with_prior(ConvVAE(latent_dim=5, channels=8, hidden=16).eval(), w, m, tril)
    z = vae.sample_prior(2000, torch.Generator().manual_seed(1))
    assert (z[:, 0].abs() > 2).float().mean() > 0.95 and z[:, 3:].std(0).max() < 3 * ridge ** 0.5
    full = fit_subspace_mixture(x, 2, rank=0, seed=0)  # rank 0 (or the latent size): the full-space fit
    assert all(torch.equal(a, b) for a, b in zip(full[:3], fit_gaussian_mixture(x, 2, seed=0)[:3]))
    fitted, report = fit_prior(ConvVAE(latent_dim=4, channels=8, hidden=16).eval(),
                               torch.rand(60, 1, 28, 28) * 2 - 1, 2, rank=2)
    assert report["rank"] == 2 and fitted.prior_means.shape == (2, 4)
    with pytest.raises(ValueError, match="rank"):
        fit_prior(ConvVAE(latent_dim=4, channels=8, hidden=16).eval(), torch.rand(60, 1, 28, 28), 2, rank=5)


def test_refit_cli_takes_a_prior_rank_and_refuses_one_past_the_latent(tmp_path, capsys):
    from genlab.train.__main__ import main as train_main

    out = tmp_path / "vae"
    train_main(["vae", "--preset", "tiny", "--out", str(out), "--prior-components", "0"])
    train_main(["vae", "--preset", "tiny", "--refit", str(out), "--prior-components", "3", "--prior-rank", "4"])
    assert "4 leading principal directions" in (out / "README.md").read_text()
    assert genlab.load(str(out)).prior_components == 3
    with pytest.raises(SystemExit):
        train_main(["vae", "--preset", "tiny", "--refit", str(out), "--prior-rank", "17"])
    assert "--prior-rank must be a whole number from 0 (all directions) to the latent size (16), got 17" \
        in capsys.readouterr().err
    # --refit bounds the rank by the checkpoint's latent size, not the flags' (here the preset's 16)
    wide = tmp_path / "wide"
    ConvVAE(latent_dim=24, channels=8, hidden=16).save_pretrained(wide)
    train_main(["vae", "--preset", "tiny", "--refit", str(wide), "--prior-components", "3", "--prior-rank", "20"])
    assert genlab.load(str(wide)).prior_means.shape == (3, 24)
    with pytest.raises(SystemExit):
        train_main(["vae", "--preset", "tiny", "--refit", str(wide), "--prior-rank", "25"])
    assert "to the latent size (24), got 25" in capsys.readouterr().err
