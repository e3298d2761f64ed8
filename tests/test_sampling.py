import pytest
import torch

from genlab.tasks.sampling import MAX_SEED, SamplingError, sample, sample_image, sefa_directions


def test_sefa_directions_are_orthonormal_and_ranked(tiny_gan):
    d, ev = sefa_directions(tiny_gan, 5)
    assert d.shape == (5, tiny_gan.latent_dim)
    assert torch.allclose(d @ d.T, torch.eye(5), atol=1e-5)
    assert (ev[:-1] >= ev[1:]).all()
    # the top direction moves the first layer's output the most of any unit vector
    a = tiny_gan.latent_weight().detach()
    random_dirs = torch.nn.functional.normalize(torch.randn(100, tiny_gan.latent_dim), dim=1)
    assert (a @ d[0]).norm() >= (random_dirs @ a.T).norm(dim=1).max()


def test_same_seed_same_images_and_prefix_stable(tiny_gan):
    a = sample(tiny_gan, seed=5, label=3, n=4)
    b = sample(tiny_gan, seed=5, label=3, n=9)
    assert a.shape == (4, 1, 28, 28)
    assert torch.allclose(a, b[:4], atol=1e-5)  # batch size may change float rounding only
    assert not torch.equal(a, sample(tiny_gan, seed=6, label=3, n=4))
    # random classes are drawn from the seed too, and prefix-stable
    assert torch.allclose(sample(tiny_gan, seed=5, n=3), sample(tiny_gan, seed=5, n=8)[:3], atol=1e-5)


def test_controls_change_the_image(tiny_gan):
    base = sample(tiny_gan, seed=1, label=2, n=2)
    assert not torch.allclose(base, sample(tiny_gan, seed=1, label=2, n=2, offsets=[3.0]))
    assert not torch.allclose(base, sample(tiny_gan, seed=1, label=2, n=2, psi=0.3))
    assert not torch.allclose(base, sample(tiny_gan, seed=1, label=None, n=2))
    assert not torch.allclose(base, sample(tiny_gan, seed=1, label=tiny_gan.any_class, n=2))
    # psi = 0 collapses every sample to the mean latent
    flat = sample(tiny_gan, seed=1, label=2, n=3, psi=0.0)
    assert torch.allclose(flat[0], flat[2])


def test_image_is_upscaled_crisply(tiny_gan):
    img = sample_image(tiny_gan, seed=0, label=1, n=1, display_size=280)
    assert img.size == (280, 280) and img.mode == "L"
    px = img.load()
    assert px[0, 0] == px[9, 9]  # each 28-px pixel is a 10x10 block (nearest)
    grid = sample_image(tiny_gan, seed=0, n=64, display_size=512)
    assert grid.size == (484, 484)  # 8x8 grid of 28 px + 2 px padding = 242 px, doubled


@pytest.mark.parametrize(
    "kwargs",
    [dict(seed=-1), dict(seed=MAX_SEED + 1), dict(n=0), dict(n=65), dict(psi=-0.1), dict(label=11),
     dict(offsets=[9.0])],
)
def test_bad_values_raise_readable_errors(tiny_gan, kwargs):
    with pytest.raises(SamplingError, match="must"):
        sample(tiny_gan, **{"seed": 0, **kwargs})


def test_a_no_class_mode_that_measured_poorly_is_not_offered(tmp_path):
    import json

    import genlab
    from genlab.evaluation.cards import set_no_class_mode
    from genlab.models import Generator
    from genlab.tasks.sampling import class_choices, class_index

    g = Generator(latent_dim=8, channels=16, embed_dim=4)
    assert "unconditional" in class_choices(g) and class_index(g, "unconditional") == g.any_class
    g.save_pretrained(tmp_path / "g")
    # the release rule: offered while the "any" label's FID is at most 1.5x the classes'
    assert set_no_class_mode(tmp_path / "g", {"fid": 100.0, "fid_any": 140.0})
    assert not set_no_class_mode(tmp_path / "g", {"fid": 100.0, "fid_any": 151.0})
    assert json.loads((tmp_path / "g" / "config.json").read_text())["no_class_mode"] is False
    off = genlab.load(str(tmp_path / "g"))
    assert class_choices(off) == ["any", *off.labels]
    with pytest.raises(SamplingError, match="not offered.*Pick 'any'"):
        class_index(off, "unconditional")
    assert class_index(off, "3") == 3 and class_index(off, "any") is None
    assert set_no_class_mode(tmp_path / "g", {"fid": 100.0}) is False  # not measured: left as it is
