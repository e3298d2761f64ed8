"""Write the import tests' fixtures with the reference code: random-weight checkpoints in each foreign format and
the reference implementation's outputs on them (tests/data/import/).

The reference code is not part of genlab (its licence forbids copying it, and the tests never import it); this
script runs it from checkouts you point it at, once, and stores only the files it writes and the outputs:

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/ref/sg2
    git clone https://github.com/NVlabs/stylegan3 /tmp/ref/sg3
    git clone https://github.com/pytorch/examples /tmp/ref/examples
    python scripts/make_import_fixtures.py --sg2 /tmp/ref/sg2 --sg3 /tmp/ref/sg3 --examples /tmp/ref/examples

The pickles and the .pth are stored as safetensors + JSON (tests/import_fixtures.py), which the tests write back.

Every output is computed in float32 on the CPU (the reference code's own reference paths: upfirdn2d, bias_act and
filtered_lrelu without their CUDA kernels). Latents follow genlab's convention, which the tests check as well:
z = torch.randn(64, z_dim, generator=torch.Generator().manual_seed(seed))[:n], and for label=None the classes
torch.randint(0, c_dim, (64,), generator=torch.Generator().manual_seed(seed))[:n].
"""

from __future__ import annotations

import argparse
import importlib
import json
import pickle
import sys
import tempfile
import types
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "import"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import import_fixtures  # noqa: E402  (tests/import_fixtures.py: pickle -> safetensors + JSON, and back)
CASES = [(0, None, 1.0, 4), (7, None, 0.7, 3), (3, 1, 0.5, 2)]  # (seed, label, psi, n); label only where c_dim > 0


def latents(z_dim: int, c_dim: int, seed: int, label, n: int):
    z = torch.randn(64, z_dim, generator=torch.Generator().manual_seed(seed))[:n]
    if c_dim == 0:
        return z, torch.zeros(n, 0)
    labels = (torch.randint(0, c_dim, (64,), generator=torch.Generator().manual_seed(seed))[:n] if label is None
              else torch.full((n,), label))
    return z, torch.nn.functional.one_hot(labels, c_dim).float()


