"""Few-shot GAN: 100 images of one kind, trained with and without DiffAugment and the new regularisers.

    python benchmarks/few_shot.py                                   # 100 OpenMoji "animals & nature" emoji
    python benchmarks/few_shot.py --data my_100_images/ --feature-net my-classifier --resolution 64

The few-shot convention (DiffAugment's 100-shot sets): every image trains, and FID is measured
against those same training images (5,000 samples by default, features of ``--feature-net``).
Memorisation: the median distance from each sample to its nearest training image, over the
median distance from each training image to its nearest *other* training image (leave one
out); well below 1 means the samples are copies, or one picture near the middle of the set: the
spread (samples' mean pairwise feature distance over the training images', genlab.evaluation.metrics.class_spread;
near 0: one picture) tells the two apart. Each recipe trains for ``--minutes`` of wall
clock at ``--threads`` threads (unconditional: a flat folder), and one row of 10 samples per
recipe goes into ``few_shot.png``. Run it alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from genlab.evaluation.cards import machine  # noqa: E402
from genlab.train.gan import EMOJI_CGAN_RECIPE, EMOJI_RECIPE, PRESETS, train_gan, with_recipe  # noqa: E402

# Each row starts from the plain DCGAN recipe (with DiffAugment) and changes what its name says.
RECIPES = {
    "DCGAN, no DiffAugment": {"diffaugment": ""},
    "DCGAN + DiffAugment (the first emoji-cgan recipe)": {},
    "spectral norm, no DiffAugment": {"spectral_norm": True, "diffaugment": ""},
    "DiffAugment + spectral norm (the previous emoji-cgan recipe)": {"spectral_norm": True},
    "DiffAugment + spectral norm + LeCam 0.3": {"spectral_norm": True, "lecam": 0.3},
    "the 38,000-step emoji-cgan's recipe, no DiffAugment": {**EMOJI_RECIPE, "diffaugment": ""},
    "the 38,000-step emoji-cgan's recipe: DiffAugment + spectral norm + minibatch std + mode seeking + beta1 0 + "
    "EMA 0.9999": EMOJI_RECIPE,
    "the emoji-cgan recipe, no DiffAugment": {**EMOJI_CGAN_RECIPE, "diffaugment": ""},
    "the emoji-cgan recipe: the one above + class-conditional batch norm in G": EMOJI_CGAN_RECIPE,
}


def export_group(group: str, n: int, size: int, folder: Path) -> Path:
    """The first ``n`` training emoji of one Unicode group as PNGs in a flat folder (a user's 100 images)."""
    from PIL import Image

    from genlab.datasets.emoji import emoji_set

    train, _ = emoji_set(size)
    if group not in train.class_names:
        raise SystemExit(f"unknown group {group!r}; choose from {', '.join(train.class_names)}")
    idx = torch.nonzero(train.labels == train.class_names.index(group))[:n, 0]
    folder.mkdir(parents=True, exist_ok=True)
    for i, j in enumerate(idx.tolist()):
        Image.fromarray(train.images[j].permute(1, 2, 0).numpy()).save(folder / f"{i:03d}.png")
    return folder


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="", help="a folder of images (default: 100 emoji of --group)")
    p.add_argument("--group", default="animals & nature", help="the emoji group exported when no --data")
    p.add_argument("--n", type=int, default=100, help="emoji exported when no --data")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--feature-net", default="emoji-classifier")
    p.add_argument("--minutes", type=float, default=4.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--samples", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/few_shot")
    p.add_argument("--recipes", default="", help="comma-separated row numbers (0-based) to run; default all")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    data = Path(args.data) if args.data else export_group(args.group, args.n, args.resolution,
                                                         out / "data" / args.group.replace(" & ", "-"))
    import genlab
    from genlab.datasets import image_folder
    from genlab.images import to_pil_grid
    from genlab.evaluation.metrics import class_spread, fid_kid, generate, nearest_distances

    train, _ = image_folder(data, args.resolution, 3, "crop", eval_fraction=0.0)
    real = train.tensors()[0]
    classifier = genlab.load(args.feature_net, model_type="classifier", device="cpu")
    loo = nearest_distances(real, real, exclude_self=True).median()
    print(f"# few-shot: {len(real)} images of {data}, {args.resolution} px, {args.minutes:g} min per recipe at "
          f"{args.threads} threads; FID vs the training images ({args.samples} samples, {args.feature_net}); "
          f"{machine()}")
    base = dataclasses.replace(with_recipe(PRESETS["emoji-cgan"]), data=str(data), resolution=args.resolution,
                               eval_fraction=0.0, eval_samples=0, steps=10**9, sample_every=10**9, minutes=args.minutes,
                               seed=args.seed, feature_net="", preview_eval=0)
    rows, grids = [], []
    chosen = {int(i) for i in args.recipes.split(",") if i.strip()} or set(range(len(RECIPES)))
    for i, (recipe, flags) in enumerate(RECIPES.items()):
        if i not in chosen:
            continue
        cfg = dataclasses.replace(base, **flags, name=f"few-shot-{i}", out=str(out / f"recipe{i}" / "checkpoint"),
                                  run_dir=str(out / f"recipe{i}"))
        path = train_gan(cfg, command=f"few_shot {recipe}")
        run = json.loads((Path(cfg.run_dir) / "run.json").read_text())
        g = genlab.load(str(path), model_type="gan", device="cpu").eval()
        fake = generate(g, args.samples, seed=0)[0]
        m = fid_kid(real, fake, classifier)
        d = nearest_distances(fake[:2000], real).median()
        spread = class_spread(classifier, fake, torch.zeros(len(fake)), real, torch.zeros(len(real)))
        rows.append({"recipe": recipe, "steps": run["step"], "train_s": run["elapsed_s"], "fid": m["fid"],
                     "kid": m["kid"], "memorisation_ratio": float(d / loo), "spread": spread})
        grids.append(fake[:10])
        print(f"{recipe}: {run['step']} steps, FID {m['fid']:.2f}, KID {m['kid']:.4f}, memorisation ratio "
              f"{d / loo:.2f}, spread {spread:.3f}", flush=True)
    to_pil_grid(torch.cat([real[:10], *grids]), nrow=10, display_size=10 * 64).save(out / "few_shot.png")
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    print("\n| recipe | steps | FID vs the training images | KID | memorisation ratio | spread |\n"
          "|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['recipe']} | {r['steps']:,} | {r['fid']:.2f} | {r['kid']:.4f} | {r['memorisation_ratio']:.2f} | {r['spread']:.3f} |")
    print(f"\nfirst row of {out / 'few_shot.png'}: training images; then one row per recipe")


if __name__ == "__main__":
    main()
