"""Files fitted beside a checkpoint (attributes.json, arithmetic.json, directions.json): JSON keyed by the digest of
the weights they were measured on (``models.weights_digest``), never a pickle, and bounded when read."""

from __future__ import annotations

import json
from pathlib import Path

MAX_FILE_BYTES = 2_000_000  # an attributes.json is ~40 kB; a bigger one is not read


def write_fitted(data: dict, path: str | Path) -> Path:
    """Write a fitted file beside a checkpoint as JSON."""
    path = Path(path)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return path


def read_fitted(path: str | Path, digest: str) -> dict | None:
    """A fitted file's JSON if it exists, is at most MAX_FILE_BYTES and was fitted on the weights with this
    digest; else None (then the caller fits afresh or offers nothing)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("digest") == digest else None
