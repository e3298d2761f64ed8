"""The GAN tab's "Your image on the sliders": project an upload into the GAN (genlab.tasks.projection), with
live progress, and the state the page keeps so that the grid starts with the projected image."""

from __future__ import annotations

import gradio as gr
import torch

from ..hub import GenlabError
from .common import cached_model, matching_classifier

PROJECT_STEPS = 200  # the Project button's default: about 10 s for the digit GAN, 20 s for the emoji GAN on 2 cores


def start_of(name: str, projected) -> tuple[torch.Tensor, int] | None:
    """The projection state (a dict the page keeps) -> image 0's (z, label), if it was made for this model."""
    if not projected:
        return None
    if not isinstance(projected, dict) or not isinstance(projected.get("z"), list) or len(projected["z"]) > 1024:
        raise gr.Error("The projected image's state is malformed; press Project again.")
    if projected.get("model") != name:
        return None  # made for another model: the seed's samples
    label = projected.get("label")
    if not isinstance(label, int) or isinstance(label, bool):
        raise gr.Error("The projected image's class is malformed; press Project again.")
    try:
        return torch.tensor(projected["z"], dtype=torch.float32), label
    except (TypeError, ValueError):
        raise gr.Error("The projected image's latent is malformed; press Project again.") from None


def project_upload(model: str, repo: str, image, steps):
    """The /project endpoint: put an upload into the GAN (genlab.tasks.projection) with live progress. Yields
    (target | best sample so far, status, projection state, grid size, psi); at the end the state holds z and the
    class, and the grid shows the projection alone (size 1, psi 1), ready for every slider."""
    from ..errors import ImageInputError
    from ..images import to_pil_grid
    from ..tasks.projection import MAX_STEPS, ProjectionError, project, target_of

    name = (repo or "").strip() or model
    if not image:
        raise gr.Error("Upload an image to project (a picture of the kind the model was trained on).")
    if not isinstance(steps, (int, float)) or steps != int(steps) or not 8 <= steps <= MAX_STEPS:
        raise gr.Error(f"Steps must be a whole number from 8 to {MAX_STEPS}, got {steps!r}.")
    try:
        g = cached_model(name, "gan")
        target = target_of(g, image)
    except ImageInputError as e:
        raise gr.Error(f"Image to project: {e}") from None
    except GenlabError as e:
        raise gr.Error(str(e)) from None
    names = [*g.labels, "any class"]
    keep = gr.update()
    step = None
    try:
        for step in project(g, target, steps=int(steps), feature_net=matching_classifier(g),
                            every=max(10, int(steps) // 20)):
            status = (f"{'Searching every class' if step.stage == 'search' else 'Refining'}: step {step.step}/"
                      f"{step.steps}, pixel error (MSE on −1..1) {step.mse:.4f}, class {names[step.label]}")
            if step.step < step.steps:
                yield to_pil_grid(torch.cat([target.cpu(), step.image]), display_size=256), status, keep, keep, keep
    except ProjectionError as e:
        raise gr.Error(str(e)) from None
    state = {"model": name, "z": [round(float(v), 6) for v in step.z], "label": step.label, "mse": round(step.mse, 6)}
    yield (to_pil_grid(torch.cat([target.cpu(), step.image]), display_size=256),
           f"Projected: pixel error {step.mse:.4f}, class {names[step.label]}. The grid now starts with it; "
           "every slider edits it (Back to samples returns to the seed).", state, 1, 1.0)
