"""``genlab import SOURCE --name NAME``: a checkpoint from elsewhere -> a genlab model folder (genlab/formats)."""

from __future__ import annotations

import argparse
import shlex
import sys

from . import ARCH_NAMES, ARCHS, import_checkpoint


def main(argv: list[str] | None = None, prog: str = "genlab import") -> None:
    p = argparse.ArgumentParser(
        prog=prog, description="Convert a checkpoint from elsewhere (StyleGAN2-ADA / StyleGAN3 network pickles, "
        "PyTorch's DCGAN example, HugGAN DCGAN folders, pytorch-CycleGAN-and-pix2pix generators: one file, or a "
        "CycleGAN's G_A and G_B as a pair) into a genlab model folder: config.json + "
        "model.safetensors + a card. Nothing in the file is run: pickles are read by genlab's restricted reader, "
        ".pth/.bin files by torch.load(weights_only=True).",
        epilog="formats: " + "; ".join(f"{k}: {v}" for k, v in ARCH_NAMES.items()))
    p.add_argument("source", nargs="+", help="the checkpoint file (.pkl, .pth, .pt, .bin, .safetensors) or a HugGAN "
                   "folder; or two CycleGAN generator files (latest_net_G_A.pth latest_net_G_B.pth), imported as a pair")
    p.add_argument("--name", required=True, help="the model's name: its folder, and what the app's model box shows")
    p.add_argument("--out", default=None, help="where the folder goes (default: genlab's checkpoints folder, "
                   "where the app finds it)")
    p.add_argument("--arch", choices=ARCHS, default=None, help="the format, where detection should not decide")
    p.add_argument("--license", default=None, help="the licence of the weights, recorded in the card")
    p.add_argument("--class-names", default=None, help="comma-separated names of a conditional model's classes")
    p.add_argument("--domains", nargs=2, metavar=("INPUT", "OUTPUT"), default=None,
                   help="a translator's two sides, e.g. --domains horse zebra (default: read from the name, as "
                   "horse2zebra, else A and B)")
    p.add_argument("--no-dropout", dest="dropout", action="store_false", default=None,
                   help="a pix2pix U-Net trained with --no_dropout (its weights cannot say; dropout is assumed)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder of that name")
    args = p.parse_args(argv)
    from ..errors import GenlabError

    classes = [c.strip() for c in args.class_names.split(",")] if args.class_names else None
    command = "genlab import " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        result = import_checkpoint(args.source, args.name, args.out, arch=args.arch, license=args.license,
                                   class_names=classes, overwrite=args.overwrite, command=command,
                                   domains=args.domains, dropout=args.dropout)
    except (GenlabError, OSError) as e:
        sys.stderr.write(f"{prog}: {e}\n")
        raise SystemExit(1) from None
    print(f"imported {' '.join(args.source)} -> {result.folder}")
    for note in result.notes:
        print(f"  {note}")
    tab = "Translation" if result.arch == "cyclegan-pix2pix" else "GAN"
    print(f"  open it in the app's {tab} tab (model box: {args.name}), or genlab.load({str(result.folder)!r})")
