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
