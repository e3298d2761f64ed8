"""Repair & augment tab: paint a mask and repair it; generate or transform images to grow a dataset."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from ..tasks.augment import (MAX_GENERATED, classic_augment, generate_labelled, grid_images, markdown_table,
                             write_imagefolder_zip)
from ..errors import GenlabError
from ..hub import shipped_names
from ..tasks.inpainting import MAX_SIDE, check_mask, inpaint_steps, mask_from_editor
from ..zerogpu import gpu, on_zero_gpu
from .common import HEAVY, LIGHT, cached_model, check_int, get_model, model_picker, output_path, register_picker
from .first_visit import EXAMPLES, as_image
from .uploads import upload_editor, upload_image

HERE = Path(__file__).parent
PHOTO_EXAMPLES = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"]  # bundled with scikit-image
RESULTS = HERE / "augment_results.json"  # written by `python -m genlab eval augment --json ...`
EMOJI_RESULTS = HERE / "augment_results_emoji.json"  # ... --gan emoji-cgan --data emoji --json ...
GALLERY_MAX = 200  # generated digits shown in the gallery (the ZIP holds all of them)

METHOD_LABELS = [
    ("Deep image prior (any photo)", "dip"),
    ("VAE latent optimisation (digits, emoji)", "vae"),
    ("GAN latent optimisation (digits, emoji)", "gan"),
    ("Biharmonic (classical) only", "biharmonic"),
]
METHODS = [m for _, m in METHOD_LABELS]


def examples() -> list[str]:
    """Example files: scikit-image's bundled photos (copied to a temp folder: Gradio serves files only
    from the working directory and the temp dir, and site-packages may be neither), two digits and two emoji."""
    from skimage import data

    folder = Path(tempfile.mkdtemp(prefix="genlab-examples-"))
    photos = []
    for name in PHOTO_EXAMPLES:
        src, dst = Path(data.data_dir) / name, folder / name
        if src.exists():
            shutil.copyfile(src, dst)
            photos.append(str(dst))
    return photos + [str(p) for p in sorted((HERE / "examples").glob("repair_digit_*.png"))] + \
        [str(p) for p in sorted((HERE / "examples").glob("repair_emoji_*.png"))]


FIRST_ITERATIONS = 100  # the worked example's latent search: about 3 s on 2 cores, once per start-up


def first_repair() -> tuple[dict, str, str]:
    """The repair the tab opens with: a held-out emoji (or digit, where the emoji VAE is not shipped) with a
    magenta mask painted over its right eye (a digit: its right half), as an editor value for ``repair``, and
    the VAE that fills it. (Of a right half, an eye box and a mouth box, each by the VAE and the GAN at 100 and 300
    iterations, the eye box by the VAE at 100 read most like a smiley, in 2.3 s.)"""
    emoji = "emoji-vae" in shipped_names("vae")
    background = HERE / "examples" / ("repair_emoji_smileys-emotion.png" if emoji else "repair_digit_7.png")
    with Image.open(background) as im:
        w, h = im.size
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    box = (int(0.52 * w), int(0.2 * h), int(0.8 * w), int(0.5 * h)) if emoji else (w // 2, 0, w, h)
    layer.paste((255, 0, 255, 255), box)  # the painted region
    folder = Path(tempfile.mkdtemp(prefix="genlab-first-repair-"))
    layer_path = str(folder / "first_repair_layer.png")
    layer.save(layer_path)
    value = {"background": str(background), "layers": [layer_path], "composite": None}  # the repair reads these two
    return value, ("emoji-vae" if emoji else "mnist-vae"), background.name


def _first_repair_outputs(value: dict, model: str, name: str) -> tuple:
    if on_zero_gpu():
        # On ZeroGPU the main process must never touch CUDA, and an Adam step does (torch asks the accelerator
        # whether a CUDA graph is being captured): the example there is the classical fill, which has no optimiser.
        *_, last = repair.on_cpu(value, "biharmonic", FIRST_ITERATIONS, 0, model)
        how = "by the classical biharmonic fill (the VAE/GAN searches run on the GPU when you press Repair)"
    else:
        *_, last = repair.on_cpu(value, "vae", FIRST_ITERATIONS, 0, model)
        how = (f"by {model}'s latent search (method: VAE latent optimisation, model {model}, {FIRST_ITERATIONS} "
               "iterations; pick those to redo it)")
    overlay, repaired, baseline, candidates, status = last
    note = (f"Worked example, computed at start-up: the magenta region of {name} filled {how}. {status} "
            "Now upload or pick an image, paint the region to repair, and press Repair.")
    return overlay, as_image(repaired), as_image(baseline), candidates, note


def _save_png(img: Image.Image) -> str:
    """Write a full-size result as PNG and return its path. compress_level 1: a 24 MP photo takes 1.1 s
    here instead of 3.95 s at the default level 6 (2-core EPYC)."""
    path = output_path("repaired.png")
    img.save(path, compress_level=1)
    return str(path)


def _overlay(image: np.ndarray, mask: np.ndarray) -> Image.Image:
    """The original, shrunk for display, with the mask tinted magenta."""
    img = Image.fromarray(image)
    m = Image.fromarray(mask.astype(np.uint8) * 255)
    if max(img.size) > 1024:
        img.thumbnail((1024, 1024))
        m = m.resize(img.size, Image.BOX)
    arr = np.asarray(img).astype(np.float32)
    a = (np.asarray(m, dtype=np.float32) / 255 * 0.6)[..., None]
    return Image.fromarray((arr * (1 - a) + np.array([255, 0, 255]) * a).astype(np.uint8))


DEFAULT_LATENT = "default"  # the latent methods' model: mnist-vae for "vae", mnist-cgan for "gan"


def latent_model(method: str, name: str | None):
    """The VAE/GAN a latent repair searches: the shipped digit model, or the named one (same family)."""
    name = (name or "").strip()
    if not name or name == DEFAULT_LATENT:
        name = "mnist-vae" if method == "vae" else "mnist-cgan"
    return get_model(name, method)


@gpu(90)
def repair(editor, method: str = "dip", iterations: int = 300, seed: int = 0, model: str = DEFAULT_LATENT):
    """The /inpaint endpoint: editor value (background + painted layers) + method + iterations + seed, and for
    the latent methods the VAE/GAN to search ("default": the shipped digit models; or a folder/Hub id).

    Streams (original with mask, repaired, classical baseline, candidates, status); the last
    update holds the full-size repaired image.
    """
    if method not in METHODS:
        raise gr.Error(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    iterations = check_int(iterations, "iterations", 10, 3000)
    seed = check_int(seed, "seed", 0, 2**31 - 1)
    try:
        image, mask = mask_from_editor(editor)
        check_mask(mask)
    except GenlabError as e:
        raise gr.Error(str(e)) from None
    overlay = _overlay(image, mask)
    h, w = mask.shape
    try:
        baseline = list(inpaint_steps(image, mask, "biharmonic"))[-1]
        baseline_path = _save_png(baseline.image)
        yield (overlay, None, baseline_path, [],
               f"Classical baseline done in {baseline.seconds:.2f} s; running {method} on {w}x{h} ...")
        if method == "biharmonic":
            yield overlay, baseline_path, baseline_path, [], f"done: biharmonic in {baseline.seconds:.2f} s"
            return
        net = latent_model(method, model) if method in ("vae", "gan") else None
        for step in inpaint_steps(image, mask, method, iterations=iterations, seed=seed, model=net):
            if step.done:
                yield (overlay, _save_png(step.image), baseline_path, step.candidates,
                       f"done: {method}, {step.iterations} iterations in {step.seconds:.1f} s "
                       f"(classical baseline {baseline.seconds:.2f} s). Full size {w}x{h}.")
            else:  # previews change only the repaired image and the status
                status = f"{method} preview (window around the mask) — {step.status}"
                yield gr.skip(), step.preview, gr.skip(), gr.skip(), status
    except GenlabError as e:
        raise gr.Error(str(e)) from None


def _class_names(g) -> list[str]:
    """The augmentation classes of a GAN: its class names, or one "generated" class if it has none."""
    return g.labels if g.num_classes else ["generated"]


@gpu(30)
def generate(classes, per_class: int = 16, seed: int = 0, model: str = "mnist-cgan"):
    """The /augment endpoint: class names + images per class + seed (+ GAN) -> (gallery, ZIP in ImageFolder
    layout, one folder per class name)."""
    g = get_model(model, "gan")
    names = _class_names(g)
    if not classes:
        raise gr.Error("Pick at least one class.")
    if isinstance(classes, str) or not all(isinstance(c, (str, int)) for c in classes):
        raise gr.Error(f"classes must be a list of class names ({', '.join(names[:20])}), got {classes!r}")
    unknown = [c for c in classes if str(c) not in names]
    if unknown:
        raise gr.Error(f"Unknown class(es) {unknown!r} for this model; its classes: {', '.join(names[:20])}")
    picked = sorted({names.index(str(c)) for c in classes})
    per_class = check_int(per_class, "images per class", 1, MAX_GENERATED // len(picked))
    seed = check_int(seed, "seed", 0, 2**31 - 1)
    images, labels = generate_labelled(g, picked, per_class, seed)
    tag = "-".join(names[c] for c in picked) if len(picked) <= 10 else f"{len(picked)}classes"
    tag = re.sub(r"[^A-Za-z0-9._-]+", "_", tag)  # "smileys & emotion" -> "smileys_emotion" in the file name
    name = f"genlab-{tag[:80]}-x{per_class}-seed{seed}.zip"
    path = write_imagefolder_zip(images, labels, output_path(name), class_names=names)
    show = np.linspace(0, len(labels) - 1, min(len(labels), GALLERY_MAX)).round().astype(int)
    return grid_images(images[show], labels[show], names), str(path)


def classes_for(model: str):
    """The class checkboxes for the chosen GAN: all of its classes ticked."""
    g = get_model(model, "gan")
    names = _class_names(g)
    return gr.update(choices=names, value=names)


def classic(image, n: int = 8, seed: int = 0, flip: bool = True):
    """The /augment_classic endpoint: one image -> n torchvision v2 augmentations."""
    if image is None:
        raise gr.Error("Upload an image to augment.")
    n = check_int(n, "copies", 1, 32)
    seed = check_int(seed, "seed", 0, 2**31 - 1)
    try:
        return classic_augment(image, n=n, seed=seed, flip=bool(flip))
    except GenlabError as e:
        raise gr.Error(str(e)) from None


def results_markdown(path: Path = RESULTS) -> str:
    """One measured table of what the generated images are worth (the digits', or the emoji's)."""
    if not path.exists():
        return f"_No measurement shipped yet: run `python -m genlab eval augment --json {path.name}`._"
    data = json.loads(path.read_text())
    if data.get("data", "mnist") == "mnist":
        what, pool, test = "digits", "the 4,500 training digits", "the 500 held-out ones"
    else:
        what, pool, test = "emoji", "the 1,723 training emoji", "the 191 held-out ones"
    command = data.get("command") or "python -m genlab eval augment"
    return (f"**What the generated {what} are worth** (`{command}`): the same small CNN, {data['steps']} steps of "
            f"batch 64 in every run, trained on N real {what} per class from {pool}, tested on {test}. The GAN "
            f"(`{data['gan']}`) was itself trained on all of {pool}, so its samples carry more real data than N; "
            "read the gain as an upper bound.\n\n" + markdown_table(data["summary"]))


def render():
    """Lay out the tab inside the current gr.Blocks and wire its events."""
    with gr.Tabs():
        with gr.Tab("Repair (inpainting)", id="repair"):
            gr.Markdown(
                "Upload an image or pick an example, **paint over the region to repair** with the brush, choose a "
                "method and press Repair. The deep image prior fits a fresh network to this one image (any photo, "
                "no training data); the VAE/GAN methods search a generative model's latent space (the digit or emoji "
                "models, or one you trained: pick it below) for images that match the unpainted pixels. The classical biharmonic fill runs beside it for comparison. Any upload "
                f"size works: the repair runs on a window around the mask (the prior at most {MAX_SIDE['dip']} px, "
                f"the biharmonic fill {MAX_SIDE['biharmonic']} px per side) and is pasted back at full size.")
            with gr.Row():
                with gr.Column(min_width=320):
                    example_files = examples()
                    first_value, first_model, first_name = first_repair()
                    # The editor opens empty: Gradio's editor does not draw a preset image here, and a preset mask
                    # layer trips it when the visitor then uploads ("No draw texture found for layer"). The
                    # worked example's image and mask show in "Original, mask in magenta"; it is an example below.
                    editor = upload_editor(
                        name="Image to repair",
                        image_mode=None, sources=["upload", "clipboard"],
                        transforms=(), layers=False, label="Image: paint the region to repair",
                        brush=gr.Brush(default_size="auto", colors=["#ff00ff"], color_mode="fixed"),
                        height=420, elem_id="rp-editor")
                    gr.Examples([[p] for p in example_files], inputs=editor, label="Examples (photos from scikit-image,"
                                " held-out digits, held-out OpenMoji emoji: CC BY-SA 4.0)")
                    method = gr.Radio(METHOD_LABELS, value="dip", label="Method")
                    latent = register_picker(gr.Dropdown(
                        [DEFAULT_LATENT, *shipped_names("vae"), *shipped_names("gan")], value=DEFAULT_LATENT,
                        allow_custom_value=True, elem_id="rp-model", label="Model for the VAE/GAN methods",
                        info="default: the digit models; emoji-vae / emoji-cgan for an emoji; or a VAE/GAN of the "
                             "method's family (shipped, checkpoint folder or Hub repo id)"),
                        ("vae", "gan"), lambda: [DEFAULT_LATENT, *shipped_names("vae"), *shipped_names("gan")])
                    with gr.Row():
                        iterations = gr.Slider(10, 3000, value=300, step=10, label="Iterations (deep image prior, "
                                               "latent optimisation)")
                        seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                    run = gr.Button("Repair", variant="primary", elem_id="rp-run")
                with gr.Column(min_width=320):
                    status = gr.Textbox(label="Progress", interactive=False, elem_id="rp-status")
                    with gr.Row():
                        original = gr.Image(label="Original, mask in magenta", type="pil", format="png",
                                            interactive=False, height=300, elem_id="rp-original")
                        repaired = gr.Image(label="Repaired (download: full size)", type="filepath", format="png",
                                            interactive=False, buttons=["download"], height=300,
                                            elem_id="rp-repaired")
                    baseline = gr.Image(label="Classical baseline (biharmonic)", type="filepath", format="png",
                                        interactive=False, buttons=["download"], height=300,
                                        elem_id="rp-baseline")
            candidates = gr.Gallery(label="Candidate completions (VAE/GAN methods, best first)", format="png",
                                    columns=6, height=200, object_fit="contain", elem_id="rp-candidates")
            run.click(repair, inputs=[editor, method, iterations, seed, latent],
                      outputs=[original, repaired, baseline, candidates, status], api_name="inpaint",
                      show_progress="minimal", **HEAVY)
            repair_outputs = [original, repaired, baseline, candidates, status]
            repair_example = EXAMPLES.add("repair", lambda: _first_repair_outputs(first_value, first_model, first_name))
        with gr.Tab("Augment", id="augment"):
            gr.Markdown("Grow a small labelled dataset with a conditional GAN (the digits, the emoji groups, or one "
                        "trained on your folder), or see classic torchvision transforms of any image.")
            with gr.Row():
                with gr.Column(min_width=320):
                    gan = model_picker("gan", elem_id="ag-model")
                    first = cached_model(shipped_names("gan")[0], "gan").labels
                    # A multiselect dropdown (not checkboxes): its choices follow the model, and API callers may
                    # name any class of the model they pass.
                    classes = gr.Dropdown(first, value=first, multiselect=True, allow_custom_value=True,
                                          label="Classes", elem_id="ag-classes")
                    with gr.Row():
                        per_class = gr.Slider(1, 500, value=16, step=1, label="Images per class")
                        gen_seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                    gen_btn = gr.Button("Generate", variant="primary", elem_id="ag-run")
                    zip_file = gr.File(label="ZIP in ImageFolder layout (<class>/<class>_00000.png)",
                                       elem_id="ag-zip")
                with gr.Column(min_width=320):
                    gallery = gr.Gallery(label=f"Generated images (up to {GALLERY_MAX} shown; the ZIP has all)",
                                         format="png", columns=6, height=360, elem_id="ag-gallery")
            gen_btn.click(generate, inputs=[classes, per_class, gen_seed, gan], outputs=[gallery, zip_file],
                          api_name="augment", **HEAVY)
            gan.change(classes_for, inputs=gan, outputs=classes, api_visibility="private", **LIGHT)
            gr.Markdown(results_markdown(), elem_id="ag-results")
            gr.Markdown(results_markdown(EMOJI_RESULTS), elem_id="ag-results-emoji")
            gr.Markdown("### Classic augmentation (torchvision v2)\nRandom resized crop, flip, rotation, "
                        "perspective, colour jitter and blur of one uploaded image.")
            with gr.Row():
                with gr.Column(min_width=320):
                    source = upload_image(example_files[0] if example_files else None, name="Image to augment",
                                          label="Image",
                                      sources=["upload", "clipboard"], height=260, elem_id="ag-source")
                    gr.Examples([[p] for p in example_files[:2]], inputs=source, label="Examples")
                    with gr.Row():
                        copies = gr.Slider(1, 32, value=8, step=1, label="Copies")
                        cl_seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                        flip = gr.Checkbox(True, label="Horizontal flips (off for digits and text)")
                    cl_btn = gr.Button("Augment", elem_id="ag-classic-run")
                with gr.Column(min_width=320):
                    cl_gallery = gr.Gallery(label="Augmented copies", format="png", columns=4, height=360,
                                            elem_id="ag-classic-gallery")
            cl_btn.click(classic, inputs=[source, copies, cl_seed, flip], outputs=cl_gallery,
                         api_name="augment_classic", **LIGHT)
    # The worked examples the sub-tabs open with (genlab/ui/first_visit.py): the tab's own defaults, computed once.
    default_gan = shipped_names("gan")[0]
    augment_example = EXAMPLES.add("augment", lambda: generate.on_cpu(first, 16, 0, default_gan)[:1])
    classic_example = EXAMPLES.add("augment_classic", lambda: (classic(example_files[0], 8, 0, True),)) \
        if example_files else None

    def on_load(demo: gr.Blocks) -> None:
        for name, outs in ((repair_example, repair_outputs), (augment_example, [gallery]),
                           (classic_example, [cl_gallery])):
            if name:
                demo.load(lambda name=name, n=len(outs): EXAMPLES.outputs(name, n), outputs=outs,
                          api_visibility="private", show_progress="hidden", queue=False)

    return on_load
