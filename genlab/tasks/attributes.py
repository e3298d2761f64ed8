"""Attribute sliders found by measurement (InterFaceGAN, Shen et al. 2020), for any GAN.

SeFa's directions (``sampling.sefa_directions``) come from the weights and are named afterwards;
these go the other way round. Sample N latents, measure what the app already measures on each image
(size, stroke thickness, slant, brightness, saturation and two hue axes), and fit one linear model
per measure in z, with the class as a covariate: the unit normal of each fit is the direction that
changes that measure most per unit of z.

Conditional manipulation (InterFaceGAN section 2.3): a direction that should leave other measures
alone is projected orthogonal to theirs (``condition``). The measures are coupled (on a light
background more ink is both thicker and darker), so holding all of them fixed can leave a direction
nothing to move; by default ("auto") each direction holds the measures the linear models predict it
moves most, one at a time, as long as it keeps at least half of its own effect (``auto_fixed``).

Classes: in a conditional GAN the class is the label, not a direction of z. A linear fit of a
classifier's log-probability in z finds little (on ``mnist-cgan``: at most 1.5 points of probability
per unit; see docs/models.md), so a class slider blends each image's class embedding towards that
class instead (``Generator.class_shift``): at 1 the image is drawn as that class with its own z.

What every slider does is measured again on fresh samples (another seed, never used for fitting):
its effect per unit on its own attribute and on every other, in standard deviations of that
attribute over the samples (``entanglement``); a class attribute is the log-probability of a
classifier that knows the model's classes.

A fit costs about 10 s for the 28-px digit GAN and a minute or two for the 32-px emoji GAN on 2
CPU cores (most of it the emoji classifier at 64 px), so shipped checkpoints carry theirs in
``attributes.json`` (``genlab eval attributes NAME`` writes it; it is keyed by the weights' digest,
so retrained weights are fitted afresh).

>>> import genlab
>>> from genlab.tasks.attributes import fit_attributes
>>> a = fit_attributes(genlab.load("mnist-cgan"), genlab.load("mnist-classifier"), samples=1000)
>>> a.slider_names[:3], a.directions.shape      # (['thickness', 'size', 'slant'], torch.Size([3, 64]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import GenlabError
from ..models import Generator
from .directions import knows_classes, measure
from .fitted import read_fitted, write_fitted

FIT_SAMPLES = 2000  # latents the linear models are fitted on (seed 0)
EVAL_SAMPLES = 256  # fresh latents (seed 1) the entanglement table is measured on
EVAL_STEP = 1.5  # the table compares samples at -EVAL_STEP and +EVAL_STEP along each unit direction
MAX_SLIDERS = 20  # attribute sliders the GAN tab holds: image measures first, then classes (the first ones)
RIDGE = 1e-2  # ridge strength relative to the number of samples (the fit is well posed; this only steadies it)
LOGP_FLOOR = -10.0  # class log-probabilities are clipped here: below it they are noise
CLASS_RANGE = (0.0, 1.0)  # a class slider: 0 the image's own class, 1 fully the slider's class

# image measure -> (slider label, word for less, word for more); hue as two axes of the colour wheel
IMAGE_ATTRIBUTES = {
    "thickness": ("thickness", "thinner", "thicker"),
    "size": ("size", "smaller", "larger"),
    "slant": ("slant", "leans left", "leans right"),
    "brightness": ("brightness", "darker", "brighter"),
    "saturation": ("saturation", "duller", "more saturated"),
    "hue_cos": ("hue: cyan ↔ red", "more cyan", "redder"),
    "hue_sin": ("hue: blue ↔ yellow", "bluer", "yellower"),
}
CLASS_PREFIX = "class:"
AUTO = "auto"  # the default hold-fixed rule (``auto_fixed``)


class AttributeFitError(GenlabError):
    """Attribute sliders could not be fitted or read (the message says why)."""


@dataclass
class Attributes:
    """The measured attribute sliders of one generator.

    measures: every attribute measured (image measures, then "class:<name>" log-probabilities);
    slider_names: the sliders, image measures (z directions) first, then classes (embedding blends);
    labels: what each slider says; directions: (I, latent_dim) unit vectors, row i raises image measure i,
    unconditioned (``conditioned`` holds others fixed); effects: (sliders, measures) measured on fresh
    samples, change per slider unit in SDs of each measure; points: per slider, the change of its class's
    probability in percentage points per unit (None for image measures); r2: per image measure, the share
    of its spread the linear model explains on the fresh samples.
    """

    measures: list[str]
    slider_names: list[str]
    labels: list[str]
    directions: torch.Tensor
    gains: list[float] = field(default_factory=list)  # per image measure: its fit's slope along its unit direction (SD per unit)
    effects: torch.Tensor | None = None
    points: list[float | None] = field(default_factory=list)
    r2: list[float] = field(default_factory=list)
    fixed: list[str] | str = AUTO  # what the table's directions held fixed
    fit_samples: int = 0
    eval_samples: int = 0
    classifier: str = ""

    @property
    def image(self) -> list[str]:
        """The image measures that have a z direction (rows of ``directions``)."""
        return self.slider_names[: len(self.directions)]

    @property
    def classes(self) -> list[str]:
        """The class names that have a slider."""
        return [n[len(CLASS_PREFIX):] for n in self.slider_names[len(self.directions):]]

    def weights(self) -> torch.Tensor:
        """The linear models (I, L): row i predicts measure i's change in SDs per unit step of z."""
        return torch.tensor(self.gains)[:, None] * self.directions

    def held_for(self, fixed: list[str] | str = AUTO) -> list[list[int]]:
        """Per z direction, the rows it holds fixed: ``AUTO`` (see ``auto_fixed``), or these measure names (each
        direction holds those other than its own)."""
        if fixed == AUTO or (isinstance(fixed, (list, tuple)) and list(fixed) == [AUTO]):
            return [auto_fixed(self.weights(), a) for a in range(len(self.image))]
        unknown = [f for f in fixed if f not in self.image]
        if unknown:
            raise AttributeFitError(f"cannot hold {', '.join(map(repr, unknown))} fixed; this model's image measures "
                                    f"are {', '.join(self.image)}")
        held = [self.image.index(f) for f in fixed]
        return [[h for h in held if h != a] for a in range(len(self.image))]

    def conditioned(self, fixed: list[str] | str = AUTO) -> torch.Tensor:
        """The z directions (I, L), each projected orthogonal to the directions it holds fixed (``held_for``).
        Moving "size" with "brightness" fixed changes size and, to first order, not brightness."""
        if not self.image:
            return self.directions
        return torch.stack([condition(self.directions, a, held) for a, held in enumerate(self.held_for(fixed))])

    def to_json(self, digest: str) -> dict:
        return {"digest": digest, "measures": self.measures, "slider_names": self.slider_names, "labels": self.labels,
                "directions": [[round(float(v), 6) for v in row] for row in self.directions],
                "gains": [round(float(v), 6) for v in self.gains],
                "effects": None if self.effects is None else [[round(float(v), 4) for v in r] for r in self.effects],
                "points": self.points, "r2": self.r2, "fixed": self.fixed, "fit_samples": self.fit_samples,
                "eval_samples": self.eval_samples, "classifier": self.classifier}

    @classmethod
    def from_json(cls, data: dict, g: Generator) -> "Attributes":
        try:
            measures = [str(n) for n in data["measures"]]
            sliders = [str(n) for n in data["slider_names"]][:MAX_SLIDERS]
            directions = torch.tensor(data["directions"], dtype=torch.float32).reshape(-1, g.code_dim)
            image = sliders[: len(directions)]
            if any(n not in IMAGE_ATTRIBUTES for n in image) or not torch.isfinite(directions).all():
                raise ValueError("unknown image measures or non-finite directions")
            if any(n[len(CLASS_PREFIX):] not in g.labels for n in sliders[len(directions):]):
                raise ValueError("class sliders for classes this model does not have")
            effects = data.get("effects")
            effects = None if effects is None else torch.tensor(effects, dtype=torch.float32)
            if effects is not None and effects.shape != (len(sliders), len(measures)):
                raise ValueError("an effects table of the wrong shape")
            gains = [float(v) for v in data["gains"]]
            if len(gains) != len(directions) or not all(math.isfinite(v) for v in gains):
                raise ValueError("one gain per direction expected")
            return cls(measures, sliders, [str(v) for v in data["labels"]][: len(sliders)], directions, gains, effects,
                       list(data.get("points") or [])[: len(sliders)], list(data.get("r2") or []),
                       data.get("fixed") if data.get("fixed") == AUTO else [str(v) for v in data.get("fixed") or []], int(data.get("fit_samples", 0)),
                       int(data.get("eval_samples", 0)), str(data.get("classifier", "")))
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise AttributeFitError(f"unreadable attributes file: {e}") from None


