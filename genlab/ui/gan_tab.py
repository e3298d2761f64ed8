"""GAN tab: sample a conditional GAN with seed, class, truncation and SeFa sliders.

The picture is drawn in the page (genlab/web/genlab.js) where the browser can: the server sends
the seed's latents and the directions once per seed/class/model (a hidden JSON "spec"), and the
psi, grid-size and direction sliders redraw without a request. Where the page cannot, its `js`
handler bumps a hidden counter whose change runs the /sample endpoint, as before.
"""

from __future__ import annotations

import random
from functools import lru_cache

import gradio as gr

from ..tasks.directions import name_directions
from ..hub import DEFAULT_GAN, GenlabError, local_models_allowed, shipped_names
from ..tasks.sampling import (DIRECTION_RANGE, MAX_SAMPLES, MAX_SEED, SamplingError, class_choices, class_index,
                        sample_image, sefa_directions)
from ..web import gan_spec
from ..zerogpu import gpu, on_gpu
from .common import LIGHT, cached_model, get_model, matching_classifier, page_js, register_picker, web_html, with_graph

N_DIRECTIONS = 6  # sliders shown; SeFa ranks 1..N
# "any": a random class per image (from the seed); "unconditional": the model's any-class token;
# then the model's own class names (digits: 0-9), from its config.json
CLASS_INFO = "any: a random class per image; or one of its classes"
CLASS_INFO_NO_CLASS = ("any: a random class per image; unconditional: the model's no-class mode (offered where its "
                       "card measured it within 1.5x of the classes' FID); or one of its classes")


def class_info(g) -> str:
    """The class picker's help line: it names "unconditional" only for a model that offers it."""
    return CLASS_INFO_NO_CLASS if "unconditional" in class_choices(g) else CLASS_INFO


@lru_cache(maxsize=8)
def _directions(g):
    return sefa_directions(g, N_DIRECTIONS)[0]


@lru_cache(maxsize=8)
def _named(g):
    return name_directions(g, _directions(g), matching_classifier(g))


def generator(name: str):
    """A GAN (loaded once per name and file version) with its SeFa directions: (model, (k, latent_dim))."""
    g = cached_model(name, "gan")
    return g, _directions(g)


def direction_table(named: list[dict]) -> str:
    """The measured effect of every direction, as a Markdown table."""
    rows = "\n".join(f"| {k + 1} | {d['label']} | {d['summary']} |" for k, d in enumerate(named))
    return ("Measured on 64 samples at −2 and +2 along each direction: image measures in standard deviations "
            "of the samples, class probabilities (where a shipped classifier knows this model's classes) in "
            "percentage points.\n\n| direction | named | measured |\n|---|---|---|\n" + rows)


def classes_for(model: str, repo: str = ""):
    """What the chosen model brings: its class names (digits: 0-9, "any" selected), the sliders named by
    what each direction changes, and the table of measured effects."""
    g = get_model((repo or "").strip() or model, "gan")
    named = _named(g)
    sliders = [gr.update(label=f"Direction {k + 1}: {named[k]['label']}", info=named[k]["summary"])
               if k < len(named) else gr.update(label=f"Direction {k + 1}", info="") for k in range(N_DIRECTIONS)]
    return gr.update(choices=class_choices(g), value="any", info=class_info(g)), *sliders, direction_table(named)


def _seed(seed) -> int:
    try:
        seed_int = int(seed)
        if seed_int != seed:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise gr.Error(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}") from None
    return seed_int


def web_spec(model: str, repo: str, seed, label: str) -> dict:
    """What the page needs to draw this seed and class for any psi, grid size and offsets (private event)."""
    if not isinstance(label, str):
        raise gr.Error(f"Class must be text (any, unconditional or a class name), got {label!r}.")
    try:
        g, directions = generator((repo or "").strip() or model)
        return with_graph(gan_spec(g, seed=_seed(seed), label=class_index(g, label), directions=directions), g)
    except (GenlabError, SamplingError) as e:
        raise gr.Error(str(e)) from None


@gpu(15)
def sample_gan(model: str, repo: str, seed, label: str, psi: float, n: int, *offsets: float):
    """The /sample endpoint: returns one PNG grid (28-px digits upscaled crisply)."""
    name = (repo or "").strip() or model
    seed_int = _seed(seed)
    if not isinstance(n, (int, float)) or n != int(n):
        raise gr.Error(f"grid size must be a whole number from 1 to {MAX_SAMPLES}, got {n!r}")
    if not isinstance(label, str):
        raise gr.Error(f"Class must be text (any, unconditional or a class name), got {label!r}.")
    try:
        g, directions = generator(name)
        return sample_image(
            on_gpu(g), seed=seed_int, label=class_index(g, label), psi=float(psi), n=int(n),
            offsets=[float(o) for o in offsets], directions=directions,
        )
    except (GenlabError, SamplingError) as e:
        raise gr.Error(str(e)) from None


