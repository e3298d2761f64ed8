"""The in-page generators: a GAN generator or a VAE decoder exported to ONNX for the browser,
and the data the page needs to draw exactly what the server would.

The page (genlab/web/genlab.js) runs the exported graph with ONNX Runtime Web (WebAssembly,
vendored in genlab/web/vendor/). Random numbers are never re-implemented in JavaScript: the
server sends the seed's latents and the SeFa directions as float32 data, and the page does the
same arithmetic as ``sampling.sample`` (z * psi + offsets @ directions) and the same grid as
``images.to_pil_grid``.

>>> import genlab
>>> from genlab.web import export_onnx, gan_spec
>>> g = genlab.load("mnist-cgan")
>>> export_onnx(g)                       # .../genlab-onnx-*/gan-<digest>.onnx, made once per weights
>>> gan_spec(g, seed=3, label=None)["latent_dim"]
64
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from ..tasks.interpolation import kl_ranking
from ..models import ConvVAE, DCGANGenerator, Generator, StyleGAN2Generator, StyleGAN3Generator, weights_digest
from ..tasks.sampling import DIRECTION_RANGE, MAX_SAMPLES, check_start, latents

WEB_DIR = Path(__file__).resolve().parent  # the page's own code and the vendored runtime
OPSET = 17  # ONNX opset; ONNX Runtime Web 1.30 runs 7-21
MAX_PAGE_PARAMETERS = int(os.environ.get("GENLAB_WEB_MAX_PARAMETERS", 25_000_000))  # 100 MB of float32 to download
# compute per image the page takes on (counted by gflop_per_image): emoji-cgan needs 0.053 GFLOP, a 64-px DCGAN of
# PyTorch's example 0.21; a 64-px config-f StyleGAN2 needs 32 and a 256-px StyleGAN3-T 477, 150 to 9,000 times
# emoji-cgan's: the server draws those
MAX_PAGE_GFLOP = float(os.environ.get("GENLAB_WEB_MAX_GFLOP", 0.25))
IMPORTED_GANS = (DCGANGenerator, StyleGAN2Generator, StyleGAN3Generator)
MAX_FILES = 32  # exported graphs kept on disk; the oldest are removed first
_lock = threading.Lock()


class ExportError(RuntimeError):
    """The model could not be exported to ONNX; the page then draws through the server."""


@lru_cache(maxsize=1)
def onnx_dir() -> Path:
    """Where exported graphs are written: $GENLAB_ONNX_DIR, else a private temp folder per server.

    One file per distinct set of weights (named by their digest, never by a model name), so the
    folder holds at most one graph per model the server has loaded."""
    configured = os.environ.get("GENLAB_ONNX_DIR")
    if configured:
        path = Path(configured).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix="genlab-onnx-")).resolve()


@lru_cache(maxsize=16)
def _digest(model: nn.Module) -> str:
    return digest(model)


def digest_of(model: nn.Module) -> str:
    """``digest``, computed once per model object (the app's cached models; their weights do not change)."""
    return _digest(model)


def digest(model: nn.Module) -> str:
    """A short hash of a model's class, config and weights (``models.weights_digest``): the exported file's name."""
    return weights_digest(model)


class _Generator(nn.Module):
    """A GAN generator with the class sliders' embedding shift as a third input (zeros: unchanged)."""

    def __init__(self, g: Generator):
        super().__init__()
        self.g = g

    def forward(self, z: torch.Tensor, labels: torch.Tensor, embed_shift: torch.Tensor) -> torch.Tensor:
        return self.g(z, labels, embed_shift)


class _Coded(nn.Module):
    """An imported generator (DCGAN, StyleGAN) in the page's terms: its input z is the code *relative to the code
    space's centre* (0 for a DCGAN, w_avg for a StyleGAN), so the page's ``z * psi + offsets`` is the reference's
    truncation ``w_avg + psi (w - w_avg)`` plus the slider offsets; labels and the class shift (1 column) are unused
    (a StyleGAN's class is already in its code). Noise: the stored (const) noise."""

    def __init__(self, g):
        super().__init__()
        self.g = g
        self.register_buffer("center", g.code_center().detach().clone())

    def forward(self, z: torch.Tensor, labels: torch.Tensor, embed_shift: torch.Tensor) -> torch.Tensor:
        return self.g(z + self.center, labels)


@lru_cache(maxsize=16)
def gflop_per_image(model: nn.Module) -> float:
    """The generator's compute for one image, in GFLOP, counted on the meta device (shapes only, no weights)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..models.base import meta_skeleton

    skeleton = meta_skeleton(type(model), dict(getattr(model, "_hub_mixin_config", None) or {})).requires_grad_(False)
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        labels = torch.zeros(1, dtype=torch.long)
        skeleton(skeleton.code(torch.zeros(1, skeleton.latent_dim), labels), labels)
    return counter.get_total_flops() / 1e9


class _Decoder(nn.Module):
    """A VAE's decoder as a module of its own: latents (n, latent_dim) -> images (n, C, R, R) in [-1, 1]."""

    def __init__(self, vae: ConvVAE):
        super().__init__()
        self.vae = vae

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)


