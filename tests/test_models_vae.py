import torch

from genlab.models import ConvVAE
from genlab.models.vae import kl_divergence, negative_elbo


def test_encoder_decoder_shapes_and_range():
    vae = ConvVAE(latent_dim=8).eval()
    mu, logvar = vae.encode(torch.rand(3, 1, 28, 28) * 2 - 1)
    assert mu.shape == logvar.shape == (3, 8)
    out = vae.decode(mu)
    assert out.shape == (3, 1, 28, 28) and out.min() >= -1 and out.max() <= 1
    assert vae.kl_per_dim.shape == (8,)


def test_kl_is_zero_at_the_prior():
    assert torch.allclose(kl_divergence(torch.zeros(2, 4), torch.zeros(2, 4)), torch.zeros(2, 4))
    assert (kl_divergence(torch.ones(2, 4), torch.zeros(2, 4)) > 0).all()


def test_elbo_finite_and_decreasing_over_a_few_steps():
    from genlab.datasets import digits

    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=8, channels=8, hidden=64)
    opt = torch.optim.Adam(vae.parameters(), lr=5e-3)
    x = digits("train").tensors[0][:64]
    losses = []
    for _ in range(30):
        loss, rec, kl = negative_elbo(vae, x)
        assert torch.isfinite(loss).all() and (rec > 0).all() and (kl >= 0).all()
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
        losses.append(loss.mean().item())
    assert sum(losses[-3:]) / 3 < losses[0] * 0.7


def test_beta_weights_the_kl():
    vae = ConvVAE(latent_dim=4, beta=4.0)
    torch.manual_seed(1)
    loss, rec, kl = negative_elbo(vae, torch.zeros(2, 1, 28, 28))
    assert torch.allclose(loss, rec + 4.0 * kl)


def test_gaussian_likelihood_uses_the_batch_variance_in_training_and_the_calibrated_one_after():
    """likelihood="gaussian" (the calibrated-decoder sigma-VAE): in training the reconstruction term is the Gaussian
    NLL with the batch's own mean squared error as variance; in eval it uses the stored, calibrated log_sigma, which
    calibrate_sigma sets to the images' mean squared error. The Bernoulli VAE has no log_sigma and refuses it."""
    import math

    import pytest

    from genlab.models.vae import calibrate_sigma

    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=4, channels=8, hidden=32, likelihood="gaussian")
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    torch.manual_seed(1)
    logits, _, _ = vae(x)
    sq = (torch.sigmoid(logits) - (x + 1) / 2).pow(2).flatten(1)
    var, d = sq.mean().item(), sq.shape[1]
    torch.manual_seed(1)
    _, rec, _ = negative_elbo(vae.train(), x)  # the same reparameterised sample
    expected = sq.sum(1) / (2 * var) + d * 0.5 * math.log(2 * math.pi * var)
    assert torch.allclose(rec, expected, rtol=1e-5)
    assert vae.log_sigma.item() == 0  # training does not touch the stored scale
    sigma = calibrate_sigma(vae, x)
    assert math.isclose(sigma**2, var, rel_tol=0.02) and vae.training  # one sample per image, seeded; mode kept
    vae.eval()
    x = torch.rand(5, 1, 28, 28) * 0.1 - 1  # other images (near black): another error than the calibration's
    torch.manual_seed(2)
    sq = (torch.sigmoid(vae(x)[0]) - (x + 1) / 2).pow(2).flatten(1)
    torch.manual_seed(2)
    _, rec_eval, _ = negative_elbo(vae, x)  # the stored sigma, not this batch's error
    assert torch.allclose(rec_eval, sq.sum(1) / (2 * sigma**2) + d * 0.5 * math.log(2 * math.pi * sigma**2), rtol=1e-5)
    assert not torch.allclose(rec_eval, sq.sum(1) / (2 * sq.mean()) + d * 0.5 * torch.log(2 * math.pi * sq.mean()))
    with pytest.raises(ValueError, match="likelihood must be one of bernoulli, gaussian"):
        ConvVAE(likelihood="laplace")
    with pytest.raises(ValueError, match="only a VAE with likelihood='gaussian'"):
        calibrate_sigma(ConvVAE(latent_dim=4), x)
    assert "log_sigma" not in ConvVAE(latent_dim=4).state_dict()  # Bernoulli checkpoints keep their layout


def test_a_variance_floor_holds_the_gaussian_training_variance_up():
    """negative_elbo's min_variance: in training the batch variance is max(its own, the floor); a floor below the
    batch's error changes nothing, and eval keeps the calibrated scale whatever the floor."""
    import math

    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=4, channels=8, hidden=32, likelihood="gaussian").train()
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    torch.manual_seed(1)
    sq = (torch.sigmoid(vae(x)[0]) - (x + 1) / 2).pow(2).flatten(1)
    d = sq.shape[1]

    def rec(floor):
        torch.manual_seed(1)  # the same reparameterised sample each time
        return negative_elbo(vae, x, min_variance=floor)[1]

    floored = sq.sum(1) / (2 * 0.5) + d * 0.5 * math.log(2 * math.pi * 0.5)
    assert sq.mean().item() < 0.5 and torch.allclose(rec(0.5), floored, rtol=1e-5)
    assert torch.allclose(rec(1e-4), rec(0.0)) and not torch.allclose(rec(0.5), rec(0.0))
    vae.eval()
    torch.manual_seed(3)
    plain = negative_elbo(vae, x)[1]
    torch.manual_seed(3)
    assert torch.equal(negative_elbo(vae, x, min_variance=0.5)[1], plain)
