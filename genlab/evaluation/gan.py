"""A GAN checkpoint against held-out images: class accuracy, FID/KID with the real floor, memorisation."""

from __future__ import annotations

from pathlib import Path


from ..datasets import ImageSet
from ..errors import DatasetError
from ..hub import load
from ..models.gan import MIN_PSI
from .common import MAX_REAL, feature_net_for, folder_for, memorisation_check, real_floor
from .metrics import any_class_fid, evaluate_generator


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
    result = evaluate_generator(g, classifier, real, n=samples, seed=seed, real_labels=real_labels)  # at g.psi
    if not g.num_classes:
        result.pop("accuracy", None)  # unconditional: no class to agree with
    else:  # the no-class ("any") label: does it sample the data as a whole as well as the classes do?
        result["fid_any"] = any_class_fid(g, classifier, real, samples, seed)
    if result["psi"] != 1.0:  # a truncated default: the same figures without truncation, beside them
        plain = evaluate_generator(g, classifier, real, n=samples, seed=seed, real_labels=real_labels, psi=1.0)
        if not g.num_classes:
            plain.pop("accuracy", None)
        else:
            plain["fid_any"] = any_class_fid(g, classifier, real, samples, seed, psi=1.0)
        result["untruncated"] = plain
    floor = real_floor(classifier, train, held_out)
    if data != "mnist":
        result["memorisation"] = memorisation_check(g, train, held_out, figure, seed)
    return {**result, "floor_fid": floor["fid"], "floor_kid": floor["kid"], "floor_kid_std": floor["kid_std"],
            "feature_net": feature_net or "mnist-classifier", "held_out": len(held_out), "data": data}


TRUNCATION_GRID = (1.0, 0.9, 0.8, 0.75, 0.7, 0.65, 0.6)
MIN_SPREAD = 0.95  # a truncation may not make the samples less varied than this share of the real images' spread


def choose_truncation(name: str, data: str, feature_net: str, samples: int = 2000, seed: int = 0,
                      grid: tuple[float, ...] = TRUNCATION_GRID, min_spread: float = MIN_SPREAD) -> dict:
    """The default truncation for a GAN: for each psi in ``grid``, ``samples`` conditional samples (classes
    balanced, seed 0; the same latents scaled by psi) scored against the **training** images (FID, within-class
    spread: the choice never looks at the held-out split) and, for the record, against the held-out ones (FID,
    class accuracy, memorisation ratio). Chosen: the lowest FID against the training images among the psi whose
    spread stays at least ``min_spread`` and whose memorisation ratio stays at least 1 (samples no nearer the
    training set than held-out images are); psi 1 if none beats it. Returns {"rows": [...], "psi": chosen}."""
    from .metrics import accuracy, class_spread, fid_kid, generate, memorisation_from_distances, nearest_distances

    g = load(name, model_type="gan", device="cpu")
    if not g.num_classes:
        raise DatasetError(f"{name} is unconditional: the truncation choice measures class-balanced samples.")
    if not grid or any(not MIN_PSI <= p <= 1.0 for p in grid):
        raise ValueError(f"truncation grid values must lie in {MIN_PSI}-1, got {list(grid)}")
    train, held_out = folder_for(g, data)
    classifier = feature_net_for(feature_net, data, g).cpu()
    train_x, train_y = train.tensors(MAX_REAL)
    held_x, held_y = held_out.tensors(MAX_REAL)
    d_held = nearest_distances(held_x, train_x)  # the held-out images' side of the memorisation ratio: once
    rows = []
    for psi in sorted(set(grid), reverse=True):
        fake, labels = generate(g, samples, seed, psi=psi)
        rows.append({"psi": psi, "fid_train": fid_kid(train_x, fake, classifier)["fid"],
                     "spread_train": class_spread(classifier, fake, labels, train_x, train_y),
                     "fid_held_out": fid_kid(held_x, fake, classifier)["fid"],
                     "accuracy": accuracy(classifier, fake, labels),
                     "memorisation_ratio": memorisation_from_distances(nearest_distances(fake, train_x),
                                                                       d_held)["ratio"]})
    allowed = [r for r in rows if r["psi"] == 1.0 or (r["spread_train"] >= min_spread and r["memorisation_ratio"] >= 1)]
    best = min(allowed, key=lambda r: r["fid_train"]) if allowed else {"psi": 1.0}
    return {"rows": rows, "psi": best["psi"], "samples": samples, "min_spread": min_spread, "data": data,
            "feature_net": feature_net, "train": len(train_x), "held_out": len(held_x)}


