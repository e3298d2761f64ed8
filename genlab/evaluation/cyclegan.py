"""``python -m genlab eval cyclegan``: both directions of a CycleGAN on held-out images.

Paired held-out data (the two emoji designs: the same emoji drawn both ways) gives L1/PSNR/SSIM against the
true drawing, FID/KID and group accuracy with a feature net, beside the input itself and a supervised
pix2pix; two folders give FID against the other folder's held-out images. Always: the cycle error.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..datasets import EVAL_FRACTION, image_folder
from ..errors import DatasetError
from .common import MAX_REAL
from ..hub import load
from .metrics import accuracy, fid_kid, image_quality


def cyclegan_held_out(model, data_a: str, data_b: str):
    """(held-out A, held-out B, labels or None, paired): the emoji designs give pairs (the same emoji drawn both
    ways); two folders give each folder's own held-out split, unpaired."""
    if (data_a, data_b) == ("openmoji", "noto"):
        from ..datasets.emoji_styles import style_sets

        xa, xb, labels = style_sets(model.resolution).held_out.tensors(MAX_REAL)
        return xa, xb, labels, True
    if not data_a or not data_b:
        raise DatasetError("a CycleGAN is evaluated on its two training sets: --data-a DIR --data-b DIR")
    fit = model.preprocess if model.preprocess in ("crop", "pad") else "crop"
    xa = image_folder(data_a, model.resolution, model.image_channels, fit, EVAL_FRACTION)[1].tensors(MAX_REAL)[0]
    xb = image_folder(data_b, model.resolution, model.image_channels, fit, EVAL_FRACTION)[1].tensors(MAX_REAL)[0]
    return xa, xb, None, False


def evaluate_cyclegan(name: str, data_a: str, data_b: str, feature_net: str = "", pix2pix: dict | None = None,
                      batch: int = 250, figure: Path | None = None) -> dict:
    """Both directions of a CycleGAN on held-out images. Paired data (the emoji designs): L1/PSNR/SSIM against
    the true drawing in the other design, FID/KID and group accuracy with a feature net, beside the input itself
    (identity) and, where ``pix2pix`` names a checkpoint per direction ({"A->B": name, ...}), a supervised pix2pix.
    Unpaired folders: FID/KID against the other folder's held-out images. Always: the cycle reconstruction L1.
    ``figure``: a PNG of one held-out image per class through both directions (see _cyclegan_figure)."""
    model = load(name, model_type="cyclegan", device="cpu")
    xa, xb, labels, paired = cyclegan_held_out(model, data_a, data_b)
    classifier = load(feature_net, model_type="classifier", device="cpu") if feature_net else None

    def run(g, x):
        with torch.no_grad():
            return torch.cat([g(x[i : i + batch]) for i in range(0, len(x), batch)])

    def score(out, target, src_labels):
        if paired:
            return image_quality(out, target, src_labels, classifier)
        if classifier is None or min(len(out), len(target)) < 2:  # FID needs two images a side
            return {}
        return fid_kid(target, out.clamp(-1, 1), classifier)

    result = {"held_out": {"A": len(xa), "B": len(xb)}, "paired": paired, "feature_net": feature_net or None,
              "domains": model.domains, "resolution": model.resolution}
    shown = {}  # with a figure: one held-out image per class, each row of it
    for direction, src, target in (("A->B", xa, xb), ("B->A", xb, xa)):
        back = "B->A" if direction == "A->B" else "A->B"
        out = run(lambda x: model(x, direction), src)
        cycle = run(lambda x: model(x, back), out)
        r = {"model": score(out, target, labels), "identity": score(src, target, labels),
             "cycle_l1": ((cycle - src).abs() / 2).mean().item()}  # [0, 1] intensities
        if paired and classifier is not None:  # the ceiling of the accuracy row: the true drawings themselves
            r["target_accuracy"] = accuracy(classifier, target, labels)
        rows = {"input": src, "CycleGAN": out, "cycle": cycle}
        if paired and pix2pix and pix2pix.get(direction):
            p2p = load(pix2pix[direction], model_type="pix2pix", device="cpu")
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)  # the dropout noise
                rows["pix2pix"] = run(p2p, src)
                r["pix2pix"] = score(rows["pix2pix"], target, labels)
            r["pix2pix_name"] = pix2pix[direction]
        if paired:
            rows["true"] = target
        shown[direction] = rows
        result[direction] = r
    if figure is not None:
        _cyclegan_figure(shown, labels, model.domains, Path(figure))
    return result


def _cyclegan_figure(shown: dict, labels, domains: dict, path: Path, per_row: int = 9) -> None:
    """Each direction: a band of rows (input, CycleGAN, pix2pix if any, true drawing if paired, cycle), one
    column per class (the first held-out image of each; the first ``per_row`` images without classes)."""
    from ..images import to_pil_grid

    if labels is not None:
        cols = [int((labels == c).nonzero()[0]) for c in labels.unique().tolist()][:per_row]
    else:
        cols = list(range(min(per_row, *(len(v["input"]) for v in shown.values()))))
    order = ("input", "CycleGAN", "pix2pix", "true", "cycle")
    bands = [torch.cat([rows[k][cols] for k in order if k in rows]) for rows in shown.values()]
    to_pil_grid(torch.cat(bands), nrow=len(cols), display_size=96 * len(cols)).save(path)


def cyclegan_text(name: str, r: dict) -> str:
    lines = [f"{name}: A = {r['domains']['A']}, B = {r['domains']['B']}; held out {r['held_out']}"
             + (" (paired)" if r["paired"] else " (unpaired)")]
    for d in ("A->B", "B->A"):
        lines.append(f"  {d}: cycle L1 {r[d]['cycle_l1']:.4f}")
        for k in r[d]["model"]:
            extra = f"   pix2pix {r[d]['pix2pix'][k]:10.4f}" if "pix2pix" in r[d] else ""
            lines.append(f"    {k:<9} CycleGAN {r[d]['model'][k]:10.4f}   identity {r[d]['identity'][k]:10.4f}{extra}")
    return "\n".join(lines)
