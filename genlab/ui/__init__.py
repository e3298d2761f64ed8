"""The Gradio app: one module per tab (layout and event wiring only)."""

from __future__ import annotations

import os

import gradio as gr

from . import cache_fix, gan_tab, repair_tab, translate_tab, vae_tab
from .common import DELETE_CACHE, QUEUE_MAX_SIZE

if os.environ.get("GENLAB_GRADIO_CACHE_FIX", "1") != "0":  # "0" only to measure without it (benchmarks/load.py)
    cache_fix.apply()  # identical outputs no longer truncate each other in flight (see cache_fix)

TITLE = "genlab: deep generative models for image analysis"
# Passed to launch() (Gradio 6): keep 28-px digits crisp when the browser scales them.
CSS = (
    "#gan-output img, #vae-current img, #vae-strip img, #vae-traversal img, #tr-seen img, #tr-output img, "
    "#rp-candidates img, #ag-gallery img "
    "{ image-rendering: pixelated; }"
)


def build_app() -> gr.Blocks:
    """The whole app. Compute events queue one at a time (2 CPU cores; see README)."""
    with gr.Blocks(title="genlab", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(f"# {TITLE}\nSample, steer and inspect generative models on your CPU, in the browser.")
        with gr.Tabs():
            with gr.Tab("GAN sampling", id="gan"):
                gan_fn, gan_inputs, gan_output = gan_tab.render()
            with gr.Tab("VAE interpolation", id="vae"):
                explore_fn, explore_inputs, explore_outputs, interp_fn, interp_output = vae_tab.render()
            with gr.Tab("Translation (pix2pix)", id="translate"):
                translate_tab.render()
            with gr.Tab("Repair & augment", id="repair-augment"):
                repair_tab.render()
        # Render every tab's initial state once the page has loaded.
        demo.load(gan_fn, inputs=gan_inputs, outputs=gan_output, show_progress="hidden", api_visibility="private")
        demo.load(interp_fn, inputs=explore_inputs[:4] + explore_inputs[-1:], outputs=interp_output,
                  show_progress="hidden", api_visibility="private")
        demo.load(explore_fn, inputs=explore_inputs, outputs=explore_outputs, show_progress="hidden",
                  api_visibility="private")
    demo.queue(max_size=QUEUE_MAX_SIZE)
    return demo