def auto_fixed(weights: torch.Tensor, target: int, keep: float = 0.5, enough: float = 0.25) -> list[int]:
    """The measures direction ``target`` holds fixed by default, from the linear models weights (I, L) alone (no
    sampling): repeatedly the one it is predicted to move most, while that is over ``enough`` of its own effect and
    holding it keeps at least ``keep`` of the unconditioned own effect."""
    directions = weights / weights.norm(dim=1, keepdim=True).clamp_min(1e-9)
    own0 = float(weights[target].norm())
    held: list[int] = []
    while True:
        pred = weights @ condition(directions, target, held)  # (I,) predicted SDs per unit
        own = float(pred[target])
        others = [(abs(float(pred[b])), b) for b in range(len(weights)) if b != target and b not in held]
        if not others:
            return held
        worst, b = max(others)
        if worst <= enough * abs(own):
            return held
        trial = float(weights[target] @ condition(directions, target, held + [b]))
        if trial < keep * own0:
            return held
        held.append(b)


def condition(directions: torch.Tensor, target: int, fixed: list[int]) -> torch.Tensor:
    """Direction ``target`` of directions (A, L) with its component in the span of the ``fixed`` rows removed,
    renormalised (InterFaceGAN's conditional manipulation, for any number of conditions)."""
    d = directions[target]
    if not fixed:
        return d
    basis, _ = torch.linalg.qr(directions[fixed].T)  # (L, m) orthonormal basis of the held directions
    d = d - basis @ (basis.T @ d)
    norm = d.norm()
    if norm < 1e-4:  # the target lies in the span of what is held: nothing is left to move
        return torch.zeros_like(d)
    return d / norm


