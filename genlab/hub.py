"""Model registry and loading: a shipped name, a local folder, or a Hugging Face Hub repo.

Checkpoints are folders of ``config.json`` + ``model.safetensors`` (+ ``README.md``), as
written by ``save_pretrained``. Nothing here unpickles: pickle weights are refused.

>>> import genlab
>>> g = genlab.load("mnist-cgan")          # shipped in checkpoints/
>>> g = genlab.load("checkpoints/mnist-cgan")  # any folder
>>> g = genlab.load("someone/their-gan")    # Hub repo id (or its local cache when offline)
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url, try_to_load_from_cache
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError
from safetensors import SafetensorError

from .errors import CheckpointError, GenlabError, HubNotCachedError, UnknownModelError  # noqa: F401 (re-exported)
from .models import (ConvVAE, CycleDiscriminator, CycleGAN, DCGANGenerator, Discriminator, Generator, ImageClassifier,
                     PatchDiscriminator, StyleGAN2Generator, StyleGAN3Generator, UNetGenerator, ZooCycleGAN,
                     ZooTranslator)
from .models.bounds import (CONFIG_BOUNDS, IMPORTED_TRANSLATORS, IMPORTED_TYPES, MAX_PARAMETERS, check_config, check_weights,  # noqa: F401
                     safetensors_shapes)
from .models.base import HubModel

# Model families: config.json's "model_type" -> class. Shared by training, app and tests.
MODEL_TYPES: dict[str, type[HubModel]] = {
    "gan": Generator,
    "gan-discriminator": Discriminator,
    "classifier": ImageClassifier,
    "vae": ConvVAE,
    "pix2pix": UNetGenerator,
    "pix2pix-discriminator": PatchDiscriminator,
    "cyclegan": CycleGAN,
    "cyclegan-discriminator": CycleDiscriminator,
    "stylegan2": StyleGAN2Generator,  # imported (genlab import): NVIDIA's StyleGAN2-ADA pickles
    "stylegan3": StyleGAN3Generator,  # imported: NVIDIA's StyleGAN3 pickles
    "dcgan": DCGANGenerator,  # imported: PyTorch's DCGAN example, HugGAN
    "zoo-translator": ZooTranslator,  # imported: one pytorch-CycleGAN-and-pix2pix generator (pix2pix, a CycleGAN side)
    "zoo-cyclegan": ZooCycleGAN,  # imported: a CycleGAN's G_A and G_B
}
# Families every GAN tool takes (the GAN tab, /sample, projection, augmentation): genlab's own and the imported ones.
GAN_TYPES = ("gan", *IMPORTED_TYPES)


# Imported families serve where genlab's own do: generators as GANs, one direction beside the pix2pix models, a
# pair beside the CycleGANs.
FAMILY_OF = {**{t: "gan" for t in IMPORTED_TYPES}, "zoo-translator": "pix2pix", "zoo-cyclegan": "cyclegan"}


def family_matches(kind: str, wanted: str | None) -> bool:
    """Whether a checkpoint of family ``kind`` serves where ``wanted`` is asked for (itself, or FAMILY_OF's)."""
    return wanted is None or kind == wanted or FAMILY_OF.get(kind) == wanted


def _checkpoints_dir() -> Path:
    """Where shipped checkpoints are read from, first match wins:
    1. ``GENLAB_CHECKPOINTS`` (a folder of ``<name>/`` checkpoint folders), if set;
    2. ``checkpoints/`` beside the package: a source checkout, or a Space;
    3. ``genlab/checkpoints/`` inside the installed package (``pip install .`` puts them there)."""
    env = os.environ.get("GENLAB_CHECKPOINTS", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parent
    source = here.parent / "checkpoints"
    return source if source.is_dir() else here / "checkpoints"


CHECKPOINTS_DIR = _checkpoints_dir()


def output_dir() -> Path:
    """Where training writes ``<name>/`` by default: CHECKPOINTS_DIR in a source checkout (or where
    GENLAB_CHECKPOINTS points); for an installed package, whose folder is not the user's,
    ``./checkpoints`` in the working directory."""
    if CHECKPOINTS_DIR == Path(__file__).resolve().parent / "checkpoints":
        return Path.cwd() / "checkpoints"
    return CHECKPOINTS_DIR


# Checkpoints shipped in checkpoints/<name>/, name -> model_type. A name is only ever a key
# here (or a folder name found in CHECKPOINTS_DIR): it is never joined onto a path as given.
SHIPPED: dict[str, str] = {
    "mnist-cgan": "gan",  # conditional DCGAN + DiffAugment on the 4,500 training digits
    "mnist-classifier": "classifier",  # feature net for FID/KID and class accuracy
    "mnist-vae": "vae",  # convolutional VAE, 16-d latent, for interpolation and traversal
    "mnist-sketch2digit": "pix2pix",  # thin mouse-like strokes -> realistic digit
    "mnist-superres": "pix2pix",  # 4x super-resolution, 7x7 -> 28x28
    "emoji-classifier": "classifier",  # the 9 Unicode emoji groups, 64 px RGB OpenMoji: feature net for emoji models
    "emoji-cgan": "gan",  # class-conditional colour GAN (DiffAugment + EMA) on the OpenMoji emoji, 32 px
    "emoji-cgan-64": "gan",  # emoji-cgan and a learned, class-conditional 2x upsampler: one generator, 64 px
    "emoji-vae": "vae",  # colour VAE, 32-d latent, on the OpenMoji emoji, 64 px
    "emoji-sketch2color": "pix2pix",  # black line drawing -> coloured emoji, 64 px
    "emoji-openmoji2noto": "cyclegan",  # unpaired CycleGAN, OpenMoji (A) <-> Noto Color Emoji (B), 32 px
}
DEFAULT_GAN = "emoji-cgan-64"  # what the app's first page shows: colour, 64 px, from the start

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


_LOCAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def available() -> dict[str, str]:
    """Checkpoints this installation serves by name -> model_type: the shipped ones that are present
    (a Space may carry only some, see ``genlab publish space --models``), then any other
    ``CHECKPOINTS_DIR/<name>/`` with a valid config.json (a model you trained into checkpoints/,
    or added to a Space). Read from the folder on each call, so a new model shows up at once."""
    found = {n: t for n, t in SHIPPED.items() if (CHECKPOINTS_DIR / n / "config.json").is_file()}
    try:
        extra = sorted(p for p in CHECKPOINTS_DIR.iterdir() if p.is_dir() and p.name not in SHIPPED)
    except OSError:
        extra = []
    for folder in extra:
        if not _LOCAL_NAME.fullmatch(folder.name) or ".." in folder.name:
            continue
        try:
            kind = json.loads((folder / "config.json").read_text()).get("model_type")
        except (OSError, ValueError, AttributeError):
            continue
        if kind in MODEL_TYPES and not kind.endswith("discriminator") and (folder / "model.safetensors").is_file():
            found[folder.name] = kind
    return found


# Models trained by this server's jobs (the app's Train tab): name -> checkpoint folder. Only exact names match; on
# a public Space a name carries its job's secret id, so a visitor loads only models whose name they were given.
_TRAINED: dict[str, Path] = {}


def register_trained(name: str, folder: str | Path) -> None:
    """Serve the checkpoint in ``folder`` under ``name`` while this process runs (a finished training job)."""
    _TRAINED[str(name)] = Path(folder)


def unregister_trained(name: str) -> None:
    _TRAINED.pop(str(name), None)


def trained_folder(name: str) -> Path | None:
    """The folder of a model registered by ``register_trained``, or None."""
    return _TRAINED.get(str(name).strip())


def served_config(name: str) -> dict:
    """The config.json of a model this server serves by name (checkpoints folder, or ``register_trained``), {} for
    any other name or an unreadable file. For labels and families in model boxes; loading checks it properly."""
    name = str(name).strip()
    folder = trained_folder(name)
    if folder is None and (name in SHIPPED or _LOCAL_NAME.fullmatch(name)) and name in available():
        folder = CHECKPOINTS_DIR / name
    if folder is None:
        return {}
    try:
        config = json.loads((folder / "config.json").read_text()[:1_000_000])
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def served_type(name: str) -> str | None:
    """The model_type of a served name (``served_config``), or None."""
    kind = served_config(name).get("model_type")
    return kind if isinstance(kind, str) else None


def shipped_names(model_type: str | None = None) -> list[str]:
    """Checkpoint names served from CHECKPOINTS_DIR (``available()``), optionally only one family's."""
    return [n for n, t in available().items() if family_matches(t, model_type)]


def best_device() -> torch.device:
    """CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def local_models_allowed() -> bool:
    """May a caller name a folder on this machine? Not on a public Space (SPACE_ID set), yes otherwise;
    GENLAB_ALLOW_LOCAL_MODELS=0/1 overrides either default."""
    flag = os.environ.get("GENLAB_ALLOW_LOCAL_MODELS", "").strip()
    if flag in ("0", "1"):
        return flag == "1"
    return not os.environ.get("SPACE_ID")


def resolve(name: str, allow_local: bool = True) -> Path:
    """Turn a shipped name, a folder or a Hub repo id into a local checkpoint folder.

    allow_local=False (a public server): only shipped names and Hub repo ids; anything else is
    refused with the same message whatever is (or is not) at that path, so a caller learns
    nothing about the server's files.
    """
    name = str(name).strip()
    if name in _TRAINED:
        return _TRAINED[name]
    served = available() if name in SHIPPED or _LOCAL_NAME.fullmatch(name) else {}
    if name in served:
        return CHECKPOINTS_DIR / name  # only ever a name found in the folder's own listing
    if name in SHIPPED:
        raise UnknownModelError(f"{name!r} is one of genlab's models, but this installation does not carry it "
                                f"(it has: {', '.join(served) or 'none'}; folder {CHECKPOINTS_DIR.name}/). Add its "
                                "folder to checkpoints/, or publish the Space with it (genlab publish space --models).")
    if not allow_local:
        if _REPO_ID.fullmatch(name) and ".." not in name and not name.startswith((".", "/", "~")):
            return _from_hub(name, token=False)  # a public server never lends its own token to a caller's id
        raise UnknownModelError(
            f"Unknown model {name!r}. This server loads only its shipped models ({', '.join(available())}) and Hub "
            "repo ids like 'user/model'; folders on the server are not available here."
        )
    if ".." in Path(name).parts:
        raise UnknownModelError(f"Model names and paths may not contain '..' (got {name!r}); give an absolute folder path.")
    if name and Path(name).expanduser().is_dir():
        return Path(name).expanduser()
    if name and Path(name).expanduser().is_file():
        if Path(name).suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(f"{name!r} is a pickle file. genlab never unpickles (loading a pickle can run any "
                                  "code); convert it to model.safetensors with save_pretrained on a machine you trust.")
        raise CheckpointError(f"{name!r} is a file: give the checkpoint folder that holds config.json and "
                              "model.safetensors.")
    if _REPO_ID.fullmatch(name) and ".." not in name:
        return _from_hub(name)
    raise UnknownModelError(
        f"Unknown model {name!r}. Shipped models: {', '.join(available())}; "
        "or give an existing checkpoint folder, or a Hub repo id like 'user/model'."
    )


HUB_MAX_MB = float(os.environ.get("GENLAB_HUB_MAX_MB", 200))  # largest model.safetensors fetched from the Hub
HUB_RETRY_SECONDS = float(os.environ.get("GENLAB_HUB_RETRY_SECONDS", 300))  # a failed repo id is not retried sooner
_hub_failures: dict[str, tuple[float, GenlabError]] = {}
_hub_lock = threading.Lock()


def hub_offline() -> bool:
    """GENLAB_OFFLINE=1 (or huggingface_hub's HF_HUB_OFFLINE): only what is in the local cache loads."""
    return os.environ.get("GENLAB_OFFLINE", "").strip() == "1" or bool(hf_constants.HF_HUB_OFFLINE)


def _from_hub(repo_id: str, token: bool | None = None) -> Path:
    """Find in the HF cache, or download, config.json + model.safetensors only, within bounds.

    config.json comes first and is checked (``check_config``); the weights' size is read from
    the Hub (a HEAD request) and refused over HUB_MAX_MB before any byte of them is fetched.
    A repo id that failed is answered from memory for HUB_RETRY_SECONDS (no new request).
    token: None uses the machine's Hugging Face login (a local user's private repos); False none.
    """
    with _hub_lock:
        failed = _hub_failures.get(repo_id)
    if failed and time.monotonic() - failed[0] < HUB_RETRY_SECONDS:
        raise failed[1]
    try:
        folder = _fetch(repo_id, token)
    except GenlabError as e:
        with _hub_lock:
            _hub_failures[repo_id] = (time.monotonic(), e)
        raise
    with _hub_lock:
        _hub_failures.pop(repo_id, None)
    return folder


def _fetch(repo_id: str, token: bool | None) -> Path:
    offline = hub_offline()
    try:
        config = Path(hf_hub_download(repo_id, "config.json", token=token, local_files_only=offline))
        try:
            check_config(repo_id, json.loads(config.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as e:
            raise CheckpointError(f"Hub repo {repo_id!r}: config.json is not valid JSON ({e}).") from None
        cached = try_to_load_from_cache(repo_id, "model.safetensors")
        if isinstance(cached, str):
            size = Path(cached).stat().st_size
        elif offline:
            raise LocalEntryNotFoundError("model.safetensors is not cached")
        else:
            size = get_hf_file_metadata(hf_hub_url(repo_id, "model.safetensors"), token=token).size or 0
        if size > HUB_MAX_MB * 2**20:
            raise CheckpointError(f"Hub repo {repo_id!r}: model.safetensors is {size / 2**20:.0f} MB; this server "
                                  f"loads at most {HUB_MAX_MB:.0f} MB (GENLAB_HUB_MAX_MB).")
        hf_hub_download(repo_id, "model.safetensors", token=token, local_files_only=offline)
    except LocalEntryNotFoundError as e:
        if not local_models_allowed():  # a public server: no folder names, and the fix is not the visitor's
            raise HubNotCachedError(
                f"Hub model {repo_id!r} is not in the local Hugging Face cache of this server, and the server cannot "
                "reach the Hub now. Pick a model from the list, or try again later.") from e
        raise HubNotCachedError(
            f"Hub model {repo_id!r} is not in the local Hugging Face cache ({hf_constants.HF_HUB_CACHE}) "
            "and the Hub cannot be reached (or genlab is offline). Fetch it once while online with "
            f"`hf download {repo_id} config.json model.safetensors` (or unset HF_HUB_OFFLINE / GENLAB_OFFLINE)."
        ) from e
    except EntryNotFoundError as e:
        raise CheckpointError(
            f"Hub repo {repo_id!r} has no config.json + model.safetensors; genlab loads only safetensors "
            "checkpoints saved with save_pretrained (never pickles)."
        ) from e
    except HfHubHTTPError as e:
        raise CheckpointError(f"Could not read Hub repo {repo_id!r}: {e}. Check the repo id and your access.") from e
    return config.parent


def load(name: str, *, model_type: str | None = None, device: str | torch.device | None = "auto",
         allow_local: bool = True) -> HubModel:
    """Load a checkpoint by shipped name, folder or Hub repo id, in eval mode.

    model_type: if given (e.g. "gan"), refuse checkpoints of another family.
    device: "auto" picks CUDA/MPS when available, None keeps CPU float32.
    allow_local: False refuses folders (see ``resolve``); the app passes ``local_models_allowed()``.
    """
    folder = resolve(name, allow_local)
    config_path, weights = folder / "config.json", folder / "model.safetensors"
    if not weights.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES) if folder.is_dir() else []
        if pickles:
            raise CheckpointError(
                f"{name!r} holds only pickle weights ({', '.join(pickles)}). genlab never unpickles (it can run "
                "code); convert them to model.safetensors with save_pretrained on a machine you trust."
            )
        raise CheckpointError(f"{name!r} has no model.safetensors: not a genlab checkpoint folder.")
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError as e:
        raise CheckpointError(f"{name!r} has no config.json: save checkpoints with save_pretrained.") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{name!r}: config.json is not valid JSON ({e}).") from e
    kind = config.get("model_type") if isinstance(config, dict) else None
    if kind not in MODEL_TYPES:
        raise CheckpointError(f"{name!r}: config.json model_type {kind!r} is not one of {', '.join(MODEL_TYPES)}.")
    if not family_matches(kind, model_type):
        raise CheckpointError(f"{name!r} is a {kind!r} checkpoint, but a {model_type!r} model is needed here.")
    check_config(name, config)
    check_weights(name, MODEL_TYPES[kind], config, weights)
    try:
        model = MODEL_TYPES[kind].from_pretrained(str(folder), strict=True, map_location="cpu")
    except SafetensorError as e:
        raise CheckpointError(f"{name!r}: model.safetensors is corrupt or truncated ({e}).") from e
    except (RuntimeError, TypeError, ValueError) as e:
        raise CheckpointError(f"{name!r}: the weights do not match config.json ({e}).") from e
    bad = [k for k, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise CheckpointError(f"{name!r}: weights contain NaN/Inf ({', '.join(bad[:3])}); the checkpoint is broken.")
    model.float().eval()
    if device is not None:
        model.to(best_device() if device == "auto" else device)
    return model
