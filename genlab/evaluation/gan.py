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
TRUNCATION_SEEDS = 4  # sample sets per psi: the FID differences between neighbouring psi are of the order of its noise
TIE_SE = 2.0  # a psi whose mean FID gap to the best is within this many standard errors of its seed-paired gaps ties


def pick_truncation(rows: list[dict], min_spread: float = MIN_SPREAD, tie_se: float = TIE_SE) -> dict:
    """The choice among measured rows (each: psi, fid_train (the mean of fid_train_seeds), accuracy, spread_train,
    memorisation_ratio).
    Allowed: psi 1, and every psi whose spread stays at least ``min_spread`` and whose memorisation ratio at least
    1. The best is the lowest mean FID against the training images; an allowed psi ties with it when the mean of
    its per-seed FID gaps to the best (the same latents, so the gaps are paired) is at most ``tie_se`` standard
    errors of those gaps: the sample sets do not tell them apart. Among the tied, the highest class accuracy wins
    (the samples agree with the requested class more often), the larger psi on equal accuracy. With one seed
    there is no standard error, and only the best ties. Marks each row's "tied" and "fid_gap"; returns the
    chosen row ({"psi": 1.0} when nothing is allowed)."""
    import statistics

    allowed = [r for r in rows if r["psi"] == 1.0 or (r["spread_train"] >= min_spread and r["memorisation_ratio"] >= 1)]
    for r in rows:
        r["tied"], r["fid_gap"] = False, None
    if not allowed:
        return {"psi": 1.0}
    best = min(allowed, key=lambda r: r["fid_train"])  # the mean of its sets
    for r in allowed:
        gaps = [a - b for a, b in zip(r["fid_train_seeds"], best["fid_train_seeds"])]
        r["fid_gap"] = statistics.fmean(gaps)
        se = statistics.stdev(gaps) / len(gaps) ** 0.5 if len(gaps) > 1 else 0.0
        r["tied"] = r is best or (len(gaps) > 1 and r["fid_gap"] <= tie_se * se)
    return max((r for r in allowed if r["tied"]), key=lambda r: (round(r["accuracy"], 6), r["psi"]))


def choose_truncation(name: str, data: str, feature_net: str, samples: int = 2000, seed: int = 0,
                      grid: tuple[float, ...] = TRUNCATION_GRID, min_spread: float = MIN_SPREAD,
                      seeds: int = TRUNCATION_SEEDS) -> dict:
    """The default truncation for a GAN: for each psi in ``grid``, ``seeds`` sets of ``samples`` conditional
    samples (classes balanced; sample seeds ``seed``, ``seed`` + 1, ...; each set's latents scaled by every psi)
    scored against the **training** images (FID of each set, class accuracy over all sets; the within-class
    spread on the first set: the choice never looks at the held-out split) and, for the record, against the
    held-out ones (FID, memorisation ratio, first set). Chosen by ``pick_truncation``: among the psi that keep the
    spread and the memorisation ratio and whose FID against the training images is within the sample sets' noise
    of the lowest, the most class-faithful. Returns {"rows": [...], "psi": chosen}."""
    import statistics

    from .metrics import accuracy, class_spread, fid_kid, generate, memorisation_from_distances, nearest_distances

    g = load(name, model_type="gan", device="cpu")
    if not g.num_classes:
        raise DatasetError(f"{name} is unconditional: the truncation choice measures class-balanced samples.")
    if not grid or any(not MIN_PSI <= p <= 1.0 for p in grid):
        raise ValueError(f"truncation grid values must lie in {MIN_PSI}-1, got {list(grid)}")
    if not 1 <= seeds <= 16:
        raise ValueError(f"seeds (sample sets per psi) must be 1-16, got {seeds}")
    train, held_out = folder_for(g, data)
    classifier = feature_net_for(feature_net, data, g).cpu()
    train_x, train_y = train.tensors(MAX_REAL)
    held_x, held_y = held_out.tensors(MAX_REAL)
    d_held = nearest_distances(held_x, train_x)  # the held-out images' side of the memorisation ratio: once
    rows = []
    for psi in sorted(set(grid), reverse=True):
        fake, labels = generate(g, samples, seed, psi=psi)
        row = {"psi": psi, "spread_train": class_spread(classifier, fake, labels, train_x, train_y),
               "fid_held_out": fid_kid(held_x, fake, classifier)["fid"],
               "memorisation_ratio": memorisation_from_distances(nearest_distances(fake, train_x), d_held)["ratio"]}
        fids, accs = [], []
        for s in range(seed, seed + seeds):
            if s != seed:
                fake, labels = generate(g, samples, s, psi=psi)
            fids.append(fid_kid(train_x, fake, classifier)["fid"])
            accs.append(accuracy(classifier, fake, labels))
        rows.append({**row, "fid_train": statistics.fmean(fids), "fid_train_seeds": fids,
                     "accuracy": statistics.fmean(accs)})
    chosen = pick_truncation(rows, min_spread)
    return {"rows": rows, "psi": chosen["psi"], "samples": samples, "seeds": seeds, "tie_se": TIE_SE,
            "min_spread": min_spread, "data": data, "feature_net": feature_net, "train": len(train_x),
            "held_out": len(held_x)}