def measure_names(g: Generator, classifier=None) -> tuple[list[str], list[str]]:
    """(image measures for g's channels, class attributes where ``classifier`` knows g's classes)."""
    # colour: no slant (on emoji it only tracks the amount of ink)
    image = (["thickness", "size", "brightness", "saturation", "hue_cos", "hue_sin"]
             if g.image_channels == 3 else ["thickness", "size", "slant"])
    classes = [CLASS_PREFIX + c for c in g.labels] if classifier is not None and knows_classes(classifier, g) else []
    return image, classes


@torch.inference_mode()
def measure_attributes(g: Generator, z: torch.Tensor, labels: torch.Tensor, names: list[str], classifier=None,
                       embed_shift: torch.Tensor | None = None, batch: int = 256) -> torch.Tensor:
    """Attributes ``names`` of g's images at latents z (N, L), labels (N,) and an optional class-embedding shift
    (N, embed_dim): (N, A) float32. Image measures as ``directions.measure`` defines them; a class attribute is
    the classifier's log-probability of that class (clipped at LOGP_FLOOR)."""
    device = next(g.parameters()).device
    classes = [g.labels.index(n[len(CLASS_PREFIX):]) for n in names if n.startswith(CLASS_PREFIX)]
    rows = []
    for i in range(0, len(z), batch):
        shift = None if embed_shift is None else embed_shift[i:i + batch].to(device)
        x = g(z[i:i + batch].to(device), labels[i:i + batch].to(device), shift).float()
        m = measure(x.cpu())
        cols = [m[n] for n in names if not n.startswith(CLASS_PREFIX)]
        if classes:
            logp = classifier(x.to(next(classifier.parameters()).device)).float().log_softmax(1).cpu()
            cols += [logp.clamp_min(LOGP_FLOOR)[:, c] for c in classes]
        rows.append(torch.stack(cols, 1))
    return torch.cat(rows)


