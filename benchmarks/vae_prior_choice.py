"""The ex-post prior of a trained VAE: mixture size K x decode-encode passes, scored as the choice is made.

    python benchmarks/vae_prior_choice.py emoji-vae --data emoji --feature-net emoji-classifier
    python benchmarks/vae_prior_choice.py runs/my-vae/checkpoint --data my_photos/ \
        --feature-net runs/my-clf/checkpoint --components 10,20 --passes 0,2,4

For each K a Gaussian mixture is fitted to all training codes (EM, seed 0); for each number of passes, 2,000
draws (seed 0) are decoded and scored against the **training** images (FID: the choice) and, for the record,
against the held-out ones (FID, memorisation ratio). Chosen: the lowest FID against the training images among
the settings whose samples are no nearer the training set than held-out images are (memorisation ratio at
least 1). The rule is the one docs/models.md "VAE priors" applies; set the winner with
``python -m genlab.train vae --refit CHECKPOINT --prior-components K --prior-refine P`` (same data).
Prints the machine and the wall time; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genlab.evaluation.cards import machine  # noqa: E402
from genlab.evaluation.common import MAX_REAL, feature_net_for, folder_for  # noqa: E402
from genlab.evaluation.metrics import fid_kid, memorisation_from_distances, nearest_distances  # noqa: E402
from genlab.hub import load  # noqa: E402
from genlab.train.prior import fit_gaussian_mixture, training_codes, with_prior  # noqa: E402


def numbers(text: str, low: int, high: int, what: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SystemExit(f"--{what} takes comma-separated whole numbers, got {text!r}")
    if not out or any(not low <= v <= high for v in out):
        raise SystemExit(f"--{what} values must lie in {low}-{high}, got {text!r}")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="shipped VAE name or checkpoint folder")
    p.add_argument("--data", default="mnist", help="'mnist', 'emoji' or the VAE's training folder")
    p.add_argument("--feature-net", default="",
                   help="classifier checkpoint for FID (default on digits: mnist-classifier)")
    p.add_argument("--components", default="10,20,40", help="mixture sizes K (1-256)")
    p.add_argument("--passes", default="0,2,4,6,8", help="decode-encode passes per draw (0-20)")
    p.add_argument("--samples", type=int, default=2000, help="draws per setting (100-20,000)")
    args = p.parse_args(argv)
    ks = numbers(args.components, 1, 256, "components")
    passes = numbers(args.passes, 0, 20, "passes")
    if not 100 <= args.samples <= 20_000:
        raise SystemExit(f"--samples must be 100-20000, got {args.samples}")
    start = time.perf_counter()
    vae = load(args.model, model_type="vae", device="cpu").float().eval()
    train, held_out = folder_for(vae, args.data)
    classifier = feature_net_for(args.feature_net, args.data, vae).cpu()
    train_x, held_x = train.tensors(MAX_REAL)[0], held_out.tensors(MAX_REAL)[0]
    d_held = nearest_distances(held_x, train_x)
    with torch.no_grad():
        codes = training_codes(vae, train_x)
    print(f"{args.model}: {len(train_x)} training codes, {args.samples} draws per setting, against the "
          f"{len(train_x)} training images (the choice) and the {len(held_x)} held-out ones; {machine()}")
    print("| K | passes | FID vs training (chooses) | FID vs held-out | memorisation ratio |")
    print("|---:|---:|---:|---:|---:|")
    rows = []
    for k in ks:
        w, m, t, _ = fit_gaussian_mixture(codes, k, seed=0)
        fitted = with_prior(vae, w, m, t)
        for n in passes:
            with torch.no_grad():
                z = fitted.sample_prior(args.samples, torch.Generator().manual_seed(0), refine=n)
                fake = torch.cat([fitted.decode(z[i : i + 500]) for i in range(0, len(z), 500)])
            row = {"k": k, "passes": n, "fid_train": fid_kid(train_x, fake, classifier)["fid"],
                   "fid_held_out": fid_kid(held_x, fake, classifier)["fid"],
                   "ratio": memorisation_from_distances(nearest_distances(fake, train_x), d_held)["ratio"]}
            rows.append(row)
            print(f"| {k} | {n} | {row['fid_train']:.2f} | {row['fid_held_out']:.2f} | {row['ratio']:.3f} |",
                  flush=True)
    allowed = [r for r in rows if r["ratio"] >= 1]
    if allowed:
        best = min(allowed, key=lambda r: r["fid_train"])
        print(f"chosen: K = {best['k']}, {best['passes']} passes (lowest FID vs training with memorisation ratio >= 1)")
    else:
        print("no setting keeps the memorisation ratio at 1 or above")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
