"""What each latent direction changes: measured on samples, named for the slider.

For every direction d, a batch of samples is drawn at z - step*d and at z + step*d (same z, same
classes), and simple image measurements are compared: stroke thickness (ink), size, slant,
brightness, and for colour models saturation and hue; with a classifier that knows the model's
classes, also the class probabilities. Image measurements are reported in standard deviations of
that measurement over the samples themselves (so "+1.2 SD thicker" means the same on any model);
class effects in percentage points of probability. The label names the largest effects with
their sign, e.g. "← thinner · thicker →" or "→ more 7-like".

>>> import genlab
>>> from genlab.tasks.directions import name_directions
>>> from genlab.tasks.sampling import sefa_directions
>>> g = genlab.load("mnist-cgan")
>>> named = name_directions(g, sefa_directions(g, 6)[0], genlab.load("mnist-classifier"))
>>> named[0]["label"]                    # e.g. '← thinner · thicker →'

Shipped GANs carry the names of their SeFa directions in ``directions.json`` beside the checkpoint (written with
attributes.json by ``genlab eval attributes NAME --feature-net CLASSIFIER``, keyed by the weights' digest), so a
server names them without running the classifier 12 times at start-up (10.7 s for ``emoji-cgan`` on one thread).
"""

from __future__ import annotations

import math

import torch

from ..models import Generator
from .fitted import read_fitted, write_fitted
from .sampling import latents

STEP = 2.0  # compare samples at -STEP and +STEP along each unit direction (sliders span ±5)
SAMPLES = 64  # samples per measurement (seed 0; a random class each, as the "any" picker)
MIN_SD = 0.35  # an image effect smaller than this (in SDs) is not named
MIN_POINTS = 5.0  # a class effect smaller than this (percentage points) is not named
SEFA_SLIDERS = 6  # the SeFa directions the GAN tab shows (ranks 1..6), named and stored
DIRECTIONS_FILE = "directions.json"  # beside a checkpoint: its named SeFa directions
MAX_STORED = 64  # directions a stored file may name

# measurement -> (word for less, word for more)
WORDS = {
    "thickness": ("thinner", "thicker"),
    "size": ("smaller", "larger"),
    "slant": ("leans left", "leans right"),
    "brightness": ("darker", "brighter"),
    "saturation": ("duller", "more saturated"),
}
HUES = ["red", "orange", "yellow", "lime", "green", "teal", "cyan", "azure", "blue", "violet", "magenta", "pink"]


def hue_name(degrees: float) -> str:
    """A hue angle -> the nearest of 12 colour names (30° apart, red at 0°)."""
    return HUES[round((degrees % 360) / 30) % 12]


