"""Translation tab: draw or upload an image; a pix2pix model translates it (k samples), or a CycleGAN translates
it to its other domain and back (unpaired translation)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..errors import GenlabError
from ..images import to_pil_grid
from ..tasks.sampling import MAX_SEED
from ..hub import shipped_names
from ..images import prepare
from ..tasks.translation import TASKS, input_for, translate, translate_unpaired
from ..zerogpu import gpu
from .common import LIGHT, check_int, get_model, model_picker, register_picker, sketch_to_image
from .first_visit import EXAMPLES
from .uploads import upload_image

# The digit tasks by their short names (the /translate API's "task"), then every shipped pix2pix model;
# a checkpoint folder or Hub repo id can be typed in too.
TASK_LABELS = [("Sketch -> digit", "sketch2digit"), ("4x super-resolution (7x7 -> 28x28)", "superres"),
               *[(n, n) for n in shipped_names("pix2pix") if n not in TASKS.values()]]


# Held-out emoji's own outlines (python -m genlab data examples): inputs for emoji-sketch2color
SKETCH_EXAMPLES = sorted((Path(__file__).parent / "examples").glob("sketch_emoji_*.png"))
# Held-out emoji in both designs (OpenMoji = domain A, Noto = domain B of emoji-openmoji2noto)
STYLE_EXAMPLES = [p for k in (0, 2, 3, 4) for p in sorted((Path(__file__).parent / "examples").glob(f"*emoji_{k}_*.png"))
                  if p.name.startswith(("emoji_", "noto_emoji_"))]
DIRECTION_CHOICES = [("A -> B (e.g. OpenMoji -> Noto)", "A->B"), ("B -> A (e.g. Noto -> OpenMoji)", "B->A")]
# The worked examples the tab opens with: a held-out digit through the default task, and a held-out OpenMoji
# emoji through the first CycleGAN (genlab/ui/first_visit.py).
FIRST_DIGIT = Path(__file__).parent / "examples" / "digit_4.png"
FIRST_TASK = "sketch2digit"


def translator(task: str):
    """A task name ("sketch2digit") or any pix2pix model name, folder or Hub repo id -> the model."""
    return get_model(TASKS.get(task, task), "pix2pix")


@gpu(15)
def translate_image(image, task: str = "sketch2digit", k: int = 4, seed: int = 0):
    """The /translate endpoint: image + task or model + k + seed -> (model input, k outputs side by side)."""
    if image is None:
        raise gr.Error("No input: draw on the sketchpad or upload an image.")
    k = check_int(k, "samples", 1, 8)
    seed = check_int(seed, "seed", 0, MAX_SEED)
    g = translator(task)
    try:
        x = input_for(g, image)
        outputs = translate(g, x, k=k, seed=seed)
    except (GenlabError, ValueError) as e:
        raise gr.Error(str(e)) from None
    return to_pil_grid(x, display_size=168), to_pil_grid(outputs, nrow=k, display_size=168 * k)


@gpu(15)
def translate_unpaired_image(image, model: str = "emoji-openmoji2noto", direction: str = "A->B"):
    """The /translate_unpaired endpoint: image + CycleGAN model + direction ("A->B" or "B->A") -> (output,
    cycle reconstruction), each at the model's size shown 4-8x larger."""
    if image is None:
        raise gr.Error("No input: upload, pick or draw an image.")
    m = get_model(model, "cyclegan")
    try:
        out, back = translate_unpaired(m, prepare(image, m), direction)
    except (GenlabError, ValueError) as e:  # a bad direction, or an image the gate let through but can't fit
        raise gr.Error(str(e)) from None
    return to_pil_grid(out, display_size=256), to_pil_grid(back, display_size=256)


def domains_text(model: str) -> str:
    """Which domain is A and which is B for the picked CycleGAN (or why it does not load)."""
    try:
        m = get_model(model, "cyclegan")
    except gr.Error as e:
        return f"⚠️ {e}"
    return f"**A** = {m.domains['A']}, **B** = {m.domains['B']}; {m.resolution} px, {'RGB' if m.image_channels == 3 else 'grey'}"


