"""Uploaded ZIPs are untrusted: every hostile archive gets a clear refusal and nothing is written outside the job's
folder; ordinary ones (a zipped folder, class subfolders, macOS metadata, a stray text file) unpack as expected."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from genlab.datasets.archives import ArchiveError, ArchiveLimits, extract_images


def _png(colour=(200, 30, 30), size=24) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def _zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _outside(tmp_path: Path) -> set[Path]:
    return {p for p in tmp_path.rglob("*") if "dest" not in p.parts and p.suffix != ".zip"}


def test_a_zipped_folder_unpacks_to_its_classes_and_reports_what_it_skipped(tmp_path):
    members = {f"pets/{c}/{i}.png": _png() for c in ("cats", "dogs") for i in range(3)}
    members |= {"pets/README.txt": b"hello", "__MACOSX/pets/._cats": b"x", "pets/cats/.DS_Store": b"x",
                "pets/inner.zip": b"PK\x05\x06" + b"\0" * 18}
    found = extract_images(_zip(tmp_path / "u.zip", members), tmp_path / "dest")
    assert found.images == 6
    assert sorted(p.name for p in found.root.iterdir()) == ["cats", "dogs"]  # the one top-level folder is unwrapped
    reasons = dict(found.skipped)
    assert reasons["pets/README.txt"] == "not an image (.txt)"
    assert "archive inside the ZIP is not unpacked" in reasons["pets/inner.zip"]
    assert "__MACOSX/pets/._cats" not in reasons and "pets/cats/.DS_Store" not in reasons  # metadata: ignored


def test_flat_zip_stays_flat(tmp_path):
    found = extract_images(_zip(tmp_path / "u.zip", {f"{i}.png": _png() for i in range(4)}), tmp_path / "dest")
    assert found.images == 4 and sorted(p.name for p in found.root.iterdir()) == [f"{i}.png" for i in range(4)]


@pytest.mark.parametrize("name, words", [
    ("../evil.png", "leaves its folder"),
    ("a/../../evil.png", "leaves its folder"),
    ("/etc/evil.png", "absolute path"),
    ("C:/evil.png", "absolute path"),
    ("..\\evil.png", "leaves its folder"),
])
def test_zip_slip_is_refused_before_anything_is_written(tmp_path, name, words):
    archive = _zip(tmp_path / "u.zip", {"ok/1.png": _png(), name: _png()})
    with pytest.raises(ArchiveError, match=words):
        extract_images(archive, tmp_path / "dest")
    assert not _outside(tmp_path)
    assert not (tmp_path / "dest").exists() or not any((tmp_path / "dest").rglob("*"))


def test_symlink_member_is_refused(tmp_path):
    path = tmp_path / "u.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a/1.png", _png())
        link = zipfile.ZipInfo("a/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"):
        extract_images(path, tmp_path / "dest")


def test_decompression_bomb_is_refused_from_its_headers(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"a.png": b"\0" * (30 * 2**20)})  # 30 MB of zeros: ~30 kB packed
    assert archive.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match="decompression bomb"):
        extract_images(archive, tmp_path / "dest")
    with pytest.raises(ArchiveError, match="unpacks to 30 MB"):
        extract_images(archive, tmp_path / "dest2", ArchiveLimits(max_total_mb=10, max_ratio=1e9))


def test_a_member_that_lies_about_its_size_is_not_unpacked_past_it(tmp_path):
    members = {"a.png": _png(), "b.png": b"\0" * (3 * 2**20)}
    path = _zip(tmp_path / "liar.zip", members, method=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    # Rewrite b.png's declared sizes (local header and central directory) to 100 bytes; its data stays 3 MB.
    with zipfile.ZipFile(path) as z:
        local = z.getinfo("b.png").header_offset
    central = data.rfind(b"PK\x01\x02")
    data[central + 20:central + 28] = (100).to_bytes(4, "little") * 2
    data[local + 18:local + 26] = (100).to_bytes(4, "little") * 2
    path.write_bytes(bytes(data))
    found = extract_images(path, tmp_path / "dest", ArchiveLimits(max_total_mb=1))
    assert found.images == 1 and "could not be unpacked" in dict(found.skipped)["b.png"]
    assert not (tmp_path / "dest" / "b.png").exists()
    assert sum(p.stat().st_size for p in (tmp_path / "dest").rglob("*")) < 2**20


def test_too_many_files_empty_not_a_zip_and_no_images(tmp_path):
    many = _zip(tmp_path / "many.zip", {f"{i}.png": b"x" for i in range(30)})
    with pytest.raises(ArchiveError, match="at most 20"):
        extract_images(many, tmp_path / "d1", ArchiveLimits(max_files=20))
    empty = _zip(tmp_path / "empty.zip", {})
    with pytest.raises(ArchiveError, match="ZIP is empty"):
        extract_images(empty, tmp_path / "d2")
    (tmp_path / "fake.zip").write_bytes(b"not a zip at all")
    with pytest.raises(ArchiveError, match="not a ZIP"):
        extract_images(tmp_path / "fake.zip", tmp_path / "d3")
    texts = _zip(tmp_path / "texts.zip", {"a.txt": b"x", "b.csv": b"y"})
    with pytest.raises(ArchiveError, match="no images .*'a.txt'"):
        extract_images(texts, tmp_path / "d4")
    big = _zip(tmp_path / "big.zip", {"a.png": _png()})
    with pytest.raises(ArchiveError, match="at most 0.0001 MB"):
        extract_images(big, tmp_path / "d5", ArchiveLimits(max_upload_mb=0.0001))


def test_encrypted_member_is_refused(tmp_path):
    path = _zip(tmp_path / "enc.zip", {"a.png": _png()})
    data = bytearray(path.read_bytes())
    data[6] |= 1  # general-purpose flag bit 0 (encrypted), local header
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1  # and the central directory's copy, which zipfile reads
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="encrypted"):
        extract_images(path, tmp_path / "dest")
