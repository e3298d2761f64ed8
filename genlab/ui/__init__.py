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


# Cross-origin isolation (COOP + COEP): what lets the page's ONNX Runtime use several WebAssembly threads
# (SharedArrayBuffer). "credentialless" rather than "require-corp": a cross-origin resource without a
# Cross-Origin-Resource-Policy header still loads, only without cookies (the page loads none: no CDN). Browsers
# without COEP credentialless (Safari) stay unisolated and draw on one thread. GENLAB_ISOLATE=0 leaves them off.
ISOLATION_HEADERS = [(b"cross-origin-opener-policy", b"same-origin"),
                     (b"cross-origin-embedder-policy", b"credentialless")]


class CrossOriginIsolation:
    """ASGI middleware: every HTTP response carries ISOLATION_HEADERS (a page is isolated only if its document
    says so, and its workers' scripts must say so too)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *[(k, v) for k, v in ISOLATION_HEADERS if k not in names]]}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def launch_options() -> dict:
    """What app.py and `genlab app` pass to ``launch``: the page's CSS and head, the upload limit, and the
    cross-origin isolation middleware."""
    from starlette.middleware import Middleware

    from .common import MAX_FILE_SIZE

    isolate = os.environ.get("GENLAB_ISOLATE", "1") != "0"
    return {"css": CSS, "head": HEAD, "max_file_size": MAX_FILE_SIZE,
            "app_kwargs": {"middleware": [Middleware(CrossOriginIsolation)]} if isolate else {}}


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
