import torch

from genlab.tasks.interpolation import interpolate_latent, kl_ranking, path, slerp, traversal
from genlab.models import ConvVAE


def test_slerp_endpoints_equal_the_inputs():
    a, b = torch.randn(16), torch.randn(16)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    mid = slerp(a, b, 0.5)
    assert torch.isclose(mid.norm(), (a.norm() + b.norm()) / 2, atol=1e-4)  # norm interpolated linearly
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-5)  # parallel: falls back to linear


def test_linear_and_spherical_differ_in_between():
    a, b = torch.randn(16), torch.randn(16)
    assert not torch.allclose(interpolate_latent(a, b, 0.5, "linear"), interpolate_latent(a, b, 0.5, "spherical"))


def test_path_and_traversal_shapes_and_order():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=6).eval()
    vae.kl_per_dim.copy_(torch.tensor([0.1, 3.0, 0.5, 2.0, 0.0, 1.0]))
    frames = path(vae, torch.zeros(6), torch.ones(6), 5, "spherical")
    assert frames.shape == (5, 1, 28, 28)
    assert [d for d, _ in kl_ranking(vae)] == [1, 3, 5, 2, 0, 4]
    grid, ranking = traversal(vae, torch.zeros(6), rows=3, steps=7)
    assert grid.shape == (21, 1, 28, 28) and [d for d, _ in ranking] == [1, 3, 5]
    assert not torch.allclose(grid[0], grid[6])  # the row varies


def test_sketchpad_drawing_becomes_an_endpoint():
    """The Sketchpad's composite (black strokes on transparent RGBA) feeds the VAE like an upload."""
    import numpy as np

    import genlab
    from genlab.tasks.interpolation import encode
    from genlab.ui.common import sketch_to_image

    assert sketch_to_image(None) is None
    empty = np.zeros((280, 280, 4), np.uint8)
    assert sketch_to_image({"composite": empty, "layers": [], "background": None}) is None
    drawn = empty.copy()
    drawn[60:220, 130:150] = (0, 0, 0, 255)  # a '1'
    drawing = sketch_to_image({"composite": drawn, "layers": [], "background": None})
    z, x = encode(genlab.load("mnist-vae", device=None), drawing)
    assert z.shape == (16,) and x.shape == (1, 1, 28, 28)
    assert x[0, 0, :, 13:15].max() > 0.9  # the stroke is white, centred