def warm_up(name: str) -> None:
    """Load the default model, name its directions and export its graph in the background at start-up,
    so the first visitor does not wait for them (about 2 s on 2 cores)."""
    import threading

    def work():
        try:
            g, _ = generator(name)
            _named(g)
            with_graph({}, g)
        except Exception:  # noqa: BLE001 - the first request reports any problem itself
            pass

    # not a daemon: the interpreter waits for it at exit (a daemon thread inside torch aborts the process then)
    threading.Thread(target=work, name="genlab-warm-up", daemon=False).start()


def render():
    """Lay out the tab inside the current gr.Blocks and wire its events.

    Returns a function that wires the page-load events (classes, direction names, first picture).
    """
    default = DEFAULT_GAN if DEFAULT_GAN in shipped_names("gan") else (shipped_names("gan") or [None])[0]
    warm_up(default)
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            with gr.Row():
                model = register_picker(gr.Dropdown(shipped_names("gan"), value=default, label="Model",
                                                    elem_id="gan-model"), ("gan",))
                local = local_models_allowed()  # a public Space takes Hub ids only (see docs/serving.md)
                repo = gr.Textbox(label="…or Hub repo id / folder" if local else "…or Hub repo id",
                                  placeholder="user/model or path; Enter to load" if local else "user/model; Enter to load",
                                  elem_id="gan-repo")
            with gr.Row():
                seed = gr.Number(0, label=f"Seed (0-{MAX_SEED})", elem_id="gan-seed")  # checked in sample_gan
                randomise = gr.Button("Random seed", elem_id="gan-random", scale=0, size="sm")
            label = gr.Dropdown(class_choices(cached_model(default, "gan")), value="any", label="Class",
                                info=CLASS_INFO, allow_custom_value=True, elem_id="gan-class")
            psi = gr.Slider(0.0, 1.0, value=1.0, step=0.01, label="Truncation ψ (lower: typical, higher: varied)",
                            elem_id="gan-psi")
            n = gr.Slider(1, MAX_SAMPLES, value=16, step=1, label="Grid size", elem_id="gan-n")
            gr.Markdown(
                "**Latent directions** found from the generator's own first layer (SeFa: top eigenvectors of "
                "AᵀA), strongest first, each named by what moving along it measurably changes."
            )
            sliders = [
                gr.Slider(-DIRECTION_RANGE, DIRECTION_RANGE, value=0.0, step=0.05, label=f"Direction {k + 1}",
                          elem_id=f"gan-dir-{k + 1}")
                for k in range(N_DIRECTIONS)
            ]
            reset = gr.Button("Reset directions")
            with gr.Accordion("What each direction changes (measured)", open=False):
                table = gr.Markdown(elem_id="gan-directions")
        with gr.Column(scale=1, min_width=320):
            web_html("gan")
            image = gr.Image(label="Samples", type="pil", format="png", buttons=["download", "fullscreen"],
                             interactive=False, elem_id="gan-output")
    # Hidden plumbing for the in-page generator: the seed's data, and a counter that runs /sample.
    spec = gr.JSON(visible="hidden", elem_id="gan-spec")
    tick = gr.Number(0, visible="hidden", elem_id="gan-tick")
    inputs = [model, repo, seed, label, psi, n, *sliders]
    # The server path, unchanged for API users; in the page it runs when the page cannot draw.
    tick.change(sample_gan, inputs=inputs, outputs=image, trigger_mode="always_last", show_progress="hidden",
                api_name="sample", **LIGHT)
    draw = dict(fn=None, inputs=[spec, psi, n, *sliders, tick], outputs=tick, show_progress="hidden",
                trigger_mode="always_last", js=page_js("gan", "{psi: a[1], n: a[2], offsets: a.slice(3, 9)}", 9))
    get_spec = dict(fn=web_spec, inputs=[model, repo, seed, label], outputs=spec, show_progress="hidden",
                    api_visibility="private", trigger_mode="always_last", **LIGHT)
    gr.on([seed.change, label.change], **get_spec).then(**draw)
    gr.on([psi.change, n.change, *[s.change for s in sliders]], **draw)
    # A new model brings its own class names and direction names; then the grid is drawn with "any" class.
    on_model = dict(fn=classes_for, inputs=[model, repo], outputs=[label, *sliders, table], api_visibility="private",
                    show_progress="hidden", **LIGHT)
    gr.on([model.change, repo.submit], **on_model).then(**get_spec).then(**draw)
    randomise.click(lambda: random.randint(0, MAX_SEED), outputs=seed, api_visibility="private")
    reset.click(lambda: [0.0] * N_DIRECTIONS, outputs=sliders, api_visibility="private")

    def on_load(demo: gr.Blocks):
        demo.load(**on_model).then(**get_spec).then(**draw)

    return on_load
