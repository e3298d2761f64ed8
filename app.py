"""genlab's Gradio app. ``python app.py`` serves it at http://127.0.0.1:7860.

Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio reads them); a Hugging Face Space
runs this file as is.
"""

import os

import torch

from genlab.ui import CSS, build_app

# Requests run one at a time per event group; more torch threads than cores only spin.
torch.set_num_threads(int(os.environ.get("GENLAB_THREADS", min(2, os.cpu_count() or 1))))

demo = build_app()

if __name__ == "__main__":
    demo.launch(css=CSS)