def export_onnx(model: Generator | ConvVAE) -> Path:
    """The model's generator (GAN) or decoder (VAE) as an ONNX file with a variable batch size.

    GAN inputs: z (n, latent_dim) float32, labels (n,) int64 and embed_shift (n, embed_dim) float32 (the class
    sliders' blend, ``Generator.class_shift``; zeros for none); an imported generator (DCGAN, StyleGAN) takes its
    code relative to its centre as z and one unused shift column (``_Coded``), where its compute per image is within
    MAX_PAGE_GFLOP; VAE input: z (n, latent_dim).
    Output: images (n, C, R, R) in [-1, 1]. Exported once per weights (cached by digest) with the
    TorchScript exporter (``dynamo=False``: 0.2 s for the 28-px GAN against 3 s, and it needs only
    the ``onnx`` package). Models over MAX_PAGE_PARAMETERS are not exported (the page would have to
    download them); the folder keeps the MAX_FILES newest graphs."""
    if isinstance(model, Generator):
        kind, module, names = "gan2", _Generator(model), ["z", "labels", "embed_shift"]  # gan2: three inputs
        args = (torch.zeros(2, model.latent_dim), torch.zeros(2, dtype=torch.long),
                torch.zeros(2, model.embed.embedding_dim))
    elif isinstance(model, IMPORTED_GANS):
        cost = gflop_per_image(model)
        if cost > MAX_PAGE_GFLOP:
            raise ExportError(f"this {type(model).__name__.replace('Generator', '')} needs {cost:.3g} GFLOP per image "
                              f"({cost * 16:.3g} for a 16-image grid); the page draws models of up to "
                              f"{MAX_PAGE_GFLOP:g} GFLOP per image (GENLAB_WEB_MAX_GFLOP), so the server draws it")
        kind, module, names = "gan2", _Coded(model), ["z", "labels", "embed_shift"]
        args = (torch.zeros(2, model.code_dim), torch.zeros(2, dtype=torch.long), torch.zeros(2, 1))
    elif isinstance(model, ConvVAE):
        kind, module, names = "vae", _Decoder(model), ["z"]
        args = (torch.zeros(2, model.latent_dim),)
    else:
        raise ExportError(f"only GAN generators and VAE decoders run in the page, not {type(model).__name__}")
    weights = sum(p.numel() for p in module.parameters())
    if weights > MAX_PAGE_PARAMETERS:
        raise ExportError(f"this model has {weights / 1e6:.1f}M weights; the page draws models of up to "
                          f"{MAX_PAGE_PARAMETERS / 1e6:.0f}M (GENLAB_WEB_MAX_PARAMETERS)")
    path = onnx_dir() / f"{kind}-{_digest(model)}.onnx"
    if path.exists():
        return path
    was_training = model.training  # the caller's model (the app's cached one), not the wrapper
    device = next(model.parameters()).device
    with _lock:  # one export at a time; a concurrent caller finds the finished file
        if path.exists():
            return path
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            module.eval().cpu()
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
                torch.onnx.export(module, args, str(tmp), dynamo=False, input_names=names, output_names=["images"],
                                  opset_version=OPSET, dynamic_axes={k: {0: "n"} for k in [*names, "images"]})
            os.replace(tmp, path)
            _prune(keep=path)
        except Exception as e:  # an exporter failure must not take the server path down
            tmp.unlink(missing_ok=True)
            first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
            raise ExportError(f"could not export {type(model).__name__} to ONNX: {first[:300]}") from e
        finally:
            model.train(was_training).to(device)
    return path


