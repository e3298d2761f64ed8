"""Seeded randomness that is safe in a threaded server.

Request handlers run in worker threads, several at once (one per queue group). Anything that
seeds torch's *global* generator there would reseed it under every other request. So:
- code that can draw from its own ``torch.Generator`` does (sampling, translation noise,
  latent starts, DIP noise);
- code that can only use the global generator (torchvision's random transforms, nn.Module
  weight initialisation) runs inside ``seeded(seed)``: one process-wide lock, the global state
  forked and restored, so the result depends only on ``seed`` and nothing else sees it.
"""

from __future__ import annotations

import contextlib
import threading

import torch

_GLOBAL_RNG = threading.RLock()


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block with torch's global CPU generator seeded, alone, and restored afterwards."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
