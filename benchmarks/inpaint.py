"""Repair timings and memory: first preview, full run, and peak RSS on a 6,000 x 4,000 upload.

    python benchmarks/inpaint.py [--iterations 300]

Run it alone (no training or tests beside it). Prints figures with the machine and threads.
1. A 512 x 512 photo (scikit-image's astronaut) with a 64 x 64 hole: seconds to the first
   streamed deep-image-prior preview, to the full run, and for the biharmonic baseline.
2. A 6,000 x 4,000 PNG upload with a 300 x 300 painted layer, through the same path as the
   app (editor files -> mask -> repair -> full-size PNG written), in a fresh process: peak RSS,
   against the RSS after imports and the size of one full-resolution RGB copy (72 MB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads({threads})
from genlab.tasks.inpainting import inpaint_steps
def rss():  # peak resident set of this process in MB (VmHWM; ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
base = rss()
start = time.perf_counter()
first = None
for step in inpaint_steps({{"background": {bg!r}, "layers": [{layer!r}], "composite": None}}, method={method!r},
                          iterations={iterations}):
    first = first or time.perf_counter() - start
step.image.save({out!r}, compress_level=1)
print(json.dumps({{"base_mb": base, "peak_mb": rss(), "first_s": first, "total_s": time.perf_counter() - start}}))
"""


def big_upload(folder: Path) -> tuple[Path, Path]:
    import numpy as np
    from PIL import Image
    from skimage import data

    img = Image.fromarray(data.astronaut()).resize((6000, 4000), Image.BICUBIC)
    arr = np.asarray(img).copy()
    arr[::7, ::5] = 255 - arr[::7, ::5]  # texture so the PNG is not trivially compressible
    Image.fromarray(arr).save(folder / "big.png", compress_level=1)
    layer = Image.new("RGBA", (6000, 4000), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (2900, 1800, 3200, 2100))
    layer.save(folder / "layer.png")
    return folder / "big.png", folder / "layer.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image
    from skimage import data

    from genlab.tasks.inpainting import inpaint_steps
    from genlab.train.report import machine

    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}, torch threads {args.threads}")
    img = np.asarray(Image.fromarray(data.astronaut()).resize((512, 512)))
    mask = np.zeros((512, 512), bool)
    mask[224:288, 224:288] = True
    start = time.perf_counter()
    steps = []
    for step in inpaint_steps(img, mask, "dip", iterations=args.iterations):
        steps.append((step.iteration, time.perf_counter() - start))
    bih = list(inpaint_steps(img, mask, "biharmonic"))[-1]
    print(f"512x512 photo, 64x64 hole, deep image prior ({args.iterations} iterations, previews every "
          f"{steps[0][0]}): first preview {steps[0][1]:.2f} s, full run {steps[-1][1]:.2f} s "
          f"({steps[-1][1] / args.iterations * 1000:.0f} ms/iteration); biharmonic {bih.seconds:.2f} s")

    digit = Image.open(ROOT / "genlab" / "ui" / "examples" / "repair_digit_7.png").convert("RGB")
    dmask = np.zeros((224, 224), bool)
    dmask[90:125, 60:170] = True
    for method in ("vae", "gan"):
        list(inpaint_steps(np.asarray(digit), dmask, method, iterations=5))  # load the model once
        last = list(inpaint_steps(np.asarray(digit), dmask, method))[-1]
        print(f"224x224 digit, one {method} repair (default {last.iterations} steps, "
              f"{len(last.candidates)} candidates): {last.seconds:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        bg, layer = big_upload(Path(tmp))
        for method in ("dip", "biharmonic"):
            code = CHILD.format(root=str(ROOT), threads=args.threads, bg=str(bg), layer=str(layer), method=method,
                                iterations=args.iterations, out=str(Path(tmp) / "out.png"))
            r = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                          text=True).stdout.strip().splitlines()[-1])
            print(f"6000x4000 upload, 300x300 hole, {method}: peak RSS {r['peak_mb']:.0f} MB (after imports "
                  f"{r['base_mb']:.0f} MB; one RGB copy of the image is 72 MB); first result {r['first_s']:.1f} s, "
                  f"done incl. full-size PNG {r['total_s']:.1f} s")


if __name__ == "__main__":
    main()
