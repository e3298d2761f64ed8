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
