"""Seeded library calls give the same result while other threads run seeded calls of their own.

This is the server's situation (handlers in worker threads). Before genlab.rng, translation
seeded torch's global generator and classic augmentation forked and reseeded it, so two such
calls in different threads changed each other's results; this test caught that (it failed on
that code) and now guards it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

import genlab
from genlab.tasks.augment import classic_augment
from genlab.tasks.inpainting import deep_image_prior
from genlab.tasks.translation import model_input, translate

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


def _work(g, x, photo, patch, mask, seeds):
    t_seed, c_seed, d_seed = seeds
    out = translate(g, x, k=4, seed=t_seed)
    aug = torch.stack([torch.tensor(np.asarray(im)) for im in classic_augment(photo, n=6, seed=c_seed)])
    dip = next(deep_image_prior(patch, mask, iterations=2, seed=d_seed, every=2))[2]
    return out, aug, torch.as_tensor(dip)


def test_seeded_calls_are_independent_of_other_threads():
    g = genlab.load("mnist-sketch2digit", device="cpu")
    x = model_input("sketch2digit", EXAMPLES / "digit_4.png")
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
    patch = rng.random((32, 32, 3)).astype(np.float32)
    mask = np.zeros((32, 32), bool)
    mask[8:16, 8:16] = True
    alone = _work(g, x, photo, patch, mask, (3, 5, 1))

    stop = threading.Event()

    def other_requests():
        k = 100
        while not stop.is_set():
            _work(g, x, photo, patch, mask, (k, k + 1, k + 2))
            k += 3

    others = [threading.Thread(target=other_requests) for _ in range(2)]
    for t in others:
        t.start()
    try:
        runs = [_work(g, x, photo, patch, mask, (3, 5, 1)) for _ in range(6)]
    finally:
        stop.set()
        for t in others:
            t.join()
    for run in runs:
        for name, a, b in zip(("translate", "classic augmentation", "deep image prior"), alone, run):
            assert torch.equal(a, b), f"{name} changed while other threads ran seeded calls"
