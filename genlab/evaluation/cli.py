"""Evaluate checkpoints on the bundled digits or on any image folder.

    python -m genlab eval gan mnist-cgan                                   # digits, mnist-classifier features
    python -m genlab eval gan checkpoints/my-gan --data my_photos/ --feature-net checkpoints/my-classifier
    python -m genlab eval vae checkpoints/my-vae --data my_photos/ [--feature-net ...]
    python -m genlab eval pix2pix checkpoints/my-p2p --data my_pairs/      # DIR/A -> DIR/B
    python -m genlab eval classifier checkpoints/my-classifier --data my_photos/

A folder is read at the checkpoint's own resolution, channels and crop/pad rule, and split
exactly as training split it (the same held-out files). FID/KID use a genlab classifier's
penultimate features (named in the output and the card), trained on the folder's classes
with ``python -m genlab.train classifier --data DIR``; the real-data floor (train vs
held-out) is printed beside every FID.
``python -m genlab eval cyclegan emoji-openmoji2noto --data-a openmoji --data-b noto --feature-net emoji-classifier``
scores both directions of a CycleGAN against the identity (and a pix2pix) baseline (genlab/evaluation/cyclegan.py).
``python -m genlab eval inpaint`` scores every repair method inside synthetic masks (PSNR/SSIM).
``python -m genlab eval augment`` measures what generated digits add to a small classifier.
``python -m genlab eval attributes emoji-cgan --feature-net emoji-classifier`` fits a GAN's attribute sliders,
prints what each does on fresh samples, and writes them beside the checkpoint (attributes.json).
``python -m genlab eval truncation emoji-cgan --data emoji --feature-net emoji-classifier --write`` chooses a
GAN's default truncation psi by FID against the training images and records it in its config.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path


from ..hub import load
from .cards import BASELINE_LABEL, set_no_class_mode
from .classifier import evaluate_classifier
from .common import folder_for
from .gan import MIN_SPREAD, TRUNCATION_GRID, TRUNCATION_SEEDS, evaluate_gan
from .pix2pix import evaluate_pix2pix
from .vae import evaluate_vae

MAX_CHOICE_SAMPLES = 20_000  # samples per psi a truncation choice may ask for (bounded before allocating)


def _print_gan(name: str, r: dict) -> None:
    print(f"{name}: {r['samples']} samples vs {r['held_out']} held-out images; features: {r['feature_net']}"
          + (f"; truncation psi {r['psi']:g} (the model's default)" if r.get("psi", 1.0) != 1.0 else ""))
    if "accuracy" in r:
        print(f"  class-consistency accuracy  {r['accuracy']:.2%}")
    print(f"  FID                         {r['fid']:.3f}   (floor, train vs held-out: {r['floor_fid']:.3f})")
    print(f"  KID                         {r['kid']:.5f} ± {r['kid_std']:.5f}   (floor: {r['floor_kid']:.5f})")
    if "fid_any" in r:
        print(f"  FID of the no-class label   {r['fid_any']:.3f}")
    if "spread" in r:
        print(f"  within-class spread         {r['spread']:.3f}   (samples' feature spread over the real images'; 1: "
              "as varied)")
    if "memorisation" in r:
        m = r["memorisation"]
        print(f"  nearest training image      samples {m['sample_to_train_median']:.4f}, held-out real "
              f"{m['held_out_to_train_median']:.4f} (median RMS; ratio {m['ratio']:.2f}); near-copies "
              f"{m['near_copies']:.2%}")
    if "untruncated" in r:
        u = r["untruncated"]
        print("  without truncation (psi 1): " + ", ".join(
            f"{k} {u[k]:{f}}" for k, f in (("accuracy", ".2%"), ("fid", ".3f"), ("kid", ".5f"), ("fid_any", ".3f"),
                                           ("spread", ".3f")) if k in u))


def main(argv: list[str] | None = None, prog: str = "genlab eval") -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)

    def family(name: str, help: str, data_default: str = "mnist", model_default: str | None = None):
        p = sub.add_parser(name, help=help)
        p.add_argument("model", help="shipped name, checkpoint folder or Hub repo id",
                       **({"nargs": "?", "default": model_default} if model_default else {}))
        p.add_argument("--data", default=data_default, help="'mnist' (the bundled digits) or the training folder")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        return p

    p = family("gan", "accuracy, FID, KID of a GAN, with the real floor")
    p.add_argument("--samples", type=int, default=5000, help="conditional samples, classes balanced")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--feature-net", default="", help="classifier checkpoint for FID/KID (default on digits: "
                   "mnist-classifier)")
    p.add_argument("--baseline", help="a second GAN to evaluate beside it (e.g. the run without DiffAugment)")
    p.add_argument("--baseline-run", metavar="RUN_DIR", help="the baseline's run folder (its command goes in the card)")
    p.add_argument("--baseline-command", help="the baseline's command for the card, when its run folder is gone")
    p.add_argument("--baseline-label", default=BASELINE_LABEL, help="the card's header for the baseline column")
    p.add_argument("--write-card", metavar="RUN_DIR",
                   help="rewrite the model folder's README.md from RUN_DIR/training_state.json and these metrics")
    p.add_argument("--card-section", metavar="MARKDOWN_FILE",
                   help="with --write-card: a Markdown file whose text goes into the card after the results (figures "
                        "measured elsewhere: ablations, benchmark runs at other sizes)")
    tr = family("truncation", "choose a GAN's default truncation psi (FID against the training images)",
                data_default="mnist")
    tr.add_argument("--feature-net", default="", help="classifier checkpoint for FID (default on digits: "
                    "mnist-classifier)")
    tr.add_argument("--samples", type=int, default=2000, help="conditional samples per psi, classes balanced")
    tr.add_argument("--grid", default=",".join(f"{p:g}" for p in TRUNCATION_GRID), help="psi values to try (0.3-1)")
    tr.add_argument("--seeds", type=int, default=TRUNCATION_SEEDS,
                    help="sample sets per psi (1-16); psi whose FID is within their noise of the lowest tie, and the "
                         "tied psi with the highest class accuracy is chosen")
    tr.add_argument("--min-spread", type=float, default=MIN_SPREAD,
                    help="lowest within-class spread (vs the training images) a chosen psi may give")
    tr.add_argument("--write", action="store_true", help="record the chosen psi in the model folder's config.json")
    v = family("vae", "held-out ELBO, reconstruction error, prior-sample FID/KID")
    v.add_argument("--feature-net", default="")
    v.add_argument("--samples", type=int, default=5000)
    x = family("pix2pix", "L1/PSNR/SSIM (FID/KID, accuracy) vs the input-as-output baseline", data_default="")
    x.add_argument("--feature-net", default="")
    c = sub.add_parser("cyclegan", help="both directions of a CycleGAN vs identity (and pix2pix) baselines; cycle error")
    c.add_argument("model", help="shipped name, checkpoint folder or Hub repo id")
    c.add_argument("--data-a", required=True, help="domain A's training folder, or 'openmoji' (the emoji designs)")
    c.add_argument("--data-b", required=True, help="domain B's training folder, or 'noto'")
    c.add_argument("--feature-net", default="", help="classifier checkpoint for FID/KID (and accuracy on pairs)")
    c.add_argument("--pix2pix-ab", default="", help="a pix2pix trained on the pairs A -> B (supervised baseline)")
    c.add_argument("--pix2pix-ba", default="", help="a pix2pix trained on the pairs B -> A")
    c.add_argument("--write-card", metavar="RUN_DIR",
                   help="rewrite the model folder's README.md from RUN_DIR/training_state.json and these figures")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    family("classifier", "held-out accuracy", model_default="mnist-classifier")
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
    a.add_argument("--data", default="mnist", help="'mnist', 'emoji' or the GAN's training folder (its split)")
    a.add_argument("--n-real", type=int, nargs="+", default=[10, 50], help="real digits per class")
    a.add_argument("--k-generated", type=int, default=100, help="generated digits per class")
    a.add_argument("--seeds", type=int, default=3)
    a.add_argument("--steps", type=int, default=300, help="training steps of every run (batch 64)")
    a.add_argument("--json", metavar="PATH", help="also write rows + summary as JSON (the app's tab reads "
                   "genlab/ui/augment_results.json)")
    t = sub.add_parser("attributes", help="fit a GAN's attribute sliders (attributes.json) or a VAE's latent "
                       "arithmetic (arithmetic.json, needs --data), print their measured effects, write the file "
                       "beside the checkpoint")
    t.add_argument("model")
    t.add_argument("--data", default="", help="a VAE's real images: 'mnist', 'emoji' or its training folder")
    t.add_argument("--feature-net", default="", help="a classifier of the GAN's classes (class log-probabilities)")
    t.add_argument("--samples", type=int, default=2000, help="latents the directions are fitted on (seed 0)")
    t.add_argument("--eval-samples", type=int, default=256, help="fresh latents (seed 1) the table is measured on")
    t.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if getattr(args, "card_section", None) and not args.write_card:
        parser.error("--card-section goes with --write-card")

    start = time.perf_counter()
    if args.task == "truncation":
        from ..hub import resolve
        from .gan import choose_truncation, set_truncation, truncated_grid, truncation_table, write_truncation_record

        try:
            grid = tuple(float(v) for v in args.grid.split(",") if v.strip())
        except ValueError:
            parser.error(f"--grid takes comma-separated numbers, got {args.grid!r}")
        if not 100 <= args.samples <= MAX_CHOICE_SAMPLES:
            parser.error(f"--samples must be 100-{MAX_CHOICE_SAMPLES}, got {args.samples}")
        try:
            r = choose_truncation(args.model, args.data, args.feature_net, args.samples, grid=grid,
                                  min_spread=args.min_spread, seeds=args.seeds)
        except ValueError as e:  # a grid outside 0.3-1, an unconditional model
            parser.error(str(e))
        if args.json:
            print(json.dumps(r))
        else:
            print(f"{args.model}: {r['samples']} samples per psi, against the {r['train']} training images (the "
                  f"choice) and the {r['held_out']} held-out ones")
            print(truncation_table(r))
            print(f"chosen psi {r['psi']:g} (spread >= {r['min_spread']:g}, memorisation ratio >= 1; of the psi "
                  f"whose FID vs training is within {r['tie_se']:g} standard errors of the lowest over {r['seeds']} "
                  f"sample sets, the highest class accuracy) ({time.perf_counter() - start:.0f} s)")
        if args.write:
            folder = resolve(args.model)
            set_truncation(folder, r["psi"])
            grid = truncated_grid(folder, r["psi"])
            command = " ".join(["python -m genlab eval", *map(shlex.quote, argv or sys.argv[1:])])
            record = write_truncation_record(folder, r, time.perf_counter() - start, command)
            print(f"wrote psi {r['psi']:g} to {folder / 'config.json'}, the table to {record}"
                  + (f" and {grid}" if grid else ""))
        return
    if args.task == "attributes":
        from ..hub import resolve
        from ..models import ConvVAE, weights_digest as digest
        from ..tasks.attributes import effect_table, fit_attributes, save_attributes
        from ..tasks.directions import knows_classes

        g = load(args.model, device="cpu")
        classifier = load(args.feature_net, model_type="classifier", device="cpu").eval() if args.feature_net else None
        if isinstance(g, ConvVAE):
            from ..tasks.latent_arithmetic import arithmetic_table, fit_arithmetic, save_arithmetic

            if not args.data:
                parser.error("a VAE's latent arithmetic is fitted on real images: give --data (mnist, emoji or a folder)")
            train, held = folder_for(g, args.data)
            result = fit_arithmetic(g, train.images, train.labels, list(train.class_names or []),
                                    held_out=held.images, classifier=classifier, classifier_name=args.feature_net)
            print(arithmetic_table(result))
            if not args.no_write:
                print(f"wrote {save_arithmetic(result, resolve(args.model) / 'arithmetic.json', digest(g))}")
            print(f"({time.perf_counter() - start:.0f} s)")
            return
        attrs = fit_attributes(g, classifier, samples=args.samples, eval_samples=args.eval_samples,
                               classifier_name=args.feature_net)
        print(effect_table(attrs))
        # and the names of its SeFa sliders (as the app measures them; stored so a server does not at start-up)
        from ..tasks.directions import DIRECTIONS_FILE, SEFA_SLIDERS, name_directions, save_named
        from ..tasks.sampling import sefa_directions

        usable = classifier if classifier is not None and knows_classes(classifier, g) else None
        named = name_directions(g, sefa_directions(g, SEFA_SLIDERS)[0], usable)
        for k, d in enumerate(named, 1):
            print(f"direction {k}: {d['label']} ({d['summary']})")
        if not args.no_write:
            path = save_attributes(attrs, resolve(args.model) / "attributes.json", digest(g))
            print(f"wrote {path}")
            path = save_named(named, resolve(args.model) / DIRECTIONS_FILE, digest(g),
                              args.feature_net if usable is not None else None)
            print(f"wrote {path}")
        print(f"({time.perf_counter() - start:.0f} s)")
        return
    if args.task == "inpaint":
        from .inpaint import evaluate_inpainting, markdown_table

        rows = evaluate_inpainting(args.digits, args.dip_digits, dip_iterations=args.dip_iterations,
                                   digit_steps=args.digit_steps, seed=args.seed, only=args.only)
        print(markdown_table(rows))
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows, "command": " ".join(["python -m genlab eval", *argv])
                                                   if argv else None}, indent=1))
        print(f"({time.perf_counter() - start:.0f} s)")
        return
    if args.task == "augment":
        from .augment import augmentation_experiment, markdown_table, summarise

        rows = augmentation_experiment(load(args.gan, model_type="gan", device="cpu"), tuple(args.n_real),
                                       args.k_generated, tuple(range(args.seeds)), args.steps, data=args.data)
        summary = summarise(rows)
        print(markdown_table(summary))
        if args.json:
            Path(args.json).write_text(json.dumps({"summary": summary, "rows": rows, "gan": args.gan,
                                                   "data": args.data, "steps": args.steps,
                                                   "command": " ".join(["python -m genlab eval", *(argv or [])])},
                                                  indent=1))
        print(f"({time.perf_counter() - start:.0f} s)")
        return
    if args.task == "cyclegan":
        from .cyclegan import cyclegan_text, evaluate_cyclegan
        from ..hub import resolve

        r = evaluate_cyclegan(args.model, args.data_a, args.data_b, args.feature_net,
                              {"A->B": args.pix2pix_ab, "B->A": args.pix2pix_ba},
                              figure=resolve(args.model) / "examples.png" if args.write_card else None)
        print(json.dumps(r) if args.json else cyclegan_text(args.model, r))
        if args.write_card:
            from .cards import write_cyclegan_card

            meta = json.loads((Path(args.write_card) / "training_state.json").read_text())
            write_cyclegan_card(resolve(args.model), meta, r, " ".join(["python -m genlab eval", *(argv or [])])
                                if argv else None)
            print(f"wrote {resolve(args.model) / 'README.md'} ({time.perf_counter() - start:.0f} s)")
        return
    if args.task == "classifier":
        r = evaluate_classifier(args.model, args.data)
        print(json.dumps(r) if args.json else f"held-out accuracy: {r['accuracy']:.2%} ({r['held_out']} images)")
        return
    if args.task == "vae":
        r = evaluate_vae(args.model, args.data, args.feature_net, args.samples)
        print(json.dumps(r) if args.json else "\n".join(f"  {k:<22} {v}" for k, v in r.items()))
        return
    if args.task == "pix2pix":
        r = evaluate_pix2pix(args.model, args.data, args.feature_net)
        if args.json:
            print(json.dumps(r))
        else:
            print(f"{args.model}: {r['held_out']} held-out pairs, one sample each (noise seed 0)")
            for k in r["model"]:
                print(f"  {k:<10} pix2pix {r['model'][k]:10.4f}   baseline (input itself) {r['baseline'][k]:10.4f}")
        return
    train, held_out = folder_for(load(args.model, model_type="gan", device="cpu"), args.data)  # read once for both
    figure = None
    if args.write_card and args.data != "mnist":
        from ..hub import resolve

        figure = resolve(args.model) / "memorisation.png"
    results = {name: evaluate_gan(name, args.samples, args.seed, args.feature_net, args.data, held_out, train,
                                  figure if name == args.model else None)
               for name in filter(None, (args.model, args.baseline))}
    if args.json:
        print(json.dumps(results))
    else:
        for name, r in results.items():
            _print_gan(name, r)
        print(f"({time.perf_counter() - start:.0f} s)")
    if args.write_card:
        from .cards import write_gan_card
        from .gan import TRUNCATION_RECORD, truncation_section
        from ..hub import resolve

        extra = Path(args.card_section).read_text(encoding="utf-8").strip() if args.card_section else ""
        folder, psi = resolve(args.model), results[args.model].get("psi", 1.0)
        chosen = truncation_section(folder, psi)  # truncation.json
        if not chosen and psi != 1.0 and (folder / TRUNCATION_RECORD).is_file():
            print(f"{TRUNCATION_RECORD} left out of the card: it did not choose this model's psi (or is unreadable); "
                  "re-run genlab eval truncation ... --write")
        extra = "\n\n".join(filter(None, (chosen, extra)))
        baseline = None
        if args.baseline:
            if not (args.baseline_run or args.baseline_command):
                parser.error("--write-card with --baseline needs --baseline-run or --baseline-command (the baseline's "
                             "command goes in the card)")
            command = args.baseline_command or json.loads(
                (Path(args.baseline_run) / "training_state.json").read_text())["command"]
            baseline = {**results[args.baseline], "command": command, "label": args.baseline_label}
        meta = json.loads((Path(args.write_card) / "training_state.json").read_text())
        set_no_class_mode(resolve(args.model), results[args.model])
        write_gan_card(resolve(args.model), meta, results[args.model], baseline, extra)
        print(f"wrote {resolve(args.model) / 'README.md'}")


if __name__ == "__main__":
    main()
