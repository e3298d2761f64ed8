"""Helpers shared by the end-to-end tests and the benchmarks: run the real app on a port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched_app(log_path: Path, timeout: float = 180, extra_env: dict | None = None, root: Path = ROOT):
    """Start ``python app.py`` as a user would, on a free loopback port; yield (url, process) once it serves the
    page. ``root``: the checkout whose app.py runs (benchmarks/startup.py compares two)."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    with open(log_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}:\n{Path(log_path).read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(
                        f"app.py did not serve {url} in {timeout} s:\n{Path(log_path).read_text()[-3000:]}"
                    ) from None
                time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def shown_picture(page, prefix: str, timeout: float = 60_000) -> str:
    """What a tab ("gan" or "vae") shows once it shows something: "page:<PNG data URL>" while the page
    draws (genlab/web/genlab.js), "server:<image URL>" on the server path."""
    page.wait_for_function("(p) => window.genlab && window.genlab.picture(p) !== ''", arg=prefix, timeout=timeout)
    return page.evaluate("(p) => window.genlab.picture(p)", prefix)


def wait_for_new_picture(page, prefix: str, before: str, timeout: float = 30_000) -> str:
    """Wait until the tab shows a picture other than ``before``; return it."""
    page.wait_for_function("([p, b]) => window.genlab && !['', b].includes(window.genlab.picture(p))",
                           arg=[prefix, before], timeout=timeout)
    return page.evaluate("(p) => window.genlab.picture(p)", prefix)


def image_src(page, selector: str, timeout: float = 60_000) -> str:
    """The src of the first <img> under ``selector`` once one is shown (e.g. a tab's worked example)."""
    img = page.locator(f"{selector} img").first
    img.wait_for(state="visible", timeout=timeout)
    return img.get_attribute("src")


def wait_for_new_src(page, selector: str, before: str, timeout: float = 60_000) -> str:
    """Wait until the first <img> under ``selector`` shows something other than ``before``; return its src."""
    page.wait_for_function("([s, b]) => { const i = document.querySelector(s + ' img'); return i && i.src && i.src !== b; }",
                           arg=[selector, before], timeout=timeout)
    return page.locator(f"{selector} img").first.get_attribute("src")


def set_number(page, elem_id: str, value) -> None:
    """Type a value into a Gradio number box (a slider's or a Number's) and commit it with Enter."""
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")


def load_gan_repo(page, repo: str, timeout: float = 60_000) -> str:
    """Type a folder / Hub id into the GAN tab's repo box, press Enter, wait for its first picture."""
    before = shown_picture(page, "gan")
    box = page.locator("#gan-repo textarea, #gan-repo input").first
    box.fill(repo)
    box.press("Enter")
    return wait_for_new_picture(page, "gan", before, timeout=timeout)


def pick_gan_model(page, name: str, timeout: float = 60_000) -> str:
    """Pick a shipped GAN in the GAN tab's model dropdown; wait for its first picture."""
    before = shown_picture(page, "gan")
    page.locator("#gan-model input").click()
    page.get_by_role("option", name=name, exact=True).click()
    return wait_for_new_picture(page, "gan", before, timeout=timeout)


