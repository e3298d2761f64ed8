"""The GAN tab's "Import a checkpoint": a StyleGAN2-ADA/StyleGAN3 network pickle or a DCGAN .pth uploaded, converted
by ``genlab.formats`` (nothing in the file is run), its card shown, and the model put in the GAN tab's model box.

On a local server the model is written to genlab's checkpoints folder (like ``genlab import``; GENLAB_IMPORT_OUT
names another folder), so it stays; on a
public Space importing is off unless its owner sets GENLAB_ALLOW_IMPORT=1, and then each import lives in a temporary
folder under a name with a random part, served to whoever was given that name (like a Train-tab model)."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import gradio as gr

from ..errors import GenlabError
from ..hub import local_models_allowed, output_dir, register_trained, shipped_names, trained_folder
from .common import HEAVY, MAX_FILE_SIZE

FILE_TYPES = [".pkl", ".pickle", ".pth", ".pt", ".bin", ".safetensors"]
_IMPORTED: list[str] = []  # names imported into this server's temporary folders (a Space's), newest last


def import_allowed() -> bool:
    """Locally: yes (GENLAB_ALLOW_IMPORT=0 turns it off); on a public Space: only with GENLAB_ALLOW_IMPORT=1."""
    flag = os.environ.get("GENLAB_ALLOW_IMPORT", "").strip()
    if flag in ("0", "1"):
        return flag == "1"
    return local_models_allowed()


def import_files(paths: list[str], name: str, license: str, accept: tuple[str, ...], what: str, **options):
    """Convert uploaded checkpoint files with ``genlab.formats.import_checkpoint`` under the server's rules (off on a
    public Space unless allowed; there under a name with a random part, in a temporary folder). Returns (the result,
    the name it is served under, a status line). ``what`` names the expected files in refusals."""
    from ..formats import import_checkpoint

    if not import_allowed():
        raise gr.Error("Importing checkpoints is off on this server (a public Space imports only where its owner "
                       "sets GENLAB_ALLOW_IMPORT=1). Run genlab locally and use `genlab import`.")
    if not paths or not all(p and Path(p).is_file() for p in paths):
        raise gr.Error(f"Upload a checkpoint file: {what}.")
    for p in paths:
        if Path(p).suffix.lower() not in FILE_TYPES:
            raise gr.Error(f"Checkpoint: {Path(p).name} is not one of {', '.join(FILE_TYPES)}.")
    if not isinstance(name, str) or not name.strip():
        raise gr.Error("Give the model a name (letters, digits, '.', '_' or '-'): the model box will list it so.")
    if not isinstance(license, str) or len(license) > 100:
        raise gr.Error("Licence: at most 100 characters of text.")
    name, shown = name.strip(), " ".join(Path(p).name for p in paths)
    local = local_models_allowed()
    elsewhere = os.environ.get("GENLAB_IMPORT_OUT", "").strip()  # a folder for the app's imports (tests use one)
    if local:
        out, served = (Path(elsewhere) if elsewhere else output_dir()), name
    else:  # a Space: a private temporary folder, under a name nobody can guess
        served = f"{name}-{secrets.token_hex(4)}"
        out = Path(tempfile.mkdtemp(prefix="genlab-import-"))
    command = f"genlab import {shown} --name {name}" + (f" --license '{license.strip()}'" if license.strip() else "")
    try:
        result = import_checkpoint(paths if len(paths) > 1 else paths[0], served, out,
                                   license=license.strip() or None, command=command, accept=accept, **options)
    except GenlabError as e:
        raise gr.Error(f"Checkpoint {shown}: {e}") from None
    except OSError as e:
        raise gr.Error(f"Checkpoint {shown} could not be read ({e.strerror or e}).") from None
    if not local or elsewhere:  # not in the checkpoints folder: served by name while this server runs
        register_trained(served, result.folder)
        _IMPORTED.append(served)
    status = (f"Imported {shown} as **{served}** ({result.notes[0]}); it is selected in the model box. "
              + (f"It is saved in {out.name}/ and stays there." if local else
                 "It lives while this server runs; keep its name to load it again."))
    return result, served, status


def import_upload(file, name: str, license: str):
    """The /import_checkpoint endpoint: convert an uploaded generator checkpoint. Returns (the card as Markdown, the
    GAN tab's model box updated to the new model, a status line)."""
    from ..hub import GAN_TYPES

    path = file if isinstance(file, str) else getattr(file, "name", None)
    result, served, status = import_files([path] if path else [], name, license, GAN_TYPES,
                                          "a StyleGAN2-ADA/StyleGAN3 network pickle (.pkl) or a DCGAN "
                                          ".pth/.bin/.safetensors")
    return result.card.split("---\n", 2)[-1], gr.update(choices=gan_choices(), value=served), status


def imported_names(family: str) -> list[str]:
    """This server's temporary imports (a Space's) of one family, oldest first."""
    from ..hub import family_matches, served_type

    return [n for n in _IMPORTED if trained_folder(n) is not None and family_matches(served_type(n), family)]


def gan_choices() -> list[str]:
    """The GAN model box's names: the served GANs, then this server's temporary imports."""
    return shipped_names("gan") + imported_names("gan")


def render(model_box):
    """The import section (an accordion) inside the current layout; wires its button to ``model_box``."""
    allowed = import_allowed()
    with gr.Accordion("Import a checkpoint (StyleGAN2-ADA, StyleGAN3, DCGAN)", open=False):
        gr.Markdown(
            "Bring a generator trained elsewhere: an NVIDIA StyleGAN2-ADA or StyleGAN3 network pickle (`.pkl`), "
            "PyTorch's DCGAN example (`netG_epoch_*.pth`) or a HugGAN DCGAN (`pytorch_model.bin` / "
            "`.safetensors`). genlab reads it **without running anything from it** (its own restricted pickle "
            "reader; `torch.load(weights_only=True)` for `.pth`), checks the weights against the architecture, and "
            f"draws the same pictures as the reference code. Uploads up to {MAX_FILE_SIZE}; larger files: "
            "`genlab import FILE --name NAME` on the command line (docs/pretrained.md)."
            + ("" if allowed else "\n\n**Off on this server** (a public Space; its owner can turn it on)."))
        with gr.Row():
            file = gr.File(label="Checkpoint file", file_types=FILE_TYPES, type="filepath", elem_id="gan-import-file",
                           interactive=allowed)
            with gr.Column():
                name = gr.Textbox(label="Name", placeholder="e.g. ffhq-256", elem_id="gan-import-name",
                                  interactive=allowed)
                license = gr.Textbox(label="Licence of the weights (recorded in the card)",
                                     placeholder="e.g. NVIDIA Source Code License-NC", elem_id="gan-import-license",
                                     interactive=allowed)
                button = gr.Button("Import", variant="primary", elem_id="gan-import", interactive=allowed)
        status = gr.Markdown(elem_id="gan-import-status")
        card = gr.Markdown(elem_id="gan-import-card")
    button.click(import_upload, inputs=[file, name, license], outputs=[card, model_box, status],
                 api_name="import_checkpoint", show_progress="minimal", **HEAVY)
