"""Share on the Hugging Face Hub: one checkpoint as a model repo, or the whole app as a Space.

    genlab publish model CHECKPOINT --repo USER/NAME [--private] [--dry-run]
    genlab publish space --repo USER/NAME [--hardware cpu-basic|zero-a10g] [--models a,b] [--private] [--dry-run]

Always try ``--dry-run`` first: it prints every file that would be sent (with its size) and the
card's or Space README's metadata, and sends nothing. Without it, the upload goes through
``huggingface_hub.HfApi`` (``create_repo`` + ``upload_folder``, which stores large files itself,
no git-lfs needed). The token is your login (``hf auth login``) or ``HF_TOKEN``.

A model repo gets the checkpoint folder as it is (config.json, model.safetensors, genlab's own
card and its figures), after the checks ``genlab.load`` applies; the card's YAML header gains the
Hub metadata (library, licence, tags, pipeline, datasets where known, and the card's measured
figures as ``model-index`` results). Resume state (``training_state.*``) never goes.

A Space gets app.py, requirements.txt, the genlab package and the chosen checkpoints only (not
tests/, runs/, benchmarks/, .venv or caches), and a README whose front matter is filled in from
this installation (Gradio version, Python version, hardware, licence, the OpenMoji credit).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GenlabError
from .card import PIPELINE, card_figures, model_card, space_readme  # noqa: F401 (re-exported)

ROOT = Path(__file__).resolve().parent.parent.parent  # a source checkout: app.py, requirements.txt, README.md
PACKAGE = Path(__file__).resolve().parent.parent
# An installed genlab carries the checkout's app.py, requirements.txt, LICENSE and README.md in genlab/space/ and
# its docs in genlab/docs/ (pyproject.toml), so it publishes the same Space. genlab/space/app.py is sent as app.py,
# not as package code.
INSTALLED_SPACE, INSTALLED_DOCS = PACKAGE / "space", PACKAGE / "docs"
MAX_WEIGHTS_MB = 200  # the largest model.safetensors genlab itself fetches from the Hub (hub.HUB_MAX_MB's default)
HARDWARE = ("cpu-basic", "zero-a10g")  # CPU Space (free), ZeroGPU Space (shared GPUs; see genlab/zerogpu.py)
CHECKPOINT_FILES = ("config.json", "model.safetensors", "README.md")  # what every checkpoint folder must hold
SENT_SUFFIXES = {".json", ".safetensors", ".md", ".png", ".gif", ".jpg", ".txt"}  # what else a checkpoint may carry
SKIPPED_PREFIXES = ("training_state",)  # resume state: a training artefact, never shipped
SPACE_TOP_FILES = ("app.py", "requirements.txt", "LICENSE")
# The Space's .gitattributes (LFS for binaries, so a later `git push` to the Space is accepted); genlab's own
# repository keeps its binaries as plain git objects and does not apply these rules to itself.
SPACE_GITATTRIBUTES = Path(__file__).with_name("space.gitattributes")
PACKAGE_DATA = ("*.py", "web/genlab.js", "web/vendor/*/*", "ui/*.json", "ui/examples/*", "datasets/*.tsv")


class PublishError(GenlabError):
    """Something about the folder, the repo id or the login stops an upload; the message names the fix."""


@dataclass
class Plan:
    """What one publish would send: a repo, its type, and (path in repo, local file) pairs."""

    repo_id: str
    repo_type: str  # "model" or "space"
    files: list[tuple[str, Path]] = field(default_factory=list)
    generated: dict[str, str] = field(default_factory=dict)  # path in repo -> text written for the upload
    private: bool = False
    hardware: str | None = None
    notes: list[str] = field(default_factory=list)
    # Remote files genlab owns in this repo: ones matching that this upload lacks are deleted (a model dropped
    # from a Space, a figure a card no longer has); anything else already in the repo is left as it is.
    replaces: list[str] = field(default_factory=list)

    def size(self, path: str) -> int:
        if path in self.generated:
            return len(self.generated[path].encode())
        return next(src for p, src in self.files if p == path).stat().st_size

    def paths(self) -> list[str]:
        return sorted({p for p, _ in self.files} | set(self.generated))

    def describe(self) -> str:
        """The dry run's report: every file with its size, the total, and the card's metadata."""
        lines = [f"{self.repo_type} repo {self.repo_id}" + (" (private)" if self.private else "")
                 + (f", hardware {self.hardware}" if self.hardware else "")]
        total = 0
        for p in self.paths():
            size = self.size(p)
            total += size
            lines.append(f"  {size / 2**20:9.2f} MB  {p}" + ("  (written for the upload)" if p in self.generated else ""))
        lines.append(f"  {total / 2**20:9.2f} MB  in {len(self.paths())} files")
        readme = self.generated.get("README.md")
        if readme and readme.startswith("---\n"):
            lines += ["README.md metadata:", readme.split("---\n")[1].rstrip()]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def stage(self, folder: Path) -> Path:
        """Copy every file (and write the generated ones) into ``folder``, laid out as in the repo."""
        for path, src in self.files:
            dst = folder / path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        for path, text in self.generated.items():
            dst = folder / path
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(text)
        return folder


def check_repo_id(repo_id: str) -> str:
    from ..hub import _REPO_ID

    repo_id = str(repo_id or "").strip()
    if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id:
        raise PublishError(f"--repo must be a Hub repo id like 'your-name/my-model', got {repo_id!r}.")
    return repo_id


def checkpoint_folder(name: str) -> Path:
    """A served checkpoint name (``genlab.shipped_names()``) or a folder on this machine -> its folder."""
    from ..hub import CHECKPOINTS_DIR, available

    name = str(name).strip()
    if name in available():
        return CHECKPOINTS_DIR / name
    folder = Path(name).expanduser()
    if folder.is_dir():
        return folder
    raise PublishError(f"{name!r} is neither a checkpoint name ({', '.join(available())}) nor a folder; give the "
                       "folder that save_pretrained wrote (e.g. checkpoints/my_photos-gan).")


def checkpoint_files(folder: Path) -> list[Path]:
    """The files of a checkpoint folder that go to the Hub, after refusing what must not go.

    Refused: a pickle anywhere in the folder, a link, a missing config/weights/card, weights over
    MAX_WEIGHTS_MB, and anything ``genlab.load`` refuses (bad config, mismatched or non-finite weights).
    """
    from ..hub import PICKLE_SUFFIXES, load

    near = [*folder.glob("*"), *folder.glob("*/*")]  # a checkpoint is flat; one level down catches stray copies
    pickles = [p.relative_to(folder).as_posix() for p in near if p.suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise PublishError(f"{folder} holds pickle files ({', '.join(sorted(pickles)[:5])}): genlab never publishes "
                           "pickles (loading one can run any code). Remove them; the safetensors weights are enough.")
    missing = [f for f in CHECKPOINT_FILES if not (folder / f).is_file()]
    if "README.md" in missing:
        raise PublishError(f"{folder} has no model card (README.md). genlab's training writes one; write it with "
                           "`genlab eval gan <folder> --write-card RUN_DIR`, or add a README.md that says what the "
                           "model is and how it was trained.")
    if missing:
        raise PublishError(f"{folder} has no {', '.join(missing)}: not a genlab checkpoint folder (save_pretrained).")
    size = (folder / "model.safetensors").stat().st_size
    if size > MAX_WEIGHTS_MB * 2**20:
        raise PublishError(f"{folder}/model.safetensors is {size / 2**20:.0f} MB; genlab publishes (and loads from "
                           f"the Hub) at most {MAX_WEIGHTS_MB} MB.")
    try:
        load(str(folder), device=None)
    except GenlabError as e:
        raise PublishError(f"{folder} does not load, so it is not published: {e}") from None
    files = []
    for p in sorted(folder.iterdir()):
        if p.is_symlink():
            raise PublishError(f"{p} is a link; publish real files only (copy it into the folder).")
        if p.is_file() and not p.name.startswith(".") and not p.name.startswith(SKIPPED_PREFIXES) \
                and p.suffix.lower() in SENT_SUFFIXES:
            files.append(p)
    return files


def plan_model(checkpoint: str, repo_id: str, private: bool = False) -> Plan:
    """What ``genlab publish model`` sends, checked; nothing is sent."""
    repo_id = check_repo_id(repo_id)
    folder = checkpoint_folder(checkpoint)
    plan = Plan(repo_id, "model", private=private, replaces=["*.png", "*.gif", "*.jpg"])
    for p in checkpoint_files(folder):
        if p.name != "README.md":
            plan.files.append((p.name, p))
    plan.generated["README.md"] = model_card(folder, repo_id)
    return plan


# --- The Space ------------------------------------------------------------------------------------------

def _package_files() -> list[tuple[str, Path]]:
    """genlab/ as the Space needs it: its code and data, never caches."""
    files = set()
    for pattern in PACKAGE_DATA:
        files |= {p for p in PACKAGE.rglob(pattern) if "__pycache__" not in p.parts} if pattern == "*.py" else \
            set(PACKAGE.glob(pattern))
    return sorted((f"genlab/{p.relative_to(PACKAGE).as_posix()}", p) for p in files
                  if p.is_file() and p.relative_to(PACKAGE).parts[0] != INSTALLED_SPACE.name)


def space_sources() -> tuple[Path, Path]:
    """(folder with app.py, requirements.txt, LICENSE and README.md; docs folder): a source checkout's root and
    docs/, or an installed genlab's copies of them."""
    if all((ROOT / f).is_file() for f in ("pyproject.toml", "app.py", "requirements.txt")):
        return ROOT, ROOT / "docs"
    if all((INSTALLED_SPACE / f).is_file() for f in ("app.py", "requirements.txt")):
        return INSTALLED_SPACE, INSTALLED_DOCS
    raise PublishError(f"app.py and requirements.txt were found neither in a source checkout ({ROOT}) nor in the "
                       f"installed package ({INSTALLED_SPACE}); reinstall genlab (pip install genlab), or publish "
                       "from a source checkout (git clone).")


