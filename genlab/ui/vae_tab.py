"""VAE tab: encode two images (digits, emoji, your own), slide between them, export the path, traverse dimensions."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import gradio as gr
from PIL import Image

from ..errors import GenlabError
from ..hub import CHECKPOINTS_DIR, shipped_names, trained_folder
from ..images import save_gif, to_pil_grid
from ..tasks.latent_arithmetic import (MAX_SLIDERS, RANGE, LatentArithmeticError, arithmetic_table,
                                       load_arithmetic)
from ..tasks.interpolation import MODES, decode, encode, interpolate_latent, path, prior_sample, traversal
from ..web import digest_of, vae_spec
from ..zerogpu import gpu
from .common import LIGHT, api_names, check_int, get_model, model_picker, output_path, page_js, sketch_to_image, web_html, with_graph
from .uploads import upload_image

EXAMPLES = sorted((Path(__file__).parent / "examples").glob("digit_*.png"))  # from the held-out split
# One held-out OpenMoji emoji per Unicode group (python -m genlab data examples; CC BY-SA 4.0)
EMOJI_EXAMPLES = sorted((Path(__file__).parent / "examples").glob("emoji_*.png"))
DISPLAY = 224  # px for single digits (8x nearest upscale)




def vae_model(name: str):
    return get_model(name, "vae")


@lru_cache(maxsize=64)
def _encoded(vae, image: str, mtime_ns: int, size: int):
    """(z, model input) for an endpoint file, keyed by the loaded model and the file's path and stat, so
    an edited file (or a retrained model) is re-read: dragging t re-uses both encodings."""
    return encode(vae, image)


ARITHMETIC_FILE = "arithmetic.json"  # beside a checkpoint (genlab eval attributes NAME --data DATA)


@lru_cache(maxsize=8)
def _arithmetic(name: str, vae):
    """The VAE's latent arithmetic (class vectors, attribute directions) stored beside its checkpoint for these
    weights, or None (fitting needs the model's real images: ``genlab eval attributes NAME --data DIR``)."""
    folder = CHECKPOINTS_DIR / name if name in shipped_names("vae") else trained_folder(name)
    if folder is None:
        return None
    try:
        return load_arithmetic(folder / ARITHMETIC_FILE, digest_of(vae), vae.latent_dim)
    except LatentArithmeticError:
        return None


def arithmetic_for(model: str):
    """Updates for the arithmetic sliders and their table when a VAE is picked (private event)."""
    result = _arithmetic(model, vae_model(model))
    if result is None:
        return (*[gr.update(visible=False, value=0.0)] * MAX_SLIDERS,
                f"No latent arithmetic for `{model}`: it is fitted on the model's real images with "
                f"`python -m genlab eval attributes {model} --data DIR` (writes arithmetic.json beside it).")
    own = {}
    if result.effects is not None:
        for s, name in enumerate(result.names):
            if name in result.measures:
                col = result.measures.index(name)
                unit = "pts of probability" if name.startswith("class:") else "SD"
                own[s] = f"{float(result.effects[s, col]):+.2f} {unit} per unit (measured on held-out images)"
    sliders = [gr.update(visible=True, label=result.labels[k], info=own.get(k, ""), value=0.0)
               if k < len(result.names) else gr.update(visible=False, value=0.0) for k in range(MAX_SLIDERS)]
    return (*sliders, arithmetic_table(result))


def _shifted(name: str, vae, z, amounts):
    """Image A's code with the arithmetic sliders applied (unchanged when all are 0)."""
    if not amounts or not any(float(a or 0) for a in amounts):
        return z
    result = _arithmetic(name, vae)
    if result is None:
        raise gr.Error(f"{name} has no latent arithmetic; set its sliders to 0.")
    try:
        return z + result.shift([float(a or 0) for a in amounts]).to(z)
    except (TypeError, ValueError, LatentArithmeticError) as e:
        raise gr.Error(f"latent arithmetic: {e}") from None


def _encode(name: str, image, which: str, amounts=()):
    if image is None:
        raise gr.Error(f"Image {which} is missing: upload or draw an image, pick an example, or press 'Random'.")
    vae = vae_model(name)
    try:
        st = os.stat(image)
        z, x = _encoded(vae, str(image), st.st_mtime_ns, st.st_size)
    except OSError:
        raise gr.Error(f"Image {which} could not be read: upload it again.") from None
    except GenlabError as e:
        raise gr.Error(f"Image {which}: {e}") from None
    return vae, _shifted(name, vae, z, amounts), x


def _check_mode(mode: str):
    if mode not in MODES:
        raise gr.Error(f"mode must be one of {', '.join(MODES)}, got {mode!r}")


def _check(t, mode: str):
    _check_mode(mode)
    if t is None or not 0 <= float(t) <= 1:
        raise gr.Error(f"t must be between 0 and 1, got {t!r}")


@gpu(15)
def interpolate(image_a, image_b, t: float, mode: str = "spherical", model: str = "mnist-vae", *amounts) -> Image.Image:
    """The /interpolate endpoint: two images + t + mode -> the decoded image at t (PNG). amounts: optional, the
    latent arithmetic sliders applied to A (class vectors and attribute directions; see the VAE tab)."""
    _check(t, mode)
    vae, za, _ = _encode(model, image_a, "A", amounts)
    _, zb, _ = _encode(model, image_b, "B")
    return to_pil_grid(decode(vae, interpolate_latent(za, zb, float(t), mode)), display_size=DISPLAY)


@gpu(20)
def interpolation_gif(image_a, image_b, frames: int = 10, mode: str = "spherical", model: str = "mnist-vae",
                      *amounts) -> str:
    """The /interpolation_gif endpoint: the path A -> B -> A as a looping GIF file (A with the arithmetic
    sliders' amounts, if given)."""
    _check_mode(mode)
    frames = check_int(frames, "frames", 2, 64)
    vae, za, _ = _encode(model, image_a, "A", amounts)
    _, zb, _ = _encode(model, image_b, "B")
    imgs = [to_pil_grid(f[None], display_size=DISPLAY) for f in path(vae, za, zb, frames, mode)]
    return str(save_gif(imgs, output_path("interpolation.gif")))


# the latent arithmetic sliders' API names (optional; positional calls keep working)
ARITHMETIC_NAMES = [f"arithmetic_{k + 1}" for k in range(MAX_SLIDERS)]
for _endpoint in (interpolate, interpolation_gif):
    api_names(_endpoint, ARITHMETIC_NAMES, dict.fromkeys(ARITHMETIC_NAMES, 0.0))


def web_spec(image_a, image_b, mode: str, model: str, *amounts) -> dict:
    """What the page needs to decode the image at any t, and the traversal at t (private event)."""
    _check_mode(mode)
    vae, za, _ = _encode(model, image_a, "A", amounts)
    _, zb, _ = _encode(model, image_b, "B")
    return with_graph(vae_spec(vae, za, zb, mode), vae)


@gpu(20)
def explore(image_a, image_b, t: float, mode: str, frames: int, model: str, *amounts):
    """Everything the tab shows for the current inputs (private UI event)."""
    _check(t, mode)
    vae, za, xa = _encode(model, image_a, "A", amounts)
    _, zb, xb = _encode(model, image_b, "B")
    big = lambda x: to_pil_grid(x, display_size=112)  # noqa: E731
    strip = to_pil_grid(path(vae, za, zb, frames, mode), nrow=int(frames), display_size=112 * int(frames))
    grid, ranking = traversal(vae, interpolate_latent(za, zb, float(t), mode))
    table = "| row | latent dim | avg KL (nats) |\n|---|---|---|\n" + "\n".join(
        f"| {r + 1} | z{d} | {kl:.2f} |" for r, (d, kl) in enumerate(ranking)
    )
    return (big(xa), big(decode(vae, za)), big(xb), big(decode(vae, zb)), strip,
            to_pil_grid(grid, nrow=7, display_size=7 * 56), table)


@gpu(15)
def traversal_at(image_a, image_b, t: float, mode: str, model: str, *amounts) -> Image.Image:
    """The traversal grid at t, drawn by the server (private event; only where the page cannot draw it)."""
    _check(t, mode)
    vae, za, _ = _encode(model, image_a, "A", amounts)
    _, zb, _ = _encode(model, image_b, "B")
    grid, _ = traversal(vae, interpolate_latent(za, zb, float(t), mode))
    return to_pil_grid(grid, nrow=7, display_size=7 * 56)


PRIOR_CHOICES = {"fitted to the training codes": "fitted", "N(0, I)": "normal"}


@gpu(15)
def random_digit(seed: float, model: str, prior: str = "fitted to the training codes") -> Image.Image:
    """A prior sample, decoded; Gradio stores it as a PNG endpoint like any upload. The fitted prior is the
    model's Gaussian mixture over its training codes (N(0, I) for a checkpoint without one)."""
    if prior not in PRIOR_CHOICES:
        raise gr.Error(f"prior must be one of {', '.join(PRIOR_CHOICES)}, got {prior!r}")
    vae = vae_model(model)
    seed = check_int(seed, "prior seed", 0, 2**31 - 1)
    return to_pil_grid(decode(vae, prior_sample(vae, seed, PRIOR_CHOICES[prior])), display_size=DISPLAY)


def kind(name: str) -> str:
    """What examples suit a VAE: "digits" (it prepares uploads like MNIST), "emoji" (a shipped emoji model), or
    "other" (a model trained on a folder: the user brings the images)."""
    if name in shipped_names("vae") and name.startswith("emoji-"):
        return "emoji"
    try:
        return "digits" if vae_model(name).preprocess == "mnist" else "other"
    except gr.Error:
        return "other"


def pair_for(model: str, shown: str):
    """When a shipped model of another kind than the endpoints shown is picked (digits vs emoji), show two of its
    held-out examples; otherwise (the same kind, or a folder model) keep the user's images."""
    new = kind(model)
    if new == shown or new == "other":
        return gr.skip(), gr.skip(), shown
    pair = (EXAMPLES[1], EXAMPLES[7]) if new == "digits" else (EMOJI_EXAMPLES[0], EMOJI_EXAMPLES[2])
    return str(pair[0]), str(pair[1]), new


def _endpoint_column(which: str, default: int):
    with gr.Column(min_width=260):
        image = upload_image(EXAMPLES[default] if EXAMPLES else None, label=f"Image {which}",
                             sources=["upload", "clipboard"], height=224, elem_id=f"vae-{which}")
        with gr.Accordion(f"Draw {which}", open=False):
            sketch = gr.Sketchpad(type="numpy", canvas_size=(280, 280), label=f"Draw {which} (dark on light)",
                                  brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"))
        with gr.Row():
            seed = gr.Number(default, label="prior seed", precision=0, minimum=0, scale=1)
            rand = gr.Button("Random from prior", size="sm", scale=1)
        if EXAMPLES:
            gr.Examples([[str(p)] for p in EXAMPLES], inputs=image, label=f"Held-out digits for {which}",
                        examples_per_page=10)
        if EMOJI_EXAMPLES:
            gr.Examples([[str(p)] for p in EMOJI_EXAMPLES], inputs=image, examples_per_page=9,
                        label=f"Held-out emoji for {which} (OpenMoji, CC BY-SA 4.0)")
    return image, sketch, seed, rand


def render():
    """Lay out the tab inside the current gr.Blocks and wire its events."""
    gr.Markdown("Encode two images with a VAE, slide between them in latent space, and see what each "
                "latent dimension controls. Uploads are prepared as the model declares: for digit models the way "
                "MNIST was made (grey, light on dark, cropped, 20x20 box, centred by mass); for colour models "
                "(emoji-vae, or one trained on your folder), cropped to a square and resized to the model's size. "
                "Picking a model of the other kind loads two of its held-out examples.")
    with gr.Row():
        model = model_picker("vae", scale=1, elem_id="vae-model")
        mode = gr.Radio(list(MODES), value="spherical", label="Interpolation", scale=1)
        frames = gr.Slider(3, 16, value=8, step=1, label="Frames in the strip / GIF", scale=2)
        prior = gr.Radio(list(PRIOR_CHOICES), value=next(iter(PRIOR_CHOICES)), label="'Random from prior' draws from",
                         scale=2, elem_id="vae-prior")
    with gr.Row():
        image_a, sketch_a, seed_a, rand_a = _endpoint_column("A", 1)
        with gr.Column(min_width=260):
            t = gr.Slider(0, 1, value=0.5, step=0.01, label="t (0 = A, 1 = B)", elem_id="vae-t")
            web_html("vae")
            current = gr.Image(label="Decoded at t", type="pil", format="png", interactive=False, height=224,
                               elem_id="vae-current", buttons=["download"])
        image_b, sketch_b, seed_b, rand_b = _endpoint_column("B", 7)
    with gr.Accordion("Latent arithmetic on image A: class vectors and measured attribute directions", open=False):
        gr.Markdown("A class vector is the mean code of that class's training images minus the mean code of all; "
                    "an attribute direction is fitted on the codes of real images (one unit: +1 SD of the measure, "
                    "as the fit predicts). Applied to A's code: the image at t, the strip, the GIF and the traversal "
                    "follow.")
        with gr.Row():
            arith = [gr.Slider(-RANGE, RANGE, value=0.0, step=0.05, label=f"Arithmetic {k + 1}", visible=False,
                               min_width=200, elem_id=f"vae-arith-{k + 1}") for k in range(MAX_SLIDERS)]
        reset_arith = gr.Button("Reset arithmetic", size="sm")
        arith_table = gr.Markdown(elem_id="vae-arithmetic")
    with gr.Row():
        prep_a = gr.Image(label="A as the model sees it", interactive=False, height=112, type="pil", format="png")
        rec_a = gr.Image(label="A reconstructed (with its arithmetic)", interactive=False, height=112, type="pil", format="png")
        prep_b = gr.Image(label="B as the model sees it", interactive=False, height=112, type="pil", format="png")
        rec_b = gr.Image(label="B reconstructed", interactive=False, height=112, type="pil", format="png")
    strip = gr.Image(label="Path A -> B", interactive=False, type="pil", format="png", elem_id="vae-strip")
    with gr.Row():
        make_gif = gr.Button("Make GIF (there and back)")
        gif = gr.File(label="GIF", elem_id="vae-gif")
    with gr.Row():
        with gr.Column():
            gr.Markdown("Traversal at t: each row moves one dimension from -3 to +3")
            web_html("vae", canvas="traversal-canvas", note=False)
            grid = gr.Image(label="Traversal at t: each row moves one dimension from -3 to +3", interactive=False,
                            type="pil", format="png", elem_id="vae-traversal")
        kl = gr.Markdown()
    # Hidden plumbing for the in-page decoder (as in the GAN tab): the two latents, and a counter that runs
    # /interpolate when the page cannot draw.
    spec = gr.JSON(visible="hidden", elem_id="vae-spec")
    tick = gr.Number(0, visible="hidden", elem_id="vae-tick")

    inputs = [image_a, image_b, t, mode]
    tick.change(interpolate, inputs=[*inputs, model, *arith], outputs=current, trigger_mode="always_last",
                show_progress="hidden", api_name="interpolate", **LIGHT)
    draw = dict(fn=None, inputs=[spec, t, tick], outputs=tick, show_progress="hidden", trigger_mode="always_last",
                js=page_js("vae", "{t: a[1]}", 2))
    get_spec = dict(fn=web_spec, inputs=[image_a, image_b, mode, model, *arith], outputs=spec, show_progress="hidden",
                    api_visibility="private", trigger_mode="always_last", **LIGHT)
    gr.on([mode.change, image_a.change, image_b.change, model.change, *[a.release for a in arith]],
          **get_spec).then(**draw)
    t.change(**draw)
    # t moves only the image at t and the traversal: drawn in the page, or (where the page cannot) by the
    # server when the hidden counter changes; the rest depends on the endpoints, mode, frames and model
    tick.change(traversal_at, inputs=[*inputs, model, *arith], outputs=grid, trigger_mode="always_last",
                show_progress="hidden", api_visibility="private", **LIGHT)
    explore_inputs = [*inputs, frames, model, *arith]
    gr.on([mode.change, image_a.change, image_b.change, frames.release, model.change, *[a.release for a in arith]],
          explore, inputs=explore_inputs, outputs=[prep_a, rec_a, prep_b, rec_b, strip, grid, kl],
          trigger_mode="always_last", show_progress="hidden", api_visibility="private",
          **LIGHT)
    make_gif.click(interpolation_gif, inputs=[image_a, image_b, frames, mode, model, *arith], outputs=gif,
                   api_name="interpolation_gif", **LIGHT)
    for sketch, image in ((sketch_a, image_a), (sketch_b, image_b)):
        sketch.change(sketch_to_image, inputs=sketch, outputs=image, trigger_mode="always_last",
                      show_progress="hidden", api_visibility="private")
    for seed, rand, image in ((seed_a, rand_a, image_a), (seed_b, rand_b, image_b)):
        rand.click(lambda s: s + 1, inputs=seed, outputs=seed, api_visibility="private").then(
            random_digit, inputs=[seed, model, prior], outputs=image, api_visibility="private", **LIGHT)

    on_arith = dict(fn=arithmetic_for, inputs=model, outputs=[*arith, arith_table], api_visibility="private",
                    show_progress="hidden")
    model.change(**on_arith)
    reset = reset_arith.click(lambda: [0.0] * MAX_SLIDERS, outputs=arith, api_visibility="private")
    reset.then(**get_spec).then(**draw)
    reset.then(explore, inputs=explore_inputs, outputs=[prep_a, rec_a, prep_b, rec_b, strip, grid, kl],
               show_progress="hidden", api_visibility="private", **LIGHT)

    # Picking a model of the other kind (digits <-> colour) shows two held-out examples of its kind
    shown = gr.State(kind(model.value))
    model.change(pair_for, inputs=[model, shown], outputs=[image_a, image_b, shown], api_visibility="private",
                 show_progress="hidden", **LIGHT)

    def on_load(demo: gr.Blocks):
        demo.load(**on_arith)
        demo.load(**get_spec).then(**draw)
        demo.load(explore, inputs=explore_inputs, outputs=[prep_a, rec_a, prep_b, rec_b, strip, grid, kl],
                  show_progress="hidden", api_visibility="private")

    return on_load
