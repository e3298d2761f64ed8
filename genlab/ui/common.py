"""Pieces more than one tab uses."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import GenlabError
from ..hub import SHIPPED, load, local_models_allowed, shipped_names, trained_folder
from ..zerogpu import load_device, on_gpu


# Queue groups (see docs/serving.md). Slider/preview events and long jobs are separate
# groups, so a repair never blocks a slider; each group runs this many events at once.
LIGHT = {"concurrency_id": "gpu-light", "concurrency_limit": int(os.environ.get("GENLAB_LIGHT_CONCURRENCY", 1))}
HEAVY = {"concurrency_id": "heavy", "concurrency_limit": int(os.environ.get("GENLAB_HEAVY_CONCURRENCY", 1))}
QUEUE_MAX_SIZE = int(os.environ.get("GENLAB_QUEUE_MAX_SIZE", 64))  # waiting events beyond this are refused


# Disk (see docs/serving.md): every folder the server writes to is bounded.
KEEP_SECONDS = int(os.environ.get("GENLAB_CACHE_SECONDS", 3600))  # outputs, uploads, editor layers live this long
DELETE_CACHE = (max(1, min(600, KEEP_SECONDS)), KEEP_SECONDS)  # Gradio's cache sweep: (every, older than) seconds
MAX_FILE_SIZE = os.environ.get("GENLAB_MAX_FILE_SIZE", "50mb")  # one upload; larger ones are refused by Gradio
OUTPUT_MAX_MB = float(os.environ.get("GENLAB_OUTPUT_MAX_MB", 512))  # our own output folder, oldest removed first
OUT_DIR = Path(tempfile.mkdtemp(prefix="genlab-out-"))  # files the app returns (GIFs, repairs, ZIPs); per server


def output_path(name: str) -> Path:
    """A fresh path for a file the app returns. Outputs older than KEEP_SECONDS are removed first, then the
    oldest ones until the folder is under OUTPUT_MAX_MB.

    Gradio copies returned files into its own cache (swept by DELETE_CACHE), so ours are only
    needed until then.
    """
    now = time.time()
    entries = []
    for old in OUT_DIR.iterdir():
        try:
            age = now - old.stat().st_mtime
            if age > KEEP_SECONDS:
                shutil.rmtree(old)
            else:
                entries.append((age, old, sum(f.stat().st_size for f in old.rglob("*") if f.is_file())))
        except OSError:
            pass
    total = sum(size for _, _, size in entries)
    for _, old, size in sorted(entries, key=lambda e: -e[0]):  # oldest first
        if total <= OUTPUT_MAX_MB * 2**20:
            break
        shutil.rmtree(old, ignore_errors=True)
        total -= size
    return Path(tempfile.mkdtemp(dir=OUT_DIR)) / name


def api_names(fn, names: list[str], defaults: dict | None = None):
    """Give ``fn``'s trailing ``*values`` the API names ``names`` (Gradio names a varargs parameter ``param_N`` in
    view_api, which tells a gradio_client user nothing). Only the signature Gradio reads changes: ``fn`` still takes
    its values positionally, so calls that pass them by position keep working. ``defaults``: name -> default (a
    parameter without one is required; inspect refuses one after a parameter that has a default)."""
    import inspect

    sig = inspect.signature(fn)
    fixed = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    defaults = defaults or {}
    extra = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               default=defaults.get(n, inspect.Parameter.empty)) for n in names]
    fn.__signature__ = sig.replace(parameters=[*fixed, *extra])
    return fn


def check_int(value, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi] from a UI/API value, or a gr.Error that says so."""
    import gradio as gr

    try:
        ok = value is not None and value == int(value) and lo <= int(value) <= hi
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise gr.Error(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    return int(value)


@lru_cache(maxsize=8)
def _cached(name: str, model_type: str, version: int, allow_local: bool):
    return load(name, model_type=model_type, allow_local=allow_local, device=load_device())


def cached_model(name: str, model_type: str):
    """Load a checkpoint once per (name, family, file version) for the server's lifetime (CPU/GPU as
    available). A folder's weights are keyed by their modification time, so a retrained model
    in the same folder is picked up on the next request."""
    name = str(name or "").strip()
    allow_local = local_models_allowed()  # read per request: a test or a Space may set it after start-up
    version = 0  # shipped names and Hub ids: one load per server (no Hub request on every slider event)
    trained = trained_folder(name)
    if trained is not None:  # a Train-tab model: continued jobs re-release into the same folder
        try:
            version = (trained / "model.safetensors").stat().st_mtime_ns
        except OSError:
            pass
    if allow_local and name not in SHIPPED and ".." not in Path(name).parts:
        try:  # a local folder: one stat per event, so retrained weights are picked up
            version = (Path(name).expanduser() / "model.safetensors").stat().st_mtime_ns
        except OSError:
            pass  # not a folder (a Hub id), or missing: load() raises the readable error
    return _cached(name, model_type, version, allow_local)


# Every tab's model box: (dropdown, model families it takes, its own choices). build_app clears it; the Train tab
# adds the models a job releases to each box of that family.
PICKERS: list[tuple] = []


def register_picker(component, families: tuple[str, ...], base=None):
    """List a model dropdown in PICKERS (``base()``: its own choices; default the served models of ``families``)."""
    PICKERS.append((component, tuple(families), base or (lambda: [n for f in families for n in shipped_names(f)])))
    return component


def model_picker(model_type: str, label: str = "Model", value: str | None = None, **kwargs):
    """A dropdown of the family's shipped checkpoints that also takes a folder or Hub repo id (type it,
    press Enter)."""
    import gradio as gr

    names = shipped_names(model_type)
    where = "a checkpoint folder / Hub repo id" if local_models_allowed() else "a Hub repo id"
    value = value if value in names else (names[0] if names else None)  # a Space may carry only some models
    return register_picker(gr.Dropdown(names, value=value, label=label, allow_custom_value=True,
                                       info=f"a shipped model, or type {where} and press Enter", **kwargs),
                           (model_type,))


def get_model(name, model_type: str):
    """``cached_model`` for an event handler: a missing or unloadable model becomes a gr.Error."""
    import gradio as gr

    if not isinstance(name, str) or not name.strip():
        raise gr.Error(f"Pick a {model_type} model, or type a checkpoint folder / Hub repo id.")
    try:
        return on_gpu(cached_model(name, model_type))  # inside a ZeroGPU call: that worker's CUDA copy
    except GenlabError as e:
        raise gr.Error(str(e)) from None


def sketch_to_image(sketch) -> np.ndarray | None:
    """A Sketchpad value -> its composite (H, W, 4) array, or None while nothing is drawn.

    Returned into a gr.Image(type="filepath", format="png"), Gradio writes it to its own cache
    as a lossless PNG, so the drawing becomes an input like any upload.
    """
    if not sketch or sketch.get("composite") is None:
        return None
    comp = np.asarray(sketch["composite"])
    if comp.ndim == 3 and comp.shape[2] == 4 and comp[..., 3].max() == 0:
        return None  # empty, fully transparent canvas
    return comp


# --- The in-page generator (genlab/web/genlab.js; see genlab/web/__init__.py) --------------------------------

WEB_ENABLED = os.environ.get("GENLAB_WEB", "1") != "0"  # "0": every picture is drawn on the server


def web_url(path: Path) -> str:
    """A file under a static path (genlab/web, the ONNX folder) as a URL relative to the page."""
    return "gradio_api/file=" + Path(path).resolve().as_posix()


def with_graph(spec: dict, model) -> dict:
    """A spec with the URL of the model's exported graph, or with the reason the page must use the server."""
    from ..web import ExportError, export_onnx

    if not WEB_ENABLED:
        return {**spec, "onnx": None, "reason": "in-page drawing is off on this server (GENLAB_WEB=0)"}
    try:
        return {**spec, "onnx": web_url(export_onnx(model))}
    except ExportError as e:
        return {**spec, "onnx": None, "reason": str(e)}


def web_html(prefix: str, canvas: str = "canvas", note: bool = True):
    """The canvas the page draws on, its note (in the page or on the server, and why) and a save button."""
    import gradio as gr

    html = f'<div class="genlab-web"><canvas id="{prefix}-{canvas}" class="genlab-canvas" style="display:none"></canvas>'
    if not note:
        return gr.HTML(html + "</div>", elem_id=f"{prefix}-web-{canvas}", padding=False)
    return gr.HTML(
        f'{html}<div class="genlab-web-bar"><span id="{prefix}-web-note">Starting the in-page generator…</span> '
        f'<button id="{prefix}-web-save" class="genlab-save" style="display:none">Save PNG</button></div></div>',
        elem_id=f"{prefix}-web", padding=False)


def page_js(prefix: str, controls: str, tick_index: int) -> str:
    """The `js` of a drawing event: its inputs arrive as a[0] (spec) .. a[tick_index] (the hidden counter);
    ``controls`` builds the drawer's control object from them. Returns the counter, unchanged when the page
    drew the picture, plus one when the server must (which runs the tab's server endpoint)."""
    return (f"async (...a) => {{ const g = window.genlab || await window.genlabReady; "
            f"if (!g) return (Number(a[{tick_index}]) || 0) + 1; "
            f"return g.{prefix}.fromGradio(a[0], {controls}, a[{tick_index}]); }}")


@lru_cache(maxsize=8)
def matching_classifier(model):
    """A shipped classifier that knows this model's classes and channels (to name its directions by class),
    or None."""
    from ..tasks.directions import knows_classes

    if not model.labels:
        return None
    for name in shipped_names("classifier"):
        try:
            c = cached_model(name, "classifier")
        except GenlabError:
            continue
        if knows_classes(c, model):
            return c.eval()
    return None
