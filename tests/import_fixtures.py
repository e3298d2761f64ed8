"""The import tests' foreign checkpoints, kept in the repository as safetensors + JSON and written out as the files
users have (NVIDIA network pickles, torch.save .pth / .bin) when a test session needs them.

A network pickle is stored as ``<name>.tree.json`` (every object the pickle describes: NVIDIA's persistent objects
with their class name, embedded module source and state, numpy arrays and scalars with their dtypes, containers;
tensors by reference) and ``<name>.tensors.safetensors`` (the tensors). ``write_network_pickle`` rebuilds the pickle
with Python's pickler and torch's own tensor pickling, so its opcodes and the names it asks for
(``torch_utils.persistence._reconstruct_persistent_obj``, ``torch._utils._rebuild_tensor_v2``,
``torch.storage._load_from_bytes``, numpy's reconstructors, ``dnnlib.util.EasyDict``) are those of a pickle written
by NVIDIA's training loop. ``tree_of_pickle`` goes the other way (scripts/make_import_fixtures.py uses it on the
files the reference code writes), reading with genlab's restricted reader: nothing in the pickle runs.

A DCGAN ``.pth`` is stored as ``<name>.safetensors`` and written with ``torch.save`` of its state dict, as
pytorch/examples' training loop saves it; HugGAN's ``pytorch_model.bin`` is the same state dict under ``model.*``.
"""

from __future__ import annotations

import collections
import contextlib
import json
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

DATA = Path(__file__).parent / "data" / "import"
NETWORKS = ["sg2_uncond_skip_32", "sg2_cond_resnet_64", "sg2_orig_grey_16", "sg2_fullwidth_8", "sg2_stylegan3repo_32",
            "sg3_t_32", "sg3_r_16"]  # <name>.pkl
DCGAN = "dcgan_netG_epoch_24"  # <name>.pth, and huggan_dcgan/pytorch_model.bin from the same weights


# --- pickle -> tree (read with genlab's restricted reader, keeping what a rebuild needs) ---------------------------


