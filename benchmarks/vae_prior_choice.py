"""The ex-post prior of a trained VAE: mixture size K x subspace rank x decode-encode passes, scored as the choice
is made.

    python benchmarks/vae_prior_choice.py emoji-vae --data emoji --feature-net emoji-classifier
    python benchmarks/vae_prior_choice.py runs/my-vae/checkpoint --data my_photos/ \
        --feature-net runs/my-clf/checkpoint --components 10,20 --passes 0,2,4 --ranks 0,12

For each K and rank r a Gaussian mixture is fitted to all training codes (EM, seed 0; rank r: in the codes' r
leading principal directions, 0: all of them); for each number of passes, three sets of 2,000 draws (seeds 0-2)
are decoded and scored against the **training** images (FID, mean over the sets: the choice; one set of 2,000
differs from the next by up to 35 FID points here) and, for the record, the first set against the held-out ones
(FID, memorisation ratio). Chosen: the lowest FID against the training images among the settings whose samples are no
nearer the training set than the decoder's own reconstructions of the held-out images are (their memorisation
ratio, printed first: decoding smooths, so it is below 1 even for images the VAE never saw). The rule is the one
docs/models.md "VAE priors" applies; set the winner with ``python -m genlab.train vae --refit CHECKPOINT
--prior-components K --prior-rank R --prior-refine P`` (same data).
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
from genlab.evaluation.vae import reconstruction_memorisation  # noqa: E402
from genlab.train.prior import fit_subspace_mixture, training_codes, with_prior  # noqa: E402


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
    p.add_argument("--ranks", default="0", help="principal directions the mixture is fitted in (0: all)")
    p.add_argument("--samples", type=int, default=2000, help="draws per set (100-20,000)")
    p.add_argument("--sets", type=int, default=3, help="sets of draws per setting, seeds 0.. (1-10)")
    args = p.parse_args(argv)
    ks = numbers(args.components, 1, 256, "components")
    passes = numbers(args.passes, 0, 20, "passes")
    ranks = numbers(args.ranks, 0, 512, "ranks")
    if not 100 <= args.samples <= 20_000:
        raise SystemExit(f"--samples must be 100-20000, got {args.samples}")
    if not 1 <= args.sets <= 10:
        raise SystemExit(f"--sets must be 1-10, got {args.sets}")
    start = time.perf_counter()
    vae = load(args.model, model_type="vae", device="cpu").float().eval()
    train, held_out = folder_for(vae, args.data)
    classifier = feature_net_for(args.feature_net, args.data, vae).cpu()
    train_x, held_x = train.tensors(MAX_REAL)[0], held_out.tensors(MAX_REAL)[0]
    d_held = nearest_distances(held_x, train_x)
    if any(r > vae.latent_dim for r in ranks):
        raise SystemExit(f"--ranks values must be at most the latent size, {vae.latent_dim}")
    with torch.no_grad():
        codes = training_codes(vae, train_x)
    reference = reconstruction_memorisation(vae, train_x, held_x)["ratio"]
    print(f"{args.model}: {len(train_x)} training codes, {args.sets} x {args.samples} draws per setting, against the "
          f"{len(train_x)} training images (the choice) and the {len(held_x)} held-out ones; {machine()}")
    print(f"memorisation ratio of the decoder's reconstructions of the held-out images (the bar): {reference:.3f}")
    print("| K | rank | passes | FID vs training, mean (chooses) | per set | FID vs held-out | memorisation ratio |")
    print("|---:|---:|---:|---:|---|---:|---:|")
    rows = []
    for k, r in [(k, r) for k in ks for r in ranks]:
        w, m, t, _ = fit_subspace_mixture(codes, k, r, seed=0)
        fitted = with_prior(vae, w, m, t)
        for n in passes:
            sets = []
            for seed in range(args.sets):
                with torch.no_grad():
                    z = fitted.sample_prior(args.samples, torch.Generator().manual_seed(seed), refine=n)
                    sets.append(torch.cat([fitted.decode(z[i : i + 500]) for i in range(0, len(z), 500)]))
            per_set = [fid_kid(train_x, fake, classifier)["fid"] for fake in sets]
            row = {"k": k, "rank": r or vae.latent_dim, "passes": n, "fid_train": sum(per_set) / len(per_set),
                   "fid_held_out": fid_kid(held_x, sets[0], classifier)["fid"],
                   "ratio": memorisation_from_distances(nearest_distances(sets[0], train_x), d_held)["ratio"]}
            rows.append(row)
            print(f"| {k} | {row['rank']} | {n} | {row['fid_train']:.2f} | {', '.join(f'{f:.1f}' for f in per_set)} | "
                  f"{row['fid_held_out']:.2f} | {row['ratio']:.3f} |", flush=True)
    allowed = [r for r in rows if r["ratio"] >= reference]
    if allowed:
        best = min(allowed, key=lambda r: r["fid_train"])
        print(f"chosen: K = {best['k']}, rank {best['rank']}, {best['passes']} passes (lowest FID vs training with a "
              f"memorisation ratio of at least the reconstructions' {reference:.3f})")
    else:
        print(f"no setting keeps the memorisation ratio at the reconstructions' {reference:.3f} or above")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
