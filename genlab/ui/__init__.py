"""The Gradio app: one module per tab (layout and event wiring only)."""

from __future__ import annotations

import gradio as gr

from . import gan_tab

TITLE = "genlab: deep generative models for image analysis"
# Passed to launch() (Gradio 6): keep 28-px digits crisp when the browser scales them.
CSS = "#gan-output img { image-rendering: pixelated; }"


def build_app() -> gr.Blocks:
    """The whole app. Compute events queue one at a time (2 CPU cores; see README)."""
    with gr.Blocks(title="genlab") as demo:
        gr.Markdown(f"# {TITLE}\nSample, steer and inspect generative models on your CPU, in the browser.")
        with gr.Tabs():
            with gr.Tab("GAN sampling", id="gan"):
                fn, inputs, output = gan_tab.render()
        demo.load(fn, inputs=inputs, outputs=output, show_progress="hidden", api_visibility="private")
    demo.queue(max_size=64)
    return demo
