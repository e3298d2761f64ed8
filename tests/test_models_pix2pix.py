import torch

from genlab.datasets import paired_digits
from genlab.models import PatchDiscriminator, UNetGenerator
from genlab.models.pix2pix import discriminator_loss, generator_loss
from genlab.datasets.degrade import make_input
from genlab.tasks.translation import translate


def test_unet_and_patchgan_shapes():
    g, d = UNetGenerator(channels=8).eval(), PatchDiscriminator(channels=8)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    y = g(x)
    assert y.shape == (3, 1, 28, 28) and y.min() >= -1 and y.max() <= 1
    assert d(x, y).shape == (3, 1, 7, 7)


def test_dropout_noise_stays_on_when_sampling():
    g = UNetGenerator(channels=8).eval()
    out = translate(g, torch.zeros(1, 1, 28, 28), k=3, seed=0)
    assert out.shape == (3, 1, 28, 28)
    assert not torch.allclose(out[0], out[1])  # different noise, different outputs
    assert torch.equal(out, translate(g, torch.zeros(1, 1, 28, 28), k=3, seed=0))  # seeded


def test_losses_finite_and_l1_weighted():
    fake, target = torch.zeros(2, 1, 28, 28), torch.ones(2, 1, 28, 28)
    logits = torch.zeros(2, 1, 7, 7)
    total, adv, l1 = generator_loss(logits, fake, target, l1_weight=100.0)
    assert torch.isclose(l1, torch.tensor(1.0)) and torch.isclose(total, adv + 100.0)
    assert torch.isfinite(discriminator_loss(logits, logits))


def test_pair_builder_deterministic_under_seed():
    a = paired_digits("sketch2digit", "eval", seed=3).tensors
    b = paired_digits("sketch2digit", "eval", seed=3).tensors
    c = paired_digits("sketch2digit", "eval", seed=4).tensors
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])  # jitter differs, targets don't
    x, y, labels = a
    assert x.shape == y.shape == (500, 1, 28, 28) and labels.shape == (500,)
    # a sketch is thinner than its digit: fewer lit pixels
    assert ((x > 0).float().mean() < (y > 0).float().mean())


def test_superres_input_is_the_7x7_digit():
    y = paired_digits("superres", "eval").tensors[1][:4]
    x = make_input("superres", y)
    small = torch.nn.functional.avg_pool2d(x, 4)
    assert (small - torch.nn.functional.avg_pool2d(y, 4)).abs().mean() < 0.1  # same 7x7 content
    assert (x - y).abs().mean() > 0.05  # detail was lost


def test_one_training_step_moves_the_weights(tmp_path):
    from genlab.train.__main__ import main

    main(["pix2pix", "--preset", "tiny", "--out", str(tmp_path / "p2p")])
    import genlab

    g = genlab.load(str(tmp_path / "p2p"), model_type="pix2pix", device=None)
    assert g.task == "sketch2digit"
    assert "python -m genlab.train pix2pix --preset tiny" in (tmp_path / "p2p" / "README.md").read_text()


def test_spectral_norm_discriminator_keeps_its_shape_and_bounds_each_layer(tmp_path):
    """--spectral-norm true: every conv is spectrally normalised (its largest singular value about 1 after a few
    power iterations), batch norm is off, the logit map has the same shape, and the config round-trips."""
    torch.manual_seed(0)
    plain, sn = PatchDiscriminator(), PatchDiscriminator(spectral_norm=True)
    x, y = torch.randn(2, 1, 28, 28), torch.randn(2, 1, 28, 28)
    assert sn(x, y).shape == plain(x, y).shape == (2, 1, 7, 7)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in sn.modules())
    convs = [m for m in sn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    for _ in range(20):  # power iterations run in training mode
        sn(x, y)
    sigma = torch.linalg.matrix_norm(convs[1].weight.detach().flatten(1), ord=2)
    assert abs(float(sigma) - 1) < 0.1
    sn.save_pretrained(tmp_path / "d")
    back = PatchDiscriminator.from_pretrained(tmp_path / "d")
    assert back._hub_mixin_config["spectral_norm"] is True  # the saved config.json carries it
    sn.eval(), back.eval()
    assert torch.allclose(back(x, y), sn(x, y), atol=1e-5)
