"""The app's one upload gate: every image input is an UploadImage or an UploadEditor.

Both hand genlab the uploaded file untouched (no re-encoding by Gradio) after
``genlab.images.open_image`` has checked it: format, size limits before decoding, degenerate
sizes, truncation. A refusal is a gr.Error naming the input and the problem; the server keeps
serving. Checks are cached per file (path, mtime, size), so slider events that resend the same
upload do not decode it again.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData

from ..errors import ImageInputError
from ..images import open_image
from .cache_fix import write_once


@lru_cache(maxsize=512)
def _problem(path: str, mtime_ns: int, size: int) -> str | None:
    try:
        open_image(path)
    except ImageInputError as e:
        return str(e)
    return None


def gate(path, label: str | None) -> str:
    """Check one uploaded file; return its path, or raise gr.Error naming the input."""
    name = label or "Image"
    try:
        st = os.stat(path)
    except (OSError, TypeError):
        raise gr.Error(f"{name}: the upload could not be read; upload it again.") from None
    problem = _problem(str(path), st.st_mtime_ns, st.st_size)
    if problem:
        raise gr.Error(f"{name}: {problem}")
    return str(path)


class UploadImage(gr.Image):
    """gr.Image for inputs: passes the checked upload's file path (or None). Build it with upload_image().

    (No __init__ override: Gradio reads a component's props from its constructor's signature.)
    """

    is_template = True  # rendered by Gradio's own Image component
    gate_name: str | None = None

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.path is None or (payload.url or "").startswith("data:"):
            path = super().preprocess(payload)  # base64 data URL -> a file in Gradio's cache
        else:
            path = payload.path
        return gate(path, self.gate_name)


class UploadEditor(gr.ImageEditor):
    """gr.ImageEditor whose background and layers are checked files, passed as paths. Build it with
    upload_editor()."""

    is_template = True  # rendered by Gradio's own ImageEditor component
    gate_name: str | None = None

    def convert_and_format_image(self, file, flatten_on_white: bool = False):
        if file is None:
            return None
        if isinstance(file, FileData):
            path = file.path
        else:  # bytes the browser's canvas sent (PNG)
            data = bytes(file)
            path = Path(write_once(Path(self.GRADIO_CACHE) / "genlab-editor" / f"{hashlib.sha1(data).hexdigest()}.png",
                                   data))
            self.temp_files.add(str(path))  # swept with Gradio's own cache files (delete_cache)
        return gate(path, self.gate_name)


def upload_image(value=None, *, name: str | None = None, **kwargs) -> UploadImage:
    """An image input behind the gate; name: how refusals call it (default: its label)."""
    kwargs = {"type": "filepath", "image_mode": None, "format": "png", **kwargs}
    component = UploadImage(value, **kwargs)
    component.gate_name = name or component.label
    return component


def upload_editor(value=None, *, name: str | None = None, **kwargs) -> UploadEditor:
    """An image editor behind the gate (background and painted layers as checked file paths)."""
    kwargs = {"type": "filepath", "format": "png", **kwargs}
    component = UploadEditor(value, **kwargs)
    component.gate_name = name or component.label
    return component


__all__ = ["ImageInputError", "UploadEditor", "UploadImage", "gate", "upload_editor", "upload_image"]
