"""Training loop for CycleGAN: unpaired translation between any two folders (or the two emoji designs).

    python -m genlab.train cyclegan --preset emoji-openmoji2noto
    python -m genlab.train cyclegan --data-a summer/ --data-b winter/ --resolution 64 --channels 3 --name s2w

Each step: G phase (both generators: fool D_A and D_B + lambda * cycle L1 + identity L1), then D phase
(both discriminators, real vs a buffer of past fakes). Adam 2e-4 (beta1 0.5), constant for the first
half of the steps, then linearly to 0 (as the original). The checkpoint holds both generators; the
discriminators stay in the run folder's resumable state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..evaluation.cards import write_cyclegan_card
from ..datasets import EVAL_FRACTION, ImageSet, image_folder
from ..errors import DatasetError
from ..images import to_pil_grid
from ..models.cyclegan import CycleDiscriminator, CycleGAN, ImagePool, lsgan
from .common import CommonConfig, Run

EMOJI_STYLES = ("openmoji", "noto")  # --data-a/--data-b values that mean the two emoji designs (unpaired split)


@dataclass
class CycleGANTrainConfig(CommonConfig):
    name: str = "cyclegan"  # checkpoint name: writes checkpoints/<name>
    data: str = ""  # unused: a CycleGAN reads --data-a and --data-b
    data_a: str = ""  # domain A: a folder (flat or with subfolders), or "openmoji" (the OpenMoji emoji)
    data_b: str = ""  # domain B: a folder, or "noto" (the Noto Color Emoji drawings of other emoji)
    domain_a: str = ""  # what A is, for the app (default: the folder's name)
    domain_b: str = ""  # what B is (default: the folder's name)
    resolution: int = 64  # image side in px, divisible by 4
    channels: int = 3  # both domains: 1 grey or 3 RGB
    steps: int = 10000  # optimizer steps (one G and one D update each)
    batch_size: int = 8  # images per domain per step (the original: 1)
    lr: float = 2e-4  # Adam, all four networks; linear decay to 0 over the second half of the steps
    beta1: float = 0.5  # Adam beta1 (CycleGAN); beta2 = 0.999
    cycle_weight: float = 10.0  # lambda: weight of the cycle-consistency L1 (each direction)
    identity_weight: float = 0.5  # identity L1 weight, as a share of lambda (G_AB(b) should stay b)
    g_channels: int = 32  # generator width (c, 2c, 4c)
    blocks: int = 6  # residual blocks in each generator
    downsamples: int = 2  # stride-2 steps before the blocks: 2 (the original), or 1 to keep a small image's detail
    d_channels: int = 32  # discriminator width
    spectral_norm: bool = False  # spectral normalisation on the discriminators' convs (instance norm off there)
    pool_size: int = 50  # past fakes the discriminators also learn from
    feature_net: str = ""  # classifier for FID/KID and group accuracy in the card (emoji: emoji-classifier)
    mixed_precision: str = "no"  # float32 by default (bf16 is offered)


PRESETS = {
    "folders": CycleGANTrainConfig(),  # any two folders: --data-a DIR --data-b DIR (64 px colour unless told)
    # OpenMoji -> Noto on the 2-core CPU: 32 px, one halving (blocks at 16x16: two halvings to 8x8 lost the
    # eyes and mouths); 64 px on a GPU: preset emoji-openmoji2noto-64
    "emoji-openmoji2noto": CycleGANTrainConfig(name="emoji-openmoji2noto", data_a="openmoji", data_b="noto",
                                               domain_a="OpenMoji", domain_b="Noto Color Emoji", resolution=32,
                                               steps=6000, batch_size=8, g_channels=32, blocks=6, downsamples=1,
                                               sample_every=500, feature_net="emoji-classifier"),
    "emoji-openmoji2noto-64": CycleGANTrainConfig(name="emoji-openmoji2noto-64", data_a="openmoji", data_b="noto",
                                                  domain_a="OpenMoji", domain_b="Noto Color Emoji", resolution=64,
                                                  steps=20000, batch_size=8, g_channels=32, blocks=6,
                                                  sample_every=1000, feature_net="emoji-classifier"),
    "tiny": CycleGANTrainConfig(name="tiny-cyclegan", resolution=16, steps=4, batch_size=4, g_channels=4, blocks=1,
                                d_channels=4, pool_size=4, sample_every=4),
}


def domain_data(cfg: CycleGANTrainConfig) -> tuple[ImageSet, ImageSet, ImageSet, ImageSet]:
    """(train A, train B, held-out A, held-out B) for --data-a/--data-b."""
    if not cfg.data_a or not cfg.data_b:
        raise DatasetError("a CycleGAN needs two image sets: --data-a DIR --data-b DIR (or the preset "
                           "emoji-openmoji2noto)")
    styles = (cfg.data_a in EMOJI_STYLES, cfg.data_b in EMOJI_STYLES)
    if any(styles):
        if (cfg.data_a, cfg.data_b) != EMOJI_STYLES:
            raise DatasetError('the emoji designs go together: --data-a openmoji --data-b noto')
        if cfg.channels != 3:
            raise DatasetError(f"the emoji are colour: use --channels 3, not {cfg.channels}")
        from ..datasets.emoji_styles import style_sets

        s = style_sets(cfg.resolution)
        return s.a, s.b, s.held_out.a, s.held_out.b
    a, held_a = image_folder(cfg.data_a, cfg.resolution, cfg.channels, cfg.fit, cfg.eval_fraction or EVAL_FRACTION,
                             cfg.memory_budget_mb)
    b, held_b = image_folder(cfg.data_b, cfg.resolution, cfg.channels, cfg.fit, cfg.eval_fraction or EVAL_FRACTION,
                             cfg.memory_budget_mb)
    return a, b, held_a, held_b


def train_cyclegan(cfg: CycleGANTrainConfig, command: str | None = None, evaluate: bool = True) -> Path:
    if cfg.resolution % 4:
        raise DatasetError(f"a CycleGAN's --resolution must be divisible by 4, got {cfg.resolution}")
    run = Run(cfg, "cyclegan", command)
    a, b, held_a, held_b = domain_data(cfg)
    run.describe_data(a, held_a, root=f"A: {a.root} ({len(a)} train, {len(held_a)} held out); B: {b.root} "
                                      f"({len(b)} train, {len(held_b)} held out)")
    run.data_info.update(train_b=len(b), held_out_b=len(held_b), root_a=a.root, root_b=b.root,
                         skipped_b=[list(x) for x in b.skipped])
    run.clip_batch(len(b))  # describe_data clipped to A's count; B may be smaller
    torch.manual_seed(cfg.seed)
    names = {"domain_a": cfg.domain_a or Path(cfg.data_a.rstrip("/")).name or "A",
             "domain_b": cfg.domain_b or Path(cfg.data_b.rstrip("/")).name or "B"}
    model = CycleGAN(channels=cfg.g_channels, blocks=cfg.blocks, downsamples=cfg.downsamples,
                     resolution=cfg.resolution, image_channels=cfg.channels, preprocess=run.preprocess, **names)
    d_shape = {"channels": cfg.d_channels, "resolution": cfg.resolution, "image_channels": cfg.channels,
               "spectral_norm": cfg.spectral_norm}
    D_A, D_B = CycleDiscriminator(**d_shape), CycleDiscriminator(**d_shape)
    opt_g = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam([*D_A.parameters(), *D_B.parameters()], lr=cfg.lr, betas=(cfg.beta1, 0.999))
    half = cfg.steps // 2  # constant lr, then linear decay to 0 (CycleGAN's schedule)
    decay = lambda s: 1.0 if s < half else max(0.0, 1 - (s - half) / max(1, cfg.steps - half))  # noqa: E731
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, decay)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, decay)
    # each generator is prepared on its own: under DDP its forward must go through its own wrapper
    G_AB, G_BA, D_A, D_B, opt_g, opt_d = run.accelerator.prepare(model.g_ab, model.g_ba, D_A, D_B, opt_g, opt_d)
    order = run.order()
    objects = {"G": model, "D_A": run.accelerator.unwrap_model(D_A), "D_B": run.accelerator.unwrap_model(D_B),
               "opt_g": opt_g, "opt_d": opt_d, "sched_g": sched_g, "sched_d": sched_d, "order": order}
    step = run.resume(objects)
    pools = ImagePool(cfg.pool_size, order), ImagePool(cfg.pool_size, order)
    pick = lambda held: held.tensors()[0][torch.linspace(0, len(held) - 1, min(6, len(held))).long()]  # noqa: E731
    show_a, show_b = pick(held_a).to(run.device), pick(held_b).to(run.device)  # spread over the held-out set

    def preview(path):
        """Rows: A, A->B, A->B->A for 6 held-out A images, then B, B->A, B->A->B."""
        model.eval()
        with torch.no_grad():
            ab, ba = model.translate_and_back(show_a, "A->B"), model.translate_and_back(show_b, "B->A")
        to_pil_grid(torch.cat([show_a, *ab, show_b, *ba]), nrow=len(show_a)).save(path)
        model.train()

    # counted: domain A's images (steps x batch per process, as for the other families; B draws as many)
    batches_a = run.counted(a.batches(cfg.batch_size, order, run.device, cfg.workers))
    batches_b = b.batches(cfg.batch_size, order, run.device, cfg.workers)
    lam, lam_id = cfg.cycle_weight, cfg.identity_weight * cfg.cycle_weight
    run.start(step)
    while step < cfg.steps:
        real_a, _ = next(batches_a)  # (B, C, R, R) in [-1, 1]
        real_b, _ = next(batches_b)

        # --- G phase: fool both discriminators, come back on the cycle, leave the other domain alone ---
        fake_b, fake_a = G_AB(real_a), G_BA(real_b)
        cycle = (G_BA(fake_b) - real_a).abs().mean() + (G_AB(fake_a) - real_b).abs().mean()
        identity = ((G_AB(real_b) - real_b).abs().mean() + (G_BA(real_a) - real_a).abs().mean()
                    if lam_id > 0 else torch.zeros((), device=real_a.device))
        adv = lsgan(D_B(fake_b), True) + lsgan(D_A(fake_a), True)
        loss_g = adv + lam * cycle + lam_id * identity
        opt_g.zero_grad(set_to_none=True)
        run.accelerator.backward(loss_g)
        opt_g.step()

        # --- D phase: real images vs past fakes (the pools) ---
        old_b, old_a = pools[1].query(fake_b), pools[0].query(fake_a)
        loss_d = 0.5 * (lsgan(D_B(real_b), True) + lsgan(D_B(old_b), False)
                        + lsgan(D_A(real_a), True) + lsgan(D_A(old_a), False))
        opt_d.zero_grad(set_to_none=True)
        run.accelerator.backward(loss_d)
        opt_d.step()
        sched_g.step()
        sched_d.step()

        step += 1
        run.log(step, **{"D (both)": loss_d, "G adversarial (both)": adv, "cycle L1": cycle, "identity L1": identity})
        if run.should_stop(step, objects, preview):  # --minutes, or the job's Stop: saved, released
            break
        if run.due(step):
            run.save(objects, step, preview)
    meta = run.finish(step)
    if not run.accelerator.is_main_process:
        return run.out

    model = model.float().cpu().eval()
    model.save_pretrained(run.out)
    show_a, show_b = show_a.cpu(), show_b.cpu()
    preview(run.out / "samples.png")
    model.eval()
    metrics = {}
    if evaluate:
        from ..evaluation.cyclegan import evaluate_cyclegan

        metrics = evaluate_cyclegan(str(run.out), cfg.data_a, cfg.data_b, cfg.feature_net)
    write_cyclegan_card(run.out, meta, metrics)
    run.print(f"wrote {run.out} ({run.elapsed:.0f} s of training): {metrics}")
    return run.out
