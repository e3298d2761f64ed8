#!/usr/bin/env bash
# Re-make the README's screenshots (docs/screenshots/*.png): the emoji tour's first look at the four model tabs, on a
# freshly launched app, and the GAN tab's attribute sliders, then each viewport shot scaled to 960 px wide; then the Train tab after a 3-minute job
# (scripts/train_screenshot.py). Run from the repo root: bash scripts/readme_screenshots.sh
set -euo pipefail
shots=$(mktemp -d)
GENLAB_SCREENSHOTS="$shots" .venv/bin/python -m pytest -q -p no:cacheprovider \
    tests/test_browser_tour.py::test_tour_with_the_emoji_models
mkdir -p docs/screenshots
.venv/bin/python - "$shots" <<'PY'
import sys
from pathlib import Path
from PIL import Image
shots = Path(sys.argv[1])
for tab, shot in [("gan", "first_gan"), ("vae", "first_vae"), ("translate", "first_translate"),
                  ("repair", "first_repair"), ("gan_attributes", "gan_attributes")]:
    with Image.open(shots / f"{shot}.png") as im:
        im = im.convert("RGB")
        im = im.resize((960, round(im.height * 960 / im.width)), Image.LANCZOS)
        im.save(f"docs/screenshots/{tab}.png", optimize=True)
        print(f"docs/screenshots/{tab}.png", im.size)
PY
.venv/bin/python scripts/train_screenshot.py --minutes 3
