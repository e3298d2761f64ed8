"""Evaluate checkpoints: ``python -m genlab.eval gan NAME_OR_FOLDER_OR_REPO [--samples 5000]``.

Prints class-consistency accuracy, FID and KID against the 500 held-out digits (features from
the shipped ``mnist-classifier``), and the real-vs-real floor (4,500 train vs held-out 500).
``python -m genlab.eval classifier NAME`` prints held-out accuracy.
``python -m genlab.eval inpaint`` scores every repair method inside synthetic masks (PSNR/SSIM).
``python -m genlab.eval augment`` measures what generated digits add to a small classifier.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import lru_cache
from pathlib import Path

from .data import digits
from .hub import load
from .metrics import accuracy, evaluate_generator, fid_kid


@lru_cache(maxsize=2)
def real_floor(feature_net: str = "mnist-classifier") -> dict:
    """FID/KID of the 4,500 training digits vs the held-out 500: what real data scores."""
    classifier = load(feature_net, model_type="classifier", device="cpu")
    return fid_kid(digits("eval").tensors[0], digits("train").tensors[0], classifier)


def evaluate_gan(name: str, samples: int = 5000, seed: int = 0, feature_net: str = "mnist-classifier") -> dict:
    """Accuracy, FID, KID of a GAN checkpoint against the held-out digits, and the floor."""
    g = load(name, model_type="gan", device="cpu")
    classifier = load(feature_net, model_type="classifier", device="cpu")
    result = evaluate_generator(g, classifier, digits("eval").tensors[0], n=samples, seed=seed)
    floor = real_floor(feature_net)
    return {**result, "floor_fid": floor["fid"], "floor_kid": floor["kid"], "floor_kid_std": floor["kid_std"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m genlab.eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    p = sub.add_parser("gan", help="accuracy, FID, KID of a conditional GAN")
    p.add_argument("model", help="shipped name, checkpoint folder or Hub repo id")
    p.add_argument("--samples", type=int, default=5000, help="conditional samples, classes balanced")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--baseline", help="a second GAN to evaluate beside it (e.g. the run without DiffAugment)")
    p.add_argument("--baseline-run", metavar="RUN_DIR", help="the baseline's run folder (its command goes in the card)")
    p.add_argument("--write-card", metavar="RUN_DIR",
                   help="rewrite the model folder's README.md from RUN_DIR/training_state.json and these metrics")
    c = sub.add_parser("classifier", help="held-out accuracy of a digit classifier")
    c.add_argument("model", nargs="?", default="mnist-classifier")
    i = sub.add_parser("inpaint", help="PSNR/SSIM inside synthetic masks for every repair method")
    i.add_argument("--digits", type=int, default=50, help="held-out digits for vae, gan, biharmonic")
    i.add_argument("--dip-digits", type=int, default=20, help="held-out digits for the deep image prior (slower)")
    i.add_argument("--dip-iterations", type=int, default=300)
    i.add_argument("--digit-steps", type=int, default=200, help="latent optimisation steps (vae, gan)")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--only", choices=["digits", "photos"], help="run one half of the evaluation")
    i.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    a = sub.add_parser("augment", help="classifier accuracy with and without generated digits")
    a.add_argument("--gan", default="mnist-cgan")
    a.add_argument("--n-real", type=int, nargs="+", default=[10, 50], help="real digits per class")
    a.add_argument("--k-generated", type=int, default=100, help="generated digits per class")
    a.add_argument("--seeds", type=int, default=3)
    a.add_argument("--steps", type=int, default=300, help="training steps of every run (batch 64)")
    a.add_argument("--json", metavar="PATH", help="also write rows + summary as JSON (the app's tab reads "
                   "genlab/ui/augment_results.json)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.task == "inpaint":
        from .inpaint_eval import evaluate_inpainting, markdown_table

        rows = evaluate_inpainting(args.digits, args.dip_digits, dip_iterations=args.dip_iterations,
                                   digit_steps=args.digit_steps, seed=args.seed, only=args.only)
        print(markdown_table(rows))
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows, "command": " ".join(["python -m genlab.eval", *argv])
                                                   if argv else None}, indent=1))
        print(f"({time.perf_counter() - start:.0f} s)")
        return
    if args.task == "augment":
        from .augment import augmentation_experiment, markdown_table, summarise

        rows = augmentation_experiment(load(args.gan, model_type="gan", device="cpu"), tuple(args.n_real),
                                       args.k_generated, tuple(range(args.seeds)), args.steps)
        summary = summarise(rows)
        print(markdown_table(summary))
        if args.json:
            Path(args.json).write_text(json.dumps({"summary": summary, "rows": rows, "gan": args.gan,
                                                   "steps": args.steps}, indent=1))
        print(f"({time.perf_counter() - start:.0f} s)")
        return
    if args.task == "classifier":
        x, y = digits("eval").tensors
        print(f"held-out accuracy: {accuracy(load(args.model, model_type='classifier', device='cpu'), x, y):.2%}")
        return
    results = {args.model: evaluate_gan(args.model, args.samples, args.seed)}
    if args.baseline:
        results[args.baseline] = evaluate_gan(args.baseline, args.samples, args.seed)
    if args.json:
        print(json.dumps(results))
    else:
        for name, r in results.items():
            print(f"{name}: {r['samples']} samples vs 500 held-out digits")
            print(f"  class-consistency accuracy  {r['accuracy']:.2%}")
            print(f"  FID                         {r['fid']:.3f}   (floor, train vs held-out: {r['floor_fid']:.3f})")
            print(f"  KID                         {r['kid']:.5f} ± {r['kid_std']:.5f}   (floor: {r['floor_kid']:.5f})")
        print(f"({time.perf_counter() - start:.0f} s)")
    if args.write_card:
        from .hub import resolve
        from .train.gan import write_gan_card

        baseline = None
        if args.baseline:
            if not args.baseline_run:
                parser.error("--write-card with --baseline needs --baseline-run (for the baseline's command)")
            meta = json.loads((Path(args.baseline_run) / "training_state.json").read_text())
            baseline = {**results[args.baseline], "command": meta["command"]}
        write_gan_card(resolve(args.model), Path(args.write_card), results[args.model], baseline)
        print(f"wrote {resolve(args.model) / 'README.md'}")


if __name__ == "__main__":
    main()
