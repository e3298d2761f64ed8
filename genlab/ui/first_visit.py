"""The worked example each tab opens with, so a visitor sees what a tab does before touching anything.

Each example is computed once, in one background thread that starts when the app is built (so start-up is
not delayed: the page is served at once), with the same functions the tab's events call (their ``on_cpu``
form: on a ZeroGPU Space this spends no visitor's GPU quota). Every page load then gets the stored result
(``demo.load``): no per-visit compute. Results are held in memory as images, not as paths in the app's
output folder, which is swept after an hour.

If an example fails (a checkpoint this installation does not carry), its tab opens empty, as before, and
the reason is logged; the app keeps serving. ``GENLAB_FIRST_VISIT=0`` skips them (a server used through its
API only, or a test server that does not look at them).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

import gradio as gr
from PIL import Image

log = logging.getLogger("genlab.first_visit")
WAIT_SECONDS = 120  # a page that loads before its example is done waits at most this long for it


class WorkedExamples:
    """Named jobs, run in order in one background thread; ``outputs(name, n)`` waits until that job is done.

    A name added again (the app built twice in one process, as the tests do) keeps its first result.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[str, Callable[[], tuple]]] = []
        self._done: dict[str, threading.Event] = {}
        self._results: dict[str, tuple | None] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, name: str, job: Callable[[], tuple]) -> str:
        with self._lock:
            if name not in self._done:
                self._done[name] = threading.Event()
                self._pending.append((name, job))
        return name

    def start(self) -> None:
        if os.environ.get("GENLAB_FIRST_VISIT", "1") == "0":  # an API-only server: tabs open empty, no start-up work
            with self._lock:
                for name, _ in self._pending:
                    self._results[name] = None
                    self._done[name].set()
                self._pending.clear()
            return
        with self._lock:
            if self._pending and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="genlab-worked-examples", daemon=False)
                self._thread.start()

    def _run(self) -> None:
        # The first page (the GAN tab) needs the start-up warm-up (model, directions, in-page graph) first: on
        # 2 cores the examples would otherwise slow it down, so they wait for it (at most a minute).
        for t in threading.enumerate():
            if t.name == "genlab-warm-up":
                t.join(60)
        t0, ran = time.perf_counter(), 0
        while True:
            with self._lock:
                if not self._pending:
                    break
                name, job = self._pending.pop(0)
            try:
                result = tuple(job())
            except Exception as e:  # noqa: BLE001 - a checkpoint this installation lacks must not stop the app
                log.warning("worked example %r not shown: %s", name, e)
                result = None
            self._results[name] = result
            self._done[name].set()
            ran += 1
        print(f"genlab: worked examples ready in {time.perf_counter() - t0:.1f} s "
              f"({ran} computed; {sum(r is not None for r in self._results.values())} shown)", flush=True)

    def result(self, name: str, timeout: float = WAIT_SECONDS) -> tuple | None:
        self.start()
        self._done[name].wait(timeout)
        return self._results.get(name)

    def outputs(self, name: str, n: int) -> tuple:
        """The stored outputs of ``name``, or ``n`` skips (the tab stays as it is) if it failed or is late."""
        r = self.result(name)
        if r is None or len(r) != n:
            r = tuple(gr.skip() for _ in range(n))
        return r if n > 1 else r[0]  # one output takes its value itself, not a 1-tuple


EXAMPLES = WorkedExamples()  # one per process: every Blocks built here shares the stored results


def as_image(value) -> Image.Image | None:
    """A result image held in memory: a path (read now, before the output folder's sweep can remove it) or PIL."""
    if value is None or isinstance(value, Image.Image):
        return value
    with Image.open(value) as im:
        return im.copy()
