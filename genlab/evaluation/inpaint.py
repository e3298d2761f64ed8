"""``python -m genlab eval inpaint``: PSNR/SSIM inside synthetic masks for every repair method.

Digits: held-out MNIST digits (never trained on) with a random 10x10 square or random
3-px strokes removed; methods vae, gan (latent optimisation), dip (deep image prior) and
biharmonic. Photos: scikit-image's bundled colour photos at 512x512 with a random 64x64
square or 12-px strokes removed; methods dip and biharmonic. Masks are drawn under a fixed
seed, so every method sees the same holes.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image, ImageDraw
from skimage.metrics import structural_similarity

from ..tasks import inpainting as ip
from ..images import to_uint8

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
MASK_KINDS = ("square", "strokes")


def synthetic_mask(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A bool (size, size) mask: a square of side size/2.8 (digits 10 px, 512-px photos 64 px if
    size >= 256) away from the border, or three random strokes of width size/40 (at least 3 px)."""
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    if kind == "square":
        side = 10 if size <= 64 else 64
        lo, hi = size // 6, size - size // 6 - side
        r, c = rng.integers(lo, hi + 1, 2)
        draw.rectangle([int(c), int(r), int(c) + side - 1, int(r) + side - 1], fill=255)
    elif kind == "strokes":
        width = max(3, size // 40)
        for _ in range(3):
            pts = rng.uniform(size * 0.15, size * 0.85, (3, 2))
            draw.line([tuple(p) for p in pts], fill=255, width=width)
    else:
        raise ValueError(f"kind must be one of {MASK_KINDS}, got {kind!r}")
    return np.asarray(img) > 0


def masked_scores(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """PSNR (dB, data range 1) and mean SSIM over the masked pixels; images (H, W) or (H, W, C) uint8."""
    a, b = result.astype(np.float64) / 255, truth.astype(np.float64) / 255
    mse = float(((a - b)[mask] ** 2).mean())
    psnr = 10 * np.log10(1 / max(mse, 1e-10))
    kw = {"channel_axis": -1} if a.ndim == 3 else {}
    _, smap = structural_similarity(a, b, data_range=1.0, full=True, **kw)
    if smap.ndim == 3:
        smap = smap.mean(axis=2)
    return psnr, float(smap[mask].mean())


def photo(name: str, size: int = 512) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    pil = Image.fromarray(img[..., :3])
    side = min(pil.size)  # centre square, then resize
    left, top = (pil.width - side) // 2, (pil.height - side) // 2
    return np.asarray(pil.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS))


def evaluate_inpainting(n_digits: int = 50, n_dip_digits: int = 20, photos=PHOTOS, dip_iterations: int = 300,
                        digit_steps: int = 200, seed: int = 0, log=print, only: str | None = None) -> list[dict]:
    """One row per (domain, mask kind, method): n, PSNR and SSIM inside the mask (mean), s/image.

    Photo rows also list every image's scores. only: "digits" or "photos" to run one half.
    """
    rows = []
    if only != "digits":
        rows += _photo_rows(photos, dip_iterations, seed, log)
    if only == "photos":
        return rows
    return _digit_rows(n_digits, n_dip_digits, dip_iterations, digit_steps, seed, log) + rows


def _digit_rows(n_digits, n_dip_digits, dip_iterations, digit_steps, seed, log) -> list[dict]:
    from ..datasets import digits
    from ..hub import load

    rows = []
    x_all = digits("eval").tensors[0][:n_digits]
    truth = to_uint8(x_all)  # (N, 28, 28)
    models = {"vae": load("mnist-vae", model_type="vae", device="cpu"),
              "gan": load("mnist-cgan", model_type="gan", device="cpu")}
    for kind in MASK_KINDS:
        rng = np.random.default_rng(seed)
        masks = [synthetic_mask(kind, 28, rng) for _ in range(len(truth))]
        x = torch.from_numpy(truth.astype(np.float32) / 127.5 - 1)[:, None]
        known = torch.from_numpy(~np.stack(masks))[:, None].float()
        for method in ("vae", "gan"):
            start = time.perf_counter()
            *_, (_, images, _, _) = ip.latent_inpaint(models[method], x, known, method, steps=digit_steps, seed=seed)
            best = torch.where(known.bool(), x, images[:, 0])
            out = to_uint8(best)
            secs = (time.perf_counter() - start) / len(truth)
            scores = [masked_scores(o, t, m) for o, t, m in zip(out, truth, masks)]
            rows.append(_row("digits", kind, method, scores, secs))
            log(_fmt(rows[-1]))
        for method, n in (("dip", n_dip_digits), ("biharmonic", len(truth))):
            scores, start = [], time.perf_counter()
            for t, m in zip(truth[:n], masks[:n]):
                rgb = np.repeat(t[..., None], 3, axis=2)
                kw = {"iterations": dip_iterations, "max_side": 32, "seed": seed} if method == "dip" else {}
                out = np.asarray(ip.inpaint(rgb, m, method, **kw))[..., 0]
                scores.append(masked_scores(out, t, m))
            rows.append(_row("digits", kind, method, scores, (time.perf_counter() - start) / max(n, 1)))
            log(_fmt(rows[-1]))
    return rows


def _photo_rows(photos, dip_iterations, seed, log) -> list[dict]:
    rows = []
    for kind in MASK_KINDS:
        for method in ("dip", "biharmonic"):
            scores, start = [], time.perf_counter()
            mrng = np.random.default_rng(seed)
            for name in photos:
                img = photo(name)
                m = synthetic_mask(kind, 512, mrng)
                kw = {"iterations": dip_iterations, "seed": seed} if method == "dip" else {}
                out = np.asarray(ip.inpaint(img, m, method, **kw))
                scores.append(masked_scores(out, img, m))
            row = _row("photos (512x512)", kind, method, scores, (time.perf_counter() - start) / len(photos))
            row["iterations"] = dip_iterations if method == "dip" else None
            row["per_image"] = {name: {"psnr": p, "ssim": q} for name, (p, q) in zip(photos, scores)}
            rows.append(row)
            log(_fmt(rows[-1]) + "  " + ", ".join(f"{n} {p:.2f}" for n, (p, _) in zip(photos, scores)))
    return rows


def _row(domain, kind, method, scores, secs) -> dict:
    s = np.array(scores)
    return {"domain": domain, "mask": kind, "method": method, "n": len(s), "psnr": float(s[:, 0].mean()),
            "psnr_std": float(s[:, 0].std()), "ssim": float(s[:, 1].mean()), "seconds_per_image": secs}


def _fmt(r: dict) -> str:
    return (f"{r['domain']:<17} {r['mask']:<8} {r['method']:<10} n={r['n']:<4} PSNR {r['psnr']:6.2f} dB  "
            f"SSIM {r['ssim']:.3f}  {r['seconds_per_image']:.2f} s/image")


METHOD_NAMES = {"vae": "VAE latent optimisation", "gan": "GAN latent optimisation", "dip": "deep image prior",
                "biharmonic": "biharmonic (classical)"}


def markdown_table(rows: list[dict]) -> str:
    lines = ["| images | mask | method | n | PSNR in mask (dB) | SSIM in mask | time per image |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['domain']} | {r['mask']} | {METHOD_NAMES[r['method']]} | {r['n']} | "
                     f"{r['psnr']:.2f} | {r['ssim']:.3f} | {r['seconds_per_image']:.2f} s |")
    return "\n".join(lines)
