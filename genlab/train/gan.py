"""Training loop for the class-conditional GAN (plain, top to bottom, on HF Accelerate).

    python -m genlab.train gan --preset mnist-cgan                       # the shipped digits model
    python -m genlab.train gan --data my_photos/ --resolution 64 --channels 3 --name my-gan

One CPU process here; ``accelerate launch -m genlab.train gan ...`` gives multi-GPU and
mixed precision where there are GPUs. Writes the run folder (samples, loss curve,
resumable training state) and, at the end, the checkpoint folder with its model card.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..evaluation.cards import write_gan_card
from ..evaluation.cards import set_no_class_mode
from ..evaluation.gan import evaluate_gan
from ..datasets.base import random_hflip
from ..images import to_pil_grid
from ..models.base import octaves
from ..models.gan import ARCHS, D_ARCHS, LOSSES, UPSAMPLES, Discriminator, Generator, diff_augment, lecam_loss, r1_penalty
from .common import CommonConfig, Run, resolve_precision  # noqa: F401 (resolve_precision: benchmarks)


@dataclass
class GANTrainConfig(CommonConfig):
    name: str = "mnist-cgan"  # checkpoint name: writes checkpoints/<name> and runs/<name>
    steps: int = 12000  # optimizer steps (each one D and one G update)
    batch_size: int = 64  # per process
    lr: float = 2e-4  # Adam, both networks (DCGAN)
    beta1: float = 0.5  # Adam beta1 (DCGAN); beta2 = 0.999
    diffaugment: str = "color,translation,cutout"  # DiffAugment policy; "" turns it off
    label_dropout: float = 0.1  # share of labels replaced by the "any class" token
    ema: float = 0.999  # decay of the generator's weight average; released weights are the EMA (0: off)
    ema_kimg: float = 0.0  # EMA half-life in thousands of images (StyleGAN2-ADA: 10), ramped up over the first 5 % of images seen; 0: use --ema per step
    spectral_norm: bool = False  # spectral normalisation on every discriminator layer
    lecam: float = 0.0  # weight of the LeCam regulariser on D (Tseng et al. 2021: 0.3; 0: off)
    lecam_decay: float = 0.99  # decay of the running means of D's real/fake logits that LeCam anchors to
    r1_gamma: float = 0.0  # R1 penalty weight gamma (StyleGAN2-ADA heuristic: 0.0002 * res^2 / batch; 0: off)
    r1_every: int = 16  # lazy R1: penalise every this many steps, scaled by it
    upsample: str = "transposed"  # generator upsampling: "transposed" (DCGAN) or "nearest" (+ 3x3 conv)
    g_arch: str = "dcgan"  # generator: "dcgan" (a conv per octave, class at the input), "dcgan-cbn" (the same, class-conditional
    # batch norm after every conv) or "resnet" (residual blocks, conditional batch norm)
    d_arch: str = "dcgan"  # discriminator: "dcgan" (a strided conv per octave) or "resnet" (residual blocks of two 3x3 convs)
    loss: str = "nonsaturating"  # "nonsaturating" (softplus, DCGAN) or "hinge" (SNGAN/BigGAN)
    hflip: bool = False  # mirror a random half of each real batch left-right (twice the images; off where mirrored images are wrong, e.g. text)
    mode_seeking: float = 0.0  # weight of the mode-seeking term (Mao et al. 2019; 1): pairs of one class drawn apart (0: off)
    minibatch_std: int = 0  # D sees the feature spread of each group of this many images (ProGAN; 4; 0: off): against one picture per class
    latent_dim: int = 64  # generator z size
    g_channels: int = 0  # generator width at the base map; 0: 128 at 28 px, else 32 * 2^octaves (at most 512)
    d_channels: int = 64  # discriminator width after the first conv
    eval_samples: int = 5000  # conditional samples for accuracy/FID/KID (0 skips eval)
    preview_eval: int = 0  # with a feature net: FID (vs held-out images; vs training images under 50 held out) and class accuracy of this many samples at every sample grid (0: off)
    feature_net: str = ""  # classifier for FID/KID and class accuracy; default mnist-classifier on digits
    channels_last: bool = True  # NHWC memory format: faster convolutions on CPU and GPU
    # the flags that take one of a few words (the CLI refuses anything else with this list)
    CHOICES: ClassVar[dict] = {"upsample": UPSAMPLES, "g_arch": ARCHS, "d_arch": D_ARCHS, "loss": tuple(LOSSES)}


EMOJI_STEPS = 20000  # the conditional-BN run's FID curve was lowest at 16,000-21,000 steps and rose after (docs/models.md)
# The recipe of the 38,000-step emoji-cgan (the benchmarks' "final"), measured one change at a time at 40 minutes per
# run (benchmarks/quality_per_minute.py, docs/models.md "GAN recipe"): DiffAugment + spectral norm on every D layer
# (the DCGAN's oscillating FID drops),
# D's minibatch-stddev feature and the mode-seeking term (against one picture per class: within-class spread 0.78 ->
# 0.98), Adam beta1 = 0 and a long EMA (0.9999, warmed up) for steadier released weights.
EMOJI_RECIPE = dict(spectral_norm=True, minibatch_std=4, mode_seeking=1.0, beta1=0.0, ema=0.9999)
# The shipped emoji-cgan adds class-conditional batch norm after every generator conv: one 33,000-step run reached the
# previous model's final FID in 16,000 steps, then drifted up after 21,000 (docs/models.md).
EMOJI_CGAN_RECIPE = dict(EMOJI_RECIPE, g_arch="dcgan-cbn")
# The best 4-minute recipe of an earlier ablation; over 57 minutes (11,161 steps) it collapsed to one or two pictures
# per class (FID 525.11): a preset to study, not a shipped model.
SMALL_DATA = dict(spectral_norm=True, r1_gamma=0.0064, upsample="nearest", ema_kimg=10.0)

# The fields that make a recipe (against data, size, widths and budget): benchmarks start from the plain DCGAN
# (every one at its default) and change what a row's name says.
RECIPE_FIELDS = ("lr", "beta1", "diffaugment", "label_dropout", "ema", "ema_kimg", "spectral_norm", "lecam",
                 "lecam_decay", "r1_gamma", "r1_every", "upsample", "g_arch", "d_arch", "loss", "hflip", "mode_seeking",
                 "minibatch_std")


def with_recipe(cfg: "GANTrainConfig", **recipe) -> "GANTrainConfig":
    """``cfg`` with every recipe field back at the plain DCGAN's default, then ``recipe``'s changes."""
    plain = GANTrainConfig()
    return dataclasses.replace(cfg, **{**{f: getattr(plain, f) for f in RECIPE_FIELDS}, **recipe})


PRESETS = {
    "mnist-cgan": GANTrainConfig(),
    # The 9 emoji groups (python -m genlab data emoji is made on first use). 32 px: what trains on a 2-core CPU
    # in about 53 minutes; emoji-cgan-64-direct is the same recipe at 64 px for a GPU.
    # preview_eval: the FID/accuracy curve the step count was chosen by. Measuring it draws from torch's global
    # random stream (its classifier and feature nets are built), so it is part of what reproduces the weights.
    "emoji-cgan": GANTrainConfig(name="emoji-cgan", data="emoji", resolution=32, channels=3, steps=EMOJI_STEPS,
                                 batch_size=32, sample_every=1000, feature_net="emoji-classifier", preview_eval=1000,
                                 **EMOJI_CGAN_RECIPE),
    "emoji-cgan-small-data": GANTrainConfig(name="emoji-cgan-small-data", data="emoji", resolution=32, channels=3,
                                            steps=11161, batch_size=32, sample_every=1000,
                                            feature_net="emoji-classifier", **SMALL_DATA),
    # the recipe trained at 64 px directly, for a GPU (the shipped emoji-cgan-64 is a cascade: train/cascade.py)
    "emoji-cgan-64-direct": GANTrainConfig(name="emoji-cgan-64-direct", data="emoji", resolution=64, channels=3, steps=40000,
                                    batch_size=64, sample_every=2000, feature_net="emoji-classifier", **EMOJI_CGAN_RECIPE),
    "tiny": GANTrainConfig(name="tiny-cgan", steps=20, sample_every=10, eval_samples=0, g_channels=32, d_channels=16),
}


def g_width(cfg: GANTrainConfig) -> int:
    """The generator's base width: --g-channels, or by resolution (128 for the 28-px digits)."""
    if cfg.g_channels:
        return cfg.g_channels
    return 128 if cfg.resolution == 28 else min(512, 32 * 2 ** octaves(cfg.resolution)[0])


