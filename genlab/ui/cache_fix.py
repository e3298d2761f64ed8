"""Gradio writes every returned image to a cache path named by its content hash with a plain
``write_bytes``. Two requests that return the same picture (a page load and a model switch that
both draw the default grid) rewrite that file while the first response is still streaming it,
and the browser gets a truncated file (ERR_CONTENT_LENGTH_MISMATCH). Gradio's own
``save_file_to_cache`` already writes under a temporary name and renames it into place; this
does the same for ``save_pil_to_cache`` and ``save_bytes_to_cache``: an existing file with that
content is reused (and touched, so ``delete_cache`` ages it from now), a new one appears whole.

Gradio's cache sweep (``delete_cache``: ``route_utils.delete_files_created_by_app``, run every few seconds in a
worker thread) iterates each component's set of temp files while request handlers add to those sets. A request that
registers a file during a sweep raises "Set changed size during iteration" in the sweep, which ends its scheduled
task for good: from then on nothing is swept and the cache grows (tests/test_disk_e2e.py failed that way: the
files of one round, and every later one, stayed). ``delete_files_created_by_app`` here is Gradio's, iterating over
copies, and a sweep that fails still lets the next one run.

Applied once when genlab.ui is imported; the patched functions keep Gradio's signatures.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

from gradio import processing_utils as pu
from gradio import route_utils


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


def delete_files_created_by_app(blocks, age: int | None) -> None:
    """Gradio's sweep (files older than ``age`` seconds; all with None), over snapshots of the sets it reads, so a
    file registered meanwhile waits for the next sweep; an error is printed and the schedule goes on."""
    try:
        dont_delete = set()
        for component in list(blocks.blocks.values()):
            dont_delete.update(getattr(component, "keep_in_cache", set()))
        now = datetime.now()
        for temp_set in list(blocks.temp_file_sets):
            removed = set()
            for file in list(temp_set):
                if file in dont_delete:
                    continue
                try:
                    if age is None or (now - datetime.fromtimestamp(Path(file).lstat().st_ctime)).total_seconds() > age:
                        os.remove(file)
                        removed.add(file)
                except FileNotFoundError:
                    removed.add(file)
            temp_set -= removed
    except Exception:  # noqa: BLE001 - one failed sweep must not end the schedule
        traceback.print_exc()


def apply() -> None:
    pu.save_pil_to_cache = save_pil_to_cache
    pu.save_bytes_to_cache = save_bytes_to_cache
    route_utils.delete_files_created_by_app = delete_files_created_by_app
