"""VAE latent arithmetic: class vectors and attribute directions on the codes of real images, measured on
held-out digits the stored table did not use (the last 244 of the 500), and applied to image A by the app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.datasets.digits import digit_set
from genlab.hub import CHECKPOINTS_DIR
from genlab.tasks.directions import measure
from genlab.tasks.latent_arithmetic import (LatentArithmeticError, codes, fit_arithmetic, load_arithmetic,
                                           save_arithmetic)
from genlab.web import digest

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


@pytest.fixture(scope="module")
def digits():
    vae = genlab.load("mnist-vae")
    result = load_arithmetic(CHECKPOINTS_DIR / "mnist-vae" / "arithmetic.json", digest(vae), vae.latent_dim)
    held = digit_set("eval")
    return vae, result, held.images[256:].float() / 127.5 - 1, held.labels[256:]


def test_shipped_vaes_carry_arithmetic_for_their_weights():
    for name in ("mnist-vae", "emoji-vae"):
        vae = genlab.load(name)
        result = load_arithmetic(CHECKPOINTS_DIR / name / "arithmetic.json", digest(vae), vae.latent_dim)
        assert result is not None, f"{name}: arithmetic.json is missing or was fitted on other weights"
        assert result.effects is not None and result.fit_images > 1000
        assert sum(n.startswith("class:") for n in result.names) == 9 if name.startswith("emoji") else 10


def test_a_class_vector_makes_other_digits_more_like_that_class(digits):
    """"→ more 7" (2 units) on held-out digits that are not 7s: the classifier's p(7) rises by over 20 points and
    more than any other class's (stored table, 1 unit, first 256 held-out digits: +33.1 points)."""
    vae, result, x, y = digits
    classifier = genlab.load("mnist-classifier").eval()
    keep = y != 7
    mu = codes(vae, x[keep])
    v = result.vectors[result.names.index("class:7")]
    with torch.inference_mode():
        p0 = classifier(vae.decode(mu)).softmax(1).mean(0)
        p1 = classifier(vae.decode(mu + 2 * v)).softmax(1).mean(0)
    change = (p1 - p0) * 100
    print("p change (points):", [round(float(c), 1) for c in change])
    assert float(change[7]) > 20 and int(change.argmax()) == 7


def test_a_thickness_direction_thickens_decoded_digits(digits):
    """One unit of "thickness" (fitted to add +1 SD) on held-out codes: thickness rises by over 0.5 SD of the real
    digits' and more than size or slant move (stored table: +0.93 SD against size +0.29)."""
    vae, result, x, _ = digits
    real = measure(x)
    mu = codes(vae, x)
    v = result.vectors[result.names.index("thickness")]
    with torch.inference_mode():
        m0, m1 = measure(vae.decode(mu)), measure(vae.decode(mu + v))
    effect = {k: float((m1[k] - m0[k]).mean() / real[k].std()) for k in ("thickness", "size", "slant")}
    print("per unit, SD:", {k: round(e, 2) for k, e in effect.items()})
    assert effect["thickness"] > 0.5 and effect["thickness"] > max(abs(effect["size"]), abs(effect["slant"]))


def test_fit_and_file_round_trip_and_refusals(tmp_path):
    torch.manual_seed(0)
    from genlab.models import ConvVAE

    vae = ConvVAE(latent_dim=4).eval()
    images = (torch.rand(40, 1, 28, 28) * 255).to(torch.uint8)
    labels = torch.arange(40) % 2
    result = fit_arithmetic(vae, images, labels, ["a", "b"], held_out=images[:8])
    assert result.names == ["thickness", "size", "slant", "class:a", "class:b"] and result.effects.shape == (5, 3)
    path = save_arithmetic(result, tmp_path / "arithmetic.json", "d1")
    back = load_arithmetic(path, "d1", 4)
    assert torch.allclose(back.vectors, result.vectors, atol=1e-5) and load_arithmetic(path, "d2", 4) is None
    with pytest.raises(LatentArithmeticError, match="within"):
        result.shift([9.0])
    data = json.loads(path.read_text())
    data["vectors"] = [[1.0, 2.0]]
    path.write_text(json.dumps(data))
    with pytest.raises(LatentArithmeticError, match="unreadable"):
        load_arithmetic(path, "d1", 4)
    with pytest.raises(LatentArithmeticError, match="at least 10"):
        fit_arithmetic(vae, images[:5], labels[:5], ["a", "b"])


def test_the_app_applies_arithmetic_to_image_a(client):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    a, b = handle_file(str(EXAMPLES / "digit_1.png")), handle_file(str(EXAMPLES / "digit_7.png"))
    plain = np.asarray(Image.open(client.predict(a, b, 0.0, "spherical", "mnist-vae", api_name="/interpolate")))
    same = np.asarray(Image.open(client.predict(a, b, 0.0, "spherical", "mnist-vae", *[0.0] * 16,
                                                api_name="/interpolate")))
    thick = np.asarray(Image.open(client.predict(a, b, 0.0, "spherical", "mnist-vae", 2.0, *[0.0] * 15,
                                                 api_name="/interpolate")))
    assert np.array_equal(plain, same)
    assert thick.astype(float).mean() > plain.astype(float).mean() + 2  # thicker strokes: more light pixels
    gif = client.predict(a, b, 4, "spherical", "mnist-vae", 0.0, 0.0, 0.0, 1.0, *[0.0] * 12,
                         api_name="/interpolation_gif")
    assert Path(gif).suffix == ".gif"
    with pytest.raises(AppError, match="within|Arithmetic 1: 9.0 is greater than the maximum"):  # the slider's bound (named), or the task's own
        client.predict(a, b, 0.0, "spherical", "mnist-vae", 9.0, api_name="/interpolate")
