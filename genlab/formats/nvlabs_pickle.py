"""NVIDIA's StyleGAN2-ADA (stylegan2-ada-pytorch) and StyleGAN3 network pickles -> a genlab config + state dict.

A network pickle is ``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}``; its networks are
``torch_utils.persistence`` objects that carry their own source code, which NVIDIA's loader executes. Here the file
is read by ``safe_pickle`` (records, never objects), the generator's constructor arguments and weights are taken
from ``G_ema``'s record, checked against the architecture they describe, and the equalised-learning-rate gains each
layer recorded are folded into its weights (``genlab.models.stylegan``).
"""

from __future__ import annotations

import math

import torch

from ..errors import CheckpointError
from .safe_pickle import Record

NVIDIA_LICENSE_NOTE = ("NVIDIA's published StyleGAN2-ADA and StyleGAN3 networks are under the NVIDIA Source Code "
                       "License-NC: non-commercial use only. If this file is one of them, that licence applies to "
                       "the imported model too.")

SG2_SYNTHESIS = {"channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture", "resample_filter",
                 "use_noise", "fp16_channels_last", "activation", "kernel_size",
                 "fused_modconv_default"}  # how the reference computes, not what: the same pictures either way
SG3_SYNTHESIS = {"channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff", "first_stopband",
                 "last_stopband_rel", "margin_size", "output_scale", "num_fp16_res", "conv_kernel", "filter_size",
                 "lrelu_upsampling", "use_radial_filters", "conv_clamp", "magnitude_ema_beta"}
MAPPING = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier", "w_avg_beta"}


def generator_record(data) -> tuple[Record, str]:
    """The generator to import from a network pickle's contents: G_ema (what NVIDIA's generate.py draws), else G."""
    if isinstance(data, Record):
        return data, "the pickled network itself"
    if not isinstance(data, dict):
        raise CheckpointError("this pickle holds no dict of networks; a StyleGAN network pickle holds "
                              "{'G', 'D', 'G_ema', ...}")
    for key in ("G_ema", "G"):
        if isinstance(data.get(key), Record):
            return data[key], key
    raise CheckpointError(f"this pickle has no generator (keys: {', '.join(map(str, list(data)[:10]))}); a StyleGAN "
                          "network pickle holds G_ema")


def detect(data) -> str | None:
    """"stylegan2" or "stylegan3" for a network pickle's contents, else None."""
    try:
        g, _ = generator_record(data)
    except CheckpointError:
        return None
    if g.child("synthesis.input") is not None:
        return "stylegan3"
    if g.child("synthesis.b4") is not None:
        return "stylegan2"
    return None


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CheckpointError(f"the pickle's {what} is {value!r}, not a finite number")
    return float(value)


def _fold(g: Record, family: str) -> dict[str, torch.Tensor]:
    """G's weights with every recorded gain folded in: fully connected layers (weight_gain, bias_gain), ToRGB's
    style gain into its affine layer, and the ResNet skip convolution's weight gain."""
    state = {k: v.detach().float().clone() for k, v in g.tensors().items()}

    def walk(node: Record, prefix: str):
        kind, s = node.class_name, node.state
        if kind == "FullyConnectedLayer":
            state[prefix + "weight"] *= _number(s.get("weight_gain", 1), f"{prefix}weight_gain")
            if prefix + "bias" in state:
                state[prefix + "bias"] *= _number(s.get("bias_gain", 1), f"{prefix}bias_gain")
            if s.get("activation", "linear") not in ("linear", "lrelu"):
                raise CheckpointError(f"{prefix[:-1]} uses the activation {s.get('activation')!r}; genlab runs "
                                      "StyleGAN's leaky ReLU only")
        elif kind == "Conv2dLayer":
            state[prefix + "weight"] *= _number(s.get("weight_gain", 1), f"{prefix}weight_gain")
        for name, child in (s.get("_modules") or {}).items():
            if isinstance(child, Record):
                walk(child, f"{prefix}{name}.")
        if kind == "ToRGBLayer" or (kind == "SynthesisLayer" and family == "stylegan3" and s.get("is_torgb")):
            weight = state[prefix + "weight"]
            gain = (_number(s["weight_gain"], f"{prefix}weight_gain") if "weight_gain" in s
                    else 1 / math.sqrt(weight.shape[1] * weight.shape[2] * weight.shape[3]))
            state[prefix + "affine.weight"] *= gain
            state[prefix + "affine.bias"] *= gain

    walk(g, "")
    return state


