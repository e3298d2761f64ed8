"""Re-make the README's Train-tab screenshot (docs/screenshots/train.png): a freshly launched app, a ZIP of the
30-image shapes folder the tests use (3 classes x 10, plus the broken files a real folder has), a GAN at 32 px
for --minutes (default 3) of training at the tab's default thread count, then the viewport once it has finished.

    .venv/bin/python scripts/train_screenshot.py [--minutes 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402
from test_browser import ARGS, CHROMIUM  # noqa: E402
from test_train_jobs import zip_folder  # noqa: E402

from genlab.testing import launched_app, make_shapes_folder, set_number  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "train.png"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genlab-train-shot-"))
    make_shapes_folder(tmp / "shapes", per_class=10, size=64)
    data = zip_folder(tmp / "shapes", tmp / "shapes.zip")
    env = {"GENLAB_TRAIN_OUT": str(tmp / "models"), "GENLAB_FIRST_VISIT": "0"}
    with launched_app(tmp / "app.log", extra_env=env) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Train").click()
        page.locator("#tn-zip input[type=file]").set_input_files(str(data))
        page.locator("#tn-zip").get_by_text("shapes.zip").wait_for(timeout=30_000)
        set_number(page, "tn-minutes", args.minutes)
        set_number(page, "tn-steps", 100000)
        set_number(page, "tn-batch", 16)
        set_number(page, "tn-every", 50)
        page.locator("#tn-name textarea, #tn-name input").first.fill("shapes-gan")
        page.locator("#tn-start").click()
        t0 = time.time()
        page.wait_for_function("() => document.querySelector('#tn-progress')?.dataset.state === 'finished'",
                               timeout=(args.minutes * 60 + 180) * 1000)
        page.wait_for_timeout(2000)
        print(f"finished after {time.time() - t0:.0f} s:", page.locator("#tn-progress").inner_text())
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp / "train.png"))
        browser.close()
    from PIL import Image

    with Image.open(tmp / "train.png") as im:
        im = im.convert("RGB")
        im = im.resize((960, round(im.height * 960 / im.width)), Image.LANCZOS)
        im.save(args.out, optimize=True)
    print(args.out, im.size)


if __name__ == "__main__":
    main()
