"""The data summary the Train tab shows before a job trains: counts per class, skipped files with reasons, and a
grid of exactly what the model will see."""

from __future__ import annotations

import os

from .jobs import Job

def describe(job: Job, per_class: int = 8):
    """The data summary shown before training: (markdown, grid image of what the model will see at the job's
    size and crop/pad rule). DatasetError (naming the fix) for a set that cannot train; its message names the
    uploaded data as the visitor knows it ("the ZIP"), never the job's folder on the server."""
    from ...errors import GenlabError

    try:
        return _describe(job, per_class)
    except GenlabError as e:
        raise type(e)(job.public(str(e))) from None


def _describe(job: Job, per_class: int):
    import torch

    from ...datasets import load_data, paired_folder
    from ...images import to_pil_grid

    spec = job.spec
    data = job.data
    rows: list[str] = []
    if spec.family == "pix2pix" and spec.data != "digits" and spec.data != "emoji":
        train, held = paired_folder(data[0], spec.resolution, spec.channels, spec.channels, spec.fit)
        sets = {"pairs (A -> B)": (train.b, held.b)}
        shown = torch.cat([train.a.tensors(per_class)[0].expand(-1, spec.channels, -1, -1),
                           train.b.tensors(per_class)[0]])
        nrow = min(per_class, len(train))
    elif spec.family == "cyclegan" and spec.data == "upload":
        a = load_data(data[0], spec.resolution, spec.channels, spec.fit)
        b = load_data(data[1], spec.resolution, spec.channels, spec.fit)
        sets = {"domain A": a, "domain B": b}
        shown = torch.cat([a[0].tensors(per_class)[0], b[0].tensors(per_class)[0]])
        nrow = per_class
    else:
        source = {"digits": "mnist"}.get(spec.data, data[0])
        if spec.family == "cyclegan":  # the built-in emoji pair of designs: show the OpenMoji side
            source = "emoji"
        train, held = load_data(source, spec.resolution, spec.channels, spec.fit)
        sets = {"images": (train, held)}
        x, y = train.tensors(min(len(train), 5000 if train.in_memory else 400))
        picks = []
        for c in range(max(1, min(train.num_classes, 10))):
            idx = (y == c).nonzero().flatten()[:per_class] if train.num_classes else torch.arange(min(len(x), 4 * per_class))
            picks.append(x[idx])
        shown = torch.cat(picks)
        nrow = per_class
    for what, (train, held) in sets.items():
        names = train.class_names
        if names:
            counts = torch.bincount(train.labels, minlength=len(names)).tolist()
            held_counts = torch.bincount(held.labels, minlength=len(names)).tolist()
            listed = ", ".join(f"{n} {c} (+{h})" for n, c, h in list(zip(names, counts, held_counts))[:30])
            more = f", +{len(names) - 30} more" if len(names) > 30 else ""
            rows.append(f"**{what}**: {len(train):,} to train on, {len(held):,} held out; {len(names)} classes "
                        f"(train (+held out)): {listed}{more}")
        else:
            rows.append(f"**{what}**: {len(train):,} to train on, {len(held):,} held out; no classes (a flat folder: "
                        "unconditional)")
    skipped = list(job.summary.get("skipped", []))
    for _, (train, _) in sets.items():
        one = getattr(train, "a", train)
        root = one.root or ""
        skipped += [(os.path.relpath(p, root) if root else p, why) for p, why in one.skipped]
    if skipped:
        rows.append(f"**skipped** ({len(skipped)}): " + "; ".join(f"`{n}`: {why}" for n, why in skipped[:6])
                    + (f"; and {len(skipped) - 6} more" if len(skipped) > 6 else ""))
    n_train = min(len(t) for t, _ in sets.values())
    if n_train < spec.batch_size:
        rows.append(f"The batch ({spec.batch_size}) is larger than the {n_train} training images: every step "
                    f"will use all {n_train}.")
    if n_train < 100 and spec.family in ("gan", "cyclegan", "pix2pix"):
        rows.append(f"{n_train} images is a small set: the GAN trains with DiffAugment and spectral norm (the "
                    "small-data recipe); expect it to learn colours and layout first, and check the card's "
                    "memorisation figure.")
    rows.append(f"Shown at {spec.resolution} px, {'colour' if spec.channels == 3 else 'grey'}, "
                f"{'centre-cropped' if spec.fit == 'crop' else 'padded'} to square: exactly what the model sees.")
    return "\n\n".join(rows), to_pil_grid(shown, nrow=nrow, display_size=min(960, 120 * nrow))
