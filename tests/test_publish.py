"""genlab publish: dry runs, the card's Hub metadata, the Space's files and front matter, and the upload
path with HfApi replaced at the method level. Nothing here reaches the Hub."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi, ModelCard, SpaceCard

from genlab import publish
from genlab.hub import CHECKPOINTS_DIR, SHIPPED

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def space_plan():
    return publish.plan_space("someone/genlab", hardware="zero-a10g")


def test_model_dry_run_lists_the_folder_and_keeps_genlab_card():
    plan = publish.plan_model("emoji-cgan", "someone/emoji-cgan")
    assert plan.repo_type == "model"
    assert plan.paths() == ["README.md", "attributes.json", "config.json", "directions.json", "loss_curve.png",
                            "memorisation.png", "model.safetensors", "samples.png",
                            "samples_truncated.png", "truncation.json"]  # fitted sliders and names; the grid at its
    # default truncation and the choice's table
    card = ModelCard(plan.generated["README.md"])
    data = card.data
    assert data.library_name == "genlab" and data.license == "cc-by-sa-4.0"
    assert {"gan", "genlab", "safetensors"} <= set(data.tags)
    assert data.pipeline_tag == "unconditional-image-generation"
    figures = {(r.metric_type, r.metric_value) for r in data.eval_results}
    assert ("fid", 83.56) in figures and ("accuracy", 60.74) in figures and ("kid", 0.0556) in figures
    assert ("fid", 110.96) in figures and ("accuracy", 51.26) in figures  # the same weights without truncation
    assert all(r.dataset_type == "openmoji" and r.dataset_split == "held-out" for r in data.eval_results)
    # genlab's own card text goes as it is: results table, training command, credit
    original = (CHECKPOINTS_DIR / "emoji-cgan" / "README.md").read_text().split("---\n", 2)[2]
    assert card.text.strip() == original.strip()


@pytest.mark.parametrize("name", list(SHIPPED))
def test_every_shipped_card_gets_metadata_that_loads(name):
    card = ModelCard(publish.model_card(CHECKPOINTS_DIR / name, f"someone/{name}"))
    assert card.data.library_name == "genlab" and card.data.pipeline_tag in publish.PIPELINE.values()
    assert card.data.eval_results, f"{name}: no figures found in its card"
    if name.startswith("mnist-"):
        assert card.data.datasets == ["ylecun/mnist"]


def test_dry_run_cli_prints_files_and_sends_nothing(monkeypatch, capsys):
    def refuse(*a, **k):
        raise AssertionError("a dry run must not reach the Hub")

    monkeypatch.setattr(HfApi, "create_repo", refuse)
    monkeypatch.setattr(HfApi, "upload_folder", refuse)
    publish.main(["model", "mnist-cgan", "--repo", "someone/mnist-cgan", "--dry-run"])
    out = capsys.readouterr().out
    assert "model.safetensors" in out and "model-index:" in out and "nothing was sent" in out
    sent = publish.plan_model("mnist-cgan", "someone/mnist-cgan").paths()
    assert f"MB  in {len(sent)} files" in out and "directions.json" in sent


def test_model_refuses_pickles_missing_card_and_bad_repo(tmp_path, tiny_gan):
    tiny_gan.save_pretrained(tmp_path / "ok")
    (tmp_path / "ok" / "README.md").write_text("# tiny\n")
    assert publish.plan_model(str(tmp_path / "ok"), "me/tiny").paths() == ["README.md", "config.json",
                                                                           "model.safetensors"]
    (tmp_path / "ok" / "training_state.json").write_text("{}")  # resume state never goes
    assert "training_state.json" not in publish.plan_model(str(tmp_path / "ok"), "me/tiny").paths()
    with pytest.raises(publish.PublishError, match="repo id"):
        publish.plan_model(str(tmp_path / "ok"), "not a repo")
    tiny_gan.save_pretrained(tmp_path / "nocard")
    (tmp_path / "nocard" / "README.md").unlink()
    with pytest.raises(publish.PublishError, match="no model card"):
        publish.plan_model(str(tmp_path / "nocard"), "me/tiny")
    (tmp_path / "ok" / "optimizer.pt").write_bytes(b"\x80\x04")
    with pytest.raises(publish.PublishError, match="pickle"):
        publish.plan_model(str(tmp_path / "ok"), "me/tiny")
    with pytest.raises(publish.PublishError, match="neither a checkpoint name"):
        publish.plan_model(str(tmp_path / "missing"), "me/tiny")


def test_model_refuses_weights_that_do_not_load(tmp_path, tiny_gan):
    tiny_gan.save_pretrained(tmp_path / "bad")
    (tmp_path / "bad" / "README.md").write_text("# tiny\n")
    data = (tmp_path / "bad" / "model.safetensors").read_bytes()
    (tmp_path / "bad" / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(publish.PublishError, match="does not load"):
        publish.plan_model(str(tmp_path / "bad"), "me/tiny")


def test_model_refuses_weights_over_the_limit(tmp_path, tiny_gan, monkeypatch):
    tiny_gan.save_pretrained(tmp_path / "big")
    (tmp_path / "big" / "README.md").write_text("# tiny\n")
    monkeypatch.setattr(publish, "MAX_WEIGHTS_MB", 0.001)
    with pytest.raises(publish.PublishError, match="at most"):
        publish.plan_model(str(tmp_path / "big"), "me/tiny")


def test_space_sends_what_a_space_needs_and_nothing_else(space_plan):
    paths = space_plan.paths()
    for needed in ("app.py", "requirements.txt", "README.md", ".gitattributes", "LICENSE", "genlab/__init__.py",
                   "genlab/ui/gan_tab.py", "genlab/web/genlab.js", "genlab/datasets/openmoji.tsv",
                   "genlab/ui/augment_results_emoji.json", "docs/training.md", "docs/screenshots/gan.png"):
        assert needed in paths, needed
    assert any(p.startswith("genlab/web/vendor/onnxruntime-web/") and p.endswith(".wasm.gz") for p in paths)
    assert any(p.startswith("genlab/ui/examples/") for p in paths)
    for name in SHIPPED:
        assert f"checkpoints/{name}/model.safetensors" in paths and f"checkpoints/{name}/config.json" in paths
    for p in paths:
        assert not p.startswith(("tests/", "runs/", ".venv", "benchmarks/", "scripts/", ".ci", "ci-artifacts")), p
        assert "__pycache__" not in p and not p.endswith((".pyc", ".pyi")) and "training_state" not in p, p
    # every file the app imports at start-up is there: the package's .py files all go
    local = {f"genlab/{q.relative_to(ROOT / 'genlab').as_posix()}" for q in (ROOT / "genlab").rglob("*.py")
             if "__pycache__" not in q.parts}
    assert local <= set(paths)


def test_space_front_matter_matches_the_space_config(space_plan):
    import gradio

    card = SpaceCard(space_plan.generated["README.md"])
    data = card.data
    assert data.sdk == "gradio" and data.sdk_version == gradio.__version__ and data.app_file == "app.py"
    assert data.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert data.get("suggested_hardware") == "zero-a10g"
    assert data.license == "cc-by-sa-4.0" and len(data.get("short_description")) <= 60
    assert "OpenMoji" in card.text and "CC BY-SA 4.0" in card.text
    assert "## Set-up" in card.text  # the repo README's body follows


def test_space_with_chosen_models_only(tmp_path, tiny_gan):
    tiny_gan.save_pretrained(tmp_path / "my_photos-gan")
    (tmp_path / "my_photos-gan" / "README.md").write_text("# my photos\n")
    plan = publish.plan_space("me/app", models=["mnist-cgan", str(tmp_path / "my_photos-gan")])
    ckpts = {p.split("/")[1] for p in plan.paths() if p.startswith("checkpoints/")}
    assert ckpts == {"mnist-cgan", "my_photos-gan"}
    assert SpaceCard(plan.generated["README.md"]).data.license == "mit"  # no emoji weights go
    assert any("VAE" in n for n in plan.notes)  # it says which tabs will have no model
    with pytest.raises(publish.PublishError, match="hardware"):
        publish.plan_space("me/app", hardware="a100-large")


def test_the_space_folder_runs_the_app(tmp_path):
    """The staged Space, on its own (no source checkout, no tests): the app builds, and serves only the
    models it carries."""
    plan = publish.plan_space("me/app", models=["mnist-cgan", "mnist-vae"])
    folder = plan.stage(tmp_path / "space")
    code = ("import app, genlab; print(sorted(genlab.shipped_names())); "
            "print(type(app.demo).__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GENLAB_THREADS": "1",
                              "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "['mnist-cgan', 'mnist-vae']" in out.stdout and "Blocks" in out.stdout


def test_upload_path_calls_the_hub_with_the_right_arguments(monkeypatch, tmp_path):
    calls = []

    def create_repo(self, repo_id, **kw):
        calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/spaces/{repo_id}"

    def upload_folder(self, **kw):
        files = sorted(p.relative_to(kw["folder_path"]).as_posix() for p in Path(kw["folder_path"]).rglob("*")
                       if p.is_file())
        calls.append(("upload_folder", kw, files, (Path(kw["folder_path"]) / "README.md").read_text()))

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_not_real")
    plan = publish.plan_space("someone/genlab", hardware="zero-a10g", models=["mnist-cgan"])
    url = publish.send(plan)
    assert url.endswith("someone/genlab")
    (_, repo, kw), (_, up, files, readme) = calls
    assert repo == "someone/genlab" and kw["repo_type"] == "space" and kw["space_sdk"] == "gradio"
    assert kw["space_hardware"] == "zero-a10g" and kw["exist_ok"] is True and kw["private"] is False
    assert up["repo_id"] == "someone/genlab" and up["repo_type"] == "space"
    assert files == plan.paths() and readme == plan.generated["README.md"]
    assert "checkpoints/**" in up["delete_patterns"]  # a model dropped since the last publish goes too

    calls.clear()
    plan = publish.plan_model("mnist-cgan", "someone/mnist-cgan", private=True)
    publish.send(plan)
    (_, repo, kw), (_, up, files, readme) = calls
    assert kw["repo_type"] == "model" and kw["private"] is True and "space_sdk" not in kw
    assert up["repo_type"] == "model" and files == plan.paths()
    assert up["delete_patterns"] == ["*.png", "*.gif", "*.jpg"]  # a figure the card no longer has goes; nothing else
    assert "model-index:" in readme


def test_missing_token_names_both_ways(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no stored login here
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "token"))
    monkeypatch.setattr(HfApi, "create_repo", lambda *a, **k: pytest.fail("no token: nothing may be sent"))
    with pytest.raises(publish.PublishError, match="hf auth login.*HF_TOKEN"):
        publish.send(publish.plan_model("mnist-cgan", "someone/mnist-cgan"))


def test_space_gitattributes_covers_every_tracked_binary_over_1mb(tmp_path, space_plan):
    """The Space's LFS rules (sent as its .gitattributes) cover every big binary; genlab's own repo stays LFS-free."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    big = []
    for name in filter(None, tracked.decode().split("\0")):
        path = ROOT / name
        if path.is_file() and path.stat().st_size > 2**20 and b"\0" in path.read_bytes()[:8000]:
            big.append(name)
    assert big, "expected the shipped weights among the tracked binaries"
    # the rules as a Space would apply them: a scratch repository whose .gitattributes is the template
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(publish.SPACE_GITATTRIBUTES, tmp_path / ".gitattributes")
    small = ["genlab/web/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm.gz", "checkpoints/mnist-cgan/samples.png"]
    attrs = subprocess.run(["git", "check-attr", "filter", "--", *big, *small], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout
    uncovered = [line for line in attrs.splitlines() if not line.endswith(": lfs")]
    assert not uncovered, uncovered
    assert dict(space_plan.files)[".gitattributes"] == publish.SPACE_GITATTRIBUTES
    # ... while this repository applies none of them: a clone without git-lfs (CI's) must get real weights
    attrs = subprocess.run(["git", "check-attr", "filter", "--", *big], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout
    assert not [line for line in attrs.splitlines() if line.endswith(": lfs")], attrs
    for name in big:
        head = subprocess.run(["git", "cat-file", "blob", f":{name}"], cwd=ROOT, capture_output=True, check=True).stdout
        assert not head.startswith(b"version https://git-lfs"), f"{name} is stored as an LFS pointer"
