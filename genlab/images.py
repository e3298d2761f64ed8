"""Tensor <-> PIL conversion, image grids and GIFs, and upload validation/preprocessing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageInputError


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W) in [-1, 1] -> uint8 (N, H, W) for grey (C = 1), (N, H, W, 3) for colour."""
    arr = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return arr[:, 0].numpy() if arr.size(1) == 1 else arr.permute(0, 2, 3, 1).numpy()


def make_grid(x: torch.Tensor, nrow: int, padding: int, pad_value: float) -> torch.Tensor:
    """(B, C, H, W) -> (C, rows * (H + padding) + padding, cols * (W + padding) + padding), laid out as
    torchvision.utils.make_grid lays it out (row-major, ``nrow`` per row). Our own: importing torchvision
    costs about 5 s of start-up here (it pulls in torch._dynamo)."""
    b, c, h, w = x.shape
    if b == 1:  # as torchvision: one image is its own grid, unpadded
        return x[0]
    cols = min(nrow, b)
    rows = math.ceil(b / cols)
    grid = x.new_full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value)
    for i in range(b):
        r, q = divmod(i, cols)
        top, left = r * (h + padding) + padding, q * (w + padding) + padding
        grid[:, top : top + h, left : left + w] = x[i]
    return grid


def to_pil_grid(x: torch.Tensor, nrow: int | None = None, display_size: int = 0, padding: int = 2) -> Image.Image:
    """Images (B, C, H, W) in [-1, 1] -> one PIL grid image.

    nrow: images per row (default: a near-square grid).
    display_size: if > 0, upscale by the integer factor that brings the longer side nearest
    to display_size, with nearest-neighbour so 28-px pixels stay crisp.
    """
    nrow = nrow or math.ceil(math.sqrt(x.size(0)))
    grid = make_grid(x.detach().float().cpu(), nrow=nrow, padding=padding if x.size(0) > 1 else 0, pad_value=-1.0)
    arr = ((grid.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (C, H, W)
    img = Image.fromarray(arr[0].numpy() if x.size(1) == 1 else arr.permute(1, 2, 0).numpy())
    if display_size > 0:
        factor = max(1, round(display_size / max(img.size)))
        if factor > 1:
            img = img.resize((img.width * factor, img.height * factor), Image.NEAREST)
    return img


# --- Uploads -------------------------------------------------------------------------------

MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (decompression bombs)
WORK_SIZE = 1024  # huge uploads are shrunk to this before any full-resolution array is made


ACCEPTED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "BMP": "BMP", "TIFF": "TIFF",
                    "GIF": "GIF"}
ACCEPTED = "PNG, JPEG, WebP, BMP, TIFF or GIF"
MIN_SIDE = 8  # px: smaller images (1x1, 8000x3) carry nothing a model can use
MAX_ASPECT = 50  # longer side / shorter side


def _sniff(path: Path) -> None:
    """Refuse files that are empty, or vector/text formats PIL would misread, from their first bytes."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError as e:
        raise ImageInputError(f"Could not read the uploaded file ({e.strerror}); upload it again.") from e
    if size == 0:
        raise ImageInputError(f"The file is empty (0 bytes): upload a {ACCEPTED} image.")
    text = head.lstrip().lower()
    if b"<svg" in text or (text.startswith(b"<?xml") and b"svg" in text):
        raise ImageInputError(f"SVG (vector) images are not supported: export it as PNG and upload that. "
                              f"Accepted: {ACCEPTED}.")


def open_image(source: str | Path | Image.Image | np.ndarray, work_size: int | None = WORK_SIZE) -> Image.Image:
    """The one gate for uploads: open a path, PIL image or array, checked before and while decoding.

    Refuses, with ImageInputError and a readable message: empty files, SVG, non-images, formats
    other than PNG/JPEG/WebP/BMP/TIFF/GIF, more than MAX_PIXELS (checked from the header, before
    decoding: decompression bombs), sides under MIN_SIDE px or more than MAX_ASPECT:1, and
    truncated or corrupt data. Applies EXIF orientation and keeps the first frame of animations.
    work_size: longer side that larger images are shrunk to (None keeps full resolution).
    """
    img = open_header(source)
    try:
        img.seek(0)  # first frame of a GIF/animated image
        if work_size and img.width * img.height > work_size * work_size and img.format == "JPEG":
            img.draft(img.mode, (work_size, work_size))  # decode JPEGs at reduced size
        img.load()
        img = ImageOps.exif_transpose(img)
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise ImageInputError(f"The image file is truncated or corrupt ({e}).") from e
    if work_size and max(img.size) > work_size:
        img = img.copy()
        img.thumbnail((work_size, work_size))
    return img


def open_header(source: str | Path | Image.Image | np.ndarray) -> Image.Image:
    """``open_image``'s checks that need no pixels: the file's first bytes, its format and its size from
    the header. Returns the opened, not yet decoded image (cheap: folders probe every file with it)."""
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.size == 0:
            raise ImageInputError(f"Expected an image array of shape (H, W) or (H, W, C), got {source.shape}.")
        source = Image.fromarray(source)
    if not isinstance(source, Image.Image):
        path = Path(str(source))
        _sniff(path)
        try:
            img = Image.open(path)
        except Image.DecompressionBombError as e:
            raise ImageInputError(f"The image is far larger than the {MAX_PIXELS / 1e6:.0f} MP limit "
                                  "(a decompression bomb?): downscale it first.") from e
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            raise ImageInputError(f"Could not read this file as an image ({path.suffix or 'no extension'}): "
                                  f"upload a {ACCEPTED}.") from e
        if img.format not in ACCEPTED_FORMATS:
            raise ImageInputError(f"{img.format} images are not supported: upload a {ACCEPTED}.")
    else:
        img = source
    if img.width * img.height > MAX_PIXELS:
        raise ImageInputError(
            f"Image is {img.width}x{img.height} = {img.width * img.height / 1e6:.0f} MP; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} MP. Downscale it first."
        )
    if min(img.size) < 1:
        raise ImageInputError("The image is empty (zero width or height).")
    if min(img.size) < MIN_SIDE or max(img.size) > MAX_ASPECT * min(img.size):
        raise ImageInputError(f"The image is {img.width}x{img.height} px: each side must be at least {MIN_SIDE} px "
                              f"and the longer side at most {MAX_ASPECT}x the shorter.")
    return img


def to_gray_array(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> float32 (H, W) in [0, 1]; transparency is composited onto white."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float32)
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        if img.mode == "F" and arr.max() <= 1.0:
            hi = 1.0
        return np.clip(arr / hi, 0, 1)
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB: 16-bit and float scaled (not clipped), transparency composited on
    white, palette, CMYK and grey converted."""
    if img.mode in GRAY_MODES:
        gray = Image.fromarray((to_gray_array(img) * 255).round().astype(np.uint8))
        return Image.merge("RGB", [gray] * 3)
    if img.mode in ("RGBA", "RGBa", "P", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("RGB")


def prepare_mnist(source, box: int | None = None, size: int = 28) -> torch.Tensor:
    """Bring any image into MNIST's domain, the way MNIST was made. Returns (1, 1, size, size) in [-1, 1].

    Grayscale; dark-on-light images inverted to light-on-dark; contrast stretched; cropped to
    the content; scaled so the longer side fits a 20x20 box; placed in 28x28 with its centre
    of mass at the centre. Blank images raise ImageInputError. box: the content box (default
    20/28 of ``size``, MNIST's proportion); size: the output side.
    """
    box = box or max(1, round(size * 20 / 28))
    gray = to_gray_array(open_image(source))
    lo, hi = float(gray.min()), float(gray.max())
    if hi - lo < 0.1:
        raise ImageInputError("The image is blank (no contrast): draw or upload a digit.")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > (lo + hi) / 2:  # light background: MNIST digits are light on dark
        gray = hi - gray + lo
    gray = (gray - lo) / (hi - lo)  # (H, W) in [0, 1]
    rows, cols = np.nonzero(gray > 0.25)
    if len(rows) == 0:
        raise ImageInputError("No digit found in the image: draw or upload a digit.")
    crop = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS),
                       dtype=np.float32) / 255.0
    small = np.clip(small, 0, 1)
    total = small.sum()
    cy, cx = ((np.arange(new_h)[:, None] * small).sum() / total, (np.arange(new_w)[None, :] * small).sum() / total)
    top = int(round(size / 2 - 0.5 - cy))
    left = int(round(size / 2 - 0.5 - cx))
    top, left = min(max(top, 0), size - new_h), min(max(left, 0), size - new_w)
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = small
    return torch.from_numpy(canvas * 2 - 1)[None, None]  # (1, 1, size, size)