def render():
    """Lay out the tab inside the current gr.Blocks and wire its events."""
    gr.Markdown("Draw with the mouse (or upload an image); a conditional GAN (pix2pix) translates it. Each "
                "sample uses different dropout noise, so they show the model's variety. Digit models take a digit "
                "(MNIST-style centring); models trained on a folder pair take the upload cropped to a square and "
                "resized to their size. **emoji-sketch2color**: draw a black outline of an emoji (a face, an animal, a "
                "fruit) and get coloured versions.")
    with gr.Row():
        with gr.Column(min_width=300):
            task = register_picker(gr.Dropdown(TASK_LABELS, value="sketch2digit", label="Model", allow_custom_value=True,
                                               info="a shipped translator, or type a pix2pix checkpoint folder / Hub "
                                                    "repo id", elem_id="tr-model"), ("pix2pix",), lambda: TASK_LABELS)
            sketch = gr.Sketchpad(type="numpy", canvas_size=(280, 280), label="Draw here: pick the brush (left), then draw",
                                  brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                                  elem_id="tr-sketch")
            image = upload_image(str(FIRST_DIGIT) if FIRST_DIGIT.is_file() else None, name="Input image",
                                 label="…or upload (the drawing lands here too)",
                                 sources=["upload", "clipboard"], height=200, elem_id="tr-input")
            if SKETCH_EXAMPLES:
                gr.Examples([[str(p)] for p in SKETCH_EXAMPLES], inputs=image, elem_id="tr-examples",
                            label="Line drawings of held-out emoji (for emoji-sketch2color; OpenMoji, CC BY-SA 4.0)")
            with gr.Row():
                k = gr.Slider(1, 8, value=4, step=1, label="Samples")
                seed = gr.Number(0, label="Noise seed", precision=0, minimum=0)
        with gr.Column(min_width=300):
            seen = gr.Image(label="Model input (what the model sees)", type="pil", format="png", interactive=False,
                            height=200, elem_id="tr-seen")
            outputs = gr.Image(label="Outputs", type="pil", format="png", interactive=False, buttons=["download"],
                               elem_id="tr-output")
    sketch.change(sketch_to_image, inputs=sketch, outputs=image, trigger_mode="always_last", show_progress="hidden",
                  api_visibility="private")
    gr.on([image.change, k.change, seed.change], translate_image, inputs=[image, task, k, seed],
          outputs=[seen, outputs], trigger_mode="always_last", show_progress="hidden", api_name="translate",
          **LIGHT)
    # Picking another model re-translates the current input; with no input yet it waits quietly.
    task.change(lambda image, *rest: translate_image(image, *rest) if image is not None else (gr.skip(), gr.skip()),
                inputs=[image, task, k, seed], outputs=[seen, outputs], trigger_mode="always_last",
                show_progress="hidden", api_visibility="private", **LIGHT)

    example = EXAMPLES.add("translate", lambda: translate_image.on_cpu(str(FIRST_DIGIT), FIRST_TASK, 4, 0))
    on_load_unpaired = render_unpaired()

    def on_load(demo: gr.Blocks) -> None:
        """Show the worked examples, computed once at start-up, on every page load."""
        demo.load(lambda: EXAMPLES.outputs(example, 2), outputs=[seen, outputs], api_visibility="private",
                  show_progress="hidden", queue=False)
        on_load_unpaired(demo)

    return on_load


def render_unpaired():
    """The unpaired (CycleGAN) section: input, model, direction -> output beside its cycle reconstruction."""
    gr.Markdown("### Unpaired translation (CycleGAN)\nA CycleGAN learns from two sets of images with no pairs "
                "(e.g. OpenMoji emoji and Noto emoji of *other* emoji). Upload, pick or draw an image, pick the "
                "direction, and see the translation beside the cycle reconstruction (A -> B -> A): how much of the "
                "input survives the round trip. Any size or mode is cropped to a square and resized to the model's "
                "size.")
    with gr.Row():
        with gr.Column(min_width=300):
            models = shipped_names("cyclegan")
            model = model_picker("cyclegan", label="CycleGAN model", elem_id="cy-model") if models else gr.Dropdown(
                [], label="CycleGAN model", allow_custom_value=True, elem_id="cy-model",
                info="type a CycleGAN checkpoint folder / Hub repo id")
            domains = gr.Markdown(domains_text(models[0]) if models else "", elem_id="cy-domains")
            direction = gr.Radio(DIRECTION_CHOICES, value="A->B", label="Direction", elem_id="cy-direction")
            first = STYLE_EXAMPLES[0] if models and STYLE_EXAMPLES else None  # an OpenMoji emoji, domain A
            with gr.Tab("Upload or pick"):
                image = upload_image(str(first) if first else None, name="Input image",
                                     label="Input (upload, paste, or pick an example below)",
                                     sources=["upload", "clipboard"], height=200, elem_id="cy-input")
            with gr.Tab("Draw"):
                sketch = gr.Sketchpad(type="numpy", canvas_size=(256, 256), label="Draw (colours welcome)",
                                      brush=gr.Brush(default_size=10), elem_id="cy-sketch")
            if STYLE_EXAMPLES:
                gr.Examples([[str(p)] for p in STYLE_EXAMPLES], inputs=image, elem_id="cy-examples",
                            label="Held-out emoji in both designs: emoji_* are OpenMoji (A, CC BY-SA 4.0), noto_emoji_* "
                                  "Noto Color Emoji (B, Apache 2.0); never trained on")
        with gr.Column(min_width=300):
            with gr.Row():
                output = gr.Image(label="Translation", type="pil", format="png", interactive=False,
                                  buttons=["download"], height=260, elem_id="cy-output")
                cycle = gr.Image(label="Cycle reconstruction (and back)", type="pil", format="png",
                                 interactive=False, buttons=["download"], height=260, elem_id="cy-cycle")
    sketch.change(sketch_to_image, inputs=sketch, outputs=image, trigger_mode="always_last", show_progress="hidden",
                  api_visibility="private")
    gr.on([image.change, direction.change], translate_unpaired_image, inputs=[image, model, direction],
          outputs=[output, cycle], trigger_mode="always_last", show_progress="hidden", api_name="translate_unpaired",
          **LIGHT)
    model.change(domains_text, inputs=model, outputs=domains, api_visibility="private", show_progress="hidden")
    model.change(lambda image, *rest: translate_unpaired_image(image, *rest) if image is not None
                 else (gr.skip(), gr.skip()), inputs=[image, model, direction], outputs=[output, cycle],
                 trigger_mode="always_last", show_progress="hidden", api_visibility="private", **LIGHT)
    example = EXAMPLES.add("translate_unpaired", lambda: translate_unpaired_image.on_cpu(str(first), models[0], "A->B")) \
        if first else None

    def on_load(demo: gr.Blocks) -> None:
        if example:
            demo.load(lambda: EXAMPLES.outputs(example, 2), outputs=[output, cycle], api_visibility="private",
                      show_progress="hidden", queue=False)

    return on_load
