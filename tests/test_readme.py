"""The README and docs/: the Python snippets of both run (the HTTP ones against the launched app), the README
stays a front door (short, every docs page linked), and every relative link resolves."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
SNIPPETS = re.findall(r"```python\n(.*?)```", "\n".join([README, *(p.read_text() for p in DOCS)]), re.S)
README_MAX_LINES = 200


def snippet(marker: str) -> str:
    """The one snippet (README or docs/) containing ``marker`` (found by content, so snippets can go anywhere)."""
    found = [s for s in SNIPPETS if marker in s]
    assert len(found) == 1, (marker, len(found))
    return found[0]


def test_front_matter_pins_the_installed_gradio():
    import gradio

    assert README.startswith("---\n")
    front = README.split("---\n")[1]
    assert f"sdk_version: {gradio.__version__}" in front and "app_file: app.py" in front and "sdk: gradio" in front
    assert f"gradio=={gradio.__version__}" in (Path(__file__).resolve().parent.parent / "requirements.txt").read_text()
    # the Hub reads it as a Space card (`git push` of this folder): closed, and a short_description it accepts
    from huggingface_hub import SpaceCard

    data = SpaceCard(README).data
    assert data.sdk == "gradio" and data.sdk_version == gradio.__version__ and data.app_file == "app.py"
    assert 0 < len(data.get("short_description", "")) <= 60 and "## Set-up" not in front


def test_python_snippet_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(snippet('"sevens.png"'), {})
    assert (tmp_path / "sevens.png").stat().st_size > 0


def test_client_snippet_runs(app_url):
    ns = {}
    exec(snippet('png_path = client.predict').replace("http://127.0.0.1:7860/", app_url), ns)
    assert Path(ns["png_path"]).stat().st_size > 0


def test_attribute_and_projection_client_snippet_runs(app_url, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    ns = {}
    exec(snippet('api_name="/sample_named"').replace("http://127.0.0.1:7860/", app_url), ns)
    assert ns["info"]["sliders"][0]["name"] == "thickness" and ns["state"]["model"] == "mnist-cgan"
    assert all(Path(ns[k]).stat().st_size > 0 for k in ("flags", "shown", "slanted"))


def test_vae_client_snippet_runs(app_url, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the snippet uses repo-relative example paths
    ns = {}
    exec(snippet('api_name="/interpolation_gif"').replace("http://127.0.0.1:7860/", app_url), ns)
    assert Path(ns["middle"]).stat().st_size > 0 and Path(ns["gif"]).suffix == ".gif"
    assert Path(ns["thick"]).read_bytes() != Path(ns["middle"]).read_bytes()  # the arithmetic moved A


def test_translate_client_snippet_runs(app_url, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    ns = {}
    exec(snippet('"sketch2digit", 4, 0').replace("http://127.0.0.1:7860/", app_url), ns)
    assert Path(ns["seen"]).stat().st_size > 0 and Path(ns["outputs"]).stat().st_size > 0



def test_emoji_client_snippet_runs(app_url, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    ns = {}
    exec(snippet('"emoji-sketch2color"').replace("http://127.0.0.1:7860/", app_url), ns)
    assert all(Path(ns[k]).stat().st_size > 0 for k in ("animals", "halfway", "seen", "coloured"))
    assert len(ns["gallery"]) == 20 and Path(ns["zip_path"]).suffix == ".zip"


def test_unpaired_client_snippet_runs(app_url, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    ns: dict = {}
    exec(snippet('api_name="/translate_unpaired"').replace("http://127.0.0.1:7860/", app_url), ns)
    assert Path(ns["noto"]).stat().st_size > 0 and Path(ns["back"]).stat().st_size > 0


def test_repair_and_augment_client_snippet_runs(app_url, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    ns = {}
    exec(snippet('api_name="/inpaint"').replace("http://127.0.0.1:7860/", app_url), ns)
    assert ns["status"].startswith("done: vae") and Path(ns["repaired"]).stat().st_size > 0
    assert len(ns["gallery"]) == 100 and Path(ns["zip_path"]).suffix == ".zip"


def test_inpainting_python_snippet_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(snippet('inpaint_steps(photo'), {})
    assert (tmp_path / "repaired.png").stat().st_size > 0


def test_own_images_python_snippet_runs(tmp_path, monkeypatch, trained):
    """The "Train on your own images" snippet, against a GAN trained on the test's colour folder."""
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(snippet("my_photos-gan").replace("checkpoints/my_photos-gan", str(trained["gan"])).replace('"cells"', '"circle"'), ns)
    assert ns["g"].labels == ["circle", "square", "triangle"] and (tmp_path / "cells.png").stat().st_size > 0


def test_train_client_snippet_runs(app_url, tmp_path, monkeypatch, capsys):
    """The Train tab over HTTP: a ZIP of 30 images trains a GAN in the background, progress arrives, and the new
    model serves /sample by its name (the VAE half of the tab's end-to-end test is tests/test_train_e2e.py)."""
    from test_train_jobs import zip_folder

    from genlab.testing import make_shapes_folder

    make_shapes_folder(tmp_path / "shapes", per_class=10, size=40)
    zip_folder(tmp_path / "shapes", tmp_path / "my_images.zip")
    monkeypatch.chdir(tmp_path)
    code = snippet('api_name="/train_start"').replace("http://127.0.0.1:7860/", app_url)
    code = code.replace('"gan", 32, 3, "crop", 5, 2000, 32, 100', '"gan", 16, 3, "crop", 0, 12, 8, 4')
    ns = {}
    exec(code.replace("time.sleep(5)", "time.sleep(0.3)"), ns)
    status = ns["status"]
    assert status["state"] == "finished" and status["model"] == "my-gan" and status["samples"] == 3
    progress = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("running")]
    assert any(0 < int(step) < 12 for _, step, *_ in progress), f"no progress while it ran: {progress}"
    assert Path(ns["grid_path"]).is_file()


def test_readme_is_a_front_door_linking_every_docs_page():
    assert len(README.splitlines()) <= README_MAX_LINES, len(README.splitlines())
    assert len(DOCS) >= 6
    for page in DOCS:
        assert f"](docs/{page.name})" in README, f"docs/{page.name} is not linked from the README"
    # the two set-up commands, one screenshot per tab, and a Python and a gradio_client example
    assert "    make app\n" in README and "    make test\n" in README
    for tab in ("gan", "vae", "translate", "repair", "train"):
        assert f"](docs/screenshots/{tab}.png)" in README and (ROOT / "docs" / "screenshots" / f"{tab}.png").is_file()
    assert "genlab.load(" in README and "from gradio_client import Client" in README


def test_every_relative_link_resolves():
    missing = []
    for page in [ROOT / "README.md", *DOCS]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"(https?:|mailto:|#)", target):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert not missing, missing


def test_every_snippet_is_run_by_a_test():
    """A snippet no test executes can rot: each python block holds a marker some test above looks for."""
    source = Path(__file__).read_text()
    markers = re.findall(r"snippet\((['\"])(.+?)\1\)", source)
    for s in SNIPPETS:
        assert any(m in s for _, m in markers), "a python snippet no test runs:\n" + s[:200]
