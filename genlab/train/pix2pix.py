"""Training loop for pix2pix translation: the digit tasks, or any paired folder.

    python -m genlab.train pix2pix --preset mnist-sketch2digit
    python -m genlab.train pix2pix --preset mnist-superres
    python -m genlab.train pix2pix --data my_pairs/ --resolution 64 --channels 3 --in-channels 1 --name my-p2p

Digit tasks build pairs from the 4,500 training digits (genlab.datasets.paired_digits); a
folder gives ``DIR/A/<name>`` -> ``DIR/B/<name>`` pairs. The held-out pairs give the card's
metrics beside the plain baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..evaluation.cards import card_license, data_lines
from ..datasets import PairedSet, paired_digit_set, paired_folder
from ..datasets.emoji import sketch_pairs
from ..evaluation.pix2pix import evaluate_pix2pix
from ..images import to_pil_grid
from ..models.pix2pix import PatchDiscriminator, UNetGenerator, discriminator_loss, generator_loss
from .common import CommonConfig, Run
from .report import write_card

STYLE_PAIRS = ("openmoji2noto", "noto2openmoji")  # --data values: the emoji drawn in one design -> the other
BASELINES = {"sketch2digit": "the sketch itself", "superres": "bicubic upscaling of the 7x7 input",
             "": "the input itself", "emoji": "the line drawing itself (black lines on white, as an RGB image)"}


@dataclass
class Pix2PixTrainConfig(CommonConfig):
    name: str = "mnist-sketch2digit"  # checkpoint name: writes checkpoints/<name>
    task: str = "sketch2digit"  # with --data mnist: "sketch2digit" or "superres"; ignored otherwise (--data emoji: sketch -> colour)
    in_channels: int = 0  # input channels of a paired folder's A side (0: same as --channels)
    steps: int = 3000  # optimizer steps (one D and one G update each)
    batch_size: int = 64  # pairs per step
    lr: float = 2e-4  # Adam, both networks (pix2pix)
    beta1: float = 0.5  # Adam beta1 (pix2pix); beta2 = 0.999
    l1_weight: float = 100.0  # lambda in cGAN + lambda * L1
    g_channels: int = 32  # generator and discriminator width
    dropout: float = 0.5  # the generator's noise z (kept on when sampling)
    spectral_norm: bool = False  # spectral normalisation on the discriminator's convs (batch norm off there)
    variants: int = 2  # digit tasks and --data emoji: randomised inputs per training image (sketch jitter)
    feature_net: str = ""  # classifier for FID/KID and accuracy of the outputs (digits: mnist-classifier)
    mixed_precision: str = "no"  # float32 by default (bf16 is offered)


PRESETS = {
    "mnist-sketch2digit": Pix2PixTrainConfig(),
    "mnist-superres": Pix2PixTrainConfig(name="mnist-superres", task="superres", variants=1),
    # Black line drawing -> coloured emoji: each OpenMoji emoji's own outline, jittered like mouse strokes
    "emoji-sketch2color": Pix2PixTrainConfig(name="emoji-sketch2color", data="emoji", resolution=64, channels=3,
                                             steps=4000, batch_size=32, variants=4, sample_every=500,
                                             feature_net="emoji-classifier"),
    # The supervised upper bound beside emoji-openmoji2noto (CycleGAN): the same emoji paired in both designs
    "emoji-openmoji2noto-pix2pix": Pix2PixTrainConfig(name="emoji-openmoji2noto-pix2pix", data="openmoji2noto",
                                                      resolution=32, channels=3, in_channels=3, steps=12000,
                                                      batch_size=16, variants=1, sample_every=500,
                                                      feature_net="emoji-classifier"),
    "emoji-noto2openmoji-pix2pix": Pix2PixTrainConfig(name="emoji-noto2openmoji-pix2pix", data="noto2openmoji",
                                                      resolution=32, channels=3, in_channels=3, steps=12000,
                                                      batch_size=16, variants=1, sample_every=500,
                                                      feature_net="emoji-classifier"),
    "tiny": Pix2PixTrainConfig(name="tiny-pix2pix", steps=4, batch_size=16, g_channels=8, variants=1),
}


def train_pix2pix(cfg: Pix2PixTrainConfig, command: str | None = None, evaluate: bool = True):
    run = Run(cfg, "pix2pix", command)
    digits = cfg.data == "mnist"
    in_channels = cfg.in_channels or cfg.channels
    if digits:
        train, held_out = paired_digit_set(cfg.task, "train", cfg.seed, cfg.variants), paired_digit_set(cfg.task,
                                                                                                         "eval", 1)
    elif cfg.data in STYLE_PAIRS:  # one emoji design -> the other, on the pairs: CycleGAN's supervised upper bound
        from ..datasets.emoji_styles import style_sets

        s = style_sets(cfg.resolution)
        train, held_out = s.pairs, s.held_out
        if cfg.data == "noto2openmoji":
            train, held_out = PairedSet(train.b, train.a), PairedSet(held_out.b, held_out.a)
        in_channels = 3
    elif cfg.data == "emoji":  # sketch -> colour: each emoji's own outline, jittered like mouse strokes
        train, held_out = sketch_pairs(cfg.resolution, cfg.variants, cfg.seed)
        in_channels = 1
    else:
        train, held_out = paired_folder(cfg.data, cfg.resolution, cfg.channels, in_channels, cfg.fit,
                                        cfg.eval_fraction, cfg.memory_budget_mb)
    run.describe_data(train, held_out)
    torch.manual_seed(cfg.seed)
    shape = {"resolution": cfg.resolution, "in_channels": in_channels, "image_channels": cfg.channels}
    G = UNetGenerator(channels=cfg.g_channels, dropout=cfg.dropout, task=cfg.task if digits else "",
                      preprocess=run.preprocess, **shape)
    D = PatchDiscriminator(channels=cfg.g_channels, spectral_norm=cfg.spectral_norm, **shape)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    G, D, opt_g, opt_d = run.accelerator.prepare(G, D, opt_g, opt_d)
    order = run.order()
    objects = {"G": run.accelerator.unwrap_model(G), "D": run.accelerator.unwrap_model(D), "opt_g": opt_g,
               "opt_d": opt_d, "order": order}
    step = run.resume(objects)
    xe, ye, _ = held_out.tensors(500)
    idx = torch.linspace(0, len(xe) - 1, min(10, len(xe))).long()
    show_x, show_y = xe[idx].to(run.device), ye[idx].to(run.device)

    def samples(g) -> torch.Tensor:
        """Each row: input (as the output's channels), four samples (different noise), target."""
        with torch.no_grad():
            k4 = g(show_x.repeat_interleave(4, 0)).view(len(idx), 4, *show_y.shape[1:])
        x = show_x if show_x.size(1) == show_y.size(1) else show_x.expand(-1, show_y.size(1), -1, -1)
        return torch.cat([x[:, None], k4, show_y[:, None]], 1).flatten(0, 1)

    def preview(path):
        objects["G"].eval()
        to_pil_grid(samples(objects["G"]), nrow=6).save(path)
        objects["G"].train()

    batches = run.counted(train.batches(cfg.batch_size, order, run.device, cfg.workers))
    run.start(step)
    while step < cfg.steps:
        x, y = next(batches)  # (B, C_in, R, R) input, (B, C, R, R) target
        fake = G(x)

        # --- D phase: D(x, y) real, D(x, G(x)) fake ---
        loss_d = discriminator_loss(D(x, y), D(x, fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        run.accelerator.backward(loss_d)
        opt_d.step()

        # --- G phase: fool D and stay close to y in L1 ---
        loss_g, adv, l1 = generator_loss(D(x, fake), fake, y, cfg.l1_weight)
        opt_g.zero_grad(set_to_none=True)
        run.accelerator.backward(loss_g)
        opt_g.step()

        step += 1
        run.log(step, **{"D": loss_d, "G adversarial": adv, "G L1 x 10": 10 * l1})
        if run.should_stop(step, objects, preview):  # --minutes, or the job's Stop: saved, released
            break
        if run.due(step):
            run.save(objects, step, preview)
    meta = run.finish(step)
    if not run.accelerator.is_main_process:
        return run.out

    G = objects["G"].float().cpu().eval()  # batch norm uses running statistics; dropout (the noise) stays on
    G.save_pretrained(run.out)
    show_x, show_y = show_x.cpu(), show_y.cpu()
    torch.manual_seed(0)
    to_pil_grid(samples(G), nrow=6).save(run.out / "samples.png")
    metrics = {}
    if evaluate:
        feature_net = cfg.feature_net or ("mnist-classifier" if digits else "")
        metrics = evaluate_pix2pix(str(run.out), "" if digits else cfg.data, feature_net)
    _write_card(run.out, cfg, metrics, meta)
    run.print(f"wrote {run.out} ({run.elapsed:.0f} s of training): {metrics}")
    return run.out


def _write_card(out, cfg: Pix2PixTrainConfig, metrics: dict, meta: dict) -> None:
    digits = cfg.data == "mnist"
    task = cfg.task if digits else ""
    results = "Not evaluated."
    if metrics:
        m, b = metrics["model"], metrics["baseline"]
        rows = [("L1 (intensities in [0, 1])", "l1", "{:.4f}"), ("PSNR (dB)", "psnr", "{:.2f}"),
                ("SSIM", "ssim", "{:.3f}"), (f"FID vs targets (features of `{metrics['feature_net']}`)", "fid", "{:.2f}"),
                ("KID (unit-RMS features)", "kid", "{:.4f}"), ("class accuracy of the outputs", "accuracy", "{:.2%}")]
        table = "\n".join(f"| {label} | {fmt.format(m[k])} | {fmt.format(b[k])} |" for label, k, fmt in rows if k in m)
        accuracy = (" Class accuracy by the feature net: does the translation keep the class?"
                    if "accuracy" in m else "")
        results = f"""
On the {metrics['held_out']} held-out {'digits' if digits else 'pairs'} (never trained on), one output per input
(dropout noise seed 0). Baseline: {BASELINES["emoji" if cfg.data == "emoji" else task]}.{accuracy} Reproduce with
`python -m genlab eval pix2pix {cfg.name if digits or cfg.data == 'emoji' else out}{'' if digits else f' --data {cfg.data}'}{f" --feature-net {metrics['feature_net']}" if metrics['feature_net'] and not digits else ''}`.

| metric | pix2pix | baseline |
|---|---|---|
{table}
"""
    data = (f"- Data: pairs built from the 4,500 bundled MNIST training digits ({cfg.variants} input variant(s) "
            "per digit)" if digits else data_lines(meta))
    write_card(
        out,
        license=card_license(meta),
        title=f"genlab {cfg.name}",
        summary=f"pix2pix ({task or ('black line drawing -> coloured emoji' if cfg.data == 'emoji' else 'A -> B')}, {cfg.resolution} px): U-Net G(x, z) with dropout noise kept on at "
        f"sampling, PatchGAN D(x, y), loss = cGAN + {cfg.l1_weight:g} x L1. Load with `genlab.load(...)`.",
        tags=["pix2pix", "image-to-image"] + (["mnist"] if digits else []),
        sections={
            "Training": f"""
- Command: `{meta["command"]}`
{data}
- {cfg.steps} steps x batch {cfg.batch_size}; Adam {cfg.lr} (beta1 {cfg.beta1}); dropout {cfg.dropout}
- Wall time: {meta["elapsed_s"]:.0f} s of training on {meta["machine"]}
""",
            "Results": results,
            "Samples": "Each row: input, four samples (different dropout noise), target. ![samples](samples.png)"
            + ("\n\n![loss](loss_curve.png)" if (out / "loss_curve.png").exists() else ""),
        },
    )