def plan_space(repo_id: str, hardware: str = "cpu-basic", models: list[str] | None = None,
               private: bool = False) -> Plan:
    """What ``genlab publish space`` sends, checked; nothing is sent."""
    from ..hub import _LOCAL_NAME, available

    repo_id = check_repo_id(repo_id)
    if hardware not in HARDWARE:
        raise PublishError(f"--hardware must be one of {', '.join(HARDWARE)}, got {hardware!r}.")
    top, docs = space_sources()
    served = available()
    chosen = list(served) if not models else [m.strip() for m in models if m.strip()]
    if not chosen:
        raise PublishError("No checkpoints to ship: name some with --models (genlab's: " + ", ".join(served) + ").")
    plan = Plan(repo_id, "space", private=private, hardware=hardware, replaces=["checkpoints/**", "genlab/**"])
    kinds: dict[str, str] = {}
    for name in chosen:
        folder = checkpoint_folder(name)
        target = name if name in served else folder.name
        if not _LOCAL_NAME.fullmatch(target) or target in kinds:
            raise PublishError(f"{folder}: its folder name {target!r} is not a usable model name, or is taken; "
                               "rename the folder (letters, digits, '-', '_', '.').")
        for p in checkpoint_files(folder):
            plan.files.append((f"checkpoints/{target}/{p.name}", p))
        kinds[target] = json.loads((folder / "config.json").read_text())["model_type"]
    for f in SPACE_TOP_FILES:
        if (top / f).is_file():
            plan.files.append((f, top / f))
    plan.files.append((".gitattributes", SPACE_GITATTRIBUTES))
    # docs/: the README links its pages and shows their screenshots
    plan.files += sorted((f"docs/{f.relative_to(docs).as_posix()}", f) for f in docs.rglob("*")
                         if f.is_file() and f.suffix in (".md", ".png") and "__pycache__" not in f.parts)
    plan.files += _package_files()
    plan.generated["README.md"] = space_readme(kinds, hardware, top / "README.md")
    tabs = {"GAN sampling": "gan", "VAE interpolation": "vae", "Translation": "pix2pix"}
    for tab, family in tabs.items():
        if family not in kinds.values():
            plan.notes.append(f"no {family} model goes, so the {tab} tab will have none to show")
    if hardware == "zero-a10g":
        plan.notes.append("ZeroGPU: each compute event asks for its genlab.zerogpu duration; a visitor's daily "
                          "quota / that duration is how many such calls they get (docs/sharing.md, 'ZeroGPU Spaces')")
    return plan