def _tie_record(result: dict) -> bool:
    """Whether a truncation record was made by the tie rule (its rows say which psi tied); older records were not."""
    return all("tied" in r for r in result["rows"])


def truncation_table(result: dict) -> str:
    """choose_truncation's rows as a Markdown table, the chosen psi in bold. Records made before the tie rule
    (one sample set, no "tied" column) print as they were."""
    tie = _tie_record(result)
    lines = ["| ψ | FID vs training images (chooses) | " + ("tied with the lowest | " if tie else "")
             + "within-class spread vs training | FID vs held-out | class accuracy | memorisation ratio |",
             "|---:|---:|" + (":---:|" if tie else "") + "---:|---:|---:|---:|"]
    for r in result["rows"]:
        b = "**" if r["psi"] == result["psi"] else ""
        tied = ""
        if tie:
            tied = ("n/a (not allowed)" if r["fid_gap"] is None else
                    f"{'yes' if r['tied'] else 'no'} ({float(r['fid_gap']):+.2f})") + " | "
        lines.append(f"| {b}{r['psi']:g}{b} | {b}{r['fid_train']:.2f}{b} | {tied}{r['spread_train']:.3f} | "
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
        seeds = int(r.get("seeds", 1))
        allowed = (f"among the ψ whose within-class spread stays at least {float(r['min_spread']):g} and whose "
                   "memorisation ratio stays at least 1")
        if seeds > 1 and _tie_record(r):
            rule = (f"{seeds} sets of {int(r['samples']):,} class-balanced samples per ψ (sample seeds 0-{seeds - 1}, "
                    f"the same latents at every ψ), scored against the {int(r['train']):,} **training** images: "
                    f"{allowed}, those whose FID is within the sample sets' noise of the lowest tie with it (the "
                    f"mean of the per-seed FID gaps, in brackets, at most {float(r['tie_se']):g} standard errors of "
                    "those gaps), and the tied ψ with the highest class accuracy is chosen (FID and accuracy: means "
                    "over the sets; spread, held-out FID and memorisation: the first set)")
        else:
            rule = (f"{int(r['samples']):,} class-balanced samples per ψ (seed 0), chosen by FID against the "
                    f"{int(r['train']):,} **training** images {allowed}")
        intro = (f"`{r['command']}` ({float(r['seconds']):.0f} s on {r['machine']}): {rule}; the columns against "
                 f"the {int(r['held_out']):,} held-out images are for the record and were not used to choose.")
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return f"### Default truncation: ψ = {psi:g}\n\n{intro}\n\n{table}"


def seed_grid(g, psi: float = 1.0, seed: int = 0):
    """A GAN's class-per-row grid (10 per class, up to 10 classes; one row of 'any' when unconditional) of the
    latents of ``seed`` scaled by psi, as a PIL image: what a training run releases as samples.png (psi 1)."""
    import torch

    from ..images import to_pil_grid

    rows = max(1, min(g.num_classes, 10))
    z = torch.randn(10 * rows, g.latent_dim, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(10 * rows) // 10 if g.num_classes else torch.full((10 * rows,), g.any_class)
    with torch.no_grad():
        return to_pil_grid(g(z * psi, labels), nrow=10)


def truncated_grid(folder: Path, psi: float, seed: int = 0) -> Path | None:
    """samples_truncated.png beside a GAN checkpoint: the training run's class-per-row grid (``seed_grid``) with z
    scaled by psi, to show beside samples.png (the same latents at psi 1)."""
    path = Path(folder) / "samples_truncated.png"
    if psi == 1.0:
        path.unlink(missing_ok=True)  # no truncation: samples.png is the grid
        return None
    seed_grid(load(str(folder), model_type="gan", device="cpu").eval(), psi, seed).save(path)
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
