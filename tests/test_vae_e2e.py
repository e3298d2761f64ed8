"""The VAE tab's API through gradio_client against the launched app."""

from pathlib import Path

import pytest
import torch
from gradio_client import handle_file
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


def test_interpolate_endpoint_moves_from_a_to_b(client):
    a, b = handle_file(str(EXAMPLES / "digit_1.png")), handle_file(str(EXAMPLES / "digit_7.png"))
    outs = [Image.open(client.predict(a, b, t, "spherical", "mnist-vae", api_name="/interpolate")).convert("L")
            for t in (0.0, 0.5, 1.0)]
    assert outs[0].size == (224, 224)
    assert len({o.tobytes() for o in outs}) == 3
    linear = client.predict(a, b, 0.5, "linear", "mnist-vae", api_name="/interpolate")
    assert Image.open(linear).convert("L").tobytes() != outs[1].tobytes()
    # the ends are the two digits: the classifier reads a 1 at t = 0 and a 7 at t = 1
    import genlab
    from genlab.evaluation.metrics import predict
    from genlab.testing import grid_tiles

    ends = [client.predict(a, b, t, "spherical", "mnist-vae", api_name="/interpolate") for t in (0.0, 1.0)]
    read = predict(genlab.load("mnist-classifier", device="cpu"), torch.cat([grid_tiles(p, 1) for p in ends]))
    assert read.tolist() == [1, 7]


def test_gif_endpoint(client):
    a, b = handle_file(str(EXAMPLES / "digit_3.png")), handle_file(str(EXAMPLES / "digit_8.png"))
    gif = Image.open(client.predict(a, b, 6, "linear", "mnist-vae", api_name="/interpolation_gif"))
    assert gif.format == "GIF" and gif.n_frames == 10  # 6 there, 4 back


def test_bad_inputs_get_readable_errors(client, tmp_path):
    a = handle_file(str(EXAMPLES / "digit_1.png"))
    Image.new("L", (64, 64), 255).save(tmp_path / "blank.png")
    cases = [
        ((a, a, 1.5, "linear", "mnist-vae"), "1.5"),
        ((a, handle_file(str(tmp_path / "blank.png")), 0.5, "linear", "mnist-vae"), "blank"),
        ((a, None, 0.5, "linear", "mnist-vae"), "Image B is missing"),
    ]
    for args, message in cases:
        with pytest.raises(Exception) as e:
            client.predict(*args, api_name="/interpolate")
        assert message in str(e.value)
    assert client.predict(a, a, 0.5, "linear", "mnist-vae", api_name="/interpolate")  # still serving
