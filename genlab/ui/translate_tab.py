"""Translation tab: draw or upload an image; a pix2pix model translates it (k samples), or a CycleGAN translates
it to its other domain and back (unpaired translation). Translators imported from pytorch-CycleGAN-and-pix2pix
(``genlab import``, or this tab's import) take photos at their own size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gradio as gr

from ..errors import GenlabError
from ..hub import IMPORTED_TRANSLATORS, local_models_allowed, served_config, shipped_names
from ..images import open_header, prepare, to_pil_grid
from ..tasks.sampling import MAX_SEED
from ..tasks.translation import (MAX_SIDE, TASKS, input_for, photo_input, translate, translate_photo,
                                 translate_unpaired)
from ..zerogpu import gpu
from .common import HEAVY, LIGHT, check_int, get_model, register_picker, sketch_to_image
from .first_visit import EXAMPLES
from .gan_import import import_allowed, import_files, imported_names
from .uploads import upload_image

DIGIT_TASKS = [("Sketch -> digit", "sketch2digit"), ("4x super-resolution (7x7 -> 28x28)", "superres")]


def _label(name: str) -> tuple[str, str]:
    """A model box entry: imported translators by their direction ("horse → zebra (horse2zebra)")."""
    c = served_config(name)
    if c.get("model_type") == "zoo-translator":
        return f"{c.get('source', 'A')} → {c.get('target', 'B')} ({name})", name
    if c.get("model_type") == "zoo-cyclegan":
        return f"{c.get('domain_a', 'A')} ↔ {c.get('domain_b', 'B')} ({name})", name
    return name, name


def task_choices() -> list[tuple[str, str]]:
    """The digit tasks by their short names (the /translate API's "task"), then every served pix2pix model and
    imported one-direction translator; a checkpoint folder or Hub repo id can be typed in too."""
    names = [n for n in shipped_names("pix2pix") + imported_names("pix2pix") if n not in TASKS.values()]
    return DIGIT_TASKS + [_label(n) for n in dict.fromkeys(names)]


def cyclegan_choices() -> list[tuple[str, str]]:
    return [_label(n) for n in dict.fromkeys(shipped_names("cyclegan") + imported_names("cyclegan"))]


def _photo_examples() -> list[Path]:
    """scikit-image's bundled colour photos (in its package: no download): inputs for imported photo translators."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return []
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    return [data / n for n in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg") if (data / n).is_file()]


PHOTO_EXAMPLES = _photo_examples()
PHOTO_EXAMPLES_LABEL = ("Photos from scikit-image: astronaut (NASA) and rocket (SpaceX), public domain; cat and coffee, "
                        "CC0. For imported photo translators (horse2zebra, style_monet, ...)")


# Held-out emoji's own outlines (python -m genlab data examples): inputs for emoji-sketch2color
SKETCH_EXAMPLES = sorted((Path(__file__).parent / "examples").glob("sketch_emoji_*.png"))
# Held-out emoji in both designs (OpenMoji = domain A, Noto = domain B of emoji-openmoji2noto)
STYLE_EXAMPLES = [p for k in (0, 2, 3, 4) for p in sorted((Path(__file__).parent / "examples").glob(f"*emoji_{k}_*.png"))
                  if p.name.startswith(("emoji_", "noto_emoji_"))]
DIRECTION_CHOICES = [("A -> B (e.g. OpenMoji -> Noto)", "A->B"), ("B -> A (e.g. Noto -> OpenMoji)", "B->A")]
# The worked examples the tab opens with: a held-out digit through the default task, and a held-out OpenMoji
# emoji through the first CycleGAN (genlab/ui/first_visit.py).
FIRST_DIGIT = Path(__file__).parent / "examples" / "digit_4.png"
FIRST_TASK = "sketch2digit"


def translator(task: str):
    """A task name ("sketch2digit") or any pix2pix model name, folder or Hub repo id -> the model."""
    return get_model(TASKS.get(task, task), "pix2pix")


@gpu(15)
def translate_image(image, task: str = "sketch2digit", k: int = 4, seed: int = 0, variety: bool = False):
    """The /translate endpoint: image + task or model + k + seed (+ variety) -> (model input, outputs side by side).

    genlab's own pix2pix models always sample k outputs (dropout noise). An imported translator takes the photo at
    its own size (long side at most MAX_SIDE) and gives one answer in eval mode, or with variety=True k samples
    as upstream's test.py draws them (dropout on, batch statistics); a model with neither gives one answer."""
    if image is None:
        raise gr.Error("No input: draw on the sketchpad or upload an image.")
    k = check_int(k, "samples", 1, 8)
    seed = check_int(seed, "seed", 0, MAX_SEED)
    if not isinstance(variety, bool):
        raise gr.Error(f"variety must be true or false, got {variety!r}")
    g = translator(task)
    try:
        x = input_for(g, image)
        if getattr(g, "full_size", False):
            outputs = translate_photo(g, x, k=k, seed=seed, variety=variety)
            return to_pil_grid(x), to_pil_grid(outputs, nrow=outputs.shape[0])
        outputs = translate(g, x, k=k, seed=seed)
    except (GenlabError, ValueError) as e:
        raise gr.Error(str(e)) from None
    return to_pil_grid(x, display_size=168), to_pil_grid(outputs, nrow=k, display_size=168 * k)


def translate_note(image, task: str, k: int, variety: bool) -> str:
    """What the outputs are, for an imported translator: direction, working size, eval mode or variety. From the
    loaded model and the decoded input the translation just used (both cached): no file is read again."""
    if image is None:
        return ""
    try:
        g = translator(task)
        if not getattr(g, "full_size", False):
            return ""
        h, w = photo_input(image, g.in_channels).shape[-2:]
        longest = max(open_header(image).size)
    except (gr.Error, GenlabError, OSError, ValueError):
        return ""
    size = f"{w}×{h} px" + (f" (your upload's long side, {longest} px, shrunk to {MAX_SIDE})" if longest > MAX_SIDE
                            else "")
    if variety and g.has_variety:
        mode = f"**variety**: {k} samples, dropout on and batch statistics, as upstream's test.py draws them"
    else:
        mode = "**eval mode**: one answer (running statistics, no dropout)" + (
            "; this model has neither dropout nor batch norm, so variety would repeat it" if variety else "")
    return f"{g.direction_name} at {size}; {mode}."


@gpu(15)
def translate_unpaired_image(image, model: str = "emoji-openmoji2noto", direction: str = "A->B"):
    """The /translate_unpaired endpoint: image + CycleGAN model + direction ("A->B" or "B->A") -> (output,
    cycle reconstruction), each at the model's size shown 4-8x larger."""
    if image is None:
        raise gr.Error("No input: upload, pick or draw an image.")
    m = get_model(model, "cyclegan")
    try:
        if getattr(m, "full_size", False):  # an imported pair: the photo at its own size
            m.generator(direction)  # a bad direction: its ValueError
            out, back = translate_unpaired(m, photo_input(image, m.channels(direction)), direction)
            return to_pil_grid(out), to_pil_grid(back)
        out, back = translate_unpaired(m, prepare(image, m), direction)
    except (GenlabError, ValueError) as e:  # a bad direction, or an image the gate let through but can't fit
        raise gr.Error(str(e)) from None
    return to_pil_grid(out, display_size=256), to_pil_grid(back, display_size=256)


def domains_text(model: str) -> str:
    """Which domain is A and which is B for the picked CycleGAN (or why it does not load)."""
    try:
        m = get_model(model, "cyclegan")
    except gr.Error as e:
        return f"⚠️ {e}"
    colour = "RGB" if m.image_channels == 3 else "grey"
    if getattr(m, "full_size", False):
        return (f"**A** = {m.domains['A']}, **B** = {m.domains['B']}; imported {m.arch} (trained at {m.resolution} "
                f"px), {colour}: translates photos at their own size, long side at most {MAX_SIDE} px")
    return f"**A** = {m.domains['A']}, **B** = {m.domains['B']}; {m.resolution} px, {colour}"


def direction_update(model: str):
    """The direction radio's labels in the picked CycleGAN's own names ("horse → zebra")."""
    try:
        a, b = get_model(model, "cyclegan").domains.values()
    except gr.Error:
        return gr.update(choices=DIRECTION_CHOICES)
    return gr.update(choices=[(f"A → B: {a} → {b}", "A->B"), (f"B → A: {b} → {a}", "B->A")])


def render():
    """Lay out the tab inside the current gr.Blocks and wire its events."""
    gr.Markdown("Draw with the mouse (or upload an image); a conditional GAN (pix2pix) translates it. Each "
                "sample uses different dropout noise, so they show the model's variety. Digit models take a digit "
                "(MNIST-style centring); models trained on a folder pair take the upload cropped to a square and "
                "resized to their size. **emoji-sketch2color**: draw a black outline of an emoji (a face, an animal, a "
                "fruit) and get coloured versions. Translators imported from pytorch-CycleGAN-and-pix2pix "
                "(horse → zebra, photo → Monet, maps, facades; *Import* below) take your photo at its own size, "
                f"long side up to {MAX_SIDE} px.")
    with gr.Row():
        with gr.Column(min_width=300):
            task = register_picker(gr.Dropdown(task_choices(), value="sketch2digit", label="Model",
                                               allow_custom_value=True, info="a shipped or imported translator, or type "
                                               "a pix2pix checkpoint folder / Hub repo id", elem_id="tr-model"),
                                   ("pix2pix",), task_choices)
            sketch = gr.Sketchpad(type="numpy", canvas_size=(280, 280), label="Draw here: pick the brush (left), then draw",
                                  brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                                  elem_id="tr-sketch")
            image = upload_image(str(FIRST_DIGIT) if FIRST_DIGIT.is_file() else None, name="Input image",
                                 label="…or upload (the drawing lands here too)",
                                 sources=["upload", "clipboard"], height=200, elem_id="tr-input")
            if SKETCH_EXAMPLES:
                gr.Examples([[str(p)] for p in SKETCH_EXAMPLES], inputs=image, elem_id="tr-examples",
                            label="Line drawings of held-out emoji (for emoji-sketch2color; OpenMoji, CC BY-SA 4.0)")
            if PHOTO_EXAMPLES:
                gr.Examples([[str(p)] for p in PHOTO_EXAMPLES], inputs=image, elem_id="tr-photo-examples",
                            label=PHOTO_EXAMPLES_LABEL)
            with gr.Row():
                k = gr.Slider(1, 8, value=4, step=1, label="Samples")
                seed = gr.Number(0, label="Noise seed", precision=0, minimum=0)
            variety = gr.Checkbox(False, label="Variety (imported translators): k samples with dropout on and batch "
                                  "statistics, as upstream's test.py draws them; off: one answer in eval mode",
                                  elem_id="tr-variety")
        with gr.Column(min_width=300):
            seen = gr.Image(label="Model input (what the model sees)", type="pil", format="png", interactive=False,
                            height=200, elem_id="tr-seen")
            outputs = gr.Image(label="Outputs", type="pil", format="png", interactive=False, buttons=["download"],
                               elem_id="tr-output")
            note = gr.Markdown(elem_id="tr-note")
    sketch.change(sketch_to_image, inputs=sketch, outputs=image, trigger_mode="always_last", show_progress="hidden",
                  api_visibility="private")
    # A small timer on the outputs: a digit takes milliseconds, a 1024-px photo through an imported ResNet ~11 s on 2 cores
    gr.on([image.change, k.change, seed.change, variety.change], translate_image, inputs=[image, task, k, seed, variety],
          outputs=[seen, outputs], trigger_mode="always_last", show_progress="minimal", show_progress_on=outputs,
          api_name="translate", **LIGHT).then(translate_note, inputs=[image, task, k, variety], outputs=note, api_visibility="private",
                        show_progress="hidden", queue=False)
    # Picking another model re-translates the current input; with no input yet it waits quietly.
    task.change(lambda image, *rest: translate_image(image, *rest) if image is not None else (gr.skip(), gr.skip()),
                inputs=[image, task, k, seed, variety], outputs=[seen, outputs], trigger_mode="always_last",
                show_progress="minimal", show_progress_on=outputs, api_visibility="private", **LIGHT).then(
        translate_note, inputs=[image, task, k, variety], outputs=note, api_visibility="private",
        show_progress="hidden", queue=False)

    example = EXAMPLES.add("translate", lambda: translate_image.on_cpu(str(FIRST_DIGIT), FIRST_TASK, 4, 0))
    on_load_unpaired, cy_model = render_unpaired()
    render_import(task, cy_model)

    def on_load(demo: gr.Blocks) -> None:
        """Show the worked examples, computed once at start-up, on every page load."""
        demo.load(lambda: EXAMPLES.outputs(example, 2), outputs=[seen, outputs], api_visibility="private",
                  show_progress="hidden", queue=False)
        on_load_unpaired(demo)

    return on_load


def render_unpaired():
    """The unpaired (CycleGAN) section: input, model, direction -> output beside its cycle reconstruction."""
    gr.Markdown("### Unpaired translation (CycleGAN)\nA CycleGAN learns from two sets of images with no pairs "
                "(e.g. OpenMoji emoji and Noto emoji of *other* emoji). Upload, pick or draw an image, pick the "
                "direction, and see the translation beside the cycle reconstruction (A -> B -> A): how much of the "
                "input survives the round trip. Any size or mode is cropped to a square and resized to the model's "
                "size; an imported pair (pytorch-CycleGAN-and-pix2pix) takes photos at their own size.")
    with gr.Row():
        with gr.Column(min_width=300):
            models = [n for _, n in cyclegan_choices()]
            where = "a checkpoint folder / Hub repo id" if local_models_allowed() else "a Hub repo id"
            model = register_picker(gr.Dropdown(cyclegan_choices(), value=models[0] if models else None,
                                                label="CycleGAN model", allow_custom_value=True, elem_id="cy-model",
                                                info=f"a shipped or imported CycleGAN, or type {where} and press "
                                                     "Enter"), ("cyclegan",), cyclegan_choices)
            domains = gr.Markdown(domains_text(models[0]) if models else "", elem_id="cy-domains")
            direction = gr.Radio(direction_update(models[0])["choices"] if models else DIRECTION_CHOICES,
                                 value="A->B", label="Direction", elem_id="cy-direction")
            first = STYLE_EXAMPLES[0] if models and STYLE_EXAMPLES else None  # an OpenMoji emoji, domain A
            with gr.Tab("Upload or pick"):
                image = upload_image(str(first) if first else None, name="Input image",
                                     label="Input (upload, paste, or pick an example below)",
                                     sources=["upload", "clipboard"], height=200, elem_id="cy-input")
            with gr.Tab("Draw"):
                sketch = gr.Sketchpad(type="numpy", canvas_size=(256, 256), label="Draw (colours welcome)",
                                      brush=gr.Brush(default_size=10), elem_id="cy-sketch")
            if STYLE_EXAMPLES:
                gr.Examples([[str(p)] for p in STYLE_EXAMPLES], inputs=image, elem_id="cy-examples",
                            label="Held-out emoji in both designs: emoji_* are OpenMoji (A, CC BY-SA 4.0), noto_emoji_* "
                                  "Noto Color Emoji (B, Apache 2.0); never trained on")
            if PHOTO_EXAMPLES:
                gr.Examples([[str(p)] for p in PHOTO_EXAMPLES], inputs=image, elem_id="cy-photo-examples",
                            label=PHOTO_EXAMPLES_LABEL)
        with gr.Column(min_width=300):
            with gr.Row():
                output = gr.Image(label="Translation", type="pil", format="png", interactive=False,
                                  buttons=["download"], height=260, elem_id="cy-output")
                cycle = gr.Image(label="Cycle reconstruction (and back)", type="pil", format="png",
                                 interactive=False, buttons=["download"], height=260, elem_id="cy-cycle")
    sketch.change(sketch_to_image, inputs=sketch, outputs=image, trigger_mode="always_last", show_progress="hidden",
                  api_visibility="private")
    gr.on([image.change, direction.change], translate_unpaired_image, inputs=[image, model, direction],
          outputs=[output, cycle], trigger_mode="always_last", show_progress="minimal", show_progress_on=output,
          api_name="translate_unpaired",
          **LIGHT)
    model.change(lambda m: (domains_text(m), direction_update(m)), inputs=model, outputs=[domains, direction],
                 api_visibility="private", show_progress="hidden")
    model.change(lambda image, *rest: translate_unpaired_image(image, *rest) if image is not None
                 else (gr.skip(), gr.skip()), inputs=[image, model, direction], outputs=[output, cycle],
                 trigger_mode="always_last", show_progress="hidden", api_visibility="private", **LIGHT)
    example = EXAMPLES.add("translate_unpaired", lambda: translate_unpaired_image.on_cpu(str(first), models[0], "A->B")) \
        if first else None

    def on_load(demo: gr.Blocks) -> None:
        if example:
            demo.load(lambda: EXAMPLES.outputs(example, 2), outputs=[output, cycle], api_visibility="private",
                      show_progress="hidden", queue=False)

    return on_load, model


TRANSLATOR_FILES = ("a pytorch-CycleGAN-and-pix2pix generator (latest_net_G.pth, horse2zebra.pth), or a CycleGAN's "
                    "two (latest_net_G_A.pth and latest_net_G_B.pth)")


def import_translator(files, name: str, domains: str = "", license: str = ""):
    """The /import_translator endpoint: one upstream generator file (a one-direction translator) or two (G_A, G_B: a
    CycleGAN pair with its cycle view). Returns (the card, the top model box, the CycleGAN box, a status line)."""
    files = files if isinstance(files, list) else [files] if files else []
    paths = [f if isinstance(f, str) else getattr(f, "name", None) for f in files]
    if len(paths) > 2:
        raise gr.Error(f"Upload one generator file, or a CycleGAN's two (G_A and G_B); got {len(paths)} files.")
    if not isinstance(domains, str) or len(domains) > 200:
        raise gr.Error("Domains: two names separated by a comma, e.g. 'horse, zebra'.")
    sides = [d.strip() for d in domains.split(",")] if domains.strip() else None
    if sides is not None and (len(sides) != 2 or not all(sides)):
        raise gr.Error(f"Domains: two names separated by a comma (what goes in, what comes out), got {domains!r}.")
    result, served, status = import_files(paths, name, license, IMPORTED_TRANSLATORS, TRANSLATOR_FILES,
                                          domains=tuple(sides) if sides else None)
    card = result.card.split("---\n", 2)[-1]
    if served_config(served).get("model_type") == "zoo-cyclegan":
        return card, gr.skip(), gr.update(choices=cyclegan_choices(), value=served), status
    return card, gr.update(choices=task_choices(), value=served), gr.skip(), status


def render_import(task_box, cyclegan_box):
    """The tab's "Import a CycleGAN / pix2pix checkpoint" accordion; a single generator lands in the top model box,
    a pair in the CycleGAN one."""
    allowed = import_allowed()
    with gr.Accordion("Import a CycleGAN / pix2pix checkpoint (pytorch-CycleGAN-and-pix2pix)", open=False,
                      elem_id="tr-import-box"):
        gr.Markdown(
            "Bring a translator from pytorch-CycleGAN-and-pix2pix: one `latest_net_G.pth` (or a zoo file such as "
            "`horse2zebra.pth`, `facades_label2photo.pth`) becomes a one-direction translator in the model box at the "
            "top; a CycleGAN's `latest_net_G_A.pth` and `latest_net_G_B.pth` together become a pair with its cycle "
            "view in the CycleGAN box. genlab reads them with `torch.load(weights_only=True)` (plain tensors, never "
            "code), infers the architecture (resnet_9blocks, resnet_6blocks, unet_256, unet_128, the norm, ngf, "
            "channels) from the weights, and translates as the reference network does. Command line: "
            "`genlab import FILE [FILE_B] --name NAME` (docs/pretrained.md)."
            + ("" if allowed else "\n\n**Off on this server** (a public Space; its owner can turn it on)."))
        with gr.Row():
            files = gr.File(label="Generator file(s)", file_types=[".pth", ".pt", ".bin", ".safetensors"],
                            file_count="multiple",
                            type="filepath", elem_id="tr-import-files", interactive=allowed)
            with gr.Column():
                name = gr.Textbox(label="Name", placeholder="e.g. horse2zebra", elem_id="tr-import-name",
                                  interactive=allowed)
                domains = gr.Textbox(label="Domains: input, output (optional; read from names like horse2zebra)",
                                     placeholder="e.g. horse, zebra", elem_id="tr-import-domains", interactive=allowed)
                license = gr.Textbox(label="Licence of the weights (recorded in the card)", elem_id="tr-import-license",
                                     interactive=allowed)
                button = gr.Button("Import", variant="primary", elem_id="tr-import", interactive=allowed)
        status = gr.Markdown(elem_id="tr-import-status")
        card = gr.Markdown(elem_id="tr-import-card")
    button.click(import_translator, inputs=[files, name, domains, license], outputs=[card, task_box, cyclegan_box, status],
                 api_name="import_translator", show_progress="minimal", **HEAVY).success(
        lambda: None, outputs=files, api_visibility="private", queue=False)  # the next import starts from an empty box
