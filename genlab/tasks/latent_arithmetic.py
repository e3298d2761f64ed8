"""VAE latent arithmetic: class vectors and measured attribute directions on the codes of real images.

A class vector is the mean code (posterior mean) of one class's training images minus the mean code of all
of them: adding it to image A's code makes A "more like" that class, at 1 by the whole difference of the
means. An attribute direction is a ridge regression of a measure of the real images (thickness, size,
slant, brightness, saturation, hue; ``directions.measure``) on their codes; a slider unit adds the code
shift that the regression predicts raises the measure by one standard deviation of the real images.

What each one does is measured on held-out images' codes: decoded with and without one unit of it, the
decoded images' measures (in SDs of the real images') and, with a classifier of the model's classes, the
class probabilities. The VAE tab applies the sliders to image A; the strip, the GIF, the image at t and
the traversal follow. Shipped VAEs carry theirs in ``arithmetic.json`` beside the checkpoint (written by
``genlab eval attributes NAME --data DATA``), keyed by the weights' digest.

>>> import genlab
>>> from genlab.datasets.digits import digit_set
>>> from genlab.tasks.latent_arithmetic import fit_arithmetic
>>> train, held = digit_set("train"), digit_set("eval")
>>> a = fit_arithmetic(genlab.load("mnist-vae"), train.images, train.labels, train.class_names)
>>> a.names[:4]                             # ['thickness', 'size', 'slant', 'class:0']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import GenlabError
from .attributes import CLASS_PREFIX, IMAGE_ATTRIBUTES, RIDGE, short_name
from .fitted import read_fitted, write_fitted
from .directions import measure

MAX_SLIDERS = 16  # sliders the VAE tab holds: image measures first, then classes
RANGE = 2.0  # sliders move -RANGE..RANGE units
MAX_FIT_IMAGES = 5000  # images encoded for the fit (the first ones)


class LatentArithmeticError(GenlabError):
    """Latent arithmetic could not be fitted or read (the message says why)."""


@dataclass
class Arithmetic:
    """names: "size" or "class:<name>"; labels: the slider texts; vectors: (S, latent_dim), one slider unit each;
    effects: (S, M) measured on held-out codes, change of measure m per unit (image measures in SDs of the real
    images; class measures in points of probability); measures: the effects' columns."""

    names: list[str]
    labels: list[str]
    vectors: torch.Tensor
    measures: list[str] = field(default_factory=list)
    effects: torch.Tensor | None = None
    fit_images: int = 0
    eval_images: int = 0
    classifier: str = ""

    def shift(self, amounts) -> torch.Tensor:
        """The code shift (latent_dim,) for slider amounts (up to S values, each within ±RANGE)."""
        values = [float(a) for a in amounts][: len(self.names)]
        if any(not math.isfinite(v) or abs(v) > RANGE for v in values):
            raise LatentArithmeticError(f"latent arithmetic amounts must be numbers within ±{RANGE}, got {values}")
        if not any(values):
            return torch.zeros(self.vectors.shape[1])
        return torch.tensor(values) @ self.vectors[: len(values)]

    def to_json(self, digest: str) -> dict:
        return {"digest": digest, "names": self.names, "labels": self.labels,
                "vectors": [[round(float(v), 6) for v in r] for r in self.vectors], "measures": self.measures,
                "effects": None if self.effects is None else [[round(float(v), 4) for v in r] for r in self.effects],
                "fit_images": self.fit_images, "eval_images": self.eval_images, "classifier": self.classifier}

    @classmethod
    def from_json(cls, data: dict, latent_dim: int) -> "Arithmetic":
        try:
            names = [str(n) for n in data["names"]][:MAX_SLIDERS]
            vectors = torch.tensor(data["vectors"], dtype=torch.float32)[: len(names)]
            if vectors.shape != (len(names), latent_dim) or not torch.isfinite(vectors).all():
                raise ValueError(f"vectors of shape {tuple(vectors.shape)}, expected ({len(names)}, {latent_dim})")
            measures = [str(m) for m in data.get("measures") or []]
            effects = data.get("effects")
            effects = None if effects is None else torch.tensor(effects, dtype=torch.float32)[: len(names)]
            if effects is not None and effects.shape != (len(names), len(measures)):
                raise ValueError("an effects table of the wrong shape")
            return cls(names, [str(v) for v in data["labels"]][: len(names)], vectors, measures, effects,
                       int(data.get("fit_images", 0)), int(data.get("eval_images", 0)), str(data.get("classifier", "")))
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise LatentArithmeticError(f"unreadable arithmetic file: {e}") from None


def _image_measures(channels: int) -> list[str]:
    return (["thickness", "size", "brightness", "saturation", "hue_cos", "hue_sin"] if channels == 3
            else ["thickness", "size", "slant"])


def _as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, R, R) or float in [-1, 1] -> float in [-1, 1]."""
    return images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()


@torch.inference_mode()
def codes(vae, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Posterior means (N, latent_dim) of images (uint8 or [-1, 1] floats) at the VAE's size."""
    device = next(vae.parameters()).device
    return torch.cat([vae.encode(_as_float(images[i:i + batch]).to(device))[0].float().cpu()
                      for i in range(0, len(images), batch)])


