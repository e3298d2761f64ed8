"""Evaluate checkpoints on the bundled digits or on any image folder.

    python -m genlab.eval gan mnist-cgan                                   # digits, mnist-classifier features
    python -m genlab.eval gan checkpoints/my-gan --data my_photos/ --feature-net checkpoints/my-classifier
    python -m genlab.eval vae checkpoints/my-vae --data my_photos/ [--feature-net ...]
    python -m genlab.eval pix2pix checkpoints/my-p2p --data my_pairs/      # DIR/A -> DIR/B
    python -m genlab.eval classifier checkpoints/my-classifier --data my_photos/

A folder is read at the checkpoint's own resolution, channels and crop/pad rule, and split
exactly as training split it (the same held-out files). FID/KID use a genlab classifier's
penultimate features (named in the output and the card), trained on the folder's classes
with ``python -m genlab.train classifier --data DIR``; the real-data floor (train vs
held-out) is printed beside every FID.
``python -m genlab.eval cyclegan emoji-openmoji2noto --data-a openmoji --data-b noto --feature-net emoji-classifier``
scores both directions of a CycleGAN against the identity (and a pix2pix) baseline (genlab/cyclegan_eval.py).
``python -m genlab.eval inpaint`` scores every repair method inside synthetic masks (PSNR/SSIM).
``python -m genlab.eval augment`` measures what generated digits add to a small classifier.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from .cards import BASELINE_LABEL, set_no_class_mode  # noqa: F401 (the eval CLI and train/gan.py apply it)
from .datasets import EVAL_FRACTION, ImageSet, digit_set, image_folder, paired_digit_set, paired_folder
from .errors import DatasetError
from .hub import load
from .metrics import accuracy, any_class_fid, evaluate_generator, fid_kid, image_quality, vae_metrics

from .eval_data import MAX_REAL, folder_for  # noqa: E402,F401 (shared with augment_eval, cyclegan_eval)


def feature_net_for(name: str, data: str, like) -> torch.nn.Module:
    """The classifier for FID/KID: ``name``, or mnist-classifier on digits; checked against the data."""
    name = name or ("mnist-classifier" if data == "mnist" else "")
    if not name:
        raise DatasetError("FID/KID on a folder need a feature net trained on it: run `python -m genlab.train "
                           f"classifier --data {data} --resolution {like.resolution} --channels {like.image_channels}` "
                           "and pass its checkpoint as --feature-net.")
    net = load(name, model_type="classifier", device="cpu")
    if net.image_channels != like.image_channels:
        raise DatasetError(f"feature net {name!r} takes {net.image_channels}-channel images; the model makes "
                           f"{like.image_channels}-channel ones: train a classifier on the same data.")
    # Another side length is resampled to the net's own (DigitClassifier.fit_size): the real images go the
    # same way, so FID, KID and the floor stay comparable.
    return net


def real_floor(classifier, train: ImageSet, held_out: ImageSet) -> dict:
    """FID/KID of the training images vs the held-out ones: what real data scores."""
    return fid_kid(held_out.tensors(MAX_REAL)[0], train.tensors(MAX_REAL)[0], classifier)


MEMORISATION_SAMPLES = 2000  # generated images whose nearest training image is looked up


def memorisation_check(g, train: ImageSet, held_out: ImageSet, figure: Path | None = None, seed: int = 0) -> dict:
    """How near the GAN's samples come to their nearest training image, against held-out real images' nearest
    training image (metrics.memorisation); with ``figure``, a PNG: both histograms, and the 8 samples nearest to
    the training set beside the training image each is nearest to."""
    from .metrics import generate, memorisation_from_distances, nearest_distances

    fake = generate(g, MEMORISATION_SAMPLES, seed=seed + 7)[0]
    train_x, held_x = train.tensors(MAX_REAL)[0], held_out.tensors(MAX_REAL)[0]
    d_fake, d_real = nearest_distances(fake, train_x), nearest_distances(held_x, train_x)
    result = {**memorisation_from_distances(d_fake, d_real), "samples": len(fake), "train": len(train_x),
              "held_out": len(held_x)}
    if figure is not None:
        _memorisation_figure(fake, train_x, d_fake, d_real, Path(figure))
    return result


def _memorisation_figure(fake: torch.Tensor, train_x: torch.Tensor, d_fake: torch.Tensor, d_real: torch.Tensor,
                         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .images import to_pil_grid

    closest = d_fake.argsort()[:8]
    flat_train = (train_x.flatten(1) + 1) / 2
    partner = [int((((fake[i].flatten() + 1) / 2 - flat_train) ** 2).sum(1).argmin()) for i in closest]
    pairs = torch.stack([fake[closest], train_x[partner]], 1).flatten(0, 1)  # sample, its nearest training image
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100, gridspec_kw={"width_ratios": [1.2, 1]})
    bins = torch.linspace(0, float(max(d_fake.max(), d_real.max())), 40).numpy()
    ax.hist(d_real.numpy(), bins=bins, density=True, alpha=0.6, label=f"held-out real → train (n={len(d_real)})")
    ax.hist(d_fake.numpy(), bins=bins, density=True, alpha=0.6, label=f"GAN sample → train (n={len(d_fake)})")
    ax.axvline(float(torch.quantile(d_real, 0.01)), color="k", ls="--", lw=1, label="1 % of held-out (near-copy line)")
    ax.set_xlabel("RMS pixel distance to the nearest training image ([0, 1] intensities)")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    ax2.imshow(to_pil_grid(pairs, nrow=4))
    ax2.set_title("8 samples nearest to the training set,\neach beside its nearest training image", fontsize=8)
    ax2.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate_gan(name: str, samples: int = 5000, seed: int = 0, feature_net: str = "mnist-classifier",
                 data: str = "mnist", held_out: ImageSet | None = None, train: ImageSet | None = None,
                 figure: Path | None = None) -> dict:
    """Accuracy, FID, KID of a GAN checkpoint against the held-out split, and the real floor; on data other
    than the digits also the memorisation check (``figure``: where its PNG goes)."""
    g = load(name, model_type="gan", device="cpu")
    if held_out is None or train is None:
        train, held_out = folder_for(g, data)
    if held_out.class_names and g.num_classes and g.labels != held_out.class_names and data != "mnist":
        raise DatasetError(f"{name} was trained on classes {g.labels}, but {data} has {held_out.class_names}.")
    classifier = feature_net_for(feature_net, data, g)
    real, real_labels = held_out.tensors(MAX_REAL)
    result = evaluate_generator(g, classifier, real, n=samples, seed=seed, real_labels=real_labels)
    if not g.num_classes:
        result.pop("accuracy", None)  # unconditional: no class to agree with
    else:  # the no-class ("any") label: does it sample the data as a whole as well as the classes do?
        result["fid_any"] = any_class_fid(g, classifier, real, samples, seed)
    floor = real_floor(classifier, train, held_out)
    if data != "mnist":
        result["memorisation"] = memorisation_check(g, train, held_out, figure, seed)
    return {**result, "floor_fid": floor["fid"], "floor_kid": floor["kid"], "floor_kid_std": floor["kid_std"],
            "feature_net": feature_net or "mnist-classifier", "held_out": len(held_out), "data": data}


def prior_sample_fid(vae, classifier, train: ImageSet, held_out: ImageSet, samples: int = 5000, seed: int = 0,
                     prior: str = "fitted") -> dict:
    """FID/KID of ``samples`` decoded prior draws against the held-out images, and the real floor. The prior is
    the VAE's fitted mixture where it has one ("fitted"), or N(0, I) ("normal")."""
    with torch.no_grad():
        z = vae.sample_prior(samples, torch.Generator().manual_seed(seed), prior)
        fake = torch.cat([vae.decode(z[i : i + 500]) for i in range(0, samples, 500)])
    return {**fid_kid(held_out.tensors(MAX_REAL)[0], fake, classifier),
            "floor_fid": real_floor(classifier, train, held_out)["fid"]}


