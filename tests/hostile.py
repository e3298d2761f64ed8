"""Hostile and odd image files, generated on the spot (used by the upload-gate tests)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid tiny PNG whose header claims width x height (2.5 GP): decoding it would exhaust memory."""
    data = bytearray(_png_bytes(Image.new("1", (8, 8))))
    ihdr = 8 + 4  # signature, then the IHDR chunk's length field
    body = b"IHDR" + struct.pack(">II", width, height) + bytes(data[ihdr + 12 : ihdr + 4 + 13])
    data[ihdr : ihdr + 4 + 13] = body
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return bytes(data)


def digit_like(size=(64, 64)) -> Image.Image:
    img = Image.new("L", size, 255)
    arr = np.asarray(img).copy()
    h, w = arr.shape
    arr[h // 5 : 4 * h // 5, w // 2 - max(1, w // 12) : w // 2 + max(1, w // 12)] = 0  # a '1'
    return Image.fromarray(arr)


# kind -> (file name, bytes, words the refusal must contain)
def refused(folder: Path) -> dict[str, tuple[Path, str]]:
    half = _png_bytes(digit_like((256, 256)))
    files = {
        "decompression bomb (PNG header 50000x50000)": ("bomb.png", png_bomb(), "limit"),
        "8000x8000 PNG (64 MP, over the 40 MP limit; 8 kB file)": ("big.png", _png_bytes(Image.new("1", (8000, 8000))),
                                                                  "limit"),
        "truncated PNG (first half of the file)": ("cut.png", half[: len(half) // 2], "truncated or corrupt"),
        "empty file (0 bytes)": ("empty.png", b"", "empty"),
        "text file named .png": ("notes.png", b"hello, not an image\n" * 20, "Could not read"),
        "SVG": ("drawing.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" '
                b'height="64"><circle cx="32" cy="32" r="20"/></svg>', "SVG"),
        "1x1 PNG": ("dot.png", _png_bytes(Image.new("L", (1, 1), 0)), "at least 8 px"),
        "8000x3 PNG": ("sliver.png", _png_bytes(Image.new("L", (8000, 3), 0)), "at least 8 px"),
        "PPM (unsupported format)": ("digit.ppm", _ppm(digit_like()), "not supported"),
    }
    out = {}
    for kind, (name, data, words) in files.items():
        (folder / name).write_bytes(data)
        out[kind] = (folder / name, words)
    return out


def _ppm(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PPM")
    return buf.getvalue()


def accepted(folder: Path) -> dict[str, Path]:
    """Odd but valid uploads that must be converted correctly."""
    base = digit_like((96, 96))
    rgb = Image.merge("RGB", [base] * 3)
    out = {}

    def save(name, img, **kw):
        img.save(folder / name, **kw)
        out[name] = folder / name

    pal = Image.fromarray((np.asarray(base) < 128).astype(np.uint8), mode="P")  # 0 background, 1 digit
    pal.putpalette([255, 0, 0, 0, 0, 0])  # background red but transparent, digit black
    save("palette_transparent.png", pal, transparency=0)
    save("cmyk.jpg", rgb.convert("CMYK"), quality=95)
    save("gray16.png", Image.fromarray((np.asarray(base).astype(np.uint16) * 257)).convert("I;16"))
    save("float.tiff", Image.fromarray(np.asarray(base).astype(np.float32) / 255.0))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray((255 - np.asarray(base)).astype(np.uint8)))  # digit opaque, background clear
    save("alpha.png", rgba)
    save("gray_alpha.png", Image.merge("LA", [base, Image.new("L", base.size, 255)]))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    save("exif_rotated.jpg", Image.merge("RGB", [digit_like((96, 48))] * 3), exif=exif, quality=95)
    frames = [Image.merge("RGB", [digit_like((64, 64))] * 3), Image.new("RGB", (64, 64), "red")]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out["animated.gif"] = folder / "animated.gif"
    save("photo.webp", rgb, quality=90)
    save("photo.bmp", rgb)
    save("photo.tiff", rgb)
    return out
