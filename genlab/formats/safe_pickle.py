"""A pickle reader that runs nothing from the file.

Python's ``pickle.load`` calls whatever a file names (``os.system`` included); NVIDIA's network pickles go further
and carry their own Python source, which their loader executes. This reader walks the same opcodes with
``pickle.Unpickler`` but answers every name the file asks for from a short table of stand-ins written here: tensors
and their storages, numpy arrays and scalars rebuilt from their bytes, plain containers, and *records* of the
objects the file describes (class name, constructor arguments, state) that are never instantiated. Any other name
(a function, a module, a class of the file's own) is refused before anything is called, with a message that names
it. Nothing from the file is imported, executed or looked up in a module.

>>> from genlab.formats.safe_pickle import read_pickle
>>> data = read_pickle("network-snapshot.pkl")      # {'G_ema': Record('Generator', ...), ...}
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import CheckpointError

MAX_FILE_BYTES = 2 * 2**30  # the largest published StyleGAN pickle (1024 px, G + D + G_ema) is about 380 MB
MAX_STORAGE_BYTES = 2**30  # one tensor's storage blob
MAX_ARRAY_BYTES = 2**26  # one numpy array in an object's state (they hold sizes and filter taps: a few bytes)
NUMPY_KINDS = "biuf"  # bool, signed/unsigned integers, floats: the only numpy dtypes rebuilt


class UnsafePickleError(CheckpointError):
    """The pickle asks for something this reader does not build (its message names it); nothing was run."""


@dataclass
class Record:
    """An object the pickle describes, recorded instead of built: its class's name (as the file says) and its state
    (a dict: for a torch module ``_parameters``, ``_buffers``, ``_modules``, and the reference code's
    ``_init_kwargs``)."""

    class_name: str
    state: dict = field(default_factory=dict)

    def __setstate__(self, state):  # BUILD on a record: keep the state, run nothing
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):  # (dict, slots)
            state = {**state[0], **(state[1] or {})}
        self.state = state if isinstance(state, dict) else {"state": state}

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """The state dict of a recorded torch module tree: parameters and buffers under their dotted names."""
        out = {}
        for key in ("_parameters", "_buffers"):
            for name, t in (self.state.get(key) or {}).items():
                if isinstance(t, torch.Tensor):
                    out[prefix + name] = t
        for name, child in (self.state.get("_modules") or {}).items():
            if isinstance(child, Record):
                out.update(child.tensors(f"{prefix}{name}."))
        return out

    def child(self, path: str) -> "Record | None":
        """A submodule record by dotted name ('synthesis.b4'), or None."""
        node = self
        for part in path.split("."):
            node = (node.state.get("_modules") or {}).get(part) if isinstance(node, Record) else None
        return node if isinstance(node, Record) else None

    @property
    def init_kwargs(self) -> dict:
        kwargs = self.state.get("_init_kwargs")
        return dict(kwargs) if isinstance(kwargs, dict) else {}


class _Dict(dict):
    """dnnlib.EasyDict and other dict subclasses: a plain dict that accepts BUILD's attribute state."""

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.update(state)


class _NumpyDtype:
    """numpy.dtype('f4', False, True) + its BUILD state, without numpy's own reconstruction."""

    def __init__(self, name, *_):
        if not isinstance(name, str) or len(name) > 8:
            raise UnsafePickleError(f"the pickle describes a numpy dtype {name!r}; only numeric dtypes are read")
        self.name, self.order = name, "|"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in "<>|=":
            self.order = state[1]

    def numpy(self) -> np.dtype:
        dtype = np.dtype(self.name).newbyteorder(self.order if self.order in "<>" else "=")
        if dtype.kind not in NUMPY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise UnsafePickleError(f"the pickle holds a numpy array of dtype {self.name!r}; only numbers are read")
        return dtype


