"""ZeroGPU: the decorated event functions are the plain ones off ZeroGPU, no CUDA at import or start-up,
and with the `spaces` package's ZeroGPU mode switched on (as far as it can be without the Hub's device API)
every compute event is wrapped with its duration."""

import inspect
import os
import subprocess
import sys
from pathlib import Path

from genlab import zerogpu
from genlab.ui import gan_tab, repair_tab, translate_tab, vae_tab

ROOT = Path(__file__).resolve().parent.parent
EVENTS = {gan_tab.sample_gan: 15, vae_tab.interpolate: 15, vae_tab.interpolation_gif: 20, vae_tab.explore: 20,
          vae_tab.traversal_at: 15, vae_tab.random_digit: 15, translate_tab.translate_image: 15,
          translate_tab.translate_unpaired_image: 15, repair_tab.repair: 90, repair_tab.generate: 30}


def test_off_zerogpu_the_functions_are_the_plain_ones():
    assert not zerogpu.on_zero_gpu() and zerogpu.spaces is None
    for fn, seconds in EVENTS.items():
        assert fn.gpu_duration == seconds
        assert not hasattr(fn, "zerogpu") and not hasattr(fn, "__wrapped__"), fn.__name__
    assert inspect.isgeneratorfunction(repair_tab.repair)  # still streams its progress
    sentinel = object()
    assert zerogpu.on_gpu(sentinel) is sentinel and zerogpu.load_device() == "auto"


def test_durations_fit_a_zerogpu_call():
    # The Hub allows at most 300 s a call, and a visitor's call only starts when their quota covers it.
    assert all(0 < d <= 120 for d in EVENTS.values())


def _run(code: str, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "GENLAB_THREADS": "1", **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=full,
                          timeout=300)


# Imports the app (its warm-up and worked-example threads included) with torch.cuda's entry points recording
# who calls them.
WATCH_CUDA = """
import threading
import genlab  # on ZeroGPU: `spaces` first
import torch
calls = []
for name in ("_lazy_init", "init", "is_available", "device_count", "set_device", "current_device"):
    def record(*a, _name=name, _orig=getattr(torch.cuda, name), **k):
        calls.append(_name)
        return _orig(*a, **k)
    setattr(torch.cuda, name, record)
import app
for t in threading.enumerate():
    if t.name in ("genlab-warm-up", "genlab-worked-examples"):  # start-up's background work counts too
        t.join()
print("R:", sorted(set(calls)), torch.cuda.is_initialized())
"""


def test_importing_the_app_does_not_initialise_cuda():
    """Locally, start-up may ask whether there is a GPU (to load onto it) but must not start CUDA."""
    out = _run(WATCH_CUDA)
    assert out.returncode == 0, out.stderr[-2000:]
    calls = next(line for line in out.stdout.splitlines() if line.startswith("R: "))
    assert "_lazy_init" not in calls and "'init'" not in calls and calls.endswith("False"), calls


WRAPPED = """
import sys, inspect
assert 'spaces' in sys.modules, 'spaces is imported first on ZeroGPU'
from genlab.ui import gan_tab, vae_tab, translate_tab, repair_tab
from genlab.ui.common import cached_model
fns = [gan_tab.sample_gan, vae_tab.interpolate, vae_tab.interpolation_gif, vae_tab.explore, vae_tab.traversal_at,
       vae_tab.random_digit, translate_tab.translate_image, translate_tab.translate_unpaired_image,
       repair_tab.repair, repair_tab.generate]
print('W:', [hasattr(f, 'zerogpu') for f in fns])
print('W:', [f.gpu_duration for f in fns])
print('W:', inspect.isgeneratorfunction(repair_tab.repair))
g = cached_model('mnist-cgan', 'gan')
print('W:', next(g.parameters()).device.type, torch.cuda.is_initialized())
"""


def test_on_zerogpu_start_up_touches_no_cuda_and_every_compute_event_is_wrapped():
    """With ZeroGPU simulated (SPACES_ZERO_GPU=true), importing the app (the warm-up and the worked examples
    included) does not even ask torch.cuda whether a GPU exists: models load on the CPU, and only the decorated
    calls use CUDA. And `spaces` wraps every decorated compute function (attribute `zerogpu`); its device API (the
    Hub's GPU scheduler) does not exist here, so the wrapped functions are not called. One process, both checks."""
    out = _run(WATCH_CUDA + WRAPPED, SPACES_ZERO_GPU="true", SPACES_ZERO_DEVICE_API_URL="http://127.0.0.1:9/")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "R: [] False" in out.stdout.splitlines(), out.stdout[-2000:]
    wrapped, durations, streams, device = [line[3:] for line in out.stdout.splitlines() if line.startswith("W: ")]
    assert wrapped == str([True] * 10)
    assert durations == str(list(EVENTS.values()))
    assert streams == "True"  # the progress stream survives the wrapper
    assert device == "cpu False"  # models load on the CPU in the main process; CUDA untouched
