"""GAN quality per CPU-minute: train recipes for the same wall-clock budget, then measure each.

    python benchmarks/quality_per_minute.py                                  # baseline, SN, SN+mbstd, final
    python benchmarks/quality_per_minute.py --recipes final --seeds 0,1      # the second seed
    python benchmarks/quality_per_minute.py --data my_folder/ --resolution 64 --feature-net my-classifier

Every recipe starts from the ``emoji-cgan`` preset's data, size, batch and widths (or the
flags here) with the plain DCGAN recipe and changes only what its name says, so each row is
one change (or one more change) against the baseline (the 2015 DCGAN + DiffAugment + EMA that
shipped first). Each run trains for ``--minutes`` of wall clock (the loop's own ``--minutes``
budget) at ``--threads`` torch threads, ``--jobs`` runs side by side (default two runs of one
thread: the 2 cores without oversubscription), then its released EMA generator is measured against the held-out
split: FID/KID with the feature net (``--samples`` samples, classes balanced, seed 0), class
accuracy, the FID of the no-class ("any") label, the within-class spread (samples' mean pairwise
feature distance over the real images', per class: the collapse measure) and the images/s. The real
floor (train vs held-out) is printed once. Run it alone: another busy process changes how
many steps a budget buys, which is the point of the figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from genlab.evaluation.cards import machine  # noqa: E402
from genlab.train.gan import EMOJI_CGAN_RECIPE, EMOJI_RECIPE, PRESETS, GANTrainConfig, train_gan, with_recipe  # noqa: E402


def r1_heuristic(cfg: GANTrainConfig) -> float:
    """StyleGAN2-ADA's gamma = 0.0002 * res^2 / batch."""
    return 0.0002 * cfg.resolution**2 / cfg.batch_size


# One change each against the baseline, then the changes added one by one. The 4-minute table of the previous stops
# used "r1", "nearest-upsample", "ema-10kimg", "all-with-lecam" and "small-data"; the 40-minute table (docs/models.md)
# the rest. "final" is the recipe of the 38,000-step emoji-cgan; "final+cbn" the shipped one (--preset emoji-cgan).
SN_MBSTD = {"spectral_norm": True, "minibatch_std": 4}
SN_MBSTD_MS = {**SN_MBSTD, "mode_seeking": 1.0}
FINAL = dict(EMOJI_RECIPE)  # the 38,000-step emoji-cgan's recipe: SN_MBSTD_MS, Adam beta1 0, EMA 0.9999
RECIPES = {
    "baseline": {},
    "no-diffaugment": {"diffaugment": ""},
    "spectral-norm": {"spectral_norm": True},
    "lecam": {"lecam": 0.3},
    "r1": {"r1_gamma": None},  # None: the heuristic for the run's size and batch
    "nearest-upsample": {"upsample": "nearest"},
    "ema-10kimg": {"ema_kimg": 10.0},
    "sn+lecam": {"spectral_norm": True, "lecam": 0.3},
    "all-with-lecam": {"spectral_norm": True, "lecam": 0.3, "upsample": "nearest", "ema_kimg": 10.0},
    "small-data": {"spectral_norm": True, "r1_gamma": None, "upsample": "nearest", "ema_kimg": 10.0},
    "sn+resnet-hinge": {"spectral_norm": True, "g_arch": "resnet", "d_arch": "resnet", "g_channels": 128,
                        "d_channels": 32, "loss": "hinge"},
    "sn+mbstd": SN_MBSTD,
    "sn+mbstd+resnet": {**SN_MBSTD, "g_arch": "resnet", "d_arch": "resnet", "g_channels": 128, "d_channels": 32},
    "sn+mbstd+beta1-0+ema-0.9999": {**SN_MBSTD, "beta1": 0.0, "ema": 0.9999},
    "sn+mbstd+mode-seeking": SN_MBSTD_MS,
    "final": FINAL,
    "final-no-diffaugment": {**FINAL, "diffaugment": ""},
    "final+hflip": {**FINAL, "hflip": True},
    "final+cbn": dict(EMOJI_CGAN_RECIPE),  # + class-conditional BN after every G conv: the shipped recipe
}
DEFAULT = "baseline,spectral-norm,sn+mbstd,final"


def measure(path: Path, data: str, feature_net: str, samples: int, train, held_out) -> dict:
    """FID/KID/accuracy of the conditional samples, and the FID of the "any class" label's samples."""
    import genlab
    from genlab.evaluation.common import MAX_REAL, feature_net_for
    from genlab.evaluation.metrics import any_class_fid, evaluate_generator

    g = genlab.load(str(path), model_type="gan", device="cpu").eval()
    classifier = feature_net_for(feature_net, data, g)
    real, labels = held_out.tensors(MAX_REAL)
    out = evaluate_generator(g, classifier, real, n=samples, seed=0, real_labels=labels)
    out["fid_any"] = any_class_fid(g, classifier, real, samples, seed=0)
    return out


