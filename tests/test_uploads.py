"""The one upload gate: hostile files are refused readably, odd valid ones converted correctly,
through the package and through every image endpoint of the running app."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from hostile import accepted, digit_like, refused
from PIL import Image

from genlab.errors import ImageInputError
from genlab.images import open_image, to_rgb



@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return refused(folder), accepted(folder)


def test_each_hostile_kind_is_refused_with_a_readable_message(files):
    bad, _ = files
    assert len(bad) == 9
    for kind, (path, words) in bad.items():
        with pytest.raises(ImageInputError, match=words):
            open_image(path)


def test_odd_valid_files_convert_correctly(files):
    _, good = files
    for name, path in good.items():
        rgb = np.asarray(to_rgb(open_image(path))).astype(int)
        h, w, _ = rgb.shape
        assert rgb.shape[2] == 3, name
        assert (rgb[h // 2, w // 2] < 40).all(), f"{name}: the dark stroke must stay dark, got {rgb[h // 2, w // 2]}"
        assert (rgb[2, 2] > 215).all(), f"{name}: the light/transparent background must be white, got {rgb[2, 2]}"


def test_exif_orientation_is_applied(files):
    _, good = files
    img = open_image(good["exif_rotated.jpg"])
    assert img.size == (48, 96)  # stored 96x48, shown rotated 90 degrees clockwise
    expected = np.asarray(digit_like((96, 48)).transpose(Image.Transpose.ROTATE_270), dtype=float)
    got = np.asarray(img.convert("L"), dtype=float)
    assert np.abs(got - expected).mean() < 8


def test_animated_gif_uses_its_first_frame(files):
    _, good = files
    rgb = np.asarray(to_rgb(open_image(good["animated.gif"])))
    assert rgb[2, 2].tolist() == [255, 255, 255]  # the second frame is red


# --- through the running app --------------------------------------------------------------------


def _endpoints(valid: str):
    """Every image endpoint, as (name, input name in the message, call(bad_file))."""
    editor = lambda bg, layers: {"background": handle_file(bg), "layers": [handle_file(p) for p in layers],  # noqa: E731
                                 "composite": None}
    return [
        ("/interpolate A", "Image A", lambda f, c: c.predict(handle_file(f), handle_file(valid), 0.5, "linear",
                                                             "mnist-vae", api_name="/interpolate")),
        ("/interpolate B", "Image B", lambda f, c: c.predict(handle_file(valid), handle_file(f), 0.5, "linear",
                                                             "mnist-vae", api_name="/interpolate")),
        ("/interpolation_gif", "Image A", lambda f, c: c.predict(handle_file(f), handle_file(valid), 4, "linear",
                                                                 "mnist-vae", api_name="/interpolation_gif")),
        ("/translate", "Input image", lambda f, c: c.predict(handle_file(f), "sketch2digit", 1, 0,
                                                             api_name="/translate")),
        ("/inpaint background", "Image to repair", lambda f, c: c.predict(editor(f, [valid]), "biharmonic", 10, 0,
                                                                          api_name="/inpaint")),
        ("/inpaint mask layer", "Image to repair", lambda f, c: c.predict(editor(valid, [f]), "biharmonic", 10, 0,
                                                                          api_name="/inpaint")),
        ("/augment_classic", "Image to augment", lambda f, c: c.predict(handle_file(f), 2, 0, True,
                                                                        api_name="/augment_classic")),
    ]


def test_every_image_endpoint_refuses_every_hostile_kind_and_keeps_serving(client, files, tmp_path):
    bad, _ = files
    digit_like((64, 64)).save(tmp_path / "valid.png")
    valid = str(tmp_path / "valid.png")
    outcomes = []
    for endpoint, name, call in _endpoints(valid):
        for kind, (path, words) in bad.items():
            with pytest.raises(Exception) as e:
                call(str(path), client)
            message = str(e.value)
            ok = words in message and name in message
            outcomes.append((endpoint, kind, ok, message[:160]))
    failures = [o for o in outcomes if not o[2]]
    assert not failures, "\n".join(map(str, failures))
    seen, outs = client.predict(handle_file(valid), "sketch2digit", 1, 0, api_name="/translate")  # still serving
    assert Image.open(outs).size == (168, 168)


def test_odd_valid_files_pass_through_the_app(client, files):
    _, good = files
    for name, path in good.items():
        gallery = client.predict(handle_file(str(path)), 1, 0, False, api_name="/augment_classic")
        assert len(gallery) == 1, name
        seen, _ = client.predict(handle_file(str(path)), "sketch2digit", 1, 0, api_name="/translate")
        arr = np.asarray(Image.open(seen).convert("L"))
        assert arr.max() > 200 and arr.min() < 50, name  # a digit arrived, not a blank
