"""Train tab: drop a ZIP of images (or pick a built-in set), watch a model learn it, use it in every tab.

Layout and wiring only: the jobs are ``genlab.tasks.training`` (the CLI's own loop, run in the background).
A visitor's job ids live in the page's browser storage (``gr.BrowserState``), so reopening the page
shows the job again; on a public Space they are the only way to see, load or stop a job. The page polls
the job once a second (``gr.Timer``, active only while a job runs) and redraws only what changed.
"""

from __future__ import annotations

import shutil
import zipfile

import gradio as gr

from ..errors import GenlabError
from ..tasks.training import FAMILIES, RESOLUTIONS, JobQueue, JobSpec, caps, describe, job_threads, on_space
from ..tasks.training import training_enabled
from ..hub import shipped_names
from .common import output_path, register_picker
from .job_view import loss_frame, progress_html, shown_grid

SOURCES = [("my images (upload a ZIP)", "upload"), ("emoji (built in, 9 groups)", "emoji"),
           ("digits (built in, MNIST)", "digits")]
FAMILY_CHOICES = [("GAN (sample, steer)", "gan"), ("VAE (interpolate)", "vae"), ("classifier (feature net)", "classifier"),
                  ("pix2pix (paired A/ -> B/)", "pix2pix"), ("CycleGAN (two unpaired sets)", "cyclegan")]
POLL = dict(concurrency_id="train-poll", concurrency_limit=8, show_progress="hidden")
SETUP = dict(concurrency_id="train-setup", concurrency_limit=1)

_QUEUE: JobQueue | None = None


def jobs() -> JobQueue:
    """The server's one job queue (made on first use)."""
    global _QUEUE
    if _QUEUE is None:
        _QUEUE = JobQueue()
    return _QUEUE


def _fail(e: Exception):
    raise gr.Error(str(e)) from None


def _path(f) -> str | None:
    if f is None:
        return None
    return f if isinstance(f, str) else getattr(f, "name", None) or (f.get("path") if isinstance(f, dict) else None)


def _spec(source, family, resolution, channels, fit, minutes=5, steps=2000, batch=32, sample_every=100, name="",
          feature_net="") -> JobSpec:
    return JobSpec(family=family, data=source, resolution=resolution, channels=channels, fit=fit, minutes=minutes,
                   steps=steps, batch_size=batch, sample_every=sample_every, name=name or "",
                   feature_net=feature_net or "")


def _zips(source, zip_a, zip_b, family) -> list[str]:
    if source != "upload":
        return []
    return [p for p in ([_path(zip_a), _path(zip_b)] if family == "cyclegan" else [_path(zip_a)]) if p]


def check_data(source, zip_a, zip_b, family, resolution, channels, fit, batch):
    """What the model will see: counts per class, skipped files with reasons, and the images as prepared."""
    try:
        cap = caps().max_minutes
        budget = min(5, cap) if cap else 5  # any budget the server takes: the budget is not what is checked here
        job = jobs().prepare(_spec(source, family, resolution, channels, fit, minutes=budget, batch=batch),
                             _zips(source, zip_a, zip_b, family))
    except GenlabError as e:
        _fail(e)
    try:
        text, grid = describe(job)
    except GenlabError as e:
        _fail(e)
    finally:
        shutil.rmtree(job.folder, ignore_errors=True)
    return text, grid


def start_job(source, zip_a, zip_b, family, resolution, channels, fit, minutes, steps, batch, sample_every, name,
              feature_net=""):
    """Check the data, then queue the job; returns its id (keep it: it is the only handle on a public Space)."""
    queue = jobs()
    try:
        job = queue.prepare(_spec(source, family, resolution, channels, fit, minutes, steps, batch, sample_every, name,
                                  feature_net),
                            _zips(source, zip_a, zip_b, family))
    except GenlabError as e:
        _fail(e)
    try:
        text, grid = describe(job)  # a set that cannot train is refused here, with the fix, before it queues
        queue.enqueue(job)
    except GenlabError as e:
        shutil.rmtree(job.folder, ignore_errors=True)
        _fail(e)
    return job.id, text, grid, gr.Timer(active=True), {}


def remember(job_id, known):
    known = [k for k in (known or []) if isinstance(k, str)][-19:]
    return known + [job_id] if job_id and job_id not in known else known


def _visible_jobs(known) -> list[str]:
    """The jobs this page may see: the ids it holds; locally (one user), every job on the server."""
    queue = jobs()
    with queue.lock:
        ids = list(queue.jobs)
    if on_space():
        held = set(known or [])
        return [i for i in ids if i in held]
    return ids