def _measure(x: torch.Tensor, names: list[str], classifier, classes: list[int]) -> torch.Tensor:
    m = measure(x)
    cols = [m[n] for n in names]
    if classes:
        with torch.inference_mode():
            p = classifier(x.to(next(classifier.parameters()).device)).float().softmax(1).cpu()
        cols += [p[:, c] * 100 for c in classes]  # points of probability
    return torch.stack(cols, 1)


def fit_arithmetic(vae, images: torch.Tensor, labels: torch.Tensor, class_names: list[str], *,
                   held_out: torch.Tensor | None = None, classifier=None, classifier_name: str = "") -> Arithmetic:
    """Class vectors and attribute directions from real images (N, C, R, R) with labels (N,) (class_names may be
    empty: attribute directions only); the effects table on ``held_out`` images (up to 256) if given."""
    if vae.training:
        raise LatentArithmeticError("fit_arithmetic needs the VAE in eval mode (vae.eval())")
    images, labels = images[:MAX_FIT_IMAGES], labels[:MAX_FIT_IMAGES]
    if len(images) < 10:
        raise LatentArithmeticError(f"latent arithmetic needs at least 10 real images, got {len(images)}")
    mu = codes(vae, images)  # (N, L)
    image_names = _image_measures(vae.image_channels)
    y = measure(_as_float(images))
    y = torch.stack([y[n] for n in image_names], 1).double()  # (N, A)
    y = (y - y.mean(0)) / y.std(0).clamp_min(1e-9)
    x = (mu - mu.mean(0)).double()
    w = torch.linalg.solve(x.T @ x + RIDGE * len(x) * torch.eye(x.shape[1], dtype=x.dtype), x.T @ y).T.float()  # (A, L)
    vectors = [wi / (wi @ wi).clamp_min(1e-9) for wi in w]  # one unit: +1 SD predicted
    names, texts = list(image_names), [IMAGE_ATTRIBUTES[n][0] for n in image_names]
    mean_all = mu.mean(0)
    for c, cname in enumerate(class_names):
        if len(names) >= MAX_SLIDERS:
            break
        members = labels == c
        if int(members.sum()) < 2:
            continue
        vectors.append(mu[members].mean(0) - mean_all)
        names.append(CLASS_PREFIX + cname)
        texts.append(f"→ more {cname}")
    result = Arithmetic(names, texts, torch.stack(vectors), fit_images=len(images), classifier=classifier_name)
    if held_out is not None and len(held_out):
        result.measures, result.effects = _effects(vae, held_out[:256], result, image_names, classifier,
                                                   class_names, images)
        result.eval_images = min(len(held_out), 256)
    return result


@torch.inference_mode()
def _effects(vae, held_out, result: Arithmetic, image_names, classifier, class_names, train_images):
    classes = list(range(len(class_names))) if classifier is not None and list(classifier.labels) == list(
        class_names) and classifier.image_channels == vae.image_channels else []
    measures = image_names + [CLASS_PREFIX + class_names[c] for c in classes]
    real = measure(_as_float(train_images))
    sd = torch.stack([real[n] for n in image_names]).std(1).clamp_min(1e-9)  # (A,) SDs of the real images
    mu = codes(vae, held_out)
    device = next(vae.parameters()).device
    base = _measure(vae.decode(mu.to(device)).float().cpu(), image_names, classifier, classes)
    rows = []
    for v in result.vectors:
        moved = _measure(vae.decode((mu + v).to(device)).float().cpu(), image_names, classifier, classes)
        delta = (moved - base).mean(0)
        delta[: len(image_names)] /= sd
        rows.append(delta)
    return measures, torch.stack(rows)


def save_arithmetic(result: Arithmetic, path: str | Path, digest: str) -> Path:
    """Write result as JSON: the file ``load_arithmetic`` reads back for the same weights."""
    return write_fitted(result.to_json(digest), path)


def load_arithmetic(path: str | Path, digest: str, latent_dim: int) -> Arithmetic | None:
    """The arithmetic stored at path for the weights with this digest, or None (no file, other weights)."""
    data = read_fitted(path, digest)
    return None if data is None else Arithmetic.from_json(data, latent_dim)


def arithmetic_table(result: Arithmetic) -> str:
    """Markdown: per slider, its effect per unit on its own measure and the largest other one."""
    if result.effects is None:
        return ""
    short = [short_name(m) for m in result.measures]
    lines = ["| slider | own effect per unit | largest other effect |", "|---|---:|---|"]
    for s, name in enumerate(result.names):
        row = result.effects[s]
        own_col = result.measures.index(name) if name in result.measures else None
        unit = lambda col: "pts" if result.measures[col].startswith(CLASS_PREFIX) else "SD"  # noqa: E731
        own = f"{float(row[own_col]):+.2f} {unit(own_col)}" if own_col is not None else ""
        # other effects: image measures only (in SDs, comparable; a class vector's class leaves what it gains)
        others = [b for b, m in enumerate(result.measures) if b != own_col and not m.startswith(CLASS_PREFIX)]
        b = max(others, key=lambda b: abs(float(row[b]))) if others else None
        other = f"{short[b]} {float(row[b]):+.2f} {unit(b)}" if b is not None else ""
        lines.append(f"| {result.labels[s]} | {own} | {other} |")
    return (f"Fitted on the codes of {result.fit_images:,} real images; measured on {result.eval_images} held-out "
            f"ones, decoded with and without one unit of each slider: image measures in SDs of the real images', "
            f"class probability in points{' (' + result.classifier + ')' if result.classifier else ''}.\n\n"
            + "\n".join(lines))
