"""Uploaded ZIPs of images, unpacked safely into a folder the other loaders read.

An upload is a stranger's file. Before anything is written, every member is checked: no absolute
paths or ``..`` ("zip slip"), no symlinks, no encryption, at most ``max_files`` members, a bounded
total size and compression ratio from the headers (a decompression bomb is refused before it is
inflated). While writing, bytes are counted again, so a header that lies about its size stops the
extraction at the bound. Nothing is written outside ``dest``.

Non-images (``notes.txt``) and ZIPs inside the ZIP are skipped and reported, not fatal; macOS
metadata (``__MACOSX/``, ``._*``) and hidden files are ignored. A ZIP made by zipping a folder (one
top-level folder holding everything) is unwrapped, so both ``cats/x.png`` and
``pets/cats/x.png`` give the class ``cats``.

    found = extract_images("upload.zip", "job/data")
    found.root, found.images, found.skipped     # the folder for load_data, counts, (name, reason)
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import DatasetError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"}


class ArchiveError(DatasetError):
    """An uploaded archive genlab will not unpack: unsafe, too large, empty, not a ZIP."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on one upload, checked before extraction (and again while writing)."""

    max_upload_mb: float = 200.0  # the ZIP file itself
    max_total_mb: float = 1000.0  # all members, uncompressed
    max_files: int = 20000  # members (files and folders)
    max_ratio: float = 200.0  # uncompressed / compressed size, per member and overall (images barely compress)


@dataclass
class Extracted:
    root: Path  # the folder to train on (class subfolders, A/ and B/, or flat)
    images: int  # image files written
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name in the archive, reason)


def _member_path(name: str) -> PurePosixPath | None:
    """The member's relative path, or None for metadata to ignore; ArchiveError for an unsafe one."""
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":") or path.is_absolute():
        raise ArchiveError(f"the ZIP holds an absolute path ({name!r}); zip the folder with relative paths "
                           "(e.g. `cd my_images && zip -r ../data.zip .`).")
    if ".." in path.parts:
        raise ArchiveError(f"the ZIP holds a path that leaves its folder ({name!r}, with '..'); nothing was "
                           "unpacked. Zip the image folder itself.")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
        return None  # the folder entry ".", macOS resource forks, .DS_Store, hidden folders
    return PurePosixPath(*parts)


def extract_images(zip_path: str | Path, dest: str | Path, limits: ArchiveLimits = ArchiveLimits()) -> Extracted:
    """Check and unpack an uploaded ZIP of images into ``dest`` (created; must not exist or be empty).

    Raises ArchiveError, naming the problem and the fix, for: not a ZIP, too large, a bomb, too many
    members, an absolute or ``..`` path, a symlink, an encrypted member, or no images at all.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    try:
        size = zip_path.stat().st_size
    except OSError:
        raise ArchiveError("the upload could not be read; upload the ZIP again.") from None
    if size > limits.max_upload_mb * 2**20:
        raise ArchiveError(f"the ZIP is {size / 2**20:.1f} MB; this server takes at most {limits.max_upload_mb:g} MB. "
                           "Resize the images (64-256 px is what genlab trains on) or send fewer.")
    if not zipfile.is_zipfile(zip_path):
        raise ArchiveError("the upload is not a ZIP file. Zip your image folder (class subfolders, or flat) and "
                           "upload the .zip.")
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ArchiveError(f"the ZIP is damaged ({e}); zip the folder again.") from None
    with archive:
        infos = archive.infolist()
        if not infos:
            raise ArchiveError("the ZIP is empty: put your images (or class subfolders of images) in it.")
        if len(infos) > limits.max_files:
            raise ArchiveError(f"the ZIP holds {len(infos):,} entries; this server takes at most "
                               f"{limits.max_files:,}. Send fewer images.")
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > limits.max_total_mb * 2**20:
            raise ArchiveError(f"the ZIP unpacks to {total / 2**20:.0f} MB; this server takes at most "
                               f"{limits.max_total_mb:g} MB. Resize the images or send fewer.")
        if total > limits.max_ratio * max(packed, 1) and total > 2**20:
            raise ArchiveError(f"the ZIP unpacks to {total / max(packed, 1):.0f}x its packed size (a decompression "
                               "bomb, or not images); nothing was unpacked.")
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        skipped: list[tuple[str, str]] = []
        for info in infos:
            rel = _member_path(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ArchiveError(f"the ZIP holds a symbolic link ({info.filename!r}); genlab does not follow links "
                                   "in uploads. Zip the images themselves (zip without -y).")
            if rel is None or info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{info.filename!r} in the ZIP is encrypted; zip the images without a password.")
            suffix = rel.suffix.lower()
            if suffix in ARCHIVE_SUFFIXES:
                skipped.append((info.filename, "an archive inside the ZIP is not unpacked: put its images in the ZIP "
                                               "itself"))
            elif suffix not in IMAGE_SUFFIXES:
                skipped.append((info.filename, f"not an image ({suffix or 'no extension'})"))
            elif info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > 2**20:
                raise ArchiveError(f"{info.filename!r} unpacks to {info.file_size / max(info.compress_size, 1):.0f}x "
                                   "its packed size (a decompression bomb); nothing was unpacked.")
            else:
                plan.append((info, rel))
        if not plan:
            found = f" (it holds {len(skipped)} other file(s), e.g. {skipped[0][0]!r})" if skipped else ""
            raise ArchiveError(f"the ZIP holds no images{found}: put PNG/JPEG/WebP/BMP/TIFF/GIF files in it, in "
                               "class subfolders or flat.")
        # One top-level folder holding everything (a zipped folder): unwrap it.
        tops = {rel.parts[0] for _, rel in plan}
        strip = len(tops) == 1 and all(len(rel.parts) > 1 for _, rel in plan)
        dest.mkdir(parents=True, exist_ok=True)
        if any(dest.iterdir()):
            raise ArchiveError(f"{dest} is not empty")  # a programming error, not the user's
        base = dest.resolve()
        budget = int(limits.max_total_mb * 2**20)
        written = 0
        for info, rel in plan:
            parts = rel.parts[1:] if strip else rel.parts
            target = (base / PurePosixPath(*parts)).resolve()
            if base not in target.parents:  # belt and braces after _member_path
                raise ArchiveError(f"the ZIP member {info.filename!r} would be written outside the job's folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "xb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > budget:
                            raise ArchiveError(f"the ZIP unpacks to more than {limits.max_total_mb:g} MB (its headers "
                                               "said less); nothing is kept.")
                        out.write(chunk)
            except FileExistsError:
                skipped.append((info.filename, "a second file with the same name"))
            except ArchiveError:
                shutil.rmtree(dest, ignore_errors=True)
                raise
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as e:
                # a damaged member (bad CRC, unknown compression): skip it, keep the rest
                skipped.append((info.filename, f"could not be unpacked ({e})"))
                try:
                    os.unlink(target)
                except OSError:
                    pass
    images = len(plan) - sum(1 for _, why in skipped if why.startswith(("could not", "a second")))
    return Extracted(dest, images, skipped)
