"""Projection of an image into a GAN (genlab.tasks.projection), and the app's /project, /attributes and
/sample_named endpoints: a projected image is then edited by the sliders like any sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.tasks.projection import ProjectionError, project
from genlab.tasks.sampling import latents, sample

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


def test_a_gan_sample_projects_back_close_in_pixels():
    """The digit GAN's own sample (seed 7, a 5): the search picks its class and the result is within MSE 0.01 on
    -1..1 values (measured: 0.0014 after 200 steps; 120 here)."""
    g = genlab.load("mnist-cgan")
    x = sample(g, seed=7, n=1)
    steps = list(project(g, x, steps=120, every=20))
    last = steps[-1]
    print(f"own sample: MSE {last.mse:.4f}, class {last.label}; first report {steps[0].mse:.4f}")
    assert last.label == int(latents(g, seed=7, n=1)[1][0])
    assert last.mse < 0.01 and last.mse < steps[0].mse
    assert torch.allclose(sample(g, seed=0, n=1, start=(last.z, last.label)), last.image, atol=1e-5)
    assert [s.stage for s in steps][:1] == ["search"] and steps[-1].stage == "refine"


def test_projection_refuses_what_it_cannot_do(tiny_gan):
    x = torch.zeros(1, 1, 28, 28)
    with pytest.raises(ProjectionError, match="steps must be"):
        next(project(tiny_gan, x, steps=5000))
    with pytest.raises(ProjectionError, match="shape"):
        next(project(tiny_gan, torch.zeros(1, 3, 32, 32)))
    with pytest.raises(ProjectionError, match="eval mode"):
        next(project(tiny_gan.train(), x))
    tiny_gan.eval()


def test_the_app_projects_an_upload_and_the_sliders_edit_it(client):
    state_image, status, state, n, psi = client.predict("mnist-cgan", "", _file(EXAMPLES / "digit_3.png"), 60,
                                                        api_name="/project")
    assert state["model"] == "mnist-cgan" and len(state["z"]) == 64 and n == 1 and psi == 1.0
    assert "Projected" in status and Image.open(state_image).size[0] >= 200
    plain = np.asarray(Image.open(client.predict("mnist-cgan", "", 0, "any", 1.0, 1, *[0.0] * 26, ["auto"], state,
                                                 api_name="/sample")))
    g = genlab.load("mnist-cgan")
    expected = sample(g, seed=0, n=1, start=(torch.tensor(state["z"]), state["label"]))
    from genlab.images import to_pil_grid

    assert np.abs(plain.astype(int) - np.asarray(to_pil_grid(expected, display_size=512)).astype(int)).max() <= 1
    slanted = client.predict("mnist-cgan", "", 0, "any", 1.0, 1, {"slant": 3.0}, ["auto"], api_name="/sample_named")
    assert np.asarray(Image.open(slanted)).shape == plain.shape
    held = client.predict("mnist-cgan", "", 0, "any", 1.0, 1, {"thickness": 3.0}, ["size"], api_name="/sample_named")
    assert np.asarray(Image.open(held)).shape == plain.shape  # a measure held by name, not only "auto"
    info = client.predict("mnist-cgan", "", api_name="/attributes")
    names = [s["name"] for s in info["sliders"]]
    assert names[:3] == ["thickness", "size", "slant"] and "class:7" in names
    assert info["sliders"][2]["own_effect_sd"] > 0.3 and "| slant |" in info["table"]


def test_the_app_refuses_bad_projection_input(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Upload an image"):
        client.predict("mnist-cgan", "", None, 60, api_name="/project")
    with pytest.raises(AppError, match="Steps must be|Steps: 100000 is greater than the maximum"):  # the slider's bound (named), or the handler's
        client.predict("mnist-cgan", "", _file(EXAMPLES / "digit_3.png"), 100000, api_name="/project")
    with pytest.raises(AppError, match="Unknown slider"):
        client.predict("mnist-cgan", "", 0, "any", 1.0, 1, {"wider": 1.0}, ["auto"], api_name="/sample_named")
    with pytest.raises(AppError, match="Cannot hold"):
        client.predict("mnist-cgan", "", 0, "any", 1.0, 1, {"size": 1.0}, ["nonsense"], api_name="/sample_named")
    with pytest.raises(AppError, match="at most 20"):
        client.predict("mnist-cgan", "", 0, "any", 1.0, 1, {"size": 1.0}, ["size"] * 500, api_name="/sample_named")
    with pytest.raises(AppError, match="^The projected image's state is malformed"):  # not wrapped in another message
        client.predict("mnist-cgan", "", 0, "any", 1.0, 1, *[0.0] * 26, ["auto"], {"model": "mnist-cgan", "z": "x"},
                       api_name="/sample")


def _file(path):
    from gradio_client import handle_file

    return handle_file(str(path))
