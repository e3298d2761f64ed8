"""genlab as a package: pyproject's [project] matches the requirements files, the wheel carries the code,
its data and the shipped checkpoints, and an installed genlab (outside this checkout) runs its command."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(name: str) -> list[str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [line.replace(" ", "") for line in lines if line and not line.startswith("-r")]


def test_dependencies_match_requirements_files():
    project = PROJECT["project"]
    assert [d.replace(" ", "") for d in project["dependencies"]] == _requirements("requirements.txt")
    extras = project["optional-dependencies"]
    dev = [d.replace(" ", "") for d in extras["train"] + extras["dev"] if not d.startswith("genlab[")]
    assert sorted(dev) == sorted(_requirements("requirements-dev.txt"))
    assert project["scripts"]["genlab"] == "genlab.cli:main"


def test_every_python_package_is_listed():
    listed = set(PROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "genlab").rglob("__init__.py")}
    assert found <= listed, found - listed


def test_genlab_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "genlab", "--help"], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    for command in ("app", "train", "eval", "data", "publish"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command
    bad = subprocess.run([sys.executable, "-m", "genlab", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "unknown command 'nope'" in bad.stderr


def test_import_genlab_does_not_start_torch():
    """`genlab --help` answers at once, and app.py sets its threads before torch starts."""
    code = "import sys, genlab, genlab.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "False"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout, installed into a fresh virtual environment whose dependencies come
    from the test environment (a .pth file: no download, no second torch)."""
    tmp = tmp_path_factory.mktemp("pkg")
    # setuptools builds in the checkout's build/ and never deletes from it: a module renamed or removed since the last
    # build stays in build/lib and lands in the wheel (a renamed genlab/formats module did, 2026-12-07). A clean clone
    # has no build/; a developer's checkout gets one from every run of this fixture.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(ROOT)], check=True, capture_output=True, cwd=tmp, timeout=600)
    wheel = next((tmp / "dist").glob("genlab-*.whl"))
    venv.create(tmp / "env", with_pip=False)
    py = tmp / "env" / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "test-deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=600)
    return tmp, py, wheel


def test_wheel_carries_code_data_and_checkpoints(installed):
    import zipfile

    from genlab.hub import SHIPPED

    names = set(zipfile.ZipFile(installed[2]).namelist())
    for needed in ("genlab/cli.py", "genlab/web/genlab.js", "genlab/datasets/openmoji.tsv",
                   "genlab/ui/augment_results.json"):
        assert needed in names, needed
    assert any(n.startswith("genlab/web/vendor/onnxruntime-web/") and n.endswith(".wasm.gz") for n in names)
    assert any(n.startswith("genlab/ui/examples/") for n in names)
    for name in SHIPPED:
        # every file of the checkpoint a served model reads: weights, config, card, and the measured extras
        # (directions.json, attributes.json, truncation.json, arithmetic.json: the wheel once left these out)
        for f in sorted((ROOT / "checkpoints" / name).iterdir()):
            if f.suffix in (".json", ".safetensors", ".md", ".png") and not f.name.startswith("training_state"):
                assert f"genlab/checkpoints/{name}/{f.name}" in names, (name, f.name)
    assert not any("__pycache__" in n or n.startswith(("tests/", "runs/")) for n in names)


@pytest.mark.slow
def test_installed_command_runs_outside_the_checkout(installed):
    tmp, py, _ = installed
    genlab = py.parent / "genlab"
    env = {**os.environ, "GENLAB_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("GENLAB_CHECKPOINTS", None)
    work = tmp / "elsewhere"
    work.mkdir()
    out = subprocess.run([str(genlab), "--help"], capture_output=True, text=True, cwd=work, env=env, check=True)
    assert "publish" in out.stdout
    where = subprocess.run([str(py), "-c", "import genlab, genlab.hub as h; print(genlab.__file__); "
                            "print(h.CHECKPOINTS_DIR); print(h.output_dir())"],
                           capture_output=True, text=True, cwd=work, env=env, check=True).stdout.split()
    assert str(ROOT) not in where[0] and where[1].endswith("genlab/checkpoints")  # the installed copy's own
    assert where[2] == str(work / "checkpoints")  # training writes where the user is, not into site-packages
    out = subprocess.run([str(genlab), "eval", "gan", "mnist-cgan", "--samples", "200"], capture_output=True,
                         text=True, cwd=work, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"FID", out.stdout) and re.search(r"accuracy", out.stdout, re.I), out.stdout


def test_a_missing_training_extra_is_named(monkeypatch, capsys):
    from genlab import cli

    def run(command, rest):
        raise ModuleNotFoundError("No module named 'torchmetrics'", name="torchmetrics")

    monkeypatch.setattr(cli, "_run", run)
    with pytest.raises(SystemExit) as e:
        cli.main(["eval", "gan", "mnist-cgan"])
    assert e.value.code == 2
    assert 'pip install "genlab[train]"' in capsys.readouterr().err


def _space_files(out: str) -> list[str]:
    """The paths a `publish space --dry-run` lists (its '  1.23 MB  path' lines)."""
    return [m.group(1) for m in re.finditer(r"^\s+[\d.]+ MB  (\S+)", out, re.M) if m.group(1) != "in"]


@pytest.mark.slow
def test_installed_genlab_publishes_the_same_space_as_the_checkout(installed):
    """`pip install genlab` then `genlab publish space --dry-run`, outside any checkout: the same files as from this
    checkout (app.py, requirements.txt, LICENSE and docs travel in the package), and the same README body."""
    tmp, py, _ = installed
    env = {**os.environ, "GENLAB_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("GENLAB_CHECKPOINTS", None)
    work = tmp / "publish-elsewhere"
    work.mkdir()
    args = ["publish", "space", "--repo", "me/x", "--dry-run"]
    there = subprocess.run([str(py.parent / "genlab"), *args], capture_output=True, text=True, cwd=work, env=env,
                           timeout=600)
    assert there.returncode == 0, there.stderr[-3000:]
    here = subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600, check=True)
    files = _space_files(there.stdout)
    assert files == _space_files(here.stdout) and len(files) > 50, (files, _space_files(here.stdout))
    for needed in ("app.py", "requirements.txt", "LICENSE", "README.md", "docs/api.md", "genlab/cli.py",
                   "checkpoints/emoji-cgan/model.safetensors"):
        assert needed in files, needed
    assert not any(f.startswith(("genlab/space/", "genlab/docs/", "genlab/checkpoints/")) for f in files)
    assert "dry run: nothing was sent" in there.stdout
    # the same bytes, too: every file's size, the README's body (the checkout's README travels in the package) included
    assert there.stdout == here.stdout, (there.stdout[-2000:], here.stdout[-2000:])