def truncation_table(result: dict) -> str:
    """choose_truncation's rows as a Markdown table, the chosen psi in bold."""
    lines = ["| ψ | FID vs training images (chooses) | within-class spread vs training | FID vs held-out | "
             "class accuracy | memorisation ratio |", "|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        b = "**" if r["psi"] == result["psi"] else ""
        lines.append(f"| {b}{r['psi']:g}{b} | {b}{r['fid_train']:.2f}{b} | {r['spread_train']:.3f} | "
                     f"{r['fid_held_out']:.2f} | {r['accuracy']:.2%} | {r['memorisation_ratio']:.3f} |")
    return "\n".join(lines)


TRUNCATION_RECORD = "truncation.json"  # beside a GAN checkpoint: the choice that set its psi, read by its card


def write_truncation_record(folder: Path, result: dict, seconds: float, command: str) -> Path:
    """truncation.json beside a GAN checkpoint: choose_truncation's result, how long it took, where and by which
    command, so ``eval gan --write-card`` puts the measured table in the card (no hand-copied figures)."""
    import json

    from .cards import machine

    path = Path(folder) / TRUNCATION_RECORD
    path.write_text(json.dumps({**result, "seconds": round(seconds, 1), "machine": machine(), "command": command},
                               indent=1))
    return path


def truncation_section(folder: Path, psi: float) -> str:
    """The card's "Default truncation" Markdown from the checkpoint's truncation.json, when the record chose the
    psi the checkpoint now carries; "" when there is none, it is unreadable, or it chose another psi (a record
    left behind by a later hand edit of config.json must not describe the weights wrongly)."""
    import json

    path = Path(folder) / TRUNCATION_RECORD
    if psi == 1.0 or not path.is_file() or path.stat().st_size > 100_000:
        return ""
    try:
        r = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(r, dict) or float(r["psi"]) != psi or not 1 <= len(r["rows"]) <= 50:
            return ""
        table = truncation_table(r)
        intro = (f"`{r['command']}` ({float(r['seconds']):.0f} s on {r['machine']}): {int(r['samples']):,} "
                 f"class-balanced samples per ψ (seed 0), chosen by FID against the {int(r['train']):,} **training** "
                 f"images among the ψ whose within-class spread stays at least {float(r['min_spread']):g} and whose "
                 f"memorisation ratio stays at least 1; the columns against the {int(r['held_out']):,} held-out "
                 "images are for the record and were not used to choose.")
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return f"### Default truncation: ψ = {psi:g}\n\n{intro}\n\n{table}"


def truncated_grid(folder: Path, psi: float, seed: int = 0) -> Path | None:
    """samples_truncated.png beside a GAN checkpoint: the training run's class-per-row grid (10 per class, the
    latents of its fixed seed) with z scaled by psi, to show beside samples.png (the same latents at psi 1)."""
    import torch

    from ..images import to_pil_grid

    g = load(str(folder), model_type="gan", device="cpu").eval()
    rows = max(1, min(g.num_classes, 10))
    z = torch.randn(10 * rows, g.latent_dim, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(10 * rows) // 10 if g.num_classes else torch.full((10 * rows,), g.any_class)
    path = Path(folder) / "samples_truncated.png"
    if psi == 1.0:
        path.unlink(missing_ok=True)  # no truncation: samples.png is the grid
        return None
    with torch.no_grad():
        to_pil_grid(g(z * psi, labels), nrow=10).save(path)
    return path


def set_truncation(folder: Path, psi: float) -> None:
    """Record a GAN checkpoint's default truncation in its config.json (the app opens with it; the card measures
    at it). Kept out of the weights digest: the files fitted beside the weights stay valid."""
    import json

    if not MIN_PSI <= psi <= 1.0:
        raise ValueError(f"psi must lie in {MIN_PSI}-1, got {psi}")
    path = Path(folder) / "config.json"
    config = json.loads(path.read_text())
    if psi == 1.0:
        config.pop("psi", None)  # the plain default: configs without a truncation read as 1
    else:
        config["psi"] = psi
    path.write_text(json.dumps(config, sort_keys=True, indent=2))
