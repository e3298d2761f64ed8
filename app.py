"""genlab's Gradio app. ``python app.py`` (or ``genlab app``) serves it at http://127.0.0.1:7860.

Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio reads them); a Hugging Face Space
runs this file as is: CPU Spaces, ZeroGPU Spaces (see genlab/zerogpu.py) and locally.
"""

from genlab.cli import configure_threads

# Torch threads per computation, set before torch starts (see configure_threads).
THREADS = configure_threads()

from genlab import zerogpu  # noqa: E402,F401  (on ZeroGPU: `spaces` is imported before torch touches CUDA)

import torch  # noqa: E402

from genlab.ui import build_app, launch_options  # noqa: E402

torch.set_num_threads(THREADS)

demo = build_app()

if __name__ == "__main__":
    demo.launch(**launch_options())
