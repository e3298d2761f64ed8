"""Translation tab: draw or upload a digit, a pix2pix model translates it (k samples)."""

from __future__ import annotations

import gradio as gr

from ..errors import GenlabError
from ..images import to_pil_grid
from ..sampling import MAX_SEED
from ..translation import TASKS, model_input, translate
from .common import LIGHT, cached_model, check_int, sketch_to_image
from .uploads import upload_image

TASK_LABELS = [("Sketch -> digit", "sketch2digit"), ("4x super-resolution (7x7 -> 28x28)", "superres")]


def translator(task: str):
    return cached_model(TASKS[task], "pix2pix")


def translate_image(image, task: str = "sketch2digit", k: int = 4, seed: int = 0):
    """The /translate endpoint: image + task + k + seed -> (model input, k outputs side by side)."""
    if task not in TASKS:
        raise gr.Error(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if image is None:
        raise gr.Error("No input: draw a digit on the sketchpad or upload an image.")
    k = check_int(k, "samples", 1, 8)
    seed = check_int(seed, "seed", 0, MAX_SEED)
    try:
        x = model_input(task, image)
        outputs = translate(translator(task), x, k=k, seed=seed)
    except (GenlabError, ValueError) as e:
        raise gr.Error(str(e)) from None
    return to_pil_grid(x, display_size=168), to_pil_grid(outputs, nrow=k, display_size=168 * k)


def render():
    """Lay out the tab inside the current gr.Blocks and wire its events."""
    gr.Markdown("Draw a digit with the mouse (or upload an image); a conditional GAN (pix2pix) translates it. "
                "Each sample uses different dropout noise, so they show the model's variety.")
    with gr.Row():
        with gr.Column(min_width=300):
            task = gr.Dropdown(TASK_LABELS, value="sketch2digit", label="Task")
            sketch = gr.Sketchpad(type="numpy", canvas_size=(280, 280), label="Draw here: pick the brush (left), then draw",
                                  brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                                  elem_id="tr-sketch")
            image = upload_image(name="Input image", label="…or upload (the drawing lands here too)",
                                 sources=["upload", "clipboard"], height=200, elem_id="tr-input")
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
    gr.on([image.change, task.change, k.change, seed.change], translate_image, inputs=[image, task, k, seed],
          outputs=[seen, outputs], trigger_mode="always_last", show_progress="hidden", api_name="translate",
          **LIGHT)
