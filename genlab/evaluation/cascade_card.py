"""The parts of a GAN card that only a cascade has (train/cascade.py): its two training stages and its targets."""

from __future__ import annotations

import re
from types import SimpleNamespace

from ..errors import GenlabError
from ..hub import resolve


CASCADE_TARGETS = {"target_fid_ratio": 1.5, "target_accuracy": 0.65, "target_minutes": 180.0}  # train/cascade.py's defaults


def base_training(name: str) -> dict:
    """A GAN's training command and seconds, read from its card's own "Training" lines ({} if it has none)."""
    try:
        text = (resolve(name) / "README.md").read_text(encoding="utf-8")
    except (OSError, ValueError, GenlabError):
        return {}
    command = re.search(r"^- Command: `(.+?)`", text, re.M)
    seconds = re.search(r"^- Wall time: (\d+) s of training", text, re.M)
    return {"command": command.group(1), "elapsed_s": float(seconds.group(1))} if command and seconds else {}


def cascade_base(meta: dict) -> dict:
    """The base GAN's training (command, seconds) as the run recorded it, else as its card says now."""
    return meta.get("base_meta") or base_training(meta["config"]["base"])


def cascade_training(meta: dict, data: str) -> str:
    """The Training section of a cascade's card (train/cascade.py): the base GAN's own training, then the
    upsampler's, with the total. data: the card's data lines (cards.data_lines)."""
    cfg = SimpleNamespace(**meta["config"])
    base = cascade_base(meta)
    base_s = float(base.get("elapsed_s", 0.0))
    base_lr = getattr(cfg, "base_lr", 0.0)
    tuned = (f"; from step {cfg.tune_after} the base's own weights train too, end to end through the upsampler (lr "
             f"{base_lr:g}, EMA), so the released base differs from `{cfg.base}`" if base_lr > 0 else
             f"; the base's weights are `{cfg.base}`'s, unchanged")
    base_line = (f"- Stage 1, the {cfg.resolution // 2}-px GAN `{cfg.base}`: `{base['command']}`, {base_s:.0f} s of "
                 f"training (its own card)" if base.get("command") else f"- Stage 1: the GAN `{cfg.base}` (its own card)")
    return f"""
- Command: `{meta["command"]}`
{data}
{base_line}
- Stage 2, the learned 2x upsampler (width {cfg.width}, {cfg.blocks} residual blocks, class-conditional): {meta["step"]} steps x batch {cfg.batch_size} real pairs ({cfg.resolution // 2} px -> {cfg.resolution} px, L1 weight {cfg.l1:g}) + {round(cfg.batch_size * cfg.sample_share)} of the base GAN's samples (ψ uniform in [{cfg.psi_low:g}, 1]); spectrally normalised projection discriminator at {cfg.resolution} px, non-saturating loss, DiffAugment: {cfg.diffaugment or "off"}; released weights: EMA (decay {cfg.ema:g}){tuned}
- Wall time: {meta["elapsed_s"]:.0f} s of training for stage 2{f", {base_s + meta['elapsed_s']:.0f} s in all ({(base_s + meta['elapsed_s']) / 60:.1f} minutes)" if base_s else ""} on {meta["machine"]}
- Full config and resumable state: `training_state.*` in the run folder (written by the command, not shipped)
"""


def cascade_targets(meta: dict, metrics: dict) -> str:
    """The targets a cascade's config sets (FID over the real floor, class accuracy, memorisation, the total
    training budget), each beside its measured figure and whether it is met."""
    cfg = SimpleNamespace(**{**CASCADE_TARGETS, **meta["config"]})
    if not metrics:
        return ""
    base_s = float(cascade_base(meta).get("elapsed_s", 0.0))
    minutes = (base_s + meta["elapsed_s"]) / 60
    mem = metrics.get("memorisation") or {}
    ratio = metrics["fid"] / metrics["floor_fid"]
    rows = [
        (f"FID at most {cfg.target_fid_ratio:g}x the real floor ({metrics['floor_fid']:.2f}), so at most "
         f"{cfg.target_fid_ratio * metrics['floor_fid']:.1f}", f"{metrics['fid']:.2f} ({ratio:.2f}x)",
         ratio <= cfg.target_fid_ratio),
        (f"class accuracy at least {cfg.target_accuracy:.0%}", f"{metrics['accuracy']:.2%}",
         metrics["accuracy"] >= cfg.target_accuracy),
    ]
    if mem:
        rows += [("memorisation ratio at least 1", f"{mem['ratio']:.2f}", mem["ratio"] >= 1),
                 ("no near-copies", f"{mem['near_copies']:.2%}", mem["near_copies"] == 0)]
    if cfg.target_minutes:
        rows.append((f"training in all at most {cfg.target_minutes:g} minutes on this kind of CPU", f"{minutes:.1f} minutes",
                     minutes <= cfg.target_minutes))
    table = "\n".join(f"| {what} | {got} | {'met' if ok else '**missed**'} |" for what, got, ok in rows)
    return f"""
### Targets

The recipe's targets (its config: `target_fid_ratio`, `target_accuracy`, `target_minutes`), measured in the
first rows above (ψ = {metrics.get('psi', 1.0):g}, {metrics['samples']} samples):

| target | measured | |
|---|---|---|
{table}
"""
