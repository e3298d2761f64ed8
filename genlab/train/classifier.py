"""Training loop for the image classifier: the metrics' feature net, and a classifier in its own right.

    python -m genlab.train classifier --preset mnist-classifier
    python -m genlab.train classifier --data my_photos/ --resolution 64 --channels 3 --name my-classifier

Trains on the training split only; the held-out split measures it. Its penultimate layer is the
feature net for FID/KID of models trained on the same data (``--feature-net`` of `genlab eval`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..tasks.augment import random_affine
from ..evaluation.cards import card_license, data_lines
from ..evaluation.metrics import accuracy
from ..models import ImageClassifier
from .common import CommonConfig, Run
from .report import write_card


@dataclass
class ClassifierTrainConfig(CommonConfig):
    name: str = "mnist-classifier"  # checkpoint name: writes checkpoints/<name>
    steps: int = 1050  # optimizer steps (30 epochs of the 4,500 digits at batch 128)
    batch_size: int = 128  # images per step
    lr: float = 2e-3  # AdamW peak learning rate, one-cycle schedule
    weight_decay: float = 1e-4  # AdamW
    cls_channels: int = 32  # first conv width; doubled per octave
    feature_dim: int = 128  # penultimate width = FID/KID feature size
    mixed_precision: str = "no"  # float32 by default (bf16 is offered)


PRESETS = {
    "mnist-classifier": ClassifierTrainConfig(),
    # the 9 emoji groups at 64 px (python -m genlab data emoji --size 64 is made on first use): ~45 passes
    "emoji-classifier": ClassifierTrainConfig(name="emoji-classifier", data="emoji", resolution=64, channels=3,
                                              steps=1200, batch_size=64, sample_every=400),
    "tiny": ClassifierTrainConfig(name="tiny-classifier", steps=35, sample_every=35),
}


def train_classifier(cfg: ClassifierTrainConfig, command: str | None = None):
    run = Run(cfg, "classifier", command)
    train, held_out = run.data()
    if train.num_classes < 2:
        from ..errors import DatasetError

        raise DatasetError(f"a classifier needs at least 2 class subfolders in {cfg.data}; it has "
                           f"{train.num_classes}.")
    torch.manual_seed(cfg.seed)
    gen = run.order()  # data order and affine jitter
    model = ImageClassifier(num_classes=train.num_classes, channels=cfg.cls_channels, feature_dim=cfg.feature_dim,
                            image_channels=cfg.channels, resolution=cfg.resolution, preprocess=run.preprocess,
                            class_names=None if cfg.data == "mnist" else train.class_names)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.15)
    prepared, opt = run.accelerator.prepare(model, opt)
    objects = {"model": model, "opt": opt, "sched": sched, "order": gen}
    step = run.resume(objects)
    pad = "background" if cfg.data == "mnist" else "border"  # digits sit on black; photos continue at the edge
    batches = run.counted(train.batches(cfg.batch_size, gen, run.device, cfg.workers))
    run.start(step)
    prepared.train()
    while step < cfg.steps:
        x, y = next(batches)
        loss = F.cross_entropy(prepared(random_affine(x, gen, pad)), y)
        opt.zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        opt.step()
        sched.step()
        step += 1
        run.log(step, train=loss)
        if run.should_stop(step, objects):  # --minutes, or the job's Stop: saved, released
            break
        if run.due(step):
            run.save(objects, step)
    meta = run.finish(step)
    if not run.accelerator.is_main_process:
        return run.out
    model = model.float().cpu().eval()
    x_eval, y_eval = held_out.tensors(10_000)
    acc = accuracy(model, x_eval, y_eval)
    model.save_pretrained(run.out)
    digits = cfg.data == "mnist"
    write_card(
        run.out,
        license=card_license(meta),
        title=f"genlab {cfg.name}",
        summary=f"Small CNN classifier ({cfg.resolution} px, {'grey' if cfg.channels == 1 else 'colour'}) trained by "
        f"genlab. Its {cfg.feature_dim}-d penultimate layer is the feature net for genlab's FID/KID on this data, and "
        "its predictions give the class accuracy of samples.",
        tags=["image-classification"] + (["mnist"] if digits else []),
        sections={
            "Training": f"""
- Command: `{meta["command"]}`
{data_lines(meta)}
- Random affine augmentation (rotation ±10°, scale 0.9-1.1, shift ±7 %)
- {cfg.steps} steps x batch {cfg.batch_size}; AdamW, one-cycle LR {cfg.lr}
- Wall time: {meta["elapsed_s"]:.0f} s on {meta["machine"]}
""",
            "Results": f"Held-out accuracy ({len(y_eval)} images never trained on): **{acc:.2%}**\n\n"
            f"Classes: {', '.join(model.labels)}",
        },
    )
    run.print(f"wrote {run.out}: held-out accuracy {acc:.2%} ({run.elapsed:.0f} s)")
    return run.out
