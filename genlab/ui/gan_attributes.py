"""The GAN tab's measured attribute sliders (genlab.tasks.attributes): where a model's come from (its
attributes.json, or a fit when first picked), how the tab's hold-fixed picker and slider values map onto them,
and the /attributes endpoint."""

from __future__ import annotations

from functools import lru_cache

import gradio as gr
import torch

from ..hub import CHECKPOINTS_DIR, shipped_names, trained_folder
from ..tasks.attributes import (AUTO, CLASS_RANGE, MAX_SLIDERS, Attributes, AttributeFitError, effect_table,
                                fit_attributes, load_attributes, own_ratios, short_name)
from ..tasks.directions import SEFA_SLIDERS
from ..tasks.sampling import DIRECTION_RANGE
from ..web import digest_of
from .common import get_model, matching_classifier

N_DIRECTIONS = SEFA_SLIDERS  # SeFa sliders shown before the attribute ones; SeFa ranks 1..N

ATTRIBUTE_FILE = "attributes.json"  # beside a checkpoint: its fitted attribute sliders (genlab eval attributes NAME)
RUNTIME_FIT = dict(samples=1000, eval_samples=64)  # a model without the file is fitted when first picked (~5-60 s)
RUNTIME_PIXELS = 1000 * 64 * 64  # the most pixels a fit at first pick may draw (1,000 samples of 64 px); bigger
# models (a 256-px StyleGAN: 2,100 samples of 65,536 px) get theirs from `genlab eval attributes NAME`
SKIPPED: dict[str, str] = {}  # name -> why its attribute sliders were not fitted when picked
HOLD_INFO = ("auto: each slider holds fixed the measures it would move most, as long as it keeps half its own "
             "effect; or pick the measures every slider holds fixed")


def checkpoint_folder(name: str):
    """The folder of a shipped or Train-tab model (where its fitted files live), or None (a Hub id, a path)."""
    return CHECKPOINTS_DIR / name if name in shipped_names("gan") else trained_folder(name)


@lru_cache(maxsize=8)
def attributes_of(name: str, g) -> Attributes:
    """The attribute sliders of a generator: read from its checkpoint's attributes.json when that was fitted on
    these weights, else fitted now (smaller sample) and kept for the server's lifetime."""
    folder = checkpoint_folder(name)
    if folder is not None:
        try:
            found = load_attributes(folder / ATTRIBUTE_FILE, digest_of(g), g)
        except AttributeFitError:
            found = None  # an unreadable file is fitted afresh
        if found is not None:
            return found
    samples = max(RUNTIME_FIT["samples"], 4 * g.code_dim + 64)  # a fit in d dimensions needs 4d samples
    if samples * g.resolution**2 > RUNTIME_PIXELS:
        SKIPPED[name] = (f"Attribute sliders are not fitted for this model here: a fit draws {samples:,} samples of "
                         f"{g.resolution} px, minutes on this server. Run `genlab eval attributes {name}` once; it "
                         "writes attributes.json beside the model, which the tab then reads. SeFa's sliders above "
                         "need no fit.")
        return Attributes([], [], [], torch.zeros(0, g.code_dim))
    return fit_attributes(g, matching_classifier(g), **{**RUNTIME_FIT, "samples": samples})


def attribute_directions(name: str, g, hold, sefa: torch.Tensor) -> tuple[torch.Tensor, Attributes]:
    """All directions the page moves along, (N_DIRECTIONS + I, L): the SeFa ones (padded to N_DIRECTIONS) and the
    attribute ones, conditioned on ``hold`` (a list: ["auto"] or measure labels)."""
    attrs = attributes_of(name, g)
    pad = torch.zeros(N_DIRECTIONS - len(sefa), g.code_dim)
    return torch.cat([sefa, pad, attrs.conditioned(hold_names(attrs, hold))]), attrs


