"""The translation tab's API through gradio_client against the launched app."""

from pathlib import Path

import pytest
from gradio_client import handle_file
from PIL import Image, ImageDraw

EXAMPLES = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"


def test_translate_a_drawn_sketch(client, tmp_path):
    img = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(img).line([(80, 60), (200, 60), (120, 230)], fill="black", width=12)  # a '7'
    img.save(tmp_path / "seven.png")
    seen, outs = client.predict(handle_file(str(tmp_path / "seven.png")), "sketch2digit", 3, 0, api_name="/translate")
    assert Image.open(seen).size == (168, 168)
    w, h = Image.open(outs).size
    assert w > 2.5 * h  # 3 samples side by side


def test_superres(client):
    seen, outs = client.predict(handle_file(str(EXAMPLES / "digit_3.png")), "superres", 1, 0, api_name="/translate")
    assert Image.open(outs).size == (168, 168)


@pytest.mark.parametrize("task, digit", [("sketch2digit", 4), ("sketch2digit", 8), ("superres", 3)])
def test_translations_keep_the_digit(client, task, digit):
    """The classifier reads the input's digit in the outputs (measured: 4 of 4 each); the bar allows one miss."""
    import genlab
    from genlab.evaluation.metrics import predict
    from genlab.testing import grid_tiles

    _, outs = client.predict(handle_file(str(EXAMPLES / f"digit_{digit}.png")), task, 4, 0, api_name="/translate")
    read = predict(genlab.load("mnist-classifier", device="cpu"), grid_tiles(outs, 4, nrow=4))
    assert (read == digit).sum() >= 3, read.tolist()


def test_bad_inputs_get_readable_errors(client, tmp_path):
    Image.new("L", (64, 64), 255).save(tmp_path / "blank.png")
    for args, message in [
        ((handle_file(str(tmp_path / "blank.png")), "sketch2digit", 2, 0), "blank"),
        ((None, "sketch2digit", 2, 0), "No input"),
    ]:
        with pytest.raises(Exception) as e:
            client.predict(*args, api_name="/translate")
        assert message in str(e.value)
