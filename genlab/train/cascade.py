"""Training loop for a cascade: a trained GAN at half the size, then a learned 2x upsampler (plain, top to bottom).

    python -m genlab.train cascade --preset emoji-cgan-64            # the shipped 64-px emoji GAN
    python -m genlab.train cascade --base my-gan --data my_photos/ --resolution 128 --channels 3 --name my-gan-128

The base GAN (``--base``: a checkpoint at ``--resolution / 2``) stays as it is; only the upsampler
(``genlab.models.upsampler.Upsampler``) trains. Each step it sees real images at both sizes (the same images at
R/2 and R: the L1 term says what the detail should be) and the base GAN's own samples at R/2 (no target:
only the discriminator judges them, so the upsampler learns the inputs it will be given in use). The
discriminator sees real images at R against both kinds of upsampled ones, DiffAugmented. The release is
one generator at R (the base's weights and the upsampler's EMA weights in one checkpoint), so every tab and
the page draw it as one model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from safetensors import safe_open

from ..datasets.base import ImageSet
from ..errors import DatasetError
from ..evaluation.cascade_card import CASCADE_TARGETS, base_training
from ..evaluation.gan import seed_grid
from ..hub import load
from ..images import to_pil_grid
from ..models.gan import Discriminator, Generator, d_loss, diff_augment, g_loss
from .common import CommonConfig, Run
from .gan import evaluate_and_card


@dataclass
class CascadeTrainConfig(CommonConfig):
    name: str = "emoji-cgan-64"  # checkpoint name: writes checkpoints/<name> and runs/<name>
    base: str = "emoji-cgan"  # the trained GAN at --resolution / 2 whose images are doubled (a name or folder)
    data: str = "emoji"  # what the base was trained on ("emoji", "mnist" or a folder), read at both sizes
    resolution: int = 64  # output side in px: twice the base's
    channels: int = 3  # 1: grey, 3: RGB, as the base's
    steps: int = 3000  # optimizer steps (each one D and one upsampler update)
    batch_size: int = 32  # real pairs per step; as many base samples ride along
    lr: float = 2e-4  # Adam, both networks
    beta1: float = 0.0  # Adam beta1; beta2 = 0.99
    width: int = 24  # upsampler channels (Generator's upsampler)
    blocks: int = 3  # upsampler residual blocks at the small side
    l1: float = 20.0  # weight of the L1 distance to the real image at full size (the adversarial term's is 1)
    sample_share: float = 0.5  # the base GAN's samples per real pair in the fake batch (0: real pairs only)
    psi_low: float = 0.6  # the base's samples are drawn at a truncation uniform in [psi_low, 1] (the app's range)
    d_channels: int = 32  # discriminator width after its first conv
    diffaugment: str = "color,translation,cutout"  # DiffAugment policy for the discriminator's inputs
    ema: float = 0.999  # decay of the upsampler's weight average; the release holds the average
    base_lr: float = 0.0  # > 0: the base GAN's weights train too (end to end, judged at full size), at this lr
    tune_after: int = 500  # ... from this step on (the discriminator has learned something first)
    eval_samples: int = 5000  # samples for the card's accuracy/FID/KID (0 skips it)
    feature_net: str = "emoji-classifier"  # classifier at --resolution for FID/KID and class accuracy
    sample_every: int = 500  # steps between sample grids and resumable-state saves
    target_fid_ratio: float = CASCADE_TARGETS["target_fid_ratio"]  # the card's targets: FID at most this x the floor,
    target_accuracy: float = CASCADE_TARGETS["target_accuracy"]  # class accuracy at least this,
    target_minutes: float = CASCADE_TARGETS["target_minutes"]  # both stages' training in minutes (0: no budget)


PRESETS = {
    # The shipped 32-px emoji-cgan (53 minutes of training), doubled: the route that measured best per CPU-minute
    # for a 64-px emoji GAN on this 2-core CPU (docs/models.md, "64 px"): 3,000 steps, the base frozen. Tuning the
    # base too from there (--base-lr 5e-5 --tune-after 3000 --steps 6000) measured worse: FID 349 against 194.
    "emoji-cgan-64": CascadeTrainConfig(steps=3000),
    "tiny": CascadeTrainConfig(name="tiny-cascade", steps=20, sample_every=10, eval_samples=0, width=8, blocks=1,
                               d_channels=8),
}


def pairs(low: ImageSet, high: ImageSet) -> ImageSet:
    """One in-memory ImageSet whose images are [low nearest-upsampled to high's size, high] along channels: the
    same index draws the same picture at both sizes (``batches`` shuffles them together)."""
    if not (low.in_memory and high.in_memory):
        raise DatasetError("the cascade reads its images at two sizes from memory; this folder is streamed from "
                           "disk: raise --memory-budget-mb, or use fewer images.")
    if len(low) != len(high) or not torch.equal(low.labels, high.labels):
        raise DatasetError(f"{low.root} and {high.root} do not list the same images at the two sizes.")
    up = low.images.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # (N, C, R, R) uint8, exact
    return ImageSet(low.labels, low.class_names, high.resolution, 2 * high.channels,
                    images=torch.cat([up, high.images], 1), root=high.root)


def train_cascade(cfg: CascadeTrainConfig, command: str | None = None):
    """Train the upsampler, write the run folder and the checkpoint folder; return the checkpoint folder."""
    from ..datasets import load_data

    run = Run(cfg, "cascade", command)
    device = run.device
    base = load(cfg.base, model_type="gan", device="cpu").eval().requires_grad_(False)  # (z, label) -> R/2 px
    if base.up is not None or 2 * base.resolution != cfg.resolution or base.image_channels != cfg.channels:
        raise DatasetError(f"--base {cfg.base} draws {base.resolution}-px, {base.image_channels}-channel images"
                           f"{' through its own upsampler' if base.up is not None else ''}; the cascade needs a plain "
                           f"GAN at {cfg.resolution // 2} px with {cfg.channels} channels.")
    high, held_out = run.data()
    low, _ = load_data(cfg.data, cfg.resolution // 2, cfg.channels, cfg.fit, cfg.eval_fraction, cfg.memory_budget_mb)
    if high.class_names != (base.labels if base.num_classes else high.class_names):
        raise DatasetError(f"--base {cfg.base} knows classes {base.labels}; {cfg.data} has {high.class_names}.")
    both = pairs(low, high)

    # --- models: the base's weights under a generator at full size; only its upsampler trains ---
    torch.manual_seed(cfg.seed)
    config = {k: v for k, v in base._hub_mixin_config.items() if k != "model_type"}
    G = Generator(**{**config, "resolution": cfg.resolution, "upsampler": cfg.width, "upsampler_blocks": cfg.blocks})
    missing, unexpected = G.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("up.") for k in missing), (missing, unexpected)
    G = G.eval().requires_grad_(False)  # the base stack keeps its batch-norm statistics (eval) and weights
    up = G.up.requires_grad_(True).to(device)
    G, base = G.to(device), base.to(device)
    tune = cfg.base_lr > 0  # the base's weights (everything but the upsampler) train too, from step tune_after
    def stack_of(g: Generator) -> torch.nn.ModuleDict:  # the generator but its upsampler, as one module
        return torch.nn.ModuleDict({n: m for n, m in g.named_children() if n != "up"})

    stack = list(stack_of(G).parameters())
    D = Discriminator(num_classes=base.num_classes, channels=cfg.d_channels, image_channels=cfg.channels,
                      resolution=cfg.resolution, class_names=base.class_names if base.num_classes else None,
                      spectral_norm=True).to(device)
    opt_u = torch.optim.Adam(up.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.99))
    up_ema = copy.deepcopy(up).requires_grad_(False)
    order = run.order()
    objects = {"up": up, "up_ema": up_ema, "D": D, "opt_u": opt_u, "opt_d": opt_d, "order": order}
    if tune:
        for p in stack:
            p.requires_grad_(True)
        opt_s = torch.optim.Adam(stack, lr=cfg.base_lr, betas=(cfg.beta1, 0.99))
        G_ema = copy.deepcopy(G).requires_grad_(False)  # its stack is the released base (its "up" is unused)
        stack_ema = list(stack_of(G_ema).parameters())
        objects.update({"stack": stack_of(G), "stack_ema": stack_of(G_ema), "opt_s": opt_s})
    torch.manual_seed(cfg.seed + 1000)
    # a run saved before its tuning began (or by a frozen-base run) holds no tuning state: the base's own weights
    # and a fresh optimizer start it, as they would have at tune_after
    saved = run.state_path.with_suffix(".safetensors")
    held = saved.exists() and any(k.startswith("stack.") for k in safe_open(str(saved), "pt").keys())
    step = run.resume(objects if held or not tune else {k: v for k, v in objects.items()
                                                         if k not in ("stack", "stack_ema", "opt_s")})
    if tune and step > cfg.tune_after and not held:
        raise DatasetError(f"--resume: the run in {run.run_dir} is at step {step}, past --tune-after {cfg.tune_after}, "
                           "and its base weights never trained: resume with --tune-after at or after that step.")

    augment = (lambda x: diff_augment(x, cfg.diffaugment)) if cfg.diffaugment else (lambda x: x)
    n_samples = round(cfg.batch_size * cfg.sample_share)
    classes = max(base.num_classes, 1)
    # preview: one row per class (up to 10), fixed latents at the base's default truncation (the released
    # samples.png draws the same latents at psi 1, as every GAN run's does)
    rows = min(classes, 10)
    fixed_z = torch.randn(10 * rows, base.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)) * base.psi
    fixed_labels = torch.arange(10 * rows) // 10 if base.num_classes else torch.full((10 * rows,), base.any_class)

    def released() -> Generator:
        g = copy.deepcopy(G_ema if tune else G).cpu()
        g.up.load_state_dict(up_ema.state_dict())
        return g.eval()

    def preview(path):
        with torch.no_grad():
            to_pil_grid(released()(fixed_z, fixed_labels), nrow=10).save(path)

    batches = run.counted(both.batches(cfg.batch_size, order, device, cfg.workers))
    run.start(step)
    while step < cfg.steps:
        stacked, labels = next(batches)  # (B, 2C, R, R) in [-1, 1]: [low nearest-upsampled, high]
        low_x, real = stacked[:, : cfg.channels, ::2, ::2], stacked[:, cfg.channels:]  # (B, C, R/2, R/2), (B, C, R, R)
        tuning = tune and step >= cfg.tune_after
        with torch.no_grad():  # the base GAN's own images, as the app draws them (a truncation in the app's range)
            z = torch.randn(n_samples, base.latent_dim, device=device)
            z = z * (cfg.psi_low + (1 - cfg.psi_low) * torch.rand(n_samples, 1, device=device))
            s_labels = torch.randint(0, classes, (n_samples,), device=device)
            if not base.num_classes:
                s_labels = torch.full_like(s_labels, base.any_class)
            sampled = None if tuning else base(z, s_labels)  # (S, C, R/2, R/2): the stack as it was
        in_labels = torch.cat([labels, s_labels])
        if tuning:  # the base's samples through the whole generator: the upsampler's loss reaches the base's weights
            fake = torch.cat([up(low_x, G.embed(labels)), G(z, s_labels)])  # (B + S, C, R, R)
        else:
            fake = up(torch.cat([low_x, sampled]), G.embed(in_labels))  # (B + S, C, R, R)

        # --- D phase: real images at full size against both kinds of doubled ones ---
        logits = D(augment(torch.cat([real, fake.detach()])), torch.cat([labels, in_labels]))
        loss_d = d_loss(logits[: len(real)], logits[len(real):])
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # --- upsampler phase: fool D, and stay near the real image where there is one ---
        adv = g_loss(D(augment(fake), in_labels))
        l1 = F.l1_loss(fake[: len(real)], real)
        loss_u = adv + cfg.l1 * l1
        opt_u.zero_grad(set_to_none=True)
        if tuning:
            opt_s.zero_grad(set_to_none=True)
        loss_u.backward()
        opt_u.step()
        if tuning:
            opt_s.step()
        with torch.no_grad():
            for e, p in zip(up_ema.parameters(), up.parameters()):
                e.lerp_(p, 1 - min(cfg.ema, (1 + step) / (10 + step)))
            if tuning:
                for e, p in zip(stack_ema, stack):
                    e.lerp_(p, 1 - cfg.ema)
        step += 1
        run.log(step, D=loss_d.detach(), G=adv.detach(), L1=l1.detach())
        if run.should_stop(step, objects, preview):
            break
        if run.due(step):
            run.save(objects, step, preview)
    meta = run.finish(step)

    # --- Release: one generator at full size (base weights + the upsampler's average) ---
    g = released()
    g.save_pretrained(run.out)
    seed_grid(g, 1.0, cfg.seed).save(run.out / "samples.png")
    meta["base_meta"] = base_training(cfg.base)
    evaluate_and_card(run, meta, cfg, cfg.feature_net if base.num_classes else "", held_out, high)
    return run.out

