"""genlab's Gradio app. ``python app.py`` serves it at http://127.0.0.1:7860.

Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio reads them); a Hugging Face Space
runs this file as is.
"""

import os

# Torch threads per computation. Gradio runs events in worker threads, and OpenMP's thread count
# is per thread, so it is set through the environment (the default for every thread) before
# torch starts, as well as for this one. More threads than cores only spin.
THREADS = int(os.environ.get("GENLAB_THREADS", min(2, os.cpu_count() or 1)))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))

import torch  # noqa: E402

from genlab.ui import CSS, HEAD, build_app  # noqa: E402
from genlab.ui.common import MAX_FILE_SIZE  # noqa: E402

torch.set_num_threads(THREADS)

demo = build_app()

if __name__ == "__main__":
    demo.launch(css=CSS, head=HEAD, max_file_size=MAX_FILE_SIZE)