def trained_choices(known) -> dict[str, list[tuple[str, str]]]:
    """This page's released models per family, as (label, model id) dropdown choices."""
    out: dict[str, list[tuple[str, str]]] = {}
    queue = jobs()
    for i in _visible_jobs(known):
        try:
            s = queue.status(i)
        except GenlabError:
            continue
        if s["model"]:
            out.setdefault(s["model_family"], []).append((s["name"] + (" (trained here)" if on_space() else ""),
                                                         s["model"]))
    return out


def picker_updates(pickers, known) -> list:
    """Every tab's model box: its own choices, then this page's trained models of its families."""
    trained = trained_choices(known)
    updates = []
    for _, families, base in pickers:
        choices = [c if isinstance(c, tuple) else (c, c) for c in base()]
        have = {v for _, v in choices}
        choices += [c for f in families for c in trained.get(f, []) if c[1] not in have]
        updates.append(gr.Dropdown(choices=choices))
    return updates


def status_of(job_id: str) -> dict:
    """/train_status: a job's state, progress, losses and (once released) the model id to load in every tab."""
    try:
        return jobs().status(job_id, public=True)
    except GenlabError as e:
        _fail(e)


def list_jobs(job_ids: list[str]) -> list[dict]:
    """/train_jobs: the caller's jobs (on a Space only the ids given; locally all), newest last."""
    known = job_ids if isinstance(job_ids, list) else [job_ids] if job_ids else []
    if len(known) > 1000 or not all(isinstance(k, str) for k in known):
        raise gr.Error("job_ids must be a list of job ids (strings, as /train_start returned them), at most 1,000.")
    out = []
    for i in _visible_jobs(known):
        try:
            s = jobs().status(i, public=True)
        except GenlabError:
            continue
        out.append({k: s[k] for k in ("id", "name", "family", "state", "step", "steps", "model", "message")})
    return out


def stop_job(job_id):
    try:
        return progress_html(jobs().status(jobs().stop(job_id).id))
    except GenlabError as e:
        _fail(e)


def resume_job(job_id, steps, minutes):
    try:
        job = jobs().resume(job_id, more_steps=int(steps or 0), more_minutes=float(minutes or 0))
    except (GenlabError, TypeError, ValueError) as e:
        _fail(e)
    return progress_html(jobs().status(job.id)), gr.Timer(active=True)


def delete_job(job_id, browser_job_ids):
    """/train_delete: stop and remove a job; ``browser_job_ids``: the job ids this browser holds (the page's
    storage; API callers may pass [] or their own list), returned without this one."""
    try:
        jobs().delete(job_id)
    except GenlabError as e:
        _fail(e)
    known = [k for k in (browser_job_ids or []) if k != job_id]
    return ["", known, progress_html(None), None, gr.DownloadButton(visible=False), ""] + [gr.skip()] * len(FAMILIES)


