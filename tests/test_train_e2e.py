"""The Train tab through the launched app (gradio_client): a ZIP of 30 images trains a VAE in the background,
progress arrives while it runs, and the new model serves /interpolate by name (the GAN half, with /sample, is the
docs' snippet: tests/test_readme.py). A hostile ZIP gets a readable refusal and the server keeps serving."""

from __future__ import annotations

import time
import zipfile

import pytest
from gradio_client import handle_file
from PIL import Image
from test_train_jobs import zip_folder

from genlab.testing import make_shapes_folder

@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("train-e2e")
    make_shapes_folder(root / "shapes", per_class=10, size=40)
    return root / "shapes", zip_folder(root / "shapes", root / "shapes.zip")


def _train(client, zip_path, family: str, name: str, steps: int) -> tuple[dict, set]:
    out = client.predict("upload", handle_file(str(zip_path)), None, family, 16, 3, "crop", 0, steps, 8, 4, name,
                         api_name="/train_start")
    job_id, summary = out[0], out[1]
    assert "27 to train on, 3 held out; 3 classes" in summary and "`circle/empty.png`: The file is empty" in summary
    seen = set()
    deadline = time.time() + 150
    while time.time() < deadline:
        s = client.predict(job_id, api_name="/train_status")
        seen.add((s["state"], s["step"]))
        if s["state"] in ("finished", "failed", "stopped"):
            return s, seen
        time.sleep(0.3)
    raise AssertionError(f"{family} job did not finish: {s}")


def test_zip_to_vae_then_interpolate_by_name(client, shapes):
    folder, zip_path = shapes
    text, grid = client.predict("upload", handle_file(str(zip_path)), None, "gan", 16, 3, "pad", 8,
                                api_name="/train_check")
    assert "circle 9 (+1), square 9 (+1), triangle 9 (+1)" in text and "padded to square" in text
    assert Image.open(grid).size[0] >= 8 * 16  # 8 images per class, at 16 px, shown enlarged

    vae, seen = _train(client, zip_path, "vae", "e2e-vae", steps=12)
    assert vae["state"] == "finished", vae["log_tail"]
    assert any(state == "running" and 0 < step < 12 for state, step in seen), f"no progress while running: {seen}"
    assert vae["samples"] == 3 and len(vae["losses"]["train loss"]) >= 3 and vae["model"] == "e2e-vae"
    a, b = sorted((folder / "circle").glob("*.png"))[:2]
    mid = client.predict(handle_file(str(a)), handle_file(str(b)), 0.5, "linear", "e2e-vae", api_name="/interpolate")
    assert Image.open(mid).size[0] >= 16

    listed = {j["name"]: j for j in client.predict([], api_name="/train_jobs")}
    assert listed["e2e-vae"]["model"] == "e2e-vae" and listed["e2e-vae"]["state"] == "finished"


def test_a_hostile_zip_is_refused_and_the_server_keeps_serving(client, tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("cats/1.png", b"x")
        z.writestr("../../outside.png", b"x")
    with pytest.raises(Exception, match="leaves its folder"):
        client.predict("upload", handle_file(str(evil)), None, "gan", 16, 3, "crop", 0, 4, 8, 4, "",
                       api_name="/train_start")
    with pytest.raises(Exception, match="no such training job"):
        client.predict("not-a-job", api_name="/train_status")
    assert isinstance(client.predict([], api_name="/train_jobs"), list)