# --- Sending --------------------------------------------------------------------------------------------

def _api():
    from huggingface_hub import HfApi, get_token

    token = get_token()
    if not token:
        raise PublishError("No Hugging Face token: log in with `hf auth login` (it stores one), or set HF_TOKEN "
                           "to a token with write access (https://huggingface.co/settings/tokens).")
    return HfApi(token=token)


def send(plan: Plan) -> str:
    """Create the repo if needed and upload the plan's files in one commit; returns the repo's URL."""
    api = _api()
    kwargs = {"space_sdk": "gradio", "space_hardware": plan.hardware} if plan.repo_type == "space" else {}
    url = api.create_repo(plan.repo_id, repo_type=plan.repo_type, private=plan.private, exist_ok=True, **kwargs)
    with tempfile.TemporaryDirectory(prefix="genlab-publish-") as tmp:
        folder = plan.stage(Path(tmp))
        api.upload_folder(
            repo_id=plan.repo_id, repo_type=plan.repo_type, folder_path=folder,
            commit_message=f"genlab publish {plan.repo_type}",
            delete_patterns=plan.replaces,
        )
    return str(url)


def main(argv: list[str] | None = None, prog: str = "python -m genlab.publish") -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("model", help="upload one checkpoint folder as a model repo, its genlab card included")
    m.add_argument("checkpoint", help="a checkpoint name (genlab.shipped_names()) or folder")
    s = sub.add_parser("space", help="create or update a Gradio Space with the app and chosen checkpoints")
    s.add_argument("--hardware", default="cpu-basic", choices=HARDWARE,
                   help="cpu-basic (free CPU) or zero-a10g (ZeroGPU, shared GPUs); default %(default)s")
    s.add_argument("--models", default="", help="comma-separated checkpoint names or folders (default: all served)")
    for p in (m, s):
        p.add_argument("--repo", required=True, help="USER/NAME on the Hub")
        p.add_argument("--private", action="store_true", help="create the repo private")
        p.add_argument("--dry-run", action="store_true", help="print what would be sent, send nothing")
    args = parser.parse_args(argv)
    try:
        if args.what == "model":
            plan = plan_model(args.checkpoint, args.repo, args.private)
        else:
            plan = plan_space(args.repo, args.hardware, args.models.split(",") if args.models else None, args.private)
        print(plan.describe())
    except GenlabError as e:
        parser.exit(2, f"error: {e}\n")
    if args.dry_run:
        print("dry run: nothing was sent")
        return
    try:
        print(f"sent: {send(plan)}")
    except GenlabError as e:
        parser.exit(2, f"error: {e}\n")
    except Exception as e:  # the Hub refused (rights, quota, network): say so without a traceback
        from huggingface_hub.errors import HfHubHTTPError

        if not isinstance(e, (HfHubHTTPError, OSError)):
            raise
        parser.exit(1, f"error: the Hub did not take the upload ({e}). Nothing was changed if the repo is new; "
                       "check your token's write access and the repo id, then run it again.\n")


if __name__ == "__main__":
    main()