def save_gif(frames: list[Image.Image], path: str | Path, frame_ms: int = 80, there_and_back: bool = True) -> Path:
    """Write frames as a looping GIF; there_and_back appends the path reversed (without repeats)."""
    if there_and_back and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0, optimize=False)
    return Path(path)


# --- Any image at a model's size -------------------------------------------------------------

FITS = ("crop", "pad")  # square centre-crop, or pad to a square with the border's median colour


def to_channels(img: Image.Image, channels: int) -> np.ndarray:
    """Any PIL mode -> uint8 (H, W, channels): grey (16-bit and float scaled, alpha on white) or RGB."""
    if channels == 1:
        return (to_gray_array(img) * 255).round().astype(np.uint8)[..., None]
    if channels == 3:
        return np.asarray(to_rgb(img))
    raise ValueError(f"channels must be 1 or 3, got {channels!r}")


def fit_square(arr: np.ndarray, fit: str = "crop") -> np.ndarray:
    """uint8 (H, W, C) -> a square (S, S, C): the centre crop (S = shorter side) or, with "pad", the
    whole image padded with the median colour of its border (S = longer side)."""
    h, w = arr.shape[:2]
    if fit == "crop":
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        return arr[top : top + s, left : left + s]
    if fit == "pad":
        s = max(h, w)
        border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])  # (2W + 2H, C)
        out = np.empty((s, s, arr.shape[2]), dtype=arr.dtype)
        out[:] = np.median(border, axis=0).round().astype(arr.dtype)
        top, left = (s - h) // 2, (s - w) // 2
        out[top : top + h, left : left + w] = arr
        return out
    raise ValueError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")


