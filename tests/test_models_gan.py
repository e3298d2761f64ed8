import torch

from genlab.models import Discriminator, Generator
from genlab.models.gan import d_loss, diff_augment, g_loss


def test_generator_shapes_and_range():
    g = Generator().eval()
    z = torch.randn(5, g.latent_dim)
    out = g(z, torch.tensor([0, 3, 9, g.any_class, 1]))
    assert out.shape == (5, 1, 28, 28)
    assert out.min() >= -1 and out.max() <= 1
    assert g.any_class == 10


def test_class_changes_output():
    g = Generator().eval()
    z = torch.randn(1, g.latent_dim)
    assert not torch.allclose(g(z, torch.tensor([1])), g(z, torch.tensor([7])))


def test_discriminator_logits_shape():
    d = Discriminator()
    logits = d(torch.rand(6, 1, 28, 28) * 2 - 1, torch.tensor([0, 1, 2, 3, 4, 10]))
    assert logits.shape == (6,)
    assert torch.isfinite(logits).all()


def test_losses_match_the_formulas():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected_d = -(torch.log(sig(real)).mean()) - torch.log(1 - sig(fake)).mean()
    assert torch.allclose(d_loss(real, fake), expected_d, atol=1e-6)
    assert torch.allclose(g_loss(fake), -torch.log(sig(fake)).mean(), atol=1e-6)


def test_diffaugment_keeps_shape_and_is_differentiable():
    x = (torch.rand(8, 1, 28, 28) * 2 - 1).requires_grad_()
    y = diff_augment(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not torch.allclose(diff_augment(x.detach()), x.detach())  # it really augments
    assert torch.equal(diff_augment(x.detach(), ""), x.detach())  # empty policy: identity


def test_diffaugment_cutout_zeroes_a_square():
    x = torch.ones(4, 1, 28, 28)
    y = diff_augment(x, "cutout")
    zeros = (y == 0).flatten(1).sum(1)
    assert ((zeros > 0) & (zeros <= 14 * 14)).all()
