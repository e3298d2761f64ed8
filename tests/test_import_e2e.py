"""An imported checkpoint through the running app (gradio_client): uploaded to /import_checkpoint, then drawn by
/sample (with classes and noise modes), its attribute sliders (/attributes, fitted in W at first pick) and projection
(/project); a hostile pickle uploaded the same way is refused, runs nothing, and the server keeps serving."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import genlab
from genlab.images import to_pil_grid
from genlab.tasks.sampling import sample

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


@pytest.fixture(scope="module")
def imported(client, foreign):
    card, model_box, status = client.predict(handle_file(str(foreign / "sg2_cond_resnet_64.pkl")), "e2e-sg2",
                                             "test fixture (random weights)", api_name="/import_checkpoint")
    return card, model_box, status


def test_an_uploaded_stylegan_pickle_becomes_a_model(imported, tmp_path):
    card, model_box, status = imported
    assert "Imported sg2_cond_resnet_64.pkl as **e2e-sg2**" in status and model_box["value"] == "e2e-sg2"
    assert ["e2e-sg2", "e2e-sg2"] in model_box["choices"]
    assert "StyleGAN2" in card and "SHA-256" in card and "test fixture (random weights)" in card


def test_the_imported_model_serves_sample_like_the_package(client, imported, tmp_path, foreign):
    from genlab.formats import import_checkpoint

    shown = np.asarray(Image.open(client.predict("e2e-sg2", "", 5, "3", 0.7, 4, api_name="/sample")))
    # the same picture genlab's package draws on the fixture's weights (which equal the reference code's)
    g = genlab.load(str(import_checkpoint(foreign / "sg2_cond_resnet_64.pkl", "again", tmp_path).folder), device=None)
    expected = np.asarray(to_pil_grid(sample(g, seed=5, n=4, psi=0.7, label=3), display_size=512))
    assert shown.shape == expected.shape and np.abs(shown.astype(int) - expected.astype(int)).max() <= 1
    noisy = np.asarray(Image.open(client.predict("e2e-sg2", "", 5, "3", 0.7, 4, *[0.0] * 26, ["auto"], {}, "random",
                                                 api_name="/sample")))
    assert np.abs(noisy.astype(int) - shown.astype(int)).max() > 0  # fresh noise draws another picture
    with pytest.raises(AppError, match="no unconditional mode|Class must be"):
        client.predict("e2e-sg2", "", 5, "unconditional", 0.7, 4, api_name="/sample")
    with pytest.raises(AppError, match="not one of the choices|noise mode must be"):
        client.predict("e2e-sg2", "", 5, "3", 0.7, 4, *[0.0] * 26, ["auto"], {}, "loud", api_name="/sample")


def test_attribute_sliders_and_projection_on_the_imported_model(client, imported):
    info = client.predict("e2e-sg2", "", api_name="/attributes")
    names = [s["name"] for s in info["sliders"]]
    assert "brightness" in names and not any(n.startswith("class:") for n in names)  # a StyleGAN's class is picked
    moved = client.predict("e2e-sg2", "", 0, "1", 1.0, 1, {"brightness": 3.0, "direction 1": 2.0}, ["auto"],
                           api_name="/sample_named")
    plain = client.predict("e2e-sg2", "", 0, "1", 1.0, 1, {}, ["auto"], api_name="/sample_named")
    assert np.abs(np.asarray(Image.open(moved)).astype(int) - np.asarray(Image.open(plain)).astype(int)).max() > 0
    state_image, status, state, n, psi = client.predict("e2e-sg2", "", handle_file(str(EXAMPLES / "emoji_0_smileys-emotion.png")),
                                                        50, api_name="/project")
    assert state["model"] == "e2e-sg2" and len(state["z"]) == 40 and n == 1  # a point in W (w_dim 40)
    assert "Projected" in status
    projected = client.predict("e2e-sg2", "", 0, "any", 1.0, 1, *[0.0] * 26, ["auto"], state, api_name="/sample")
    assert Image.open(projected).size[0] >= 256


class _RunsCommand:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_hostile_upload_is_refused_and_runs_nothing(client, tmp_path, foreign):
    marker = tmp_path / "pwned"
    evil = tmp_path / "ffhq.pkl"
    evil.write_bytes(pickle.dumps({"G_ema": _RunsCommand(f"touch {marker}")}))
    with pytest.raises(AppError, match="system"):
        client.predict(handle_file(str(evil)), "evil", "", api_name="/import_checkpoint")
    assert not marker.exists()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(AppError, match="is not one of|Invalid file type"):
        client.predict(handle_file(str(text)), "notes", "", api_name="/import_checkpoint")
    with pytest.raises(AppError, match="name"):
        client.predict(handle_file(str(foreign / "sg3_r_16.pkl")), "../../etc", "", api_name="/import_checkpoint")
    assert Path(client.predict("mnist-cgan", "", 0, "any", 1.0, 4, api_name="/sample")).exists()  # still serving
