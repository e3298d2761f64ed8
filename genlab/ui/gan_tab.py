"""GAN tab: sample a conditional GAN with seed, class, truncation, SeFa sliders and measured attribute sliders.

The picture is drawn in the page (genlab/web/genlab.js) where the browser can: the server sends
the seed's latents and the directions once per seed/class/model (a hidden JSON "spec"), and the
psi, grid-size, direction and attribute sliders redraw without a request. Where the page cannot, its `js`
handler bumps a hidden counter whose change runs the /sample endpoint, as before.
"""

from __future__ import annotations

import random
from functools import lru_cache

import gradio as gr

from ..tasks.attributes import AUTO, MAX_SLIDERS, effect_table
from ..tasks.directions import DIRECTIONS_FILE, load_named, name_directions
from ..hub import DEFAULT_GAN, GenlabError, local_models_allowed, shipped_names
from ..tasks.sampling import (DIRECTION_RANGE, MAX_SAMPLES, MAX_SEED, NOISE_MODES, SamplingError, class_choices,
                              class_index, has_noise, max_grid, sample_image, sefa_directions)
from ..web import digest_of, gan_spec
from ..zerogpu import gpu, on_gpu
from .gan_attributes import (HOLD_INFO, N_DIRECTIONS, SKIPPED, attributes_of, checkpoint_folder, attribute_directions, attribute_sliders,
                             model_attributes, split_values)
from . import gan_import
from .gan_project import PROJECT_STEPS, project_upload, start_of
from .uploads import upload_image
from .common import HEAVY, LIGHT, api_names, cached_model, get_model, matching_classifier, page_js, register_picker, web_html, with_graph

# "any": a random class per image (from the seed); "unconditional": the model's any-class token;
# then the model's own class names (digits: 0-9), from its config.json
CLASS_INFO = "any: a random class per image; or one of its classes"
PSI_INFO = "each model opens at its measured best (its card says which and why); 1: no truncation"
CLASS_INFO_NO_CLASS = ("any: a random class per image; unconditional: the model's no-class mode (offered where its "
                       "card measured it within 1.5x of the classes' FID); or one of its classes")


def class_info(g) -> str:
    """The class picker's help line: it names "unconditional" only for a model that offers it."""
    return CLASS_INFO_NO_CLASS if "unconditional" in class_choices(g) else CLASS_INFO


@lru_cache(maxsize=8)
def _directions(g):
    return sefa_directions(g, N_DIRECTIONS)[0]


@lru_cache(maxsize=8)
def _named(g, folder=None):
    """The SeFa directions' names: from the checkpoint's directions.json when it was measured on these weights,
    else measured now (64 samples at ±2 along each, and the matching classifier's class probabilities)."""
    if folder is not None:
        stored = load_named(folder / DIRECTIONS_FILE, digest_of(g), len(_directions(g)))
        if stored is not None:
            return stored
    return name_directions(g, _directions(g), matching_classifier(g))


def named_directions(name: str, g):
    return _named(g, checkpoint_folder(name))


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
    what each direction changes, the table of measured effects, its attribute sliders with theirs, and its
    default truncation psi (config ``psi``: chosen by measurement, 1 when none was recorded)."""
    name = (repo or "").strip() or model
    g = get_model(name, "gan")
    named = named_directions(name, g)
    sliders = [gr.update(label=f"Direction {k + 1}: {named[k]['label']}", info=named[k]["summary"])
               if k < len(named) else gr.update(label=f"Direction {k + 1}", info="") for k in range(N_DIRECTIONS)]
    attrs = attributes_of(name, g)
    hold = gr.update(choices=[AUTO, *attrs.labels[: len(attrs.image)]], value=[AUTO], info=HOLD_INFO)
    biggest = max_grid(g)
    return (gr.update(choices=class_choices(g), value="any", info=class_info(g)), *sliders, direction_table(named),
            *attribute_sliders(attrs), hold, effect_table(attrs) or SKIPPED.get(name, ""), gr.update(value=g.psi),
            gr.update(maximum=biggest, value=min(16, biggest),
                      info=f"at most {biggest} at this model's {g.resolution} px" if biggest < MAX_SAMPLES else None),
            gr.update(visible=has_noise(g), value="const"))


def _seed(seed) -> int:
    try:
        seed_int = int(seed)
        if seed_int != seed:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise gr.Error(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}") from None
    return seed_int


def web_spec(model: str, repo: str, seed, label: str, hold=None, projected=None, noise="const") -> dict:
    """What the page needs to draw this seed and class for any psi, grid size and offsets (private event). The page
    draws the stored noise only: another noise mode is the server's."""
    if not isinstance(label, str):
        raise gr.Error(f"Class must be text (any, unconditional or a class name), got {label!r}.")
    name = (repo or "").strip() or model
    try:
        g, _ = generator(name)
        if noise != "const" and has_noise(g):
            return {"kind": "gan", "onnx": None, "reason": f"noise mode {noise!r} is drawn by the server (the page "
                    "draws the stored noise)"}
        directions, attrs = attribute_directions(name, g, hold, _directions(g))
        classes = [g.labels.index(c) for c in attrs.classes]
        return with_graph(gan_spec(g, seed=_seed(seed), label=class_index(g, label), directions=directions,
                                   class_sliders=classes, first_class_slider=len(directions),
                                   start=start_of(name, projected)), g)
    except (GenlabError, SamplingError) as e:
        raise gr.Error(str(e)) from None


