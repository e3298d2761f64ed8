"""The Gradio app: one module per tab (layout and event wiring only)."""

from __future__ import annotations

import os

import gradio as gr

from . import cache_fix, gan_tab, input_errors, repair_tab, train_tab, translate_tab, vae_tab
from .first_visit import EXAMPLES
from ..web import WEB_DIR, onnx_dir
from .common import DELETE_CACHE, PICKERS, QUEUE_MAX_SIZE, web_url

if os.environ.get("GENLAB_GRADIO_CACHE_FIX", "1") != "0":  # "0" only to measure without it (benchmarks/load.py)
    cache_fix.apply()  # identical outputs no longer truncate each other in flight (see cache_fix)
input_errors.apply()  # Gradio's own input refusals name the input (see input_errors)

TITLE = "genlab: deep generative models for image analysis"
# Passed to launch() (Gradio 6): keep 28-px digits crisp when the browser scales them.
CSS = (
    "#gan-output img, #vae-current img, #vae-strip img, #vae-traversal img, #tr-seen img, #tr-output img, "
    "#rp-candidates img, #ag-gallery img, #tn-grid img, #tn-seen img "
    "{ image-rendering: pixelated; }\n"
    ".genlab-canvas { image-rendering: pixelated; max-width: 100%; height: auto; display: block; margin: 0 auto; }\n"
    ".genlab-web-bar { font-size: 0.85em; opacity: 0.8; padding: 4px 0; }\n"
    ".genlab-save { margin-left: 0.5em; font-size: 0.85em !important; font-weight: normal !important; "
    "padding: 0 0.5em !important; border: 1px solid var(--border-color-primary); border-radius: 4px; "
    "background: none !important; }\n"
    # the GAN tab's picture stays in view while its long column of sliders scrolls
    "#gan-picture-column { position: sticky; top: 8px; align-self: flex-start; }\n"
    # (sticky needs no scrolling ancestor: Gradio's container clips with overflow hidden, clip does not scroll)
    ".gradio-container { overflow: clip !important; }"
)
# Passed to launch(): loads the in-page generator (a module served by the app itself, no CDN).
# genlabReady resolves with window.genlab when genlab.js has run, or null after 20 s (then: server).
HEAD = (
    "<script>window.genlabReady = new Promise((resolve) => { window.genlabLoaded = resolve; "
    "setTimeout(() => resolve(null), 20000); });</script>"
    f'<script type="module" src="{web_url(WEB_DIR / "genlab.js")}"></script>'
)


def build_app() -> gr.Blocks:
    """The whole app. Compute events queue one at a time (2 CPU cores; see docs/serving.md)."""
    gr.set_static_paths([WEB_DIR / "genlab.js", WEB_DIR / "vendor", onnx_dir()])  # the page's code and runtime (not web/*.py); exported graphs
    PICKERS.clear()  # every tab's model box, filled as the tabs render (the Train tab lists its models in them)
    with gr.Blocks(title="genlab", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(f"# {TITLE}\nSample, steer and inspect generative models on your CPU, in the browser.")
        with gr.Tabs():
            with gr.Tab("GAN sampling", id="gan"):
                gan_on_load = gan_tab.render()
            with gr.Tab("VAE interpolation", id="vae"):
                vae_on_load = vae_tab.render()
            with gr.Tab("Translation (pix2pix, CycleGAN)", id="translate"):
                translate_on_load = translate_tab.render()
            with gr.Tab("Repair & augment", id="repair-augment"):
                repair_on_load = repair_tab.render()
            with gr.Tab("Train", id="train"):
                train_wire = train_tab.render()
        # Render every tab's initial state once the page has loaded: the GAN and VAE tabs compute theirs (the
        # sliders need the model's spec); the others show worked examples computed once, from start-up on.
        gan_on_load(demo)
        vae_on_load(demo)
        translate_on_load(demo)
        repair_on_load(demo)
        train_wire(demo, list(PICKERS))
    EXAMPLES.start()
    demo.queue(max_size=QUEUE_MAX_SIZE)
    return demo