def download_zip(job_id) -> str:
    """The job's checkpoint folder (config.json, model.safetensors, card, samples) as one ZIP."""
    s = status_of(job_id)
    if not s["model"]:
        raise gr.Error("the job has not released a model yet")
    folder = jobs().get(job_id).out
    path = output_path(f"{s['name']}.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f"{s['name']}/{f.relative_to(folder)}")
    return str(path)


def render():
    """Lay out the tab; returns ``wire(demo, pickers)``, which connects it to the other tabs' model boxes."""
    if not training_enabled():
        gr.Markdown("Training is off on this server. On a Hugging Face Space its owner turns it on with the "
                    "variable `GENLAB_TRAIN=1`; on your own machine it is on: `pip install genlab && genlab`, or "
                    "the command line (`python -m genlab.train gan --data my_images/`).", elem_id="tn-off")
        return lambda demo, pickers: None
    limits = caps()
    bounds = (f"This server's caps: {limits.max_minutes:g} minutes per job, {limits.max_images:,} images, "
              f"{limits.max_resolution} px, {limits.max_upload_mb:g} MB per ZIP." if on_space() else
              f"Jobs run one at a time in the background at {job_threads()} torch thread(s), so the other tabs stay "
              "responsive; closing the page does not stop a job. Models are saved under `checkpoints/` by their name.")
    gr.Markdown("Train a model on your own images and watch it learn. A ZIP of **class subfolders** "
                "(`cats/1.png`, `dogs/7.jpg`) trains a class-conditional model; a **flat** ZIP an unconditional one; "
                "pix2pix wants `A/` (inputs) and `B/` (targets) with the same file names. 30 images is enough to "
                f"start. {bounds}")
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            source = gr.Radio(SOURCES, value="upload", label="Data", elem_id="tn-source")
            zip_a = gr.File(label="Images (ZIP)", file_types=[".zip"], type="filepath", elem_id="tn-zip")
            zip_b = gr.File(label="Domain B (ZIP): the CycleGAN's second set", file_types=[".zip"], type="filepath",
                            visible=False, elem_id="tn-zip-b")
            family = gr.Dropdown(FAMILY_CHOICES, value="gan", label="Model family", elem_id="tn-family")
            with gr.Row():
                resolution = gr.Dropdown([r for r in RESOLUTIONS if r <= limits.max_resolution], value=32,
                                         label="Resolution (px)", elem_id="tn-resolution")
                channels = gr.Radio([("colour", 3), ("grey", 1)], value=3, label="Channels", elem_id="tn-channels")
                fit = gr.Radio([("crop", "crop"), ("pad", "pad")], value="crop", label="Non-square images",
                               elem_id="tn-fit")
            with gr.Row():
                minutes = gr.Number(5 if not limits.max_minutes else min(5, limits.max_minutes),
                                    label="Budget (minutes; 0: until the steps)", elem_id="tn-minutes")
                steps = gr.Number(2000, label="Steps (at most)", precision=0, elem_id="tn-steps")
            with gr.Row():
                batch = gr.Number(32, label="Batch size", precision=0, elem_id="tn-batch")
                sample_every = gr.Number(100, label="Sample grid every N steps", precision=0, elem_id="tn-every")
            name = gr.Textbox(label="Model name (optional)", placeholder="e.g. my-cells-gan", elem_id="tn-name")
            feature_net = register_picker(gr.Dropdown(
                ["none", *shipped_names("classifier")], value="none", elem_id="tn-feature-net",
                label="Feature net for held-out FID / class accuracy (GAN, VAE)",
                info="the built-in sets use their own; for your images, train a classifier job on them first: it "
                     "is listed here when it is done"), ("classifier",), lambda: ["none", *shipped_names("classifier")])
            with gr.Row():
                check = gr.Button("Check data", elem_id="tn-check")
                start = gr.Button("Train", variant="primary", elem_id="tn-start")
            summary = gr.Markdown(elem_id="tn-summary")
            seen = gr.Image(label="What the model will see", type="pil", format="png", interactive=False,
                            elem_id="tn-seen", buttons=["fullscreen"])
        with gr.Column(scale=1, min_width=320):
            progress = gr.HTML(progress_html(None), elem_id="tn-progress-box")
            grid = gr.Image(label="Samples (the same latents each time)", type="pil", format="png",
                            interactive=False, elem_id="tn-grid", buttons=["download", "fullscreen"])
            # One loss plot per family: Gradio's plot fixes its colour legend to the series of the first data it is
            # given (a VAE's "train loss" after a GAN's D and G drew no line), and each family logs fixed names.
            with gr.Column(elem_id="tn-plot"):
                plots = {f: gr.LinePlot(None, x="step", y="loss", color="series", title=f"Loss ({f})", height=260,
                                        visible=f == "gan", elem_id=f"tn-plot-{f}") for f in FAMILIES}
            with gr.Row():
                stop = gr.Button("Stop (saves, releases the model)", elem_id="tn-stop")
                resume = gr.Button("Continue", elem_id="tn-resume")
                delete = gr.Button("Delete job", variant="stop", elem_id="tn-delete")
            download = gr.DownloadButton("Download the checkpoint (ZIP)", visible=False, elem_id="tn-download")
            with gr.Accordion("Model card", open=False):
                card = gr.Markdown(elem_id="tn-card")
    job_id = gr.Textbox(visible="hidden", label="Job id", elem_id="tn-job")
    known = gr.BrowserState([], storage_key="genlab-train-jobs")
    shown = gr.State({})  # what the page already shows: state, samples, loss points (redraw only what changed)
    timer = gr.Timer(1.0, active=False)

    source.change(lambda s, f: gr.File(visible=s == "upload" and f == "cyclegan"), [source, family], zip_b,
                  api_visibility="private")
    family.change(lambda s, f: gr.File(visible=s == "upload" and f == "cyclegan"), [source, family], zip_b,
                  api_visibility="private")
    check.click(check_data, [source, zip_a, zip_b, family, resolution, channels, fit, batch], [summary, seen],
                api_name="train_check", **SETUP)
    started = start.click(start_job, [source, zip_a, zip_b, family, resolution, channels, fit, minutes, steps, batch,
                                      sample_every, name, feature_net], [job_id, summary, seen, timer, shown],
                          api_name="train_start",
                          **SETUP)
    started.success(remember, [job_id, known], known, api_visibility="private")
    # a second path to the poll: whatever sets the shown job (start, page load) also switches the timer on
    job_id.change(lambda j: gr.Timer(active=bool(j)), job_id, timer, api_visibility="private", **POLL)
    stop.click(stop_job, job_id, progress, api_name="train_stop")
    resume.click(resume_job, [job_id, steps, minutes], [progress, timer], api_name="train_resume")
    gr.api(status_of, api_name="train_status")
    gr.api(list_jobs, api_name="train_jobs")

    def wire(demo: gr.Blocks, pickers: list):
        """Connect the job's progress to the page, and its model to every tab's model box (``pickers``: the
        (dropdown, families, base choices) of ``common.PICKERS``)."""
        boxes = [c for c, _, _ in pickers]
        keep = [gr.skip()] * len(boxes)

        plot_list = [plots[f] for f in FAMILIES]
        no_plot = [gr.skip()] * len(plot_list)

        def plot_updates(s: dict, before: dict, points_changed: bool) -> list:
            """The job's family's plot gets the losses (and is shown); the other families' plots are hidden."""
            family_changed = s["family"] != before.get("family")
            has_points = any(s["losses"].values())  # never an empty frame: the legend would lock to no series
            if not ((points_changed and has_points) or family_changed):
                return no_plot
            out = []
            for f in FAMILIES:
                if f == s["family"]:
                    value = {"value": loss_frame(s)} if has_points else {}
                    out.append(gr.LinePlot(visible=True, **value) if family_changed else loss_frame(s))
                else:
                    out.append(gr.LinePlot(visible=False) if family_changed else gr.skip())
            return out

        def poll(jid, before, ids):
            before = before or {}
            if not jid:
                return [gr.skip()] * 5 + [gr.Timer(active=False)] + no_plot + keep
            try:
                s = jobs().status(jid)
            except GenlabError:
                return [progress_html(None), None, gr.DownloadButton(visible=False), "", {},
                        gr.Timer(active=False)] + no_plot + keep
            ended = s["state"] in ("finished", "stopped", "failed")
            marks = {"state": s["state"], "samples": s["samples"], "points": sum(len(v) for v in s["losses"].values()),
                     "step": s["step"], "message": s["message"], "position": s["position"], "family": s["family"],
                     "release": f"{s['model']}@{s['step']}" if s["model"] and s["state"] in ("finished", "stopped")
                     else ""}
            html = progress_html(s) if marks != before else gr.skip()
            image = shown_grid(s["sample"]) if marks["samples"] != before.get("samples") else gr.skip()
            curves = plot_updates(s, before, marks["points"] != before.get("points"))
            timer_update = gr.Timer(active=not ended)
            if marks["release"] and marks["release"] != before.get("release"):  # a (re)released model
                readme = jobs().get(jid).out / "README.md"
                return [html, image, gr.DownloadButton(visible=True, value=download_zip(jid)),
                        readme.read_text() if readme.is_file() else "", marks, timer_update] + curves + \
                    picker_updates(pickers, ids)
            dl = gr.DownloadButton(visible=False) if not marks["release"] and before.get("release") else gr.skip()
            return [html, image, dl, gr.skip(), marks, timer_update] + curves + keep

        timer.tick(poll, [job_id, shown, known], [progress, grid, download, card, shown, timer, *plot_list, *boxes],
                   api_visibility="private", **POLL)
        delete.click(delete_job, [job_id, known], [job_id, known, progress, grid, download, card, *plot_list],
                     api_name="train_delete").then(lambda ids: picker_updates(pickers, ids), known, boxes,
                                                   api_visibility="private")

        def restore(ids):
            """Page (re)opened: show this visitor's newest job, and list its models in every tab."""
            visible = _visible_jobs(ids)
            own = [i for i in (ids or []) if i in visible]  # this browser's newest job first; locally, else any
            jid = own[-1] if own else visible[-1] if visible else ""
            return [jid, {}, gr.Timer(active=bool(jid))] + picker_updates(pickers, ids)

        demo.load(restore, known, [job_id, shown, timer, *boxes], api_visibility="private", **POLL)

    return wire