@torch.no_grad()
def draw_latents(g: Generator, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n codes (where the sliders move: z, or W for StyleGAN, untruncated) and random classes (the "any" picker's),
    fixed by the seed: ((n, L), (n,))."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, g.latent_dim, generator=gen)
    labels = (torch.randint(0, g.num_classes, (n,), generator=gen) if g.num_classes
              else torch.full((n,), g.any_class, dtype=torch.long))
    device = next(g.parameters()).device
    codes = torch.cat([g.code(z[i:i + 500].to(device), labels[i:i + 500].to(device)).float().cpu()
                       for i in range(0, n, 500)])
    return codes, labels


def fit_directions(z: torch.Tensor, labels: torch.Tensor, values: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Least-squares (ridge) fit of each attribute column of values (N, A) on z (N, L), with the class as a
    covariate (so a direction is what moves the attribute within a class): (A, L) slopes; their unit rows are the
    directions, their norms the gains."""
    n = len(z)
    cols = [z]
    if num_classes > 1:
        cols.append(torch.nn.functional.one_hot(labels, num_classes + 1)[:, :num_classes].float())
    x = torch.cat(cols, 1).double()
    x = x - x.mean(0)
    y = values.double()
    y = (y - y.mean(0)) / y.std(0).clamp_min(1e-9)  # (N, A) standardised
    w = torch.linalg.solve(x.T @ x + RIDGE * n * torch.eye(x.shape[1], dtype=x.dtype), x.T @ y)  # (L + K, A)
    return w[: z.shape[1]].T.float()  # (A, L): SDs of each attribute per unit of z


@torch.inference_mode()
def entanglement(g: Generator, directions: torch.Tensor, classes: list[str], measures: list[str], classifier=None, *,
                 samples: int = EVAL_SAMPLES, seed: int = 1, step: float = EVAL_STEP
                 ) -> tuple[torch.Tensor, list[float | None], torch.Tensor]:
    """Measured on fresh latents: (effects (D + C, A), points, base (N, A)).

    Rows: the z directions (D, L), then one class slider per name in ``classes``. effects[s, a]: mean change
    of measure a per slider unit, in SDs of measure a over the samples (z directions: between -step and
    +step; class sliders: between 0 and 1, on the samples of other classes). points[s]: for a class slider,
    the change of that class's probability in percentage points per unit (None for z directions)."""
    z, labels = draw_latents(g, samples, seed)
    base = measure_attributes(g, z, labels, measures, classifier)  # (N, A)
    sd = base.std(0).clamp_min(1e-9)
    effects, points = [], []
    for d in directions:
        if not d.any():  # everything it could move is held fixed
            effects.append(torch.zeros(len(measures)))
        else:
            hi = measure_attributes(g, z + step * d, labels, measures, classifier)
            lo = measure_attributes(g, z - step * d, labels, measures, classifier)
            effects.append(((hi - lo).mean(0) / (2 * step)) / sd)
        points.append(None)
    for name in classes:
        c = g.labels.index(name)
        other = labels != c
        amounts = torch.zeros(g.num_classes)
        amounts[c] = 1.0
        shift = g.class_shift(labels[other], amounts)
        moved = measure_attributes(g, z[other], labels[other], measures, classifier, embed_shift=shift)
        effects.append((moved - base[other]).mean(0) / sd)
        col = CLASS_PREFIX + name
        points.append(round(float((moved[:, measures.index(col)].exp() - base[other][:, measures.index(col)].exp()
                                   ).mean() * 100), 2) if col in measures else None)
    return torch.stack(effects), points, base


def fit_attributes(g: Generator, classifier=None, *, samples: int = FIT_SAMPLES, seed: int = 0,
                   eval_samples: int = EVAL_SAMPLES, classifier_name: str = "", fixed: list[str] | None = None
                   ) -> Attributes:
    """Fit every image measure's direction on ``samples`` latents; add a class slider per class of a conditional
    g (at most MAX_SLIDERS sliders in all); measure the table on ``eval_samples`` fresh ones (0: no table) with
    ``fixed`` held (default ``AUTO``). The generator must be in eval mode (it is shared;
    nothing in it changes)."""
    if g.training:
        raise AttributeFitError("fit_attributes needs the generator in eval mode (g.eval())")
    if samples < 4 * g.code_dim:
        raise AttributeFitError(f"fitting {g.code_dim}-dimensional directions needs at least {4 * g.code_dim} "
                                f"samples, got {samples}")
    image, class_measures = measure_names(g, classifier)
    # class blends move genlab's class embedding; a StyleGAN's class enters through its mapping network, so its
    # class is picked, not blended, here
    class_sliders = list(g.labels) if g.num_classes > 1 and getattr(g, "any_class_token", True) else []
    class_sliders = class_sliders[: max(0, MAX_SLIDERS - len(image))]
    z, y = draw_latents(g, samples, seed)
    weights = fit_directions(z, y, measure_attributes(g, z, y, image), g.num_classes)
    gains = weights.norm(dim=1)
    directions = weights / gains[:, None].clamp_min(1e-9)
    attrs = Attributes(image + class_measures, image + [CLASS_PREFIX + c for c in class_sliders],
                       [IMAGE_ATTRIBUTES[n][0] for n in image] + [f"→ more {c}-like" for c in class_sliders],
                       directions, [round(float(v), 6) for v in gains], fit_samples=samples, classifier=classifier_name)
    if eval_samples:
        attrs.fixed = AUTO if fixed is None or fixed == AUTO else list(fixed)
        held = attrs.conditioned(attrs.fixed)
        attrs.effects, attrs.points, base = entanglement(g, held, class_sliders, attrs.measures, classifier,
                                                          samples=eval_samples)
        zf, _ = draw_latents(g, eval_samples, 1)
        for a in range(len(image)):  # how well each unconditioned linear model predicts its measure on fresh samples
            c = torch.corrcoef(torch.stack([zf @ directions[a], base[:, a]]))[0, 1]
            attrs.r2.append(round(float(c**2) if torch.isfinite(c) else 0.0, 4))
        attrs.eval_samples = eval_samples
    return attrs


def save_attributes(attrs: Attributes, path: str | Path, digest: str) -> Path:
    """Write attrs as JSON: the file ``load_attributes`` reads back for the same weights."""
    return write_fitted(attrs.to_json(digest), path)


def load_attributes(path: str | Path, digest: str, g: Generator) -> Attributes | None:
    """The attributes stored at path for the weights with this digest, or None (no file, other weights)."""
    data = read_fitted(path, digest)
    return None if data is None else Attributes.from_json(data, g)


def short_name(measure: str) -> str:
    return measure[len(CLASS_PREFIX):] if measure.startswith(CLASS_PREFIX) else IMAGE_ATTRIBUTES[measure][0]


def own_ratios(attrs: Attributes) -> list[tuple[float, float, str, float]]:
    """Per slider: (own effect, largest other effect, its measure, |own| / |other|), from the table. A class
    slider's own measure is its class's log-probability, and its other effects are image measures only (the
    class it moves away from loses what this one gains)."""
    out = []
    for s, name in enumerate(attrs.slider_names):
        row = attrs.effects[s]
        own_col = attrs.measures.index(name) if name in attrs.measures else None
        candidates = [b for b, m in enumerate(attrs.measures) if b != own_col
                      and not (name.startswith(CLASS_PREFIX) and m.startswith(CLASS_PREFIX))]
        own = float(row[own_col]) if own_col is not None else float("nan")
        other, b = max(((abs(float(row[b])), b) for b in candidates), default=(0.0, 0))
        out.append((own, float(row[b]), attrs.measures[b], abs(own) / other if other > 1e-9 else math.inf))
    return out


def effect_table(attrs: Attributes) -> str:
    """The entanglement table as Markdown: one row per slider, its effect per unit on its own attribute, the
    largest effect on another one, their ratio, and for class sliders the class probability."""
    if attrs.effects is None:
        return ""
    lines = ["| slider | own effect per unit | largest other effect | own / other | class probability |",
             "|---|---:|---|---:|---:|"]
    for s, (own, other, measure_, ratio) in enumerate(own_ratios(attrs)):
        pts = attrs.points[s] if s < len(attrs.points) else None
        own_text = "" if math.isnan(own) else f"{own:+.2f} SD"
        lines.append(f"| {attrs.labels[s]} | {own_text} | {short_name(measure_)} {other:+.2f} SD | "
                     f"{'' if math.isnan(own) else f'{ratio:.1f}'} | {'' if pts is None else f'{pts:+.1f} pts'} |")
    if attrs.fixed == AUTO:
        held = " Each direction holds fixed the measures it would move most while it keeps half its own effect (auto):"
        held += "; ".join(f" {short_name(attrs.image[a])} holds {', '.join(short_name(attrs.image[h]) for h in hs) or 'nothing'}"
                          for a, hs in enumerate(attrs.held_for(AUTO))) + "."
    else:
        held = (f" Each direction holds fixed: {', '.join(short_name(f) for f in attrs.fixed)}." if attrs.fixed
                else " Nothing is held fixed.")
    return (f"Fitted on {attrs.fit_samples:,} samples, measured on {attrs.eval_samples:,} fresh ones: a direction "
            f"between −{EVAL_STEP} and +{EVAL_STEP}, a class slider between 0 and 1 (on the samples of other classes). "
            f"Effects per slider unit, in standard deviations of each measure over the samples; a class attribute is "
            f"its log-probability under {attrs.classifier or 'a classifier of its classes'}.{held}\n\n"
            + "\n".join(lines))
