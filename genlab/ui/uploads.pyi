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

from gradio.events import Dependency

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
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


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
            folder = Path(self.GRADIO_CACHE) / "genlab-editor"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{hashlib.sha1(data).hexdigest()}.png"
            if not path.exists():
                path.write_bytes(data)
        return gate(path, self.gate_name)
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


__all__ = ["ImageInputError", "UploadEditor", "UploadImage", "gate"]