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

Durations are what each event needs on the GPU with margin (measured on the CPU, where they
are much slower; see docs in the README, "Share it"). A visitor's daily ZeroGPU quota is spent
by the duration asked for, not the time used, so they are kept tight.
"""

from __future__ import annotations

import contextvars
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


_inside = contextvars.ContextVar("genlab_inside_gpu_call", default=False)


def gpu(duration: int) -> Callable[[F], F]:
    """``@gpu(seconds)``: ``spaces.GPU(duration=seconds)`` on ZeroGPU, the plain function elsewhere.

    The chosen duration is kept as ``fn.gpu_duration`` either way (the README's quota figures and
    the tests read it). Generator functions (streamed progress) are wrapped as generators.
    """

    def decorate(fn: F) -> F:
        fn.gpu_duration = duration  # type: ignore[attr-defined]
        if spaces is None:
            return fn
        if inspect.isgeneratorfunction(fn):
            def inner(*args, **kwargs):  # runs in the ZeroGPU worker
                token = _inside.set(True)
                try:
                    yield from fn(*args, **kwargs)
                finally:
                    _inside.reset(token)
        else:
            def inner(*args, **kwargs):
                token = _inside.set(True)
                try:
                    return fn(*args, **kwargs)
                finally:
                    _inside.reset(token)
        functools.update_wrapper(inner, fn)
        wrapped = spaces.GPU(duration=duration)(inner)
        wrapped.gpu_duration = duration
        return wrapped

    return decorate


def load_device() -> str | None:
    """The device the app loads models onto: the CPU (None) on ZeroGPU, otherwise the best there is."""
    return None if on_zero_gpu() else "auto"


_copies: "weakref.WeakKeyDictionary" = None  # type: ignore[assignment]


def on_gpu(model):
    """Inside a ZeroGPU call: a CUDA copy of ``model`` (kept for this worker's later calls); elsewhere the
    model itself, already on the device ``load`` chose."""
    if not (on_zero_gpu() and _inside.get()):  # the main process never touches CUDA
        return model
    global _copies
    if _copies is None:
        _copies = weakref.WeakKeyDictionary()
    copy = _copies.get(model)
    if copy is None:
        copy = deepcopy(model).to("cuda")
        _copies[model] = copy  # the worker's own; the main process's model is untouched
    return copy
