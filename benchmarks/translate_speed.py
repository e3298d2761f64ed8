"""Imported pytorch-CycleGAN-and-pix2pix translators against the reference network, side by side in one run, and the
memory of a phone-size photo through the Translation tab's path.

Latency: upstream's generators at their published widths (ngf 64; random weights, the same in both) as
scripts/zoo_reference.py transcribes them, and genlab's imported copy (genlab import's conversion of the same state
dict), each in eval mode on one image, float32, torch.inference_mode, --threads threads (default 2), alternating,
after one warm-up each: median seconds per image, seconds per megapixel, the ratio, and the largest difference.

Memory: a fresh Python process builds a resnet_9blocks translator, then sends a 4000x3000 JPEG through what
/translate runs (photo_input: decoded at reduced size, long side capped at GENLAB_TRANSLATE_MAX_SIDE; translate_photo;
the PNG the app returns): RSS before, and the peak during it (VmHWM, reset just before through /proc/self/clear_refs;
Linux).

    python benchmarks/translate_speed.py            # all (about 2 minutes on a 2-core CPU)
    python benchmarks/translate_speed.py --only latency
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

# (netG, norm, input H, W): CycleGAN's published generator at 256 (its training size), 512 and the app's 1024x768
# working size for a 4:3 photo; pix2pix's U-Net at 256 and 512
CASES = [("resnet_9blocks", "instance", 256, 256), ("resnet_9blocks", "instance", 512, 512),
         ("resnet_9blocks", "instance", 768, 1024), ("unet_256", "batch", 256, 256), ("unet_256", "batch", 512, 512)]


def _pair(net_g: str, norm: str):
    from zoo_reference import define_G

    from genlab.formats import cyclegan_pix2pix as zoo
    from genlab.models.zoo import ZooTranslator

    torch.manual_seed(0)
    ref = define_G(3, 3, 64, net_g, norm, use_dropout=net_g.startswith("unet")).eval()
    config, state, _ = zoo.convert(ref.state_dict())
    ours = ZooTranslator(**config)
    ours.net.load_state_dict(state, strict=True)
    return ref, ours.eval()


def latency(repeats: int) -> None:
    print(f"{'network':<16} {'size':>10} {'reference s':>12} {'genlab s':>9} {'genlab s/MP':>12} {'ratio':>6} "
          f"{'max |diff|':>10}")
    for net_g, norm, h, w in CASES:
        ref, ours = _pair(net_g, norm)
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1)) * 2 - 1
        times = {"ref": [], "ours": []}
        with torch.inference_mode():
            y_ref, y_ours = ref(x), ours(x)  # warm-up
            for _ in range(repeats):
                for key, net in (("ref", ref), ("ours", ours)):
                    t = time.perf_counter()
                    net(x)
                    times[key].append(time.perf_counter() - t)
        r, o = statistics.median(times["ref"]), statistics.median(times["ours"])
        mp = h * w / 1e6
        diff = (y_ref - y_ours).abs().max().item()
        print(f"{net_g:<16} {f'{w}x{h}':>10} {r:>12.2f} {o:>9.2f} {o / mp:>12.2f} {r / o:>5.2f}x {diff:>10.1e}")


MEMORY = textwrap.dedent("""
    import sys, time, torch
    sys.path[:0] = [{root!r}, {scripts!r}]
    torch.set_num_threads({threads})
    from zoo_reference import define_G
    from genlab.formats import cyclegan_pix2pix as zoo
    from genlab.models.zoo import ZooTranslator
    from genlab.images import to_pil_grid
    from genlab.tasks.translation import photo_input, translate_photo
    torch.manual_seed(0)
    config, state, _ = zoo.convert(define_G(3, 3, 64, "resnet_9blocks", "instance").state_dict())
    g = ZooTranslator(**config); g.net.load_state_dict(state); g.eval()
    def rss(field):
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field)) / 1024
    before = rss("VmRSS:")
    open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the current RSS
    t = time.perf_counter()
    x = photo_input({photo!r}, 3)
    y = translate_photo(g, x)
    to_pil_grid(y).save({out!r})
    took = time.perf_counter() - t
    after = rss("VmHWM:")
    print(f"{{tuple(x.shape[-2:])}} {{before:.0f}} {{after:.0f}} {{took:.1f}}")
""")


def memory(threads: int) -> None:
    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "phone.jpg"
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).resize((4000, 3000), Image.BICUBIC).save(
            photo, quality=90)
        code = MEMORY.format(root=str(ROOT), scripts=str(ROOT / "scripts"), threads=threads, photo=str(photo),
                             out=str(Path(tmp) / "out.png"))
        shape, before, after, took = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                    check=True).stdout.strip().rsplit(" ", 3)
        print(f"4000x3000 JPEG ({photo.stat().st_size / 1e6:.1f} MB) through resnet_9blocks (ngf 64): translated at "
              f"{shape} in {took} s; RSS {before} MB with the model loaded, peak {after} MB during the translation "
              f"(+{float(after) - float(before):.0f} MB)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", choices=("latency", "memory"), default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}")
    if args.only in (None, "latency"):
        latency(args.repeats)
    if args.only in (None, "memory"):
        memory(args.threads)


if __name__ == "__main__":
    main()
