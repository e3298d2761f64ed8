"""Inpainting: masks from editor layers, crop/paste-back geometry, refusals, and every method."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.tasks import inpainting as ip
from genlab.errors import ImageInputError


def _rgba_layer(size, box):
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), box)
    return layer


def test_mask_is_the_union_of_painted_layer_alphas(tmp_path):
    bg = Image.new("RGB", (120, 80), "gray")
    bg.paste((10, 200, 30), (0, 0, 60, 80))
    bg.save(tmp_path / "bg.png")
    _rgba_layer((120, 80), (10, 10, 30, 20)).save(tmp_path / "l1.png")
    _rgba_layer((120, 80), (100, 60, 110, 70)).save(tmp_path / "l2.png")
    image, mask = ip.mask_from_editor({"background": str(tmp_path / "bg.png"),
                                       "layers": [str(tmp_path / "l1.png"), str(tmp_path / "l2.png")],
                                       "composite": None})
    assert image.shape == (80, 120, 3) and image.dtype == np.uint8
    expected = np.zeros((80, 120), bool)
    expected[10:20, 10:30] = True
    expected[60:70, 100:110] = True
    np.testing.assert_array_equal(mask, expected)


def test_mask_file_without_alpha_is_white_means_repair_and_is_resized(tmp_path):
    m = Image.new("L", (60, 40), 0)
    m.paste(255, (30, 20, 60, 40))
    m.save(tmp_path / "mask.png")
    mask = ip.mask_from_layer(tmp_path / "mask.png", size=(120, 80))  # half-size mask file
    assert mask.shape == (80, 120)
    assert mask[40:, 60:].all() and not mask[:40].any() and not mask[:, :60].any()


def test_editor_without_background_is_refused():
    with pytest.raises(ImageInputError, match="No image"):
        ip.mask_from_editor({"background": None, "layers": [], "composite": None})


def test_empty_and_full_masks_get_clear_messages():
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ImageInputError, match="empty"):
        ip.inpaint(image, np.zeros((32, 32), bool), "biharmonic")
    with pytest.raises(ImageInputError, match="covers 100%"):
        ip.inpaint(image, np.ones((32, 32), bool), "dip")
    with pytest.raises(ImageInputError, match="must match"):
        ip.inpaint(image, np.ones((16, 16), bool), "dip")


def test_crop_box_bounds_the_working_size_and_stays_inside_the_image():
    mask = np.zeros((4000, 6000), bool)
    mask[1000:1600, 2000:2400] = True  # a 600 x 400 hole
    crop = ip.crop_box(mask, max_side=128, multiple=16)
    top, left = crop.top, crop.left
    assert top <= 1000 and left <= 2000 and top + crop.height >= 1600 and left + crop.width >= 2400
    assert (crop.height, crop.width) == (1800, 1600)  # hole + its longer side (600) of context each way
    assert max(crop.work_height, crop.work_width) <= 128 and crop.work_height % 16 == crop.work_width % 16 == 0
    corner = np.zeros((100, 100), bool)
    corner[:5, 95:] = True
    c = ip.crop_box(corner)
    assert c.top == 0 and c.left + c.width == 100 and c.width == 21 and c.height == 21  # 16 px context, clamped


def test_paste_back_changes_only_masked_pixels():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    mask = np.zeros((300, 400), bool)
    mask[100:140, 150:230] = True
    crop = ip.crop_box(mask, max_side=64, multiple=16)
    patch, work_mask = ip.cut(image, mask, crop)
    assert patch.shape[:2] == work_mask.shape == (crop.work_height, crop.work_width)
    assert work_mask.any() and not work_mask.all()
    out = ip.paste(image, mask, np.ones_like(patch), crop)  # fill with white
    assert out.shape == image.shape
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert (out[mask] == 255).all()


def test_biharmonic_fills_a_smooth_image_almost_exactly():
    yy, xx = np.mgrid[0:96, 0:128]
    image = np.stack([xx * 2, yy * 2, 255 - xx - yy], axis=2).clip(0, 255).astype(np.uint8)
    mask = np.zeros((96, 128), bool)
    mask[30:60, 40:80] = True
    out = np.asarray(ip.inpaint(image, mask, "biharmonic")).astype(float)
    assert np.abs(out[mask] - image[mask]).mean() < 2.0  # a linear ramp is harmonic
    np.testing.assert_array_equal(out[~mask], image[~mask])


def test_deep_image_prior_streams_improving_previews_and_a_full_size_result():
    rng = np.random.default_rng(0)
    image = (np.asarray(Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((200, 150)))
             ).astype(np.uint8)
    mask = np.zeros((150, 200), bool)
    mask[60:80, 90:120] = True
    steps = list(ip.inpaint_steps(image, mask, "dip", iterations=40, every=10, max_side=64))
    assert [s.iteration for s in steps] == [10, 20, 30, 40]
    assert steps[-1].done and not any(s.done for s in steps[:-1])
    assert all(s.image is None for s in steps[:-1]) and steps[-1].image.size == (200, 150)
    assert steps[-1].loss < steps[0].loss  # the fit to the known pixels improves
    out = np.asarray(steps[-1].image)
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert max(steps[0].preview.size) <= ip.PREVIEW_SIDE


def test_deep_image_prior_is_reproducible_under_a_seed():
    image = np.full((64, 64, 3), 120, np.uint8)
    image[:, 32:] = 200
    mask = np.zeros((64, 64), bool)
    mask[20:40, 20:40] = True
    a = ip.inpaint(image, mask, "dip", iterations=5, seed=3)
    b = ip.inpaint(image, mask, "dip", iterations=5, seed=3)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_huge_upload_is_repaired_on_a_bounded_window():
    image = np.zeros((4000, 6000, 3), np.uint8)
    image[:, 3000:] = 255
    mask = np.zeros((4000, 6000), bool)
    mask[1900:2100, 2900:3100] = True
    steps = list(ip.inpaint_steps(image, mask, "dip", iterations=2, every=1))
    assert steps[-1].image.size == (6000, 4000)
    assert max(steps[0].preview.size) <= ip.PREVIEW_SIDE


def test_digit_domain_inverts_dark_on_light_and_marks_masked_cells():
    image = np.full((280, 280, 3), 255, np.uint8)
    image[60:220, 130:150] = 0  # a dark '1' on white
    mask = np.zeros((280, 280), bool)
    mask[100:140, 100:180] = True
    x, known, inverted = ip.digit_domain(image, mask)
    assert inverted and x.shape == known.shape == (1, 1, 28, 28)
    assert x[0, 0, 15, 14] > 0.9 and x[0, 0, 2, 2] < -0.9  # light stroke on dark, as in MNIST
    assert known[0, 0, 10:14, 10:18].sum() == 0 and known[0, 0, 0].all()


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_latent_optimisation_fits_the_known_pixels(kind, tiny_gan):
    from genlab.models import ConvVAE

    torch.manual_seed(0)
    model = (ConvVAE(latent_dim=4) if kind == "vae" else tiny_gan).eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    known = torch.ones(2, 1, 28, 28)
    known[:, :, 10:18, 10:18] = 0
    steps = list(ip.latent_inpaint(model, x, known, kind, steps=30, candidates=3))
    # the (possibly shared) model is untouched: same weights and buffers, no gradients, still eval, still trainable
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    assert all(p.grad is None and p.requires_grad for p in model.parameters()) and not model.training
    with pytest.raises(ValueError, match="eval mode"):
        next(ip.latent_inpaint(model.train(), x, known, kind, steps=1))
    first, last = steps[0], steps[-1]
    images, losses, names = last[1], last[2], last[3]
    assert images.shape == (2, 3, 1, 28, 28) and losses.shape == (2, 3) and len(names) == 2
    assert (losses[:, 1:] >= losses[:, :-1]).all()  # best first
    assert (last[2][:, 0] < first[2][:, 0]).all()  # the objective falls


def test_shipped_vae_repairs_digits_better_than_the_classical_fill():
    """Quality check on the shipped checkpoint: 10 held-out digits with a 10x10 hole."""
    from genlab.datasets import digits
    from genlab.images import to_uint8
    from genlab.evaluation.inpaint import masked_scores, synthetic_mask

    x = digits("eval").tensors[0][:10]
    truth = to_uint8(x)
    rng = np.random.default_rng(0)
    scores = {"vae": [], "biharmonic": []}
    for t in truth:
        m = synthetic_mask("square", 28, rng)
        rgb = np.repeat(t[..., None], 3, axis=2)
        for method in scores:
            out = np.asarray(ip.inpaint(rgb, m, method, iterations=100))[..., 0]
            scores[method].append(masked_scores(out, t, m)[0])
    assert np.mean(scores["vae"]) > np.mean(scores["biharmonic"]) + 2  # dB


def test_blank_editor_background_is_refused(tmp_path):
    Image.new("RGB", (800, 800), "white").save(tmp_path / "bg.png")  # what an editor without upload sends
    _rgba_layer((800, 800), (10, 10, 30, 20)).save(tmp_path / "l.png")
    with pytest.raises(ImageInputError, match="blank"):
        ip.mask_from_editor({"background": str(tmp_path / "bg.png"), "layers": [str(tmp_path / "l.png")]})