def run_one(recipe: str, seed: int, base: GANTrainConfig, out: Path, samples: int, train, held_out) -> dict:
    """Train one recipe for the budget, measure it, and write its row (out/<recipe>-s<seed>/row.json)."""
    flags = {k: (r1_heuristic(base) if (k == "r1_gamma" and v is None) else v) for k, v in RECIPES[recipe].items()}
    cfg = dataclasses.replace(base, **flags, seed=seed, name=f"{recipe}-s{seed}",
                              out=str(out / f"{recipe}-s{seed}" / "checkpoint"), run_dir=str(out / f"{recipe}-s{seed}"))
    t0 = time.perf_counter()
    path = train_gan(cfg, command=f"quality_per_minute {recipe} seed {seed}")
    run = json.loads((Path(cfg.run_dir) / "run.json").read_text())
    m = measure(path, base.data, base.feature_net, samples, train, held_out)
    row = {"recipe": recipe, "seed": seed, "flags": flags, "steps": run["step"], "threads": torch.get_num_threads(),
           "minutes": base.minutes, "images_per_s": run["images_seen"] / run["elapsed_s"], "train_s": run["elapsed_s"],
           "accuracy": m["accuracy"], "fid": m["fid"], "kid": m["kid"], "fid_any": m["fid_any"],
           "spread": m["spread"], "samples": samples, "total_s": time.perf_counter() - t0}
    (Path(cfg.run_dir) / "row.json").write_text(json.dumps(row, indent=1))
    print(f"{recipe:>28} seed {seed}: {row['steps']:6d} steps, {row['images_per_s']:6.0f} img/s, "
          f"acc {row['accuracy']:.2%}, FID {row['fid']:8.2f}, KID {row['kid']:.4f}, "
          f"FID(any) {row['fid_any']:8.2f}, spread {row['spread']:.3f}", flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", default=DEFAULT, help=f"comma-separated, from {', '.join(RECIPES)}")
    p.add_argument("--minutes", type=float, default=40.0, help="training wall clock per run")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=2,
                   help="runs side by side, one process each (2 x 1 thread fills the 2 cores without oversubscribing)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds; each recipe runs once per seed")
    p.add_argument("--samples", type=int, default=2000, help="samples per FID (the cards use 5,000)")
    p.add_argument("--preset", default="emoji-cgan")
    p.add_argument("--data", default="", help="a folder instead of the preset's data")
    p.add_argument("--resolution", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=0)
    p.add_argument("--feature-net", default="", help="default: the preset's")
    p.add_argument("--out", default="runs/quality_per_minute", help="run folders (each with its row.json) go here")
    p.add_argument("--table-only", action="store_true", help="print the table of the rows already in --out")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one run of a --jobs parent
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    changes = {k: v for k, v in {"data": args.data, "resolution": args.resolution, "batch_size": args.batch_size,
                                 "feature_net": args.feature_net}.items() if v}
    # the preset's data, size, batch, widths and feature net, with the plain DCGAN recipe
    base = dataclasses.replace(with_recipe(PRESETS[args.preset]), **changes, eval_samples=0, steps=10**9,
                               sample_every=10**9, minutes=args.minutes, preview_eval=0)  # as the table was measured
    recipes = [r for r in args.recipes.split(",") if r]
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        p.error(f"unknown recipes {unknown}; choose from {', '.join(RECIPES)}")
    out = Path(args.out)
    runs = [(r, int(s)) for s in args.seeds.split(",") for r in recipes]
    if not args.table_only and args.jobs > 1 and len(runs) > 1:
        import subprocess

        # one child per run, at most --jobs at a time; each child trains and measures one recipe and seed
        common = list(argv if argv is not None else sys.argv[1:])
        pending, live = list(runs), []
        while pending or live:
            while pending and len(live) < args.jobs:
                recipe, seed = pending.pop(0)
                live.append(subprocess.Popen([sys.executable, __file__, *common, "--recipes", recipe, "--seeds",
                                              str(seed), "--jobs", "1", "--child"]))
            time.sleep(5)
            live = [c for c in live if c.poll() is None]
        runs = []
    from genlab.datasets import load_data
    from genlab.evaluation.common import real_floor

    train, held_out = load_data(base.data, base.resolution, base.channels, base.fit)
    if runs and not args.table_only:
        print(f"# {args.preset} recipe ablation: {args.minutes:g} min of training per run at {args.threads} torch "
              f"thread(s), batch {base.batch_size}, {base.resolution} px, {len(train)} train / {len(held_out)} held "
              f"out; {args.samples} samples per FID; {machine()}")
        for recipe, seed in runs:
            run_one(recipe, seed, base, out, args.samples, train, held_out)
        if args.child:
            return  # its parent prints the table
    import genlab

    floor = real_floor(genlab.load(base.feature_net, model_type="classifier", device="cpu"), train, held_out)
    print(f"real floor: FID {floor['fid']:.2f} (train vs held-out)")
    print("\n| recipe | seed | steps | img/s | class acc | FID | FID / floor | FID no-class | within-class spread |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for f in sorted(out.glob("*/row.json"), key=lambda f: f.stat().st_mtime):
        row = json.loads(f.read_text())
        print(f"| {row['recipe']} | {row['seed']} | {row['steps']:,} | {row['images_per_s']:.0f} | "
              f"{row['accuracy']:.2%} | {row['fid']:.2f} | {row['fid'] / floor['fid']:.2f}x | {row['fid_any']:.2f} | "
              f"{row.get('spread', float('nan')):.3f} |")


if __name__ == "__main__":
    main()