def image_to_uint8(img: Image.Image, resolution: int, channels: int, fit: str = "crop") -> np.ndarray:
    """An opened image -> uint8 (channels, resolution, resolution): mode conversion through the upload
    rules, square crop or pad, antialiased (Lanczos) resize."""
    arr = fit_square(to_channels(img, channels), fit)
    if arr.shape[0] != resolution:
        mode = "L" if channels == 1 else "RGB"
        small = Image.fromarray(arr[..., 0] if channels == 1 else arr, mode)
        arr = np.asarray(small.resize((resolution, resolution), Image.LANCZOS, reducing_gap=3.0))
        arr = arr[..., None] if channels == 1 else arr
    return np.array(arr.transpose(2, 0, 1), order="C")  # a writable copy


def load_uint8(source, resolution: int, channels: int, fit: str = "crop") -> torch.Tensor:
    """Any image (path, PIL, array) through the upload gate -> uint8 (channels, resolution, resolution).

    The one path from a file to a model's size: training folders and app uploads alike."""
    img = open_image(source, work_size=max(4 * resolution, 256))  # big photos shrink before conversion
    return torch.from_numpy(image_to_uint8(img, resolution, channels, fit))


def prepare_image(source, resolution: int, channels: int, fit: str = "crop") -> torch.Tensor:
    """An upload (path, PIL, array) -> the input of a model trained on folders: (1, C, R, R) in [-1, 1].

    Non-digit models declare ``preprocess`` "crop" or "pad" in their config; digit models
    ("mnist") use ``prepare_mnist`` instead (see ``prepare``).
    """
    return load_uint8(source, resolution, channels, fit).float()[None] / 127.5 - 1


def prepare(source, model) -> torch.Tensor:
    """An upload -> what ``model`` takes, by the preprocessing its config declares: (1, C, R, R)."""
    mode = getattr(model, "preprocess", "mnist")
    if mode == "mnist":
        x = prepare_mnist(source, size=getattr(model, "resolution", 28))
        return x.repeat(1, getattr(model, "in_channels", getattr(model, "image_channels", 1)), 1, 1)
    channels = getattr(model, "in_channels", model.image_channels)
    return prepare_image(source, model.resolution, channels, mode)
