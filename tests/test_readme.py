"""The README's Python snippets run (the HTTP one against the launched app)."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, re.S)


def snippet(marker: str) -> str:
    """The one README snippet containing ``marker`` (found by content, so new snippets can go anywhere)."""
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


def test_vae_client_snippet_runs(app_url, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the snippet uses repo-relative example paths
    ns = {}
    exec(snippet('api_name="/interpolation_gif"').replace("http://127.0.0.1:7860/", app_url), ns)
    assert Path(ns["middle"]).stat().st_size > 0 and Path(ns["gif"]).suffix == ".gif"


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
