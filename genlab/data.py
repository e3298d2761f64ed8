"""``python -m genlab.data examples``: regenerate the app's example images (genlab/ui/examples/).

The data sources themselves live in ``genlab.datasets`` (one module per source); the names
below are re-exported so ``from genlab.data import digits`` keeps working.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .datasets import *  # noqa: F403
from .datasets import __all__  # noqa: F401
from .datasets import export_examples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m genlab.data", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("examples", help="write held-out digits as the app's example PNGs")
    parser.parse_args(argv)
    print(export_examples(Path(__file__).parent / "ui" / "examples"))


if __name__ == "__main__":
    main()
