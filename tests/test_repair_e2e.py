"""The repair & augment tab's API through gradio_client against the launched app."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


@pytest.fixture
def photo_and_mask(tmp_path):
    from skimage import data

    img = Image.fromarray(data.astronaut()).resize((256, 256))
    img.save(tmp_path / "photo.png")
    layer = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (100, 100, 132, 132))
    layer.save(tmp_path / "mask.png")
    return tmp_path / "photo.png", tmp_path / "mask.png"


def _editor(background, *layers):
    return {"background": handle_file(str(background)), "layers": [handle_file(str(p)) for p in layers],
            "composite": None}


def test_inpaint_photo_with_deep_image_prior_streams_and_keeps_known_pixels(client, photo_and_mask):
    photo, mask = photo_and_mask
    job = client.submit(_editor(photo, mask), "dip", 60, 0, api_name="/inpaint")
    outputs = job.result(timeout=300)
    updates = job.outputs()
    assert len(updates) >= 3  # baseline first, then previews, then the full-size result
    original, repaired, baseline, candidates, status = outputs
    assert status.startswith("done: dip, 60 iterations")
    out, src = np.asarray(Image.open(repaired).convert("RGB")), np.asarray(Image.open(photo).convert("RGB"))
    assert out.shape == src.shape
    known = np.ones(src.shape[:2], bool)
    known[100:132, 100:132] = False
    np.testing.assert_array_equal(out[known], src[known])
    assert Image.open(baseline).size == (256, 256) and Image.open(original).size == (256, 256)


def test_inpaint_digit_with_gan_gives_candidates(client, tmp_path):
    layer = Image.new("RGBA", (224, 224), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (60, 80, 160, 130))
    layer.save(tmp_path / "m.png")
    _, repaired, _, candidates, status = client.predict(_editor(EXAMPLES / "repair_digit_7.png", tmp_path / "m.png"),
                                                        "gan", 40, 0, api_name="/inpaint")
    assert status.startswith("done: gan") and len(candidates) == 6
    assert all("class" in c["caption"] for c in candidates)
    assert Image.open(repaired).size == (224, 224)


@pytest.mark.parametrize("layers,message", [([], "mask is empty"), (["full"], "covers 100%")])
def test_inpaint_refuses_empty_and_full_masks(client, photo_and_mask, tmp_path, layers, message):
    photo, _ = photo_and_mask
    Image.new("RGBA", (256, 256), (255, 0, 255, 255)).save(tmp_path / "full.png")
    with pytest.raises(Exception, match=message):
        client.predict(_editor(photo, *[tmp_path / f"{n}.png" for n in layers]), "dip", 20, 0, api_name="/inpaint")


def test_inpaint_refuses_unknown_method(client, photo_and_mask):
    photo, mask = photo_and_mask
    with pytest.raises(Exception, match="Method: 'magic' is not one of the choices"):  # Gradio checks Radio values; genlab names the input
        client.predict(_editor(photo, mask), "magic", 20, 0, api_name="/inpaint")


def test_augment_returns_a_gallery_and_an_imagefolder_zip(client):
    gallery, zip_path = client.predict(["3", "8"], 5, 0, api_name="/augment")
    assert len(gallery) == 10 and {g["caption"] for g in gallery} == {"3", "8"}
    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(zf.namelist())
    assert names == [f"{c}/{c}_{i:05d}.png" for c in (3, 8) for i in range(5)]


def test_augment_refuses_no_classes(client):
    with pytest.raises(Exception, match="at least one class"):
        client.predict([], 5, 0, api_name="/augment")


def test_classic_augmentation(client, photo_and_mask):
    photo, _ = photo_and_mask
    gallery = client.predict(handle_file(str(photo)), 3, 0, True, api_name="/augment_classic")
    assert len(gallery) == 3
