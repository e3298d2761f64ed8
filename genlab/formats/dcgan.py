"""DCGAN generators from PyTorch's example (``main.0`` ... ``main.12``, saved as ``netG_epoch_N.pth``) and from
Hugging Face's HugGAN sprint (``model.0`` ... ``model.12``, ``pytorch_model.bin`` or safetensors beside a config.json
of ``num_channels``, ``latent_dim``, ``hidden_size``) -> a config for ``genlab.models.dcgan.DCGANGenerator`` and its
state dict. nz, ngf and the image channels are read from the first and last layers' shapes."""

from __future__ import annotations

import torch

from ..errors import CheckpointError

PREFIXES = {"example": "main.", "huggan": "model."}


def detect(state: dict[str, torch.Tensor], config: dict) -> str | None:
    """"dcgan" (the example's keys), "huggan-dcgan" (model.* keys), or None."""
    if "main.0.weight" in state and "main.12.weight" in state:
        return "dcgan"
    if "model.0.weight" in state and "model.12.weight" in state:
        return "huggan-dcgan"
    return None


def convert(state: dict[str, torch.Tensor], config: dict, layout: str) -> tuple[dict, dict[str, torch.Tensor]]:
    prefix = PREFIXES[layout]
    first, last = state.get(prefix + "0.weight"), state.get(prefix + "12.weight")
    if first is None or last is None or first.ndim != 4 or last.ndim != 4:
        raise CheckpointError(f"no DCGAN generator here: {prefix}0.weight and {prefix}12.weight (4-d transposed-conv "
                              "weights) are missing")
    nz, c8 = int(first.shape[0]), int(first.shape[1])
    ngf, nc = int(last.shape[0]), int(last.shape[1])
    if c8 != 8 * ngf:
        raise CheckpointError(f"the first layer has {c8} channels and the last {ngf}: not the DCGAN example's "
                              "ngf*8 ... ngf")
    if nc == 4:
        raise CheckpointError("this DCGAN draws 4 channels (RGBA); genlab's tools take grey or RGB images only")
    if layout == "huggan" and config:
        said = {"latent_dim": nz, "hidden_size": ngf, "num_channels": nc}
        wrong = [f"{k} {config[k]!r} (the weights say {v})" for k, v in said.items() if k in config and config[k] != v]
        if wrong:
            raise CheckpointError(f"config.json does not match the weights: {', '.join(wrong)}")
    sd = {"main." + k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return {"latent_dim": nz, "channels": ngf, "image_channels": nc}, sd
