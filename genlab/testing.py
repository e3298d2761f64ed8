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


def explained(page, waiting_for: str, selector: str, wait) -> None:
    """Run ``wait()`` (a Playwright wait); on its timeout, fail with what the page showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        wait()
    except PlaywrightTimeout:
        try:
            notes = page.evaluate("() => [...document.querySelectorAll('[id$=-web-note]')].map(n => n.id + ': ' + "
                                  "n.innerText.slice(0, 160))")
        except Exception:  # noqa: BLE001 - a page that cannot even say this
            notes = []
        raise AssertionError(f"timed out waiting for {waiting_for}; in-page notes: {notes}; "
                             f"{page_report(page, selector)}") from None


def shown_picture(page, prefix: str, timeout: float = 60_000) -> str:
    """What a tab ("gan" or "vae") shows once it shows something: "page:<PNG data URL>" while the page
    draws (genlab/web/genlab.js), "server:<image URL>" on the server path."""
    explained(page, f"the {prefix} tab's first picture", f"#{prefix}-output, #{prefix}-current",
               lambda: page.wait_for_function("(p) => window.genlab && window.genlab.picture(p) !== ''", arg=prefix,
                                              timeout=timeout))
    return page.evaluate("(p) => window.genlab.picture(p)", prefix)


def wait_for_new_picture(page, prefix: str, before: str, timeout: float = 30_000) -> str:
    """Wait until the tab shows a picture other than ``before``; return it."""
    explained(page, f"a new picture in the {prefix} tab (it still showed {before[:60]!r}...)",
               f"#{prefix}-output, #{prefix}-current",
               lambda: page.wait_for_function("([p, b]) => window.genlab && !['', b].includes(window.genlab.picture(p))",
                                              arg=[prefix, before], timeout=timeout))
    return page.evaluate("(p) => window.genlab.picture(p)", prefix)


def image_src(page, selector: str, timeout: float = 60_000) -> str:
    """The src of the first <img> under ``selector`` once one is shown (e.g. a tab's worked example)."""
    img = page.locator(f"{selector} img").first
    explained(page, f"an image in {selector}", selector, lambda: img.wait_for(state="visible", timeout=timeout))
    return img.get_attribute("src")


def wait_for_new_src(page, selector: str, before: str, timeout: float = 60_000) -> str:
    """Wait until the first <img> under ``selector`` shows something other than ``before``; return its src."""
    explained(page, f"a new image in {selector} (it showed {before[-60:]!r})", selector,
               lambda: page.wait_for_function(
                   "([s, b]) => { const i = document.querySelector(s + ' img'); return i && i.src && i.src !== b; }",
                   arg=[selector, before], timeout=timeout))
    return page.locator(f"{selector} img").first.get_attribute("src")


def set_number(page, elem_id: str, value) -> None:
    """Type a value into a Gradio number box (a slider's or a Number's) and commit it with Enter."""
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")


def record_requests(page) -> list[dict]:
    """Log every request the page makes (method, path, start, end, failure; seconds since this call) in a list that
    grows as the page runs: a wait that times out can then say which requests were still open."""
    log: list[dict] = []
    t0 = time.time()
    by_request: dict[int, dict] = {}

    def started(r):
        entry = {"method": r.method, "path": "/" + r.url.split("/", 3)[-1][:80], "start": round(time.time() - t0, 2),
                 "end": None, "failure": None}
        by_request[id(r)] = entry
        log.append(entry)

    def ended(r, failure=None):
        entry = by_request.pop(id(r), None)
        if entry is not None:
            entry["end"], entry["failure"] = round(time.time() - t0, 2), failure

    page.requests_t0 = t0
    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", lambda r: ended(r, r.failure))
    page.requests = log
    return log


def page_report(page, selector: str) -> str:
    """What the page shows, for a wait that timed out: the selected tab, ``selector``'s visibility and text, and (with
    ``record_requests``) the requests still open, those that failed and the uploads."""
    try:
        shown = page.evaluate("""(s) => { const e = document.querySelector(s);
            const tab = document.querySelector('[role=tab][aria-selected=true]');
            return {tab: tab ? tab.innerText : null, found: !!e, visible: !!(e && e.offsetParent),
                    text: e ? e.innerText.slice(0, 300) : null}; }""", selector)
    except Exception as e:  # a crashed or closed page
        shown = f"(page not readable: {e})"
    log = getattr(page, "requests", [])
    log = log if isinstance(log, list) else []  # record_requests' list, not Playwright's own Page.requests()
    # the queue's stream is listed: an event that never came back shows as that stream, still open
    open_requests = [r for r in log if r["end"] is None and "/heartbeat/" not in r["path"]]
    failed = [r for r in log if r["failure"]]
    uploads = [r for r in log if r["path"].startswith("/gradio_api/upload")]
    return (f"the page shows {shown}; requests still open: {open_requests[-12:]}; failed: {failed[-6:]}"
            + (f"; uploads: {uploads[-4:]}" if uploads else ""))


STREAMS = ("/heartbeat/", "/queue/data", "/upload_progress")  # a page's long-lived streams: open for as long as it likes


def settled(page, quiet: float = 0.5, timeout: float = 60.0) -> None:
    """Wait until the page has sent nothing new for ``quiet`` seconds and no request of it is open (its long-lived
    streams aside): a chain of events (an upload that re-encodes, a model switch and its redraw) has run its course,
    each ``.then`` being a new request. For an action whose effects are several events, where no single element shows
    that the last one has landed; a check of what they drew follows it. A timeout says what was still open."""
    log = getattr(page, "requests", None)
    if log is None:
        raise RuntimeError("settled() needs record_requests(page) first")
    deadline = time.time() + timeout
    while True:
        open_requests = [r for r in log if r["end"] is None and not any(k in r["path"] for k in STREAMS)]
        last = max((r["start"] for r in log), default=0.0)  # seconds after page.requests_t0
        if not open_requests and time.time() - page.requests_t0 - last >= quiet:
            return
        if time.time() > deadline:
            raise AssertionError(f"the page did not settle in {timeout:g} s; {page_report(page, 'body')}")
        page.wait_for_timeout(100)


def upload_file(page, elem_id: str, path, timeout: float = 30_000) -> None:
    """Upload ``path`` through the file box ``#elem_id`` and wait until the box lists the uploaded file: the row
    Gradio's file preview labels with the file's name, shown once the upload is done and the box holds it.

    Not the name as text: while uploading, the box shows "Uploading 1 file... shapes.zip", but the finished preview
    splits it into "shapes" and ".zip", which no text match of "shapes.zip" finds. A wait for that text saw only the
    transient progress view, and an upload done between two of Playwright's polls left it waiting for good (1 in 24
    uploads of tests/test_train_browser.py's first steps, measured)."""
    name = Path(path).name
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    row = page.locator(f"#{elem_id} [aria-label={name!r}]")
    explained(page, f"{name} listed in #{elem_id}", f"#{elem_id}",
              lambda: row.wait_for(state="visible", timeout=timeout))


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
