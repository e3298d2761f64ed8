"""The Hub metadata genlab adds: a model card's YAML header (tags, pipeline, datasets, the card's measured
figures as ``model-index`` results) and a Space README's front matter."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # a source checkout: its README.md is the Space's body
PIPELINE = {"gan": "unconditional-image-generation", "vae": "unconditional-image-generation",
            "pix2pix": "image-to-image", "cyclegan": "image-to-image", "classifier": "image-classification"}
SPACE_TITLE = "genlab"
SPACE_SHORT = "Explore deep generative models for images in the browser"  # the Hub allows 60 characters
OPENMOJI_CREDIT = ("Emoji images: OpenMoji (https://openmoji.org), the open-source emoji and icon project, "
                   "CC BY-SA 4.0. The emoji-* weights are a derivative of that material: CC BY-SA 4.0.")

_METRIC_TYPES = [("accuracy", "accuracy"), ("fid", "fid"), ("kid", "kid"), ("psnr", "psnr"), ("ssim", "ssim"),
                 ("elbo", "elbo"), ("mse", "mse"), ("l1", "l1"), ("spread", "within-class-spread")]


def _number(cell: str) -> float | None:
    m = re.match(r"\s*\**(-?\d[\d,]*(?:\.\d+)?)\s*(%?)", cell)
    if not m:
        return None
    return float(m.group(1).replace(",", ""))


def card_figures(card_text: str) -> list[tuple[str, str, float]]:
    """(metric type, metric name, value) for each measured figure of this model in a genlab card: the first
    value column of every "| metric | ..." table under "## Results", and "name: **value**" lines there."""
    results = card_text.split("\n## Results", 1)
    if len(results) < 2:
        return []
    body = results[1].split("\n## ", 1)[0]
    found: list[tuple[str, str, float]] = []
    section, in_table = "", False
    for line in body.splitlines():
        if line.startswith("### "):
            section = line[4:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells and cells[0] == "metric":
            in_table = True
            continue
        if not cells:
            in_table = False
            m = re.match(r"\s*([^|]+?):\s*\*\*(-?[\d.]+)%?\*\*", line)
            if m:
                found.append((_metric_type(m.group(1)), m.group(1).strip(), float(m.group(2))))
            continue
        if not in_table or set(cells[0]) <= {"-", ":"} or cells[0].startswith("floor") or len(cells) < 2:
            continue
        value = _number(cells[1])
        if value is not None:
            name = f"{section}: {cells[0]}" if section else cells[0]
            found.append((_metric_type(cells[0]), name[:120], value))
    return found


def _metric_type(name: str) -> str:
    low = name.lower()
    for key, kind in _METRIC_TYPES:
        if re.search(rf"\b{key}\b", low):
            return kind
    return re.sub(r"[^a-z0-9]+", "-", low).strip("-")[:40] or "metric"


def _dataset(card_text: str) -> tuple[str, str, list[str]]:
    """(dataset type, dataset name, Hub dataset ids) of a genlab card's "Data:" line."""
    m = re.search(r"^- Data: (.+)$", card_text, re.M)
    line = m.group(1) if m else "the training folder"
    name = re.sub(r"\s*\(`[^`]*`\)", "", line.split(":")[0]).strip()[:100] or "training data"
    if "openmoji" in line.lower() and "noto" in line.lower():
        return "openmoji-noto", name, []
    if "openmoji" in line.lower():
        return "openmoji", name, []
    if "mnist" in line.lower() or "digit" in line.lower():
        return "mnist", name, ["ylecun/mnist"]
    return "imagefolder", name, []


def model_card(folder: Path, repo_id: str) -> str:
    """The folder's README.md with the Hub metadata added to its YAML header (the text is otherwise kept)."""
    from huggingface_hub import EvalResult, ModelCard

    text = (folder / "README.md").read_text()
    card = ModelCard(text, ignore_metadata_errors=True)
    config = json.loads((folder / "config.json").read_text())
    family = config.get("model_type", "")
    kind, data_name, hub_datasets = _dataset(text)
    data = card.data
    data.library_name = "genlab"
    data.license = data.license or "mit"
    data.tags = list(dict.fromkeys([*(data.tags or []), "genlab", family, "safetensors"]))
    data.pipeline_tag = PIPELINE.get(family)
    if hub_datasets:
        data.datasets = hub_datasets
    data.model_name = repo_id.split("/")[-1]
    figures = card_figures(text)
    if figures:
        data.eval_results = [
            EvalResult(task_type=PIPELINE.get(family, "image-to-image"), dataset_type=kind, dataset_name=data_name,
                       dataset_split="held-out", metric_type=mtype, metric_name=mname, metric_value=value)
            for mtype, mname, value in figures
        ]
    return str(card)



def space_readme(models: dict[str, str], hardware: str, readme: Path | None = None) -> str:
    """The Space's README.md: front matter from this installation, then the repo README's text (``readme``: where
    it is, publish.space_sources(); default the checkout's)."""
    import gradio

    emoji = any(n.startswith("emoji-") for n in models)
    front = {
        "title": SPACE_TITLE,
        "emoji": "🧪",
        "colorFrom": "indigo",
        "colorTo": "purple",
        "sdk": "gradio",
        "sdk_version": gradio.__version__,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "app_file": "app.py",
        "suggested_hardware": hardware,
        "pinned": False,
        # The strictest licence of what goes: the code is MIT; weights trained on OpenMoji are CC BY-SA 4.0.
        "license": "cc-by-sa-4.0" if emoji else "mit",
        "short_description": SPACE_SHORT,
        "tags": ["gan", "vae", "pix2pix", "cyclegan", "inpainting", "image-generation", "genlab"],
    }
    from huggingface_hub import SpaceCardData

    yaml = SpaceCardData(**front).to_yaml()
    readme = readme or ROOT / "README.md"
    body = readme.read_text() if readme.is_file() else "# genlab\n"
    if body.startswith("---\n"):
        body = body.split("---\n", 2)[2]
    credit = (f"\n> {OPENMOJI_CREDIT} The genlab code is MIT-licensed.\n" if emoji else "")
    served = ", ".join(f"`{n}`" for n in models)
    return f"---\n{yaml}\n---\n{credit}\n> This Space serves: {served}.\n{body}"