def ema_decay(cfg: GANTrainConfig, updates: int, batch: int) -> float:
    """This update's EMA decay. --ema-kimg: a half-life in images, ramped up (half-life at most 5 % of the
    images seen so far), so that short runs and early previews are not dominated by the initial weights.
    Else --ema per step, warmed up as min(ema, (1 + t) / (10 + t))."""
    if cfg.ema_kimg > 0:
        half_life = min(cfg.ema_kimg * 1000, max(1, updates * batch) * 0.05)
        return 0.5 ** (batch / max(half_life, 1e-8))
    return min(cfg.ema, (1 + updates) / (10 + updates))


class LogitMeans(torch.nn.Module):
    """Running means of D's real and fake logits: LeCam's anchors (buffers, so they resume)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("real", torch.zeros(()))
        self.register_buffer("fake", torch.zeros(()))


def make_gan_step(G, D, opt_g, opt_d, cfg: GANTrainConfig, accelerator=None, num_classes: int = 10, g_ema=None,
                  logit_means: LogitMeans | None = None):
    """Return step(real, labels) -> (loss_d, loss_g): one D update, one G update, then the EMA."""
    backward = accelerator.backward if accelerator is not None else torch.Tensor.backward
    augment = (lambda x: diff_augment(x, cfg.diffaugment)) if cfg.diffaugment else (lambda x: x)
    d_loss, g_loss = LOSSES[cfg.loss]
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    latent_dim = (G.module if hasattr(G, "module") else G).latent_dim
    if g_ema is not None:
        ema_params, live_params = list(g_ema.parameters()), list(G.parameters())
    if cfg.lecam and logit_means is None:
        logit_means = LogitMeans().to(next(D.parameters()).device)

    def step(real: torch.Tensor, labels: torch.Tensor):
        b = real.size(0)
        # Label dropout: some images are shown to D (and made by G) with the "any" label.
        drop = torch.rand(b, device=real.device) < cfg.label_dropout
        labels = torch.where(drop, torch.full_like(labels, num_classes), labels)
        z = torch.randn(b, latent_dim, device=real.device)
        half = b // 2
        fake_labels = torch.cat([labels[:half], labels[:half], labels[2 * half:]]) if cfg.mode_seeking else labels
        fake = G(z, fake_labels).contiguous(memory_format=fmt)  # (B, C, R, R)

        # --- D phase: real and fake in one forward pass (D has no batch norm) ---
        both = augment(torch.cat([real, fake.detach()])).contiguous(memory_format=fmt)  # (2B, C, R, R)
        logits = D(both, torch.cat([labels, fake_labels]))  # (2B,)
        loss_d = d_loss(logits[:b], logits[b:])
        if cfg.lecam:  # anchors: running means of the logits, updated after use (no gradient through them)
            loss_d = loss_d + cfg.lecam * lecam_loss(logits[:b], logits[b:], logit_means.real, logit_means.fake)
            with torch.no_grad():
                logit_means.real.lerp_(logits[:b].mean().float(), 1 - cfg.lecam_decay)
                logit_means.fake.lerp_(logits[b:].mean().float(), 1 - cfg.lecam_decay)
        opt_d.zero_grad(set_to_none=True)
        backward(loss_d)
        if cfg.r1_gamma and step.updates % cfg.r1_every == 0:
            # Lazy R1 on the (augmented) reals, gamma/2 * E||grad||^2, scaled by the interval; its gradient adds
            # to the D loss's before the one optimizer step.
            x = augment(real).detach().contiguous(memory_format=fmt).requires_grad_(True)
            backward(cfg.r1_gamma / 2 * cfg.r1_every * r1_penalty(D(x, labels), x))
        opt_d.step()

        # --- G phase: non-saturating loss through the updated D ---
        loss_g = g_loss(D(augment(fake).contiguous(memory_format=fmt), fake_labels))
        if cfg.mode_seeking:  # MSGAN: two latents of the same class must give images as far apart as the latents are
            ratio = (fake[:half] - fake[half:2 * half]).abs().flatten(1).mean(1) / \
                (z[:half] - z[half:2 * half]).abs().mean(1)  # (B/2,)
            loss_g = loss_g + cfg.mode_seeking / (ratio.mean() + 1e-5)
        opt_g.zero_grad(set_to_none=True)
        backward(loss_g)
        opt_g.step()

        # --- EMA of G's weights: smoother samples than the last step's weights (see ema_decay) ---
        if g_ema is not None:
            decay = ema_decay(cfg, step.updates, b)
            with torch.no_grad():
                for e, p in zip(ema_params, live_params):
                    e.lerp_(p.detach(), 1 - decay)
        step.updates += 1
        return loss_d.detach(), loss_g.detach()

    step.updates = 0  # G updates so far (the EMA warm-up, the lazy-R1 phase); set it when resuming
    step.logit_means = logit_means
    return step


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
        labels = torch.randint(0, max(g.num_classes, 1), (batch_size,), generator=gen)
        labels[torch.rand(batch_size, generator=gen) < label_dropout] = g.any_class
        labels[labels >= g.num_classes] = g.any_class  # unconditional: every label is "any"
        g(torch.randn(batch_size, g.latent_dim, generator=gen).to(device), labels.to(device))
    for m in norms:
        m.momentum = 0.1
    return g.eval()


def build(cfg: GANTrainConfig, num_classes: int = 10, class_names: list[str] | None = None,
          preprocess: str = "mnist"):
    """Models and optimizers for a config (fused Adam where the device supports it)."""
    torch.manual_seed(cfg.seed)
    shape = {"resolution": cfg.resolution, "image_channels": cfg.channels, "class_names": class_names}
    G = Generator(latent_dim=cfg.latent_dim, num_classes=num_classes, channels=g_width(cfg), preprocess=preprocess,
                  upsample=cfg.upsample, arch=cfg.g_arch, **shape)
    D = Discriminator(num_classes=num_classes, channels=cfg.d_channels, spectral_norm=cfg.spectral_norm,
                      arch=cfg.d_arch, minibatch_std=cfg.minibatch_std, **shape)
    if cfg.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    betas = (cfg.beta1, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=betas, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas, fused=True)
    return G, D, opt_g, opt_d


def train_gan(cfg: GANTrainConfig, command: str | None = None):
    """Train, write the run folder and the checkpoint folder; return the checkpoint folder."""
    run = Run(cfg, "gan", command)
    device = run.device
    train, held_out = run.data()
    num_classes = train.num_classes  # 0 for a flat folder: unconditional, every label is "any"
    class_names = train.class_names if cfg.data != "mnist" else None  # digits keep the shipped config

    G, D, opt_g, opt_d = build(cfg, num_classes, class_names, run.preprocess)
    G, D, opt_g, opt_d = run.accelerator.prepare(G, D, opt_g, opt_d)
    g_ema = copy.deepcopy(run.accelerator.unwrap_model(G)).requires_grad_(False) if cfg.ema else None
    step_fn = make_gan_step(G, D, opt_g, opt_d, cfg, run.accelerator, num_classes, g_ema)
    # Each process draws its own data order and noise (seed + rank).
    order = run.order()
    objects = {"G": run.accelerator.unwrap_model(G), "D": run.accelerator.unwrap_model(D), "opt_g": opt_g,
               "opt_d": opt_d, "order": order, **({"G_ema": g_ema} if g_ema is not None else {}),
               **({"lecam": step_fn.logit_means} if cfg.lecam else {})}
    torch.manual_seed(cfg.seed + 1000 + run.accelerator.process_index)
    step = run.resume(objects)
    step_fn.updates = step

    # One row per class (up to 10 classes, 10 samples each), fixed noise.
    rows = max(1, min(num_classes, 10))
    fixed_z = torch.randn(10 * rows, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    fixed_labels = (torch.arange(10 * rows, device=device) // 10) if num_classes else \
        torch.zeros(10 * rows, dtype=torch.long, device=device)

    def sampler(batches: int = 10) -> Generator:
        """The generator to show: the EMA, with batch-norm statistics re-estimated for its own weights. (The live
        G's statistics do not fit the averaged weights: measured on a 16,000-step emoji run, 2,000 samples, FID
        460.6 with them against 276.0 re-estimated, so the preview grids and their FID used to swing from one
        grid to the next.)"""
        if g_ema is None:
            return objects["G"]
        return recalibrate_bn(g_ema, cfg.label_dropout, batches=batches)

    feature_net = cfg.feature_net or ("mnist-classifier" if cfg.data == "mnist" else "")
    watch = None
    if cfg.preview_eval and feature_net and num_classes and run.accelerator.is_main_process:
        from ..evaluation.common import feature_net_for
        from ..evaluation.metrics import evaluate_generator

        watch_net = feature_net_for(feature_net, cfg.data, objects["G"])
        # held-out images when there are enough for a covariance; else the training images (the few-shot convention)
        against = "held-out" if len(held_out) >= 50 else "training"
        watch_real = (held_out if against == "held-out" else train).tensors(2000)[0]

        def held_out_quality(g: Generator):  # what the Train tab shows at each grid: held-out quality, not only losses
            with torch.no_grad():
                m = evaluate_generator(g, watch_net, watch_real, n=cfg.preview_eval, seed=cfg.seed)
            run.print(f"step {step}: FID {m['fid']:.2f} vs the {len(watch_real)} {against} images, class accuracy "
                      f"{m['accuracy']:.2%} ({cfg.preview_eval} samples, {feature_net})")
            run.emit("metrics", step=step, fid=m["fid"], accuracy=m["accuracy"], samples=cfg.preview_eval,
                     feature_net=feature_net, against=f"{len(watch_real)} {against}")

        watch = held_out_quality

    def preview(path):
        g = sampler().eval()
        with torch.no_grad():
            to_pil_grid(g(fixed_z, fixed_labels), nrow=10).save(path)
        if watch is not None:
            watch(g)
        objects["G"].train()

    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    G.train()
    D.train()
    batches = run.counted(train.batches(cfg.batch_size, order, device, cfg.workers))
    run.start(step)
    while step < cfg.steps:
        real, labels = next(batches)  # (B, C, R, R) in [-1, 1], (B,)
        if cfg.hflip:
            real = random_hflip(real, order)
        loss_d, loss_g = step_fn(real.contiguous(memory_format=fmt), labels)
        step += 1
        run.log(step, D=loss_d, G=loss_g)
        if run.should_stop(step, objects, preview):  # the --minutes budget, or the job's Stop: saved, released
            break
        if run.due(step):
            run.save(objects, step, preview)
    meta = run.finish(step)
    if not run.accelerator.is_main_process:
        return run.out

    # --- Release: generator weights + config + card (D and optimizers stay in the run folder) ---
    # 100 batches of 64 for the long runs (the shipped models); a short run's statistics need fewer (a 30-step job
    # spent 13 s here)
    g = sampler(batches=min(100, max(20, step // 10))).float().to(memory_format=torch.contiguous_format)
    g.save_pretrained(run.out)
    with torch.no_grad():
        to_pil_grid(g(fixed_z, fixed_labels).cpu(), nrow=10).save(run.out / "samples.png")
    evaluate_and_card(run, meta, cfg, feature_net if num_classes else "", held_out, train)
    return run.out


def evaluate_and_card(run, meta: dict, cfg, feature_net: str, held_out, train) -> dict:
    """A released GAN's evaluation (cfg.eval_samples samples against ``held_out``, when there is a feature net),
    its metrics.json and no-class rule, and its card; returns the metrics ({} when not evaluated)."""
    metrics = {}
    if cfg.eval_samples and feature_net:
        metrics = evaluate_gan(str(run.out), cfg.eval_samples, cfg.seed, feature_net, cfg.data, held_out, train,
                               run.out / "memorisation.png")
        (run.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
        set_no_class_mode(run.out, metrics)
    write_gan_card(run.out, meta, metrics)
    run.print(f"wrote {run.out} ({run.elapsed:.0f} s of training)" + (f": {metrics}" if metrics else ""))
    return metrics
