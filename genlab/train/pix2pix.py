"""Training loop for pix2pix translation tasks.

    python -m genlab.train pix2pix --preset mnist-sketch2digit
    python -m genlab.train pix2pix --preset mnist-superres

Pairs are built from the 4,500 training digits (genlab.data.paired_digits); the 500 held-out
digits, with their own fixed inputs, give the card's metrics beside the plain baseline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data import paired_digits
from ..hub import CHECKPOINTS_DIR, load
from ..images import to_pil_grid
from ..metrics import image_quality
from ..models.pix2pix import PatchDiscriminator, UNetGenerator, discriminator_loss, generator_loss
from .report import command_line, machine, plot_losses, write_card

BASELINES = {"sketch2digit": "the sketch itself", "superres": "bicubic upscaling of the 7x7 input"}


@dataclass
class Pix2PixTrainConfig:
    name: str = "mnist-sketch2digit"  # checkpoint name: writes checkpoints/<name>
    task: str = "sketch2digit"  # "sketch2digit" or "superres" (genlab.translation.TASKS)
    steps: int = 3000  # optimizer steps (one D and one G update each)
    batch_size: int = 64  # pairs per step
    lr: float = 2e-4  # Adam, both networks (pix2pix)
    beta1: float = 0.5  # Adam beta1 (pix2pix); beta2 = 0.999
    l1_weight: float = 100.0  # lambda in cGAN + lambda * L1
    channels: int = 32  # generator and discriminator width
    dropout: float = 0.5  # the generator's noise z (kept on when sampling)
    variants: int = 2  # randomised inputs per training digit (sketch jitter)
    seed: int = 0  # fixes init, pairs, order and noise
    out: str = ""  # checkpoint folder; default checkpoints/<name>


PRESETS = {
    "mnist-sketch2digit": Pix2PixTrainConfig(),
    "mnist-superres": Pix2PixTrainConfig(name="mnist-superres", task="superres", variants=1),
    "tiny": Pix2PixTrainConfig(name="tiny-pix2pix", steps=4, batch_size=16, channels=8, variants=1),
}


def train_pix2pix(cfg: Pix2PixTrainConfig, command: str | None = None, evaluate: bool = True) -> Path:
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out) if cfg.out else CHECKPOINTS_DIR / cfg.name
    x_all, y_all, _ = paired_digits(cfg.task, "train", seed=cfg.seed, variants=cfg.variants).tensors
    G = UNetGenerator(channels=cfg.channels, dropout=cfg.dropout, task=cfg.task)
    D = PatchDiscriminator(channels=cfg.channels)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    gen = torch.Generator().manual_seed(cfg.seed)
    history, log_steps, sums = {"D": [], "G adversarial": [], "G L1 x 10": []}, [], torch.zeros(3)
    start = time.perf_counter()
    for step in tqdm(range(cfg.steps), desc=f"train {cfg.name}"):
        idx = torch.randint(0, len(x_all), (cfg.batch_size,), generator=gen)
        x, y = x_all[idx], y_all[idx]  # (B, 1, 28, 28) input, target
        fake = G(x)

        # --- D phase: D(x, y) real, D(x, G(x)) fake ---
        loss_d = discriminator_loss(D(x, y), D(x, fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # --- G phase: fool D and stay close to y in L1 ---
        loss_g, adv, l1 = generator_loss(D(x, fake), fake, y, cfg.l1_weight)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

        sums += torch.stack([loss_d.detach(), adv.detach(), 10 * l1.detach()])
        if (step + 1) % 50 == 0:
            for key, value in zip(history, (sums / 50).tolist()):
                history[key].append(value)
            log_steps.append(step + 1)
            sums.zero_()
    elapsed = time.perf_counter() - start

    G.eval()  # batch norm uses running statistics; dropout (the noise) stays on by design
    out.mkdir(parents=True, exist_ok=True)
    G.save_pretrained(out)
    if log_steps:
        plot_losses(history, log_steps, out / "loss_curve.png", f"{cfg.name} losses")
    xe, ye, le = paired_digits(cfg.task, "eval", seed=1).tensors
    torch.manual_seed(0)
    with torch.no_grad():
        outputs = torch.cat([G(xe[i : i + 250]) for i in range(0, len(xe), 250)])
        idx = torch.arange(0, 500, 50)
        k4 = G(xe[idx].repeat_interleave(4, 0))  # 4 noise samples per input
    show = torch.cat([torch.cat([xe[i : i + 1], k4[4 * j : 4 * j + 4], ye[i : i + 1]]) for j, i in enumerate(idx)])
    to_pil_grid(show, nrow=6).save(out / "samples.png")
    metrics = {}
    if evaluate:
        classifier = load("mnist-classifier", model_type="classifier", device="cpu")
        metrics = {"model": image_quality(outputs, ye, le, classifier), "baseline": image_quality(xe, ye, le, classifier)}
    _write_card(out, cfg, metrics, elapsed, command or command_line())
    print(f"wrote {out} ({elapsed:.0f} s of training): {metrics}")
    return out


def _write_card(out: Path, cfg: Pix2PixTrainConfig, metrics: dict, elapsed: float, command: str) -> None:
    results = "Not evaluated."
    if metrics:
        m, b = metrics["model"], metrics["baseline"]
        rows = [("L1 (intensities in [0, 1])", "l1", "{:.4f}"), ("PSNR (dB)", "psnr", "{:.2f}"),
                ("SSIM", "ssim", "{:.3f}"), ("FID vs targets (own digit features)", "fid", "{:.2f}"),
                ("KID (unit-RMS features)", "kid", "{:.4f}"), ("class accuracy of the outputs", "accuracy", "{:.2%}")]
        table = "\n".join(f"| {label} | {fmt.format(m[k])} | {fmt.format(b[k])} |" for label, k, fmt in rows)
        results = f"""
On the 500 held-out digits (never trained on), inputs built with a fixed seed, one output per
input (dropout noise seed 0). Baseline: {BASELINES[cfg.task]}. Class accuracy by the shipped
`mnist-classifier`: does the translation keep the digit's identity?

| metric | pix2pix | baseline |
|---|---|---|
{table}
"""
    write_card(
        out,
        title=f"genlab {cfg.name}",
        summary=f"pix2pix ({cfg.task}): U-Net G(x, z) with dropout noise kept on at sampling, PatchGAN D(x, y), "
        f"loss = cGAN + {cfg.l1_weight:g} x L1. Load with `genlab.load(...)`.",
        tags=["pix2pix", "image-to-image", "mnist"],
        sections={
            "Training": f"""
- Command: `{command}`
- Data: pairs built from the 4,500 bundled MNIST training digits ({cfg.variants} input variant(s) per digit)
- {cfg.steps} steps x batch {cfg.batch_size}; Adam {cfg.lr} (beta1 {cfg.beta1}); dropout {cfg.dropout}
- Wall time: {elapsed:.0f} s of training on {machine()}
""",
            "Results": results,
            "Samples": "Each row: input, four samples (different dropout noise), target. ![samples](samples.png)"
            + ("\n\n![loss](loss_curve.png)" if (out / "loss_curve.png").exists() else ""),
        },
    )