def _kwargs(g: Record) -> dict:
    kw = g.init_kwargs
    if g.state.get("_init_args"):
        raise CheckpointError("the generator was built with positional arguments; genlab reads the constructor's "
                              "keyword arguments only")
    for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        if not isinstance(kw.get(key), int) or isinstance(kw.get(key), bool):
            raise CheckpointError(f"the generator's {key} is {kw.get(key)!r}; a StyleGAN generator records it as a "
                                  "whole number")
    return kw


def convert(data, family: str) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """(config for genlab.models.stylegan, its state dict, facts for the card) from a pickle's contents."""
    g, which = generator_record(data)
    kw = _kwargs(g)
    mapping = dict(kw.get("mapping_kwargs") or {})
    # stylegan2-ada-pytorch nests the synthesis options in synthesis_kwargs; stylegan3's StyleGAN2 (and StyleGAN3)
    # pass them at the top level
    known = SG2_SYNTHESIS if family == "stylegan2" else SG3_SYNTHESIS
    synthesis = {**{k: v for k, v in kw.items() if k in known}, **dict(kw.get("synthesis_kwargs") or {})}
    unknown = sorted(set(mapping) - MAPPING) + sorted(set(synthesis) - known)
    unknown += sorted(set(kw) - known - {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs",
                                         "synthesis_kwargs"})
    if unknown:
        raise CheckpointError(f"the generator was built with options genlab does not know ({', '.join(unknown)}); "
                              "it would not draw the same pictures, so it is not imported")
    if mapping.get("activation", "lrelu") != "lrelu" or synthesis.get("activation", "lrelu") != "lrelu":
        raise CheckpointError("this generator uses another activation than leaky ReLU; genlab runs StyleGAN's own")
    config = {"z_dim": kw["z_dim"], "c_dim": kw["c_dim"], "w_dim": kw["w_dim"], "resolution": kw["img_resolution"],
              "image_channels": kw["img_channels"],
              "mapping_layers": int(mapping.get("num_layers", 8 if family == "stylegan2" else 2))}
    if family == "stylegan2":
        if synthesis.get("kernel_size", 3) != 3:
            raise CheckpointError("this StyleGAN2 uses another kernel size than 3; genlab runs the published one")
        config.update(embed_features=mapping.get("embed_features"), layer_features=mapping.get("layer_features"),
                      channel_base=synthesis.get("channel_base", 32768), channel_max=synthesis.get("channel_max", 512),
                      architecture=synthesis.get("architecture", "skip"), conv_clamp=synthesis.get("conv_clamp"),
                      resample_filter=list(synthesis.get("resample_filter", [1, 3, 3, 1])),
                      use_noise=bool(synthesis.get("use_noise", True)))
    else:
        config.update({k: v for k, v in synthesis.items() if k not in ("num_fp16_res", "magnitude_ema_beta")})
        config.setdefault("conv_clamp", None)
    state = _fold(g, family)
    facts = {"generator": which, "fp16_resolutions": int(synthesis.get("num_fp16_res", 0) or 0),
             "training_set": _training_set(data)}
    return config, state, facts


def _training_set(data) -> str | None:
    """The training data's path as the pickle records it (for the card), if any."""
    kw = data.get("training_set_kwargs") if isinstance(data, dict) else None
    path = kw.get("path") if isinstance(kw, dict) else None
    return str(path)[:200] if isinstance(path, str) else None