def randomise(module: torch.nn.Module, seed: int) -> None:
    """Every parameter and float buffer random (not the initial zeros/ones, which would hide a missing bias, noise
    strength or magnitude EMA), except the fixed filters the networks designed for themselves."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.5 if p.ndim <= 1 else 1.0))
        for name, b in module.named_buffers():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "w_avg":
                b.copy_(torch.randn(b.shape, generator=gen) * 0.3)
            elif leaf == "magnitude_ema":
                b.fill_(float(torch.rand([], generator=gen)) + 0.5)
            elif leaf == "noise_const":
                b.copy_(torch.randn(b.shape, generator=gen))


def nvlabs(root: Path, kind: str):
    """Import a reference checkout's networks module (its own sys.path), with the one shim stylegan3 needs."""
    if "pkg_resources" not in sys.modules:  # stylegan3's conv2d_gradfix imports it; current setuptools has none
        from packaging.version import parse

        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)
    for name in [m for m in sys.modules if m.split(".")[0] in ("training", "torch_utils", "dnnlib")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        nets = importlib.import_module("training.networks" if kind == "sg2" else f"training.networks_{kind}")
        dnnlib = importlib.import_module("dnnlib")
    finally:
        sys.path.remove(str(root))
    return nets, dnnlib


def write_nvlabs(root: Path, kind: str, name: str, g_kwargs: dict, seed: int, with_d: bool = False) -> None:
    nets, dnnlib = nvlabs(root, kind)
    torch.manual_seed(seed)
    G = nets.Generator(**g_kwargs).eval()
    randomise(G, seed)
    data = {"G_ema": G, "G": None, "D": None, "augment_pipe": None,
            "training_set_kwargs": dnnlib.EasyDict(path="~/datasets/fixture.zip", resolution=g_kwargs["img_resolution"])}
    if with_d:  # a real pickle carries the discriminator too; the reader must walk past it
        if kind == "sg2":
            D = nets.Discriminator(c_dim=g_kwargs["c_dim"], img_resolution=g_kwargs["img_resolution"],
                                   img_channels=g_kwargs["img_channels"], channel_base=64, channel_max=16)
        else:
            D = importlib.import_module("training.networks_stylegan2").Discriminator(
                c_dim=g_kwargs["c_dim"], img_resolution=g_kwargs["img_resolution"],
                img_channels=g_kwargs["img_channels"], channel_base=64, channel_max=16)
        data["D"] = D.eval()
    with tempfile.TemporaryDirectory() as tmp:  # the repository keeps safetensors + JSON, never the pickle itself
        path = Path(tmp) / f"{name}.pkl"
        with open(path, "wb") as f:
            pickle.dump(data, f)
        size = path.stat().st_size
        import_fixtures.store(path, name)
    outputs = {}
    with torch.no_grad():
        for seed_, label, psi, n in CASES:
            if label is not None and G.c_dim == 0:
                continue
            z, c = latents(G.z_dim, G.c_dim, seed_, label, n)
            extra = {"force_fp32": True} if kind in ("sg2", "stylegan2") else {}
            img = G(z, c, truncation_psi=psi, noise_mode="const", **extra)
            key = f"seed{seed_}_label{label}_psi{psi}_n{n}"
            outputs[f"{key}.z"], outputs[f"{key}.image"] = z.contiguous(), img.contiguous()
            if kind in ("sg2", "stylegan2", "stylegan3"):  # W of each image (truncated), for the projection/edit tests
                outputs[f"{key}.w"] = G.mapping(z, c, truncation_psi=psi)[:, 0].contiguous()
    save_file(outputs, str(OUT / f"{name}.reference.safetensors"),
              metadata={"reference": f"NVlabs {kind}", "g_kwargs": json.dumps(g_kwargs, default=str)})
    print(f"{name}: {sum(p.numel() for p in G.parameters()):,} G weights, a {size:,}-byte pickle")


def write_dcgan(examples: Path) -> None:
    """pytorch/examples' DCGAN generator (its main.py defines it at module level with globals nz/ngf/nc), small ngf,
    saved as its training loop saves it (torch.save of the state dict); and the same net in HugGAN's layout."""
    src = (examples / "dcgan" / "main.py").read_text()
    start = src.index("class Generator(nn.Module):")
    end = src.index("netG = Generator(ngpu)")
    namespace = {"nn": torch.nn, "torch": torch, "nz": 100, "ngf": 8, "nc": 3}
    exec(compile(src[start:end].split("def weights_init")[0] if "def weights_init" in src[start:end]
                 else src[start:end], "dcgan/main.py", "exec"), namespace)
    torch.manual_seed(5)
    net = namespace["Generator"](1).eval()
    randomise(net, 5)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 1.5)
                m.running_mean.normal_(0, 0.2)
            if isinstance(m, torch.nn.ConvTranspose2d):  # unit-variance outputs, as a trained net's: unit-normal
                # weights over nz=100 inputs saturate tanh, and their float rounding then depends on the thread count
                m.weight.mul_((m.in_channels * m.kernel_size[0] * m.kernel_size[1] / m.stride[0] ** 2) ** -0.5)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(OUT / "dcgan_netG_epoch_24.safetensors"))
    outputs = {}
    with torch.no_grad():
        for seed_, _, psi, n in CASES[:2]:
            z, _ = latents(100, 0, seed_, None, n)
            key = f"seed{seed_}_labelNone_psi{psi}_n{n}"
            outputs[f"{key}.z"] = z.contiguous()
            outputs[f"{key}.image"] = net((z * psi)[:, :, None, None]).contiguous()
    save_file(outputs, str(OUT / "dcgan_netG_epoch_24.reference.safetensors"), metadata={"reference": "pytorch/examples dcgan"})
    # HugGAN: the same layers under model.*, saved by PyTorchModelHubMixin in 2022 as pytorch_model.bin + config.json
    # (tests/import_fixtures.py writes the .pth and the .bin from the safetensors with torch.save)
    (OUT / "huggan_dcgan.config.json").write_text(json.dumps({"num_channels": 3, "latent_dim": 100, "hidden_size": 8}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sg2", type=Path, required=True)
    p.add_argument("--sg3", type=Path, required=True)
    p.add_argument("--examples", type=Path, required=True)
    p.add_argument("--only-dcgan", action="store_true", help="rewrite the DCGAN fixtures only")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    small = dict(channel_base=256, channel_max=32, conv_clamp=256)
    if args.only_dcgan:
        write_dcgan(args.examples)
        return
    write_nvlabs(args.sg2, "sg2", "sg2_uncond_skip_32", dict(
        z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
        mapping_kwargs=dict(num_layers=2), synthesis_kwargs=dict(**small, architecture="skip")), 1, with_d=True)
    write_nvlabs(args.sg2, "sg2", "sg2_cond_resnet_64", dict(
        z_dim=24, c_dim=5, w_dim=40, img_resolution=64, img_channels=3,
        mapping_kwargs=dict(num_layers=4), synthesis_kwargs=dict(**small, architecture="resnet", num_fp16_res=2)), 2)
    write_nvlabs(args.sg2, "sg2", "sg2_orig_grey_16", dict(
        z_dim=16, c_dim=3, w_dim=16, img_resolution=16, img_channels=1,
        mapping_kwargs=dict(num_layers=1, embed_features=8, layer_features=24),
        synthesis_kwargs=dict(channel_base=128, channel_max=16, architecture="orig")), 3)
    write_nvlabs(args.sg2, "sg2", "sg2_fullwidth_8", dict(  # the published models' z/w (512) and mapping depth (8)
        z_dim=512, c_dim=0, w_dim=512, img_resolution=8, img_channels=3,
        mapping_kwargs=dict(num_layers=8), synthesis_kwargs=dict(channel_base=64, channel_max=8, conv_clamp=256)), 4)
    sg3_small = dict(channel_base=512, channel_max=16, magnitude_ema_beta=0.999)
    write_nvlabs(args.sg3, "stylegan3", "sg3_t_32", dict(
        z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, mapping_kwargs=dict(num_layers=2),
        **sg3_small), 5, with_d=True)
    write_nvlabs(args.sg3, "stylegan3", "sg3_r_16", dict(  # stylegan3-r: 1x1 convs, radial filters, widths doubled
        z_dim=16, c_dim=4, w_dim=16, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
        conv_kernel=1, use_radial_filters=True, channel_base=1024, channel_max=32), 6)
    write_nvlabs(args.sg3, "stylegan2", "sg2_stylegan3repo_32", dict(  # NGC's stylegan2-*.pkl: stylegan3's own StyleGAN2
        z_dim=16, c_dim=0, w_dim=24, img_resolution=32, img_channels=3, mapping_kwargs=dict(num_layers=3),
        channel_base=256, channel_max=16, conv_clamp=256, num_fp16_res=0, fused_modconv_default="inference_only"), 7)
    write_dcgan(args.examples)


if __name__ == "__main__":
    main()
