"""GAN tab: sample a conditional GAN with seed, class, truncation and SeFa sliders."""

from __future__ import annotations

import random
from functools import lru_cache

import gradio as gr

from ..hub import GenlabError, local_models_allowed, shipped_names
from ..sampling import (DIRECTION_RANGE, MAX_SAMPLES, MAX_SEED, SamplingError, class_choices, class_index,
                        sample_image, sefa_directions)
from .common import LIGHT, cached_model, get_model

N_DIRECTIONS = 6  # sliders shown; SeFa ranks 1..N
# "any": a random class per image (from the seed); "unconditional": the model's any-class token;
# then the model's own class names (digits: 0-9), from its config.json
CLASS_INFO = "any: a random class per image; unconditional: the model's no-class mode; or one of its classes"


@lru_cache(maxsize=8)
def _directions(g):
    return sefa_directions(g, N_DIRECTIONS)[0]


def generator(name: str):
    """A GAN (loaded once per name and file version) with its SeFa directions: (model, (k, latent_dim))."""
    g = cached_model(name, "gan")
    return g, _directions(g)


def classes_for(model: str, repo: str = ""):
    """The class picker for the chosen model: its class names (digits: 0-9), "any" selected."""
    g = get_model((repo or "").strip() or model, "gan")
    return gr.update(choices=class_choices(g), value="any")


def sample_gan(model: str, repo: str, seed, label: str, psi: float, n: int, *offsets: float):
    """The /sample endpoint: returns one PNG grid (28-px digits upscaled crisply)."""
    name = (repo or "").strip() or model
    try:
        seed_int = int(seed)
        if seed_int != seed:
            raise ValueError
    except (TypeError, ValueError):
        raise gr.Error(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}") from None
    if not isinstance(n, (int, float)) or n != int(n):
        raise gr.Error(f"grid size must be a whole number from 1 to {MAX_SAMPLES}, got {n!r}")
    if not isinstance(label, str):
        raise gr.Error(f"Class must be text (any, unconditional or a class name), got {label!r}.")
    try:
        g, directions = generator(name)
        return sample_image(
            g, seed=seed_int, label=class_index(g, label), psi=float(psi), n=int(n),
            offsets=[float(o) for o in offsets], directions=directions,
        )
    except (GenlabError, SamplingError) as e:
        raise gr.Error(str(e)) from None


def render():
    """Lay out the tab inside the current gr.Blocks and wire its events.

    Returns (sample function, its inputs, output image) so the app can render on page load.
    """
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            with gr.Row():
                model = gr.Dropdown(shipped_names("gan"), value=shipped_names("gan")[0], label="Model",
                                    elem_id="gan-model")
                local = local_models_allowed()  # a public Space takes Hub ids only (see README, "Serving limits")
                repo = gr.Textbox(label="…or Hub repo id / folder" if local else "…or Hub repo id",
                                  placeholder="user/model or path; Enter to load" if local else "user/model; Enter to load",
                                  elem_id="gan-repo")
            with gr.Row():
                seed = gr.Number(0, label=f"Seed (0-{MAX_SEED})", elem_id="gan-seed")  # checked in sample_gan
                randomise = gr.Button("Random seed", elem_id="gan-random", scale=0, size="sm")
            label = gr.Dropdown(class_choices(cached_model(shipped_names("gan")[0], "gan")), value="any", label="Class",
                                info=CLASS_INFO, allow_custom_value=True, elem_id="gan-class")
            psi = gr.Slider(0.0, 1.0, value=1.0, step=0.01, label="Truncation ψ (lower: typical, higher: varied)")
            n = gr.Slider(1, MAX_SAMPLES, value=16, step=1, label="Grid size")
            gr.Markdown(
                "**Latent directions** found from the generator's own first layer (SeFa: top eigenvectors of "
                "AᵀA), strongest first."
            )
            sliders = [
                gr.Slider(-DIRECTION_RANGE, DIRECTION_RANGE, value=0.0, step=0.05, label=f"Direction {k + 1} (rank {k + 1})",
                          elem_id=f"gan-dir-{k + 1}")
                for k in range(N_DIRECTIONS)
            ]
            reset = gr.Button("Reset directions")
        with gr.Column(scale=1, min_width=320):
            image = gr.Image(label="Samples", type="pil", format="png", buttons=["download", "fullscreen"],
                             interactive=False, elem_id="gan-output")
    inputs = [model, repo, seed, label, psi, n, *sliders]
    gr.on(
        triggers=[seed.change, label.change, psi.change, n.change, *[s.change for s in sliders]],
        fn=sample_gan, inputs=inputs, outputs=image, trigger_mode="always_last", show_progress="hidden",
        api_name="sample", **LIGHT,
    )
    # A new model brings its own class names; then the grid is drawn with "any" class.
    gr.on([model.change, repo.submit], classes_for, inputs=[model, repo], outputs=label, api_visibility="private",
          show_progress="hidden", **LIGHT).then(sample_gan, inputs=inputs, outputs=image, show_progress="hidden",
                                                api_visibility="private", **LIGHT)
    randomise.click(lambda: random.randint(0, MAX_SEED), outputs=seed, api_visibility="private")
    reset.click(lambda: [0.0] * N_DIRECTIONS, outputs=sliders, api_visibility="private")
    return sample_gan, inputs, image
