"""Gradio writes every returned image to a cache path named by its content hash with a plain
``write_bytes``. Two requests that return the same picture (a page load and a model switch that
both draw the default grid) rewrite that file while the first response is still streaming it,
and the browser gets a truncated file (ERR_CONTENT_LENGTH_MISMATCH). Gradio's own
``save_file_to_cache`` already writes under a temporary name and renames it into place; this
does the same for ``save_pil_to_cache`` and ``save_bytes_to_cache``: an existing file with that
content is reused (and touched, so ``delete_cache`` ages it from now), a new one appears whole.

Applied once when genlab.ui is imported; the patched functions keep Gradio's signatures.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradio import processing_utils as pu


def write_once(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically unless a file of that content is already there."""
    path = Path(path)
    if path.exists() and path.stat().st_size == len(data):  # same hash folder, same size: same bytes
        try:
            os.utime(path)
        except OSError:
            pass
        return str(path.resolve())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return str(path.resolve())


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    data = pu.encode_pil_to_bytes(img, format)
    return write_once(Path(cache_dir) / pu.hash_bytes(data) / f"{name}.{format}", data)


def save_bytes_to_cache(data: bytes, file_name: str, cache_dir: str) -> str:
    if not Path(file_name).suffix:
        file_name = file_name + pu.detect_audio_format(data)
    return write_once(Path(cache_dir) / pu.hash_bytes(data) / Path(file_name).name, data)


def apply() -> None:
    pu.save_pil_to_cache = save_pil_to_cache
    pu.save_bytes_to_cache = save_bytes_to_cache
