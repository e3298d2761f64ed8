"""ZeroGPU Spaces: the free, shared GPUs of Hugging Face Spaces, used only where they are.

On a ZeroGPU Space (``SPACES_ZERO_GPU`` set) GPU work must run inside functions decorated
with ``spaces.GPU``; those run in a forked worker that holds a GPU for at most ``duration``
seconds, CUDA must not be initialised in the main process (``spaces`` must be imported before
anything touches CUDA), and arguments and results cross a process boundary (pickled). So:

- ``gpu(duration)`` decorates the compute function behind each event. Off ZeroGPU (locally,
  on a CPU Space, in tests) it returns the function itself, unchanged: no ``spaces`` import,
  no wrapper. On ZeroGPU it is ``spaces.GPU(duration=duration)``.
- The app loads every model on the CPU on ZeroGPU (``load_device()``); inside a decorated
  call, ``on_gpu(model)`` gives a CUDA copy that lives in that worker only. The cached CPU
  model in the main process is never moved or mutated.

Durations are bounds chosen from the CPU timings in docs/performance.md, with margin
for the worker's start and the copy to the GPU; they were not measured on a GPU. A call only
starts when the visitor's remaining ZeroGPU quota covers the duration it asks for, so they are
kept tight (docs/sharing.md, "ZeroGPU Spaces").
"""

from __future__ import annotations

import functools
import inspect
import os
import weakref
from copy import deepcopy
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space (the ``spaces`` package's own test: SPACES_ZERO_GPU=1/true/t)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


spaces = None
if on_zero_gpu():  # only there: `spaces` must come before anything initialises CUDA
    try:
        import spaces  # type: ignore[no-redef]  # noqa: F811
    except ImportError:  # pragma: no cover - ZeroGPU Spaces have it installed
        spaces = None


# True in a ZeroGPU worker: spaces runs every decorated call in a forked process that exists only for
# GPU calls, so the flag is set there (never in the main process) and needs no resetting.
_in_worker = False


def gpu(duration: int) -> Callable[[F], F]:
    """``@gpu(seconds)``: ``spaces.GPU(duration=seconds)`` on ZeroGPU, the plain function elsewhere.

    The chosen duration is kept as ``fn.gpu_duration`` either way (docs/sharing.md's quota figures and
    the tests read it), and the undecorated function as ``fn.on_cpu`` (the worked examples each tab opens
    with are computed at start-up in the main process, on the CPU, without spending a visitor's quota). Generator functions (streamed progress) are wrapped as generators.
    """

    def decorate(fn: F) -> F:
        fn.gpu_duration = duration  # type: ignore[attr-defined]
        fn.on_cpu = fn  # type: ignore[attr-defined]  # the undecorated function: start-up work that asks no GPU
        if spaces is None:
            return fn
        if inspect.isgeneratorfunction(fn):
            def inner(*args, **kwargs):  # runs in the ZeroGPU worker
                global _in_worker
                _in_worker = True
                yield from fn(*args, **kwargs)
        else:
            def inner(*args, **kwargs):
                global _in_worker
                _in_worker = True
                return fn(*args, **kwargs)
        functools.update_wrapper(inner, fn)
        wrapped = spaces.GPU(duration=duration)(inner)
        wrapped.gpu_duration = duration
        wrapped.on_cpu = fn
        return wrapped

    return decorate


def load_device() -> str | None:
    """The device the app loads models onto: the CPU (None) on ZeroGPU, otherwise the best there is."""
    return None if on_zero_gpu() else "auto"


_copies: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # CPU model -> this worker's CUDA copy


def on_gpu(model):
    """Inside a ZeroGPU call: a CUDA copy of ``model`` (kept for this worker's later calls); elsewhere the
    model itself, already on the device ``load`` chose."""
    if not (on_zero_gpu() and _in_worker):  # the main process never touches CUDA
        return model
    copy = _copies.get(model)
    if copy is None:
        copy = deepcopy(model).to("cuda")
        _copies[model] = copy  # the worker's own; the main process's model is untouched
    return copy