@gpu(15)
def sample_gan(model: str, repo: str, seed, label: str, psi: float, n: int, *values):
    """The /sample endpoint: returns one PNG grid (28-px digits upscaled crisply).

    values: the 6 SeFa sliders, then the attribute sliders (see /attributes for what each is), the
    hold-fixed rule (["auto"] or measure names), the projected start and StyleGAN2's noise mode ("const", "random",
    "none"; other models draw "const"); all may be left out."""
    name = (repo or "").strip() or model
    seed_int = _seed(seed)
    hold = values[N_DIRECTIONS + MAX_SLIDERS] if len(values) > N_DIRECTIONS + MAX_SLIDERS else None
    projected = values[N_DIRECTIONS + MAX_SLIDERS + 1] if len(values) > N_DIRECTIONS + MAX_SLIDERS + 1 else None
    noise_mode = values[N_DIRECTIONS + MAX_SLIDERS + 2] if len(values) > N_DIRECTIONS + MAX_SLIDERS + 2 else "const"
    values = values[: N_DIRECTIONS + MAX_SLIDERS]
    if noise_mode not in NOISE_MODES:
        raise gr.Error(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
    if not isinstance(n, (int, float)) or n != int(n):
        raise gr.Error(f"grid size must be a whole number from 1 to {MAX_SAMPLES}, got {n!r}")
    if not isinstance(label, str):
        raise gr.Error(f"Class must be text (any, unconditional or a class name), got {label!r}.")
    try:
        g, _ = generator(name)
        if any(float(v) for v in values[N_DIRECTIONS:]) or hold not in (None, [AUTO], AUTO):
            directions, attrs = attribute_directions(name, g, hold, _directions(g))
            offsets, amounts = split_values(g, attrs, values)
        else:  # SeFa sliders only: no attribute fit needed
            directions, offsets, amounts = _directions(g), [float(v) for v in values[:N_DIRECTIONS]], None
        return sample_image(
            on_gpu(g), seed=seed_int, label=class_index(g, label), psi=float(psi), n=int(n),
            offsets=offsets, directions=directions, class_amounts=amounts, start=start_of(name, projected),
            noise_mode=noise_mode if has_noise(g) else "const",
        )
    except gr.Error:
        raise  # already says what is wrong (gr.Error is a ValueError too: do not wrap it below)
    except (GenlabError, SamplingError) as e:  # before ValueError: an unknown model is a ValueError too
        raise gr.Error(str(e)) from None
    except (TypeError, ValueError) as e:
        raise gr.Error(f"direction and attribute slider values must be numbers: {e}") from None


# /sample's API names: the SeFa sliders, the attribute sliders, the hold-fixed rule and the projected start (all
# optional; positional calls with fewer values keep working)
SAMPLE_EXTRA = ([f"direction_{k + 1}" for k in range(N_DIRECTIONS)] + [f"attribute_{k + 1}" for k in range(MAX_SLIDERS)]
                + ["hold", "projected", "noise_mode"])
api_names(sample_gan, SAMPLE_EXTRA, {**{n: 0.0 for n in SAMPLE_EXTRA[:-3]}, "hold": [AUTO], "projected": {},
                                     "noise_mode": "const"})


def sample_named(model: str, repo: str, seed, label: str, psi: float, n: int, offsets: dict, hold=None):
    """The /sample_named endpoint: sample with attribute sliders given by name, e.g.
    {"size": 2.0, "class:flags": 0.5} (names from /attributes; SeFa ones as "direction 1" .. "direction 6")."""
    if not isinstance(offsets, dict) or len(offsets) > N_DIRECTIONS + MAX_SLIDERS:
        raise gr.Error("offsets must be an object of at most 26 {name: amount} pairs, names from /attributes")
    name = (repo or "").strip() or model
    try:
        g, _ = generator(name)
        attrs = attributes_of(name, g)
    except GenlabError as e:
        raise gr.Error(str(e)) from None
    values = [0.0] * (N_DIRECTIONS + MAX_SLIDERS)
    for key, amount in offsets.items():
        key = str(key)
        if key.startswith("direction ") and key[10:].isdigit() and 1 <= int(key[10:]) <= N_DIRECTIONS:
            values[int(key[10:]) - 1] = amount
        elif key in attrs.slider_names or key in attrs.labels:
            k = attrs.slider_names.index(key) if key in attrs.slider_names else attrs.labels.index(key)
            values[N_DIRECTIONS + k] = amount
        else:
            raise gr.Error(f"Unknown slider {key!r}; this model's are direction 1-{N_DIRECTIONS} and "
                           f"{', '.join(attrs.slider_names)}.")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise gr.Error("every amount must be a number")
    return sample_gan(model, repo, seed, label, psi, n, *values, hold if hold is not None else [AUTO])


def warm_up(name: str) -> None:
    """Load the default model, name its directions and export its graph in the background at start-up,
    so the first visitor does not wait for them (about 2 s on 2 cores)."""
    import threading

    def work():
        try:
            g, _ = generator(name)
            named_directions(name, g)
            attributes_of(name, g)
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
                model = register_picker(gr.Dropdown(gan_import.gan_choices(), value=default, label="Model",
                                                    elem_id="gan-model"), ("gan",), gan_import.gan_choices)
                local = local_models_allowed()  # a public Space takes Hub ids only (see docs/serving.md)
                repo = gr.Textbox(label="…or Hub repo id / folder" if local else "…or Hub repo id",
                                  placeholder="user/model or path; Enter to load" if local else "user/model; Enter to load",
                                  elem_id="gan-repo")
            with gr.Row():
                seed = gr.Number(0, label=f"Seed (0-{MAX_SEED})", elem_id="gan-seed")  # checked in sample_gan
                randomise = gr.Button("Random seed", elem_id="gan-random", scale=0, size="sm")
            label = gr.Dropdown(class_choices(cached_model(default, "gan")), value="any", label="Class",
                                info=CLASS_INFO, allow_custom_value=True, elem_id="gan-class")
            psi = gr.Slider(0.0, 1.0, value=cached_model(default, "gan").psi if default else 1.0, step=0.01,
                            label="Truncation ψ (lower: typical, higher: varied)", info=PSI_INFO, elem_id="gan-psi")
            n = gr.Slider(1, MAX_SAMPLES, value=16, step=1, label="Grid size", elem_id="gan-n")
            noise = gr.Radio(list(NOISE_MODES), value="const", label="Noise (StyleGAN2)", visible=False,
                             info="const: the stored noise, as NVIDIA's generate.py; random: fresh noise per seed; "
                                  "none: no noise", elem_id="gan-noise")
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
            gr.Markdown(
                "**Attribute sliders** found by measurement (InterFaceGAN): size, thickness, brightness, colour "
                "and hue measured on thousands of samples, one linear model per measure in z; class sliders blend "
                "each image's class towards another. Each says what it measurably does per unit."
            )
            hold = gr.Dropdown([AUTO], value=[AUTO], multiselect=True, label="Hold fixed while moving",
                               allow_custom_value=True,  # choices are per model; hold_names checks them
                               info=HOLD_INFO, elem_id="gan-hold")
            attr_sliders = [
                gr.Slider(-DIRECTION_RANGE, DIRECTION_RANGE, value=0.0, step=0.05, label=f"Attribute {k + 1}",
                          visible=False, elem_id=f"gan-attr-{k + 1}")
                for k in range(MAX_SLIDERS)
            ]
            reset_attrs = gr.Button("Reset attributes")
            with gr.Accordion("What each attribute slider does (measured on fresh samples)", open=False):
                attr_table = gr.Markdown(elem_id="gan-attributes")
            with gr.Accordion("Your image on the sliders: project it into the GAN", open=False):
                gr.Markdown("Finds the latent and class whose sample looks like your image (gradient descent on z, "
                            "every class tried first); the grid then starts with it and every slider edits it.")
                with gr.Row():
                    to_project = upload_image(name="Image to project", label="Image to project", type="filepath",
                                              elem_id="gan-project-input")
                    projection = gr.Image(label="Your image | its projection", type="pil", format="png",
                                          interactive=False, elem_id="gan-project-output")
                project_steps = gr.Slider(50, 500, value=PROJECT_STEPS, step=10, label="Steps",
                                          elem_id="gan-project-steps")
                with gr.Row():
                    project_button = gr.Button("Project", variant="primary", elem_id="gan-project")
                    unproject = gr.Button("Back to samples", elem_id="gan-unproject")
                project_status = gr.Markdown(elem_id="gan-project-status")
            gan_import.render(model)
        with gr.Column(scale=1, min_width=320, elem_id="gan-picture-column"):
            web_html("gan")
            image = gr.Image(label="Samples", type="pil", format="png", buttons=["download", "fullscreen"],
                             interactive=False, elem_id="gan-output")
    # Hidden plumbing for the in-page generator: the seed's data, and a counter that runs /sample.
    spec = gr.JSON(visible="hidden", elem_id="gan-spec")
    tick = gr.Number(0, visible="hidden", elem_id="gan-tick")
    projected = gr.JSON({}, visible="hidden", label="Projected start", elem_id="gan-projected")  # {}: no projection (a default, so /sample callers may leave it out)
    inputs = [model, repo, seed, label, psi, n, *sliders, *attr_sliders, hold, projected, noise]
    # The server path for API users (the SeFa sliders first, so older calls with six offsets still work); in the
    # page it runs when the page cannot draw.
    tick.change(sample_gan, inputs=inputs, outputs=image, trigger_mode="always_last", show_progress="hidden",
                api_name="sample", **LIGHT)
    every = len(sliders) + len(attr_sliders)
    draw = dict(fn=None, inputs=[spec, psi, n, *sliders, *attr_sliders, tick], outputs=tick, show_progress="hidden",
                trigger_mode="always_last",
                js=page_js("gan", f"{{psi: a[1], n: a[2], offsets: a.slice(3, {3 + every})}}", 3 + every))
    get_spec = dict(fn=web_spec, inputs=[model, repo, seed, label, hold, projected, noise], outputs=spec,
                    show_progress="hidden", api_visibility="private", trigger_mode="always_last", **LIGHT)
    gr.on([seed.change, label.change, hold.change, projected.change, noise.change], **get_spec).then(**draw)
    project_button.click(project_upload, inputs=[model, repo, to_project, project_steps],
                         outputs=[projection, project_status, projected, n, psi], api_name="project",
                         show_progress="minimal", **HEAVY)
    unproject.click(lambda: ({}, ""), outputs=[projected, project_status], api_visibility="private")
    gr.on([psi.change, n.change, *[s.change for s in sliders], *[s.change for s in attr_sliders]], **draw)
    # A new model brings its own class names, direction and attribute names; then the grid is drawn with "any" class.
    on_model = dict(fn=classes_for, inputs=[model, repo],
                    outputs=[label, *sliders, table, *attr_sliders, hold, attr_table, psi, n, noise],
                    api_visibility="private", show_progress="hidden", **LIGHT)
    gr.on([model.change, repo.submit], **on_model).then(**get_spec).then(**draw)
    randomise.click(lambda: random.randint(0, MAX_SEED), outputs=seed, api_visibility="private")
    reset.click(lambda: [0.0] * N_DIRECTIONS, outputs=sliders, api_visibility="private")
    reset_attrs.click(lambda: [0.0] * MAX_SLIDERS, outputs=attr_sliders, api_visibility="private")
    gr.api(model_attributes, api_name="attributes")
    # /sample_named: the attribute sliders by name, for API users (hidden components carry its input and output)
    named_offsets = gr.JSON(visible="hidden", label="Offsets by name")
    named_image = gr.Image(type="pil", format="png", visible="hidden")
    named_run = gr.Button(visible=False)
    named_run.click(sample_named, inputs=[model, repo, seed, label, psi, n, named_offsets, hold], outputs=named_image,
                    api_name="sample_named", **LIGHT)

    def on_load(demo: gr.Blocks):
        demo.load(**on_model).then(**get_spec).then(**draw)

    return on_load