def measure(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image measurements of images (N, C, R, R) in [-1, 1]: each a (N,) tensor.

    The background is each image's median border colour; a pixel's "ink" is its distance from it.
    thickness: mean ink; size: spread of ink around its centre (2·sqrt(var x + var y) / R); slant:
    -cov(x, y) / var(y) of the ink (positive: the top leans right); brightness: mean luminance;
    colour models also get saturation (ink-weighted mean HSV saturation) and hue (degrees, circular
    mean weighted by ink x saturation, returned as cos/sin pairs for averaging).
    """
    x = (x.float().clamp(-1, 1) + 1) / 2  # (N, C, R, R) in [0, 1]
    n, c, r, _ = x.shape
    border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)  # (N, C, 4R)
    bg = border.median(dim=-1).values[..., None, None]  # (N, C, 1, 1)
    ink = (x - bg).abs().mean(1)  # (N, R, R)
    mass = ink.sum((1, 2)).clamp_min(1e-6)  # (N,)
    coords = torch.arange(r, dtype=torch.float32)
    ys, xs = coords[:, None].expand(r, r), coords[None, :].expand(r, r)
    my = (ink * ys).sum((1, 2)) / mass
    mx = (ink * xs).sum((1, 2)) / mass
    vy = (ink * (ys - my[:, None, None]) ** 2).sum((1, 2)) / mass
    vx = (ink * (xs - mx[:, None, None]) ** 2).sum((1, 2)) / mass
    cxy = (ink * (xs - mx[:, None, None]) * (ys - my[:, None, None])).sum((1, 2)) / mass
    out = {
        "thickness": ink.mean((1, 2)),
        "size": 2 * (vx + vy).clamp_min(0).sqrt() / r,
        "slant": -cxy / vy.clamp_min(1e-6),
    }
    if c == 3:
        lum = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]  # (N, R, R)
        out["brightness"] = lum.mean((1, 2))
        mx_c, mn_c = x.max(1).values, x.min(1).values  # (N, R, R)
        sat = (mx_c - mn_c) / mx_c.clamp_min(1e-6)
        out["saturation"] = (ink * sat).sum((1, 2)) / mass
        hue = _hue(x)  # (N, R, R) radians
        w = ink * sat
        out["hue_cos"] = (w * hue.cos()).sum((1, 2)) / w.sum((1, 2)).clamp_min(1e-6)
        out["hue_sin"] = (w * hue.sin()).sum((1, 2)) / w.sum((1, 2)).clamp_min(1e-6)
    return out


def _hue(x: torch.Tensor) -> torch.Tensor:
    """HSV hue in radians of images (N, 3, R, R) in [0, 1]: (N, R, R)."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    # the hexcone hue as an angle: atan2(sqrt(3)(g - b), 2r - g - b)
    return torch.atan2(math.sqrt(3) * (g - b), 2 * r - g - b)


def knows_classes(classifier, g: Generator) -> bool:
    """Whether a classifier reads this generator's output: the same class names and channels (another image
    size is resampled to the classifier's own, ImageClassifier.fit_size)."""
    return bool(g.labels) and list(classifier.labels) == list(g.labels) and \
        classifier.image_channels == g.image_channels


@torch.inference_mode()
def name_directions(g: Generator, directions: torch.Tensor, classifier=None, *, seed: int = 0) -> list[dict]:
    """Measure and name each direction (k, code_dim) of generator g.

    classifier: optional, with the generator's classes (same labels and channels); adds class
    effects. Returns one dict per direction: {"label": short text for the slider, "effects":
    [(name, value, unit), ...] largest first, "summary": the numbers as one line}.
    """
    device = next(g.parameters()).device
    z, labels = latents(g, seed=seed, label=None, n=SAMPLES)  # (64, latent), (64,)
    z, labels = z.to(device), labels.to(device)
    z = g.code(z, labels)  # (64, code_dim): where the directions move (z, or W for StyleGAN)
    base = measure(g(z, labels).float().cpu())
    sd = {k: v.std().clamp_min(1e-6) for k, v in base.items()}
    base_hue = torch.atan2(base["hue_sin"], base["hue_cos"]) if "hue_cos" in base else None
    hue_sd = _circular_sd(base_hue) if base_hue is not None else None
    use_classes = classifier is not None and knows_classes(classifier, g)
    named = []
    for d in directions.to(device):
        lo = g(z - STEP * d, labels).float()
        hi = g(z + STEP * d, labels).float()
        m_lo, m_hi = measure(lo.cpu()), measure(hi.cpu())
        effects = [(k, float((m_hi[k] - m_lo[k]).mean() / sd[k]), "SD") for k in WORDS if k in base]
        hue_words = None
        if base_hue is not None:
            h_lo = torch.atan2(m_lo["hue_sin"].mean(), m_lo["hue_cos"].mean())
            h_hi = torch.atan2(m_hi["hue_sin"].mean(), m_hi["hue_cos"].mean())
            shift = math.remainder(float(h_hi - h_lo), 2 * math.pi)  # (-pi, pi]
            effects.append(("hue", shift / hue_sd, "SD"))
            hue_words = (hue_name(math.degrees(float(h_lo))), hue_name(math.degrees(float(h_hi))))
        class_effects = []
        if use_classes:
            classifier.eval()
            p_lo = classifier(lo.to(next(classifier.parameters()).device)).softmax(1).float().cpu()
            p_hi = classifier(hi.to(next(classifier.parameters()).device)).softmax(1).float().cpu()
            delta = (p_hi - p_lo).mean(0) * 100  # (classes,) percentage points
            order = delta.argsort()
            class_effects = [(g.labels[int(order[-1])], float(delta[order[-1]])),
                             (g.labels[int(order[0])], float(delta[order[0]]))]
        named.append(_label(effects, class_effects, hue_words))
    return named


def _circular_sd(angles: torch.Tensor) -> float:
    """Circular standard deviation (radians) of angles (N,)."""
    r = float(torch.stack([angles.cos().mean(), angles.sin().mean()]).norm())
    return max(math.sqrt(-2 * math.log(max(r, 1e-6))), 1e-3)


def _label(effects, class_effects, hue_words) -> dict:
    effects = sorted(effects, key=lambda e: -abs(e[1]))
    parts = []
    for name, value, _ in effects[:2]:
        if abs(value) < MIN_SD:
            continue
        less, more = hue_words if name == "hue" else WORDS[name]
        parts.append(f"← {less} · {more} →" if value > 0 else f"← {more} · {less} →")
    if class_effects:
        (up, up_v), (down, down_v) = class_effects
        if up_v >= MIN_POINTS:
            parts.append(f"→ more {up}-like")
        if down_v <= -MIN_POINTS:
            parts.append(f"← more {down}-like")
    shown = effects + [(f"p({name})", value, "pts") for name, value in class_effects]
    summary = " · ".join(f"{n} {v:+.1f} {u}" for n, v, u in shown)
    return {"label": "; ".join(parts) or "no clear effect", "effects": shown, "summary": summary}


def save_named(named: list[dict], path, digest: str, classifier_name: str | None = None):
    """Write ``name_directions``' result as JSON, keyed by the weights' digest (what ``load_named`` reads back)."""
    return write_fitted({"digest": digest, "classifier": classifier_name, "samples": SAMPLES, "step": STEP,
                         "named": named}, path)


def load_named(path, digest: str, count: int) -> list[dict] | None:
    """The stored names of the first ``count`` directions of the weights with this digest, or None (no file, other
    weights, fewer directions, or a malformed entry: the caller measures them afresh)."""
    data = read_fitted(path, digest)
    named = data.get("named") if data else None
    if not isinstance(named, list) or not count <= len(named) <= MAX_STORED:
        return None
    out = []
    for d in named[:count]:
        if not (isinstance(d, dict) and isinstance(d.get("label"), str) and isinstance(d.get("summary"), str)
                and isinstance(d.get("effects"), list) and len(d["label"]) <= 200 and len(d["summary"]) <= 400):
            return None
        effects = [tuple(e) for e in d["effects"] if isinstance(e, list) and len(e) == 3]
        out.append({"label": d["label"], "effects": effects, "summary": d["summary"]})
    return out