def prior_fids(vae, classifier, train: ImageSet, held_out: ImageSet, samples: int = 5000, seed: int = 0) -> dict:
    """prior_sample_fid of the VAE's own prior (fid, kid, ...), plus N(0, I)'s (fid_normal, kid_normal, ...)
    when the model has a fitted one, for comparison."""
    out = prior_sample_fid(vae, classifier, train, held_out, samples, seed)
    out["prior"] = "fitted" if vae.prior_components else "normal"
    if vae.prior_components:
        normal = prior_sample_fid(vae, classifier, train, held_out, samples, seed, prior="normal")
        out.update(fid_normal=normal["fid"], kid_normal=normal["kid"], kid_std_normal=normal["kid_std"])
    return out


def reconstruction_accuracy(vae, classifier, held_out: ImageSet) -> float:
    """Share of held-out images whose reconstruction (decoding the posterior mean) the classifier reads as the
    image's own class: does the VAE keep what the image is?"""
    x, y = held_out.tensors(MAX_REAL)
    with torch.no_grad():
        recon = torch.cat([vae.decode(vae.encode(x[i : i + 500])[0]) for i in range(0, len(x), 500)])
    return accuracy(classifier, recon, y)


def evaluate_vae(name: str, data: str = "mnist", feature_net: str = "", samples: int = 5000, seed: int = 0) -> dict:
    """Held-out negative ELBO, reconstruction error, and (with a feature net) prior-sample FID/KID."""
    vae = load(name, model_type="vae", device="cpu")
    train, held_out = folder_for(vae, data)
    x = held_out.tensors(MAX_REAL)[0]
    out = vae_metrics(vae, x)
    out.pop("kl_per_dim")
    out["held_out"] = len(x)
    if feature_net or data == "mnist":
        classifier = feature_net_for(feature_net, data, vae)
        out.update(prior_fids(vae, classifier, train, held_out, samples, seed),
                   feature_net=feature_net or "mnist-classifier")
        if held_out.num_classes and (data == "mnist" or classifier.labels == held_out.class_names):
            out["recon_accuracy"] = reconstruction_accuracy(vae, classifier, held_out)
    return out


