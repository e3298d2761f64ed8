"""Seeded endpoints give the same bytes when other requests run at the same time (end to end).

Events in different queue groups run at once in worker threads. A seeded translation, a seeded
classic augmentation (LIGHT group), a deep-image-prior repair and a GAN latent repair (HEAVY
group) each run alone, then all together three times over, and every result must be
byte-identical to its lone run. Through the server the overlap windows are short, so this is
the integration check; tests/test_rng_threads.py is the one that provokes the races directly
(it failed on the code before genlab.rng).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


def _digest(result) -> str:
    """Hash of the pixels of every image in an endpoint's result (paths, galleries, tuples)."""
    h = hashlib.sha256()

    def add(item):
        if isinstance(item, (list, tuple)):
            for x in item:
                add(x)
        elif isinstance(item, dict):
            add(item.get("image") or item.get("path"))
        elif isinstance(item, str) and Path(item).is_file():
            h.update(Image.open(item).convert("RGB").tobytes())

    add(result)
    return h.hexdigest()


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("conc")
    Image.fromarray(data.astronaut()).resize((128, 128)).save(folder / "photo.png")
    layer = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (50, 50, 70, 70))
    layer.save(folder / "mask.png")
    digit_mask = Image.new("RGBA", (224, 224), (0, 0, 0, 0))
    digit_mask.paste((255, 0, 255, 255), (0, 0, 224, 90))
    digit_mask.save(folder / "digit_mask.png")

    def editor(bg, mask):
        return {"background": handle_file(str(bg)), "layers": [handle_file(str(mask))], "composite": None}

    return {
        "translate": ((handle_file(str(EXAMPLES / "digit_4.png")), "sketch2digit", 4, 3), "/translate"),
        "classic": ((handle_file(str(folder / "photo.png")), 4, 5, True), "/augment_classic"),
        "dip": ((editor(folder / "photo.png", folder / "mask.png"), "dip", 30, 1), "/inpaint"),
        "gan-repair": ((editor(EXAMPLES / "repair_digit_7.png", folder / "digit_mask.png"), "gan", 20, 2),
                       "/inpaint"),
    }


def test_seeded_results_do_not_depend_on_concurrent_requests(app_url, jobs):
    client = Client(app_url, verbose=False)
    alone = {name: _digest(client.predict(*args, api_name=api)) for name, (args, api) in jobs.items()}
    together = [name for _ in range(3) for name in jobs]

    def run(name):
        args, api = jobs[name]
        return name, _digest(Client(app_url, verbose=False).predict(*args, api_name=api))

    with ThreadPoolExecutor(len(together)) as pool:
        results = list(pool.map(run, together))
    differing = sorted({name for name, digest in results if digest != alone[name]})
    assert not differing, f"results changed when run beside other requests: {differing}"