def _prune(keep: Path) -> None:
    """Remove the oldest exported graphs beyond MAX_FILES (a page that loaded one already holds it)."""
    files = sorted(onnx_dir().glob("*.onnx"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in [f for f in files if f != keep][MAX_FILES - 1:]:
        old.unlink(missing_ok=True)


def _b64(t: torch.Tensor) -> str:
    """float32 tensor -> base64 of its little-endian bytes (the page reads it as a Float32Array)."""
    return base64.b64encode(t.detach().float().cpu().contiguous().numpy().astype("<f4").tobytes()).decode()


def gan_spec(g: Generator, *, seed: int, label: int | None, directions: torch.Tensor | None = None,
             class_sliders: list[int] = (), first_class_slider: int = 0,
             start: tuple[torch.Tensor, int] | None = None) -> dict:
    """What the page needs to draw ``sampling.sample(g, seed, label, psi, n, offsets, class_amounts)`` for any psi,
    n, offsets and class amounts without asking the server again: the seed's MAX_SAMPLES latents and labels, the
    directions the sliders move along, and the class embeddings the class sliders blend (slider
    first_class_slider + j moves towards class class_sliders[j]); ``start`` puts a projected upload in row 0.
    The graph itself comes from ``export_onnx``."""
    z, labels = latents(g, seed=seed, label=label, n=MAX_SAMPLES)  # (64, latent), (64,)
    with torch.no_grad():  # the codes the sliders move (z, or W), relative to the centre the graph adds back
        device = next(g.parameters()).device
        codes = g.code(z.to(device), labels.to(device)).float().cpu()  # (64, code_dim)
        if start is not None:  # a projected upload in row 0, checked as sample() checks it
            code0, label0 = check_start(g, start)
            codes[0], labels[0] = code0, label0
        z = codes - g.code_center().float().cpu()
    if isinstance(g, Generator):
        embed = g.embed.weight[: g.num_classes].detach()  # (K, embed_dim)
        label_embed = g.embed(labels).detach()  # (64, embed_dim): each image's own class embedding
    else:  # an imported generator: no class sliders, one zero column (_Coded ignores it)
        embed, label_embed = torch.zeros(0, 1), torch.zeros(MAX_SAMPLES, 1)
    directions = torch.zeros(0, g.code_dim) if directions is None else directions
    return {
        "kind": "gan",
        "seed": seed,
        "label": label,  # class index, or None: a random class per image
        "latent_dim": g.code_dim,
        "channels": g.image_channels,
        "resolution": g.resolution,
        "z": _b64(z),
        "labels": [int(v) for v in labels],
        "directions": _b64(directions),
        "n_directions": int(directions.shape[0]),
        "direction_range": DIRECTION_RANGE,
        "embed": _b64(embed),
        "embed_dim": int(embed.shape[1]),
        "label_embed": _b64(label_embed),
        "class_sliders": [int(c) for c in class_sliders],
        "first_class_slider": int(first_class_slider),
        "projected": start is not None,
    }


def vae_spec(vae: ConvVAE, za: torch.Tensor, zb: torch.Tensor, mode: str, rows: int = 8, steps: int = 7,
             span: float = 3.0) -> dict:
    """What the page needs to decode ``interpolation.interpolate_latent(za, zb, t, mode)`` and the
    traversal grid at any t: the two latents and the KL-ranked dimensions (as ``traversal``)."""
    return {
        "kind": "vae",
        "latent_dim": vae.latent_dim,
        "channels": vae.image_channels,
        "resolution": vae.resolution,
        "za": _b64(za.reshape(-1)),
        "zb": _b64(zb.reshape(-1)),
        "mode": mode,
        "traversal_dims": [d for d, _ in kl_ranking(vae)[:rows]],
        "traversal_steps": steps,
        "traversal_span": span,
    }