class _NumpyArray:
    """numpy's _reconstruct(ndarray, (0,), b'b') + BUILD (version, shape, dtype, fortran, bytes) -> an ndarray
    copied from the bytes (object arrays, which would unpickle their items, are refused)."""

    def __init__(self, *_):
        self.value = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], _NumpyDtype)
                and isinstance(state[4], (bytes, bytearray))):
            raise UnsafePickleError("the pickle holds a numpy array this reader does not read (an object array?)")
        _, shape, dtype, fortran, raw = state
        dtype = dtype.numpy()
        shape = tuple(int(s) for s in shape)
        count = int(np.prod(shape)) if shape else 1
        if any(s < 0 for s in shape) or count * dtype.itemsize != len(raw) or len(raw) > MAX_ARRAY_BYTES:
            raise UnsafePickleError(f"a numpy array of shape {shape} does not match its {len(raw)} bytes")
        self.value = np.frombuffer(bytes(raw), dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def _numpy_scalar(dtype, raw=None):
    if not isinstance(dtype, _NumpyDtype) or not isinstance(raw, (bytes, bytearray)):
        raise UnsafePickleError("the pickle holds a numpy scalar this reader does not read")
    dtype = dtype.numpy()
    if len(raw) != dtype.itemsize:
        raise UnsafePickleError("a numpy scalar does not match its bytes")
    return np.frombuffer(bytes(raw), dtype=dtype)[0].item()


def _load_storage(blob):
    """A storage pickled by torch (``torch.storage._load_from_bytes``): a legacy torch.save stream, read by torch's
    own restricted loader (``weights_only=True``) and never by pickle."""
    if not isinstance(blob, (bytes, bytearray)) or len(blob) > MAX_STORAGE_BYTES:
        raise UnsafePickleError("a tensor storage in the pickle is not bytes or is too large")
    try:
        return torch.load(io.BytesIO(bytes(blob)), weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - whatever torch refuses, the file is refused
        raise UnsafePickleError(f"a tensor storage in the pickle could not be read safely ({e})") from None


def _rebuild_tensor(storage, offset, size, stride, *_):
    """torch._utils._rebuild_tensor_v2: a view of a storage, checked to lie inside it before it is made."""
    if not isinstance(storage, (torch.UntypedStorage, torch.TypedStorage)):
        raise UnsafePickleError("a tensor in the pickle does not point at a storage")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or len(size) > 8 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise UnsafePickleError(f"a tensor in the pickle has a bad shape {size} / stride {stride}")
    typed = storage if isinstance(storage, torch.TypedStorage) else None
    untyped = typed._untyped_storage if typed is not None else storage
    dtype = typed.dtype if typed is not None else torch.uint8
    length = untyped.nbytes() // dtype.itemsize
    last = int(offset) + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else int(offset) - 1
    if int(offset) < 0 or last >= length:
        raise UnsafePickleError(f"a tensor of shape {size} reaches past its storage of {length} elements")
    t = torch.empty(0, dtype=dtype)
    t.set_(untyped, int(offset), size, stride)
    return t


def _rebuild_parameter(data, *_):
    if not isinstance(data, torch.Tensor):
        raise UnsafePickleError("a parameter in the pickle holds no tensor")
    return data


def _persistent_record(meta):
    """torch_utils.persistence._reconstruct_persistent_obj(meta): record the class name and state. The source code
    in meta['module_src'] is kept as text for the caller to report, never compiled."""
    if not isinstance(meta, dict):
        raise UnsafePickleError("a persistent object in the pickle has no description")
    name = meta.get("class_name")
    record = Record(class_name=str(name)[:200])
    record.__setstate__(meta.get("state") or {})
    return record


def _ordered_dict(*args):
    return dict(*args[:1]) if args else {}


def _reconstructor(cls, base, state=None):
    """copyreg._reconstructor(cls, object, None) (protocol 0/1 objects): only the stand-ins above."""
    if cls in (_Dict,) and base in (dict, object, None):
        return _Dict()
    raise UnsafePickleError(f"the file asks to build {getattr(cls, '__name__', cls)!r} through copyreg; refused")


# What the reader answers for each name a pickle may ask for. Everything else is refused.
SAFE_NAMES = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent_record,
    ("dnnlib.util", "EasyDict"): _Dict,
    ("dnnlib", "EasyDict"): _Dict,
    ("numpy", "dtype"): _NumpyDtype,
    ("numpy", "ndarray"): _NumpyArray,
    ("numpy.core.multiarray", "_reconstruct"): lambda cls, *a: _NumpyArray(),
    ("numpy._core.multiarray", "_reconstruct"): lambda cls, *a: _NumpyArray(),
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("copyreg", "_reconstructor"): _reconstructor,  # protocol 0/1 objects: only the stand-ins above
}


class _Reader(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        key = (module, name)
        if key in SAFE_NAMES:
            return SAFE_NAMES[key]
        raise UnsafePickleError(
            f"the file asks to run {module}.{name}, which is not a tensor, a number array or a container; genlab "
            "reads only those from a pickle and refuses the file (nothing in it was run)")

    def persistent_load(self, pid):
        raise UnsafePickleError(f"the pickle refers to external data ({str(pid)[:80]}); this is not a plain "
                                "network pickle (a torch.save file? import it as .pth)")


def unwrap(value):
    """Stand-ins -> plain values: numpy arrays, records as they are, containers walked."""
    if isinstance(value, _NumpyArray):
        return value.value
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v) for v in value)
    if isinstance(value, Record):
        value.state = unwrap(value.state)
    return value


def read_pickle(path: str | Path, max_bytes: int = MAX_FILE_BYTES):
    """Read a pickle file without running anything from it (see the module docstring); raises
    UnsafePickleError / CheckpointError with a message naming what it refused."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise CheckpointError(f"{path.name} is {size / 2**20:.0f} MB; genlab reads pickles of at most "
                              f"{max_bytes / 2**20:.0f} MB")
    with open(path, "rb") as f:
        head = f.read(2)
        if len(head) < 2 or head[0] != 0x80:
            raise CheckpointError(f"{path.name} is not a pickle (it does not start with a pickle protocol header)")
        f.seek(0)
        try:
            return unwrap(_Reader(f).load())
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                MemoryError, RecursionError) as e:
            raise CheckpointError(f"{path.name} is corrupt or truncated, or not a network pickle ({type(e).__name__}: "
                                  f"{str(e)[:200]})") from None