def tree_of_pickle(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(JSON tree, tensors) of a network pickle, read without running anything in it."""
    from genlab.formats import safe_pickle

    class Meta(dict):  # a persistent object's whole description, module source included
        pass

    class Scalar:
        def __init__(self, dtype, raw):
            self.dtype, self.value = dtype.numpy().str, safe_pickle._numpy_scalar(dtype, raw)

    class Easy(dict):
        def __setstate__(self, state):
            if isinstance(state, dict):
                self.update(state)

    class Reader(safe_pickle._Reader):
        def find_class(self, module, name):
            if name == "_reconstruct_persistent_obj":
                return lambda meta: Meta(meta)
            if name == "scalar":
                return Scalar
            if name == "EasyDict":
                return Easy
            if name == "OrderedDict":
                return collections.OrderedDict
            if name == "_rebuild_parameter":
                return lambda data, requires_grad=True, *_: torch.nn.Parameter(data, requires_grad=requires_grad)
            return super().find_class(module, name)

    with open(path, "rb") as f:
        raw = Reader(f).load()
    tensors: dict[str, torch.Tensor] = {}
    sources: list[str] = []  # every persistent class of a module carries the module's source: kept once

    def enc(v):
        if isinstance(v, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = v.detach().clone().contiguous()
            return {"__tensor__": key, "parameter": isinstance(v, torch.nn.Parameter)}
        if isinstance(v, safe_pickle._NumpyArray):
            return {"__ndarray__": v.value.dtype.str, "shape": list(v.value.shape), "data": v.value.ravel().tolist()}
        if isinstance(v, Scalar):
            return {"__npscalar__": v.dtype, "value": v.value}
        if isinstance(v, Meta):
            src = v.get("module_src")
            if src not in sources:
                sources.append(src)
            return {"__persistent__": {k: ({"__source__": sources.index(src)} if k == "module_src" else enc(x))
                                       for k, x in v.items()}}
        if isinstance(v, Easy):
            return {"__easydict__": [[enc(k), enc(x)] for k, x in v.items()]}
        if isinstance(v, collections.OrderedDict):
            return {"__odict__": [[enc(k), enc(x)] for k, x in v.items()]}
        if isinstance(v, dict):
            return {"__dict__": [[enc(k), enc(x)] for k, x in v.items()]}
        if isinstance(v, (list, tuple, set)):
            return {f"__{type(v).__name__}__": [enc(x) for x in v]}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        raise TypeError(f"{type(v).__name__} in a network pickle: not kept")

    tree = enc(raw)
    return {"sources": sources, "root": tree}, tensors


# --- tree -> pickle ----------------------------------------------------------------------------------------------


def _reconstruct_persistent_obj(meta):  # stands in, by name, for NVIDIA's; never called here
    raise AssertionError("the fixture writer never unpickles")


class EasyDict(dict):
    """Pickled by name as dnnlib.util.EasyDict (a dict subclass, as NVIDIA's)."""


class _Persistent:
    """Pickles as NVIDIA's persistent objects do: _reconstruct_persistent_obj(meta), no state."""

    def __init__(self, meta: dict):
        self.meta = meta

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


@contextlib.contextmanager
def _nvidia_names():
    """Make the names NVIDIA's pickles ask for importable while pickling (modules of their own, removed after: the
    test process never has torch_utils or dnnlib)."""
    added = []
    for name in ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util"):
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            added.append(name)
    sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    sys.modules["dnnlib.util"].EasyDict = EasyDict
    old = (_reconstruct_persistent_obj.__module__, EasyDict.__module__)
    _reconstruct_persistent_obj.__module__, EasyDict.__module__ = "torch_utils.persistence", "dnnlib.util"
    try:
        yield
    finally:
        _reconstruct_persistent_obj.__module__, EasyDict.__module__ = old
        for name in added:
            del sys.modules[name]


def _decode(v, tensors, sources):
    """A tree node -> the object it describes; the module sources are shared objects (as in the original pickle,
    where the pickler memoises each one and writes it once)."""
    if isinstance(v, list):
        return [_decode(x, tensors, sources) for x in v]
    if not isinstance(v, dict):
        return v
    (tag, body), *rest = v.items()
    if tag == "__source__":
        return sources[body]
    if tag == "__tensor__":
        t = tensors[body].clone()
        return torch.nn.Parameter(t, requires_grad=True) if v["parameter"] else t
    if tag == "__ndarray__":
        return np.array(v["data"], dtype=np.dtype(body)).reshape(v["shape"])
    if tag == "__npscalar__":
        return np.dtype(body).type(v["value"])
    if tag == "__persistent__":
        return _Persistent({k: _decode(x, tensors, sources) for k, x in body.items()})
    pairs = {"__easydict__": EasyDict, "__odict__": collections.OrderedDict, "__dict__": dict}
    if tag in pairs:
        return pairs[tag]((_decode(k, tensors, sources), _decode(x, tensors, sources)) for k, x in body)
    kinds = {"__list__": list, "__tuple__": tuple, "__set__": set}
    return kinds[tag](_decode(x, tensors, sources) for x in body)


def write_network_pickle(name: str, out: Path) -> Path:
    """tests/data/import/<name>.tree.json + .tensors.safetensors -> out/<name>.pkl."""
    tree = json.loads((DATA / f"{name}.tree.json").read_text())
    tensors = load_file(str(DATA / f"{name}.tensors.safetensors"))
    path = out / f"{name}.pkl"
    with _nvidia_names(), open(path, "wb") as f:
        pickle.dump(_decode(tree["root"], tensors, tree["sources"]), f, protocol=4)  # the protocol NVIDIA's files use (Python 3.7-3.9)
    return path


def write_all(out: Path) -> Path:
    """Every foreign fixture file under out/: the network pickles, the DCGAN .pth and the HugGAN folder."""
    out.mkdir(parents=True, exist_ok=True)
    for name in NETWORKS:
        write_network_pickle(name, out)
    state = collections.OrderedDict(sorted(load_file(str(DATA / f"{DCGAN}.safetensors")).items(),
                                          key=lambda kv: [int(p) if p.isdigit() else p for p in kv[0].split(".")]))
    torch.save(state, out / f"{DCGAN}.pth")
    hug = out / "huggan_dcgan"
    hug.mkdir(exist_ok=True)
    torch.save(collections.OrderedDict((k.replace("main.", "model.", 1), v) for k, v in state.items()),
               hug / "pytorch_model.bin")
    (hug / "config.json").write_text((DATA / "huggan_dcgan.config.json").read_text())
    return out


def store(pickle_path: Path, name: str) -> None:
    """A network pickle (as the reference code wrote it) -> tests/data/import/<name>.tree.json + .tensors."""
    tree, tensors = tree_of_pickle(pickle_path)
    (DATA / f"{name}.tree.json").write_text(json.dumps(tree, separators=(",", ":")))
    save_file(tensors, str(DATA / f"{name}.tensors.safetensors"))