def evaluate_pix2pix(name: str, data: str = "", feature_net: str = "", seed: int = 0) -> dict:
    """L1/PSNR/SSIM (and FID/KID, accuracy with a feature net) of one sample per held-out input, beside
    the plain baseline: the input itself (the task's own baseline for the digit tasks)."""
    g = load(name, model_type="pix2pix", device="cpu")
    if g.task and not data:
        held = paired_digit_set(g.task, "eval", seed=1)
        feature_net = feature_net or "mnist-classifier"
    elif data in ("openmoji2noto", "noto2openmoji"):  # one emoji design -> the other (held-out emoji)
        from .datasets import PairedSet
        from .datasets.emoji_styles import style_sets

        held = style_sets(g.resolution).held_out
        held = held if data == "openmoji2noto" else PairedSet(held.b, held.a)
    elif data == "emoji":  # sketch -> colour pairs, the same fixed held-out draw as in training
        from .datasets.emoji import sketch_pairs

        held = sketch_pairs(g.resolution)[1]
    elif data:
        fit = g.preprocess if g.preprocess in ("crop", "pad") else "crop"
        held = paired_folder(data, g.resolution, g.image_channels, g.in_channels, fit)[1]
    else:
        raise DatasetError(f"{name} was trained on a folder: pass it with --data DIR (DIR/A -> DIR/B).")
    x, y, labels = held.tensors(MAX_REAL)
    classifier = load(feature_net, model_type="classifier", device="cpu") if feature_net else None
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)  # the dropout noise
        outputs = torch.cat([g(x[i : i + 250]) for i in range(0, len(x), 250)])
    baseline = x if x.size(1) == y.size(1) else x.mean(1, keepdim=True).expand_as(y)
    return {"model": image_quality(outputs, y, labels, classifier), "baseline": image_quality(baseline, y, labels,
                                                                                              classifier),
            "held_out": len(x), "feature_net": feature_net or None}


def evaluate_classifier(name: str, data: str = "mnist") -> dict:
    model = load(name, model_type="classifier", device="cpu")
    _, held_out = folder_for(model, data)
    x, y = held_out.tensors(MAX_REAL)
    return {"accuracy": accuracy(model, x, y), "held_out": len(x), "classes": model.labels}


def _print_gan(name: str, r: dict) -> None:
    print(f"{name}: {r['samples']} samples vs {r['held_out']} held-out images; features: {r['feature_net']}")
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


def main(argv: list[str] | None = None, prog: str = "python -m genlab.eval") -> None:
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
        from .augment_eval import augmentation_experiment, markdown_table, summarise

        rows = augmentation_experiment(load(args.gan, model_type="gan", device="cpu"), tuple(args.n_real),
                                       args.k_generated, tuple(range(args.seeds)), args.steps, data=args.data)
        summary = summarise(rows)
        print(markdown_table(summary))
        if args.json:
            Path(args.json).write_text(json.dumps({"summary": summary, "rows": rows, "gan": args.gan,
                                                   "data": args.data, "steps": args.steps,
                                                   "command": " ".join(["python -m genlab.eval", *(argv or [])])},
                                                  indent=1))
        print(f"({time.perf_counter() - start:.0f} s)")
        return
    if args.task == "cyclegan":
        from .cyclegan_eval import cyclegan_text, evaluate_cyclegan
        from .hub import resolve

        r = evaluate_cyclegan(args.model, args.data_a, args.data_b, args.feature_net,
                              {"A->B": args.pix2pix_ab, "B->A": args.pix2pix_ba},
                              figure=resolve(args.model) / "examples.png" if args.write_card else None)
        print(json.dumps(r) if args.json else cyclegan_text(args.model, r))
        if args.write_card:
            from .cards import write_cyclegan_card

            meta = json.loads((Path(args.write_card) / "training_state.json").read_text())
            write_cyclegan_card(resolve(args.model), meta, r, " ".join(["python -m genlab.eval", *(argv or [])])
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
        from .hub import resolve

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
        from .hub import resolve

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
        write_gan_card(resolve(args.model), meta, results[args.model], baseline)
        print(f"wrote {resolve(args.model) / 'README.md'}")


if __name__ == "__main__":
    main()