def make_shapes_folder(root: Path, per_class: int = 12, size: int = 80, seed: int = 0, broken: bool = True,
                       classes: tuple[str, ...] = ("circle", "square", "triangle")) -> dict[str, list[Path]]:
    """A small colour image folder in class-subfolder layout, as a user would bring one.

    Each class is a shape in a random colour, position and size on a random light background,
    saved in a mix of sizes and modes (RGB PNG, JPEG, RGBA, palette, CMYK JPEG, 16-bit grey).
    With ``broken``, each class also gets an empty file, a truncated PNG, a text file named .png
    and a 4x4 image: the loader must skip exactly those. Returns {"good": [...], "broken": [...]}.
    """
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    written: dict[str, list[Path]] = {"good": [], "broken": []}
    for name in classes:
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            w, h = int(size + rng.integers(0, size // 2)), size  # not square: exercises the centre crop
            bg = tuple(int(v) for v in rng.integers(170, 256, 3))
            fg = tuple(int(v) for v in rng.integers(0, 150, 3))
            img = Image.new("RGB", (w, h), bg)
            draw = ImageDraw.Draw(img)
            r = int(h * rng.uniform(0.2, 0.35))
            cx, cy = w // 2 + int(rng.integers(-h // 8, h // 8 + 1)), h // 2 + int(rng.integers(-h // 8, h // 8 + 1))
            if name == "circle":
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
            elif name == "square":
                draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fg)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
            kind = i % 6
            path = folder / f"{name}_{i:03d}.{'jpg' if kind in (1, 4) else 'png'}"
            if kind == 1:
                img.save(path, quality=95)
            elif kind == 2:
                img.convert("RGBA").save(path)
            elif kind == 3:
                img.convert("P", palette=Image.ADAPTIVE, colors=32).save(path)
            elif kind == 4:
                img.convert("CMYK").save(path, quality=95)
            elif kind == 5 and name == classes[-1]:
                grey = (np.asarray(img.convert("L"), dtype=np.uint16) * 257)
                Image.fromarray(grey).save(path)  # 16-bit grey
            else:
                img.save(path)
            written["good"].append(path)
        if broken:
            (folder / "empty.png").write_bytes(b"")
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            (folder / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
            (folder / "notes.png").write_text("not an image")
            Image.new("RGB", (4, 4), bg).save(folder / "tiny.png")
            written["broken"] += [folder / n for n in ("empty.png", "truncated.png", "notes.png", "tiny.png")]
    return written


def make_paired_folder(root: Path, n: int = 12, size: int = 64, seed: int = 0) -> Path:
    """``root/A`` (grey outlines) -> ``root/B`` (the filled colour shapes), matching names, plus one file
    without a partner and one unreadable pair member: a pix2pix folder as a user would bring one."""
    import numpy as np
    from PIL import Image, ImageFilter

    shapes = make_shapes_folder(Path(root) / "_src", per_class=max(1, n // 3), size=size, seed=seed, broken=False)
    (Path(root) / "A").mkdir(parents=True, exist_ok=True)
    (Path(root) / "B").mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(shapes["good"]):
        img = Image.open(path).convert("RGB")
        img.save(Path(root) / "B" / f"{i:04d}.png")
        edges = np.asarray(img.convert("L").filter(ImageFilter.FIND_EDGES)) > 20
        Image.fromarray(np.where(edges, 0, 255).astype(np.uint8)).save(Path(root) / "A" / f"{i:04d}.png")
    Image.new("L", (size, size), 255).save(Path(root) / "A" / "lonely.png")  # no partner in B
    (Path(root) / "B" / f"{len(shapes['good']) - 1:04d}.png").write_bytes(b"broken")  # its A exists
    import shutil

    shutil.rmtree(Path(root) / "_src")
    return Path(root)


def grid_tiles(path, n: int, size: int = 28, pad: int = 2, nrow: int | None = None):
    """Cut a grid PNG written by genlab.images.to_pil_grid (n images, any integer upscale) back into
    tensors (n, C, size, size) in [-1, 1], so a test can classify what an endpoint returned."""
    import math

    import numpy as np
    import torch
    from PIL import Image

    img = Image.open(path)
    arr = np.asarray(img.convert("L") if img.mode in ("L", "P", "LA") else img.convert("RGB"), dtype=np.float32)
    arr = arr[..., None] if arr.ndim == 2 else arr
    ncol = nrow or math.ceil(math.sqrt(n))
    pad = pad if n > 1 else 0
    width = ncol * (size + pad) + pad
    factor = arr.shape[1] // width
    if factor < 1 or arr.shape[1] != width * factor:
        raise ValueError(f"a {arr.shape[1]}-px wide image is not a grid of {ncol} x {size}-px tiles")
    small = arr[::factor, ::factor]  # undo the nearest-neighbour upscale
    tiles = []
    for i in range(n):
        r, c = divmod(i, ncol)
        top, left = pad + r * (size + pad), pad + c * (size + pad)
        tiles.append(small[top : top + size, left : left + size])
    return torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2) / 127.5 - 1