def hold_names(attrs: Attributes, hold) -> list[str] | str:
    """The hold-fixed picker's value (["auto"], or slider labels) -> what ``Attributes.conditioned`` takes."""
    if hold is None or hold == AUTO:
        return AUTO
    if not isinstance(hold, (list, tuple)) or len(hold) > MAX_SLIDERS or not all(isinstance(h, str) for h in hold):
        raise gr.Error(f"Hold fixed must be a list of at most {MAX_SLIDERS} measure names (or [\"auto\"]), "
                       f"got {str(hold)[:200]}.")
    if AUTO in hold:
        return AUTO
    by_label = dict(zip(attrs.labels, attrs.slider_names))
    names = [by_label.get(h, h) for h in hold]
    unknown = [h for h, n in zip(hold, names) if n not in attrs.image]
    if unknown:
        raise gr.Error(f"Cannot hold {', '.join(map(repr, unknown))} fixed; this model's measures are "
                       f"{', '.join(attrs.labels[: len(attrs.image)])} (or auto).")
    return names


def attribute_sliders(attrs: Attributes) -> list:
    """Updates for the MAX_SLIDERS attribute sliders: z directions (±DIRECTION_RANGE), then class blends (0-1)."""
    ratios = own_ratios(attrs) if attrs.effects is not None else []
    out = []
    for k in range(MAX_SLIDERS):
        if k >= len(attrs.slider_names):
            out.append(gr.update(visible=False, value=0.0))
            continue
        info = ""
        if ratios:
            own, other, measure_, ratio = ratios[k]
            pts = attrs.points[k] if k < len(attrs.points) else None
            info = (f"{own:+.2f} SD per unit" + (f" ({pts:+.0f} pts of probability at 1)" if pts is not None else "")
                    + f"; most other: {short_name(measure_)} {other:+.2f} SD")
        if k < len(attrs.image):
            out.append(gr.update(visible=True, minimum=-DIRECTION_RANGE, maximum=DIRECTION_RANGE, step=0.05, value=0.0,
                                 label=attrs.labels[k], info=info))
        else:
            out.append(gr.update(visible=True, minimum=CLASS_RANGE[0], maximum=CLASS_RANGE[1], step=0.01, value=0.0,
                                 label=attrs.labels[k], info=info))
    return out


def model_attributes(model: str, repo: str) -> dict:
    """The /attributes endpoint: a GAN's measured attribute sliders, what each does, and the table as Markdown.

    {"sliders": [{"name", "label", "kind": "direction" | "class", "range": [lo, hi], "own_effect_sd",
    "largest_other": [measure, sd], "class_points"}], "hold_fixed": rule, "table": markdown}."""
    if not isinstance(model, str) or not isinstance(repo, str):
        raise gr.Error("model and repo must be text")
    name = (repo or "").strip() or model
    g = get_model(name, "gan")
    attrs = attributes_of(name, g)
    ratios = own_ratios(attrs) if attrs.effects is not None else [(None, None, None, None)] * len(attrs.slider_names)
    rows = []
    for k, (sname, label) in enumerate(zip(attrs.slider_names, attrs.labels)):
        own, other, measure_, _ = ratios[k]
        is_dir = k < len(attrs.image)
        rows.append({"name": sname, "label": label, "kind": "direction" if is_dir else "class",
                     "range": [-DIRECTION_RANGE, DIRECTION_RANGE] if is_dir else list(CLASS_RANGE),
                     "own_effect_sd": own, "largest_other": [measure_, other] if measure_ else None,
                     "class_points": attrs.points[k] if k < len(attrs.points) else None})
    return {"sliders": rows, "hold_fixed": attrs.fixed, "table": effect_table(attrs)}


def split_values(g, attrs: Attributes, values) -> tuple[list[float], list[float]]:
    """/sample's slider values (6 SeFa, then up to MAX_SLIDERS attribute ones) -> (z offsets along
    ``attribute_directions``'s rows, class amounts per class of g)."""
    values = [float(v) for v in values]
    if any(v != v for v in values):
        raise gr.Error("slider values must be numbers")
    sefa, rest = values[:N_DIRECTIONS], values[N_DIRECTIONS:]
    sefa += [0.0] * (N_DIRECTIONS - len(sefa))
    n_dir = len(attrs.image)
    offsets = sefa + rest[:n_dir] + [0.0] * (n_dir - len(rest[:n_dir]))
    amounts = [0.0] * g.num_classes
    for c, v in zip(attrs.classes, rest[n_dir:]):
        amounts[g.labels.index(c)] = v
    return offsets, amounts
