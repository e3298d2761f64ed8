"""End to end through the launched app with gradio_client, as an API user would."""

import pytest
from PIL import Image

DIRS = [0.0] * 6


def test_sample_endpoint_returns_an_image(client):
    path = client.predict("mnist-cgan", "", 3, "7", 1.0, 4, *DIRS, api_name="/sample")
    img = Image.open(path)
    assert img.format == "PNG" and img.size[0] >= 112
    # a slider along a direction changes the picture
    moved = client.predict("mnist-cgan", "", 3, "7", 1.0, 4, 4.0, *DIRS[1:], api_name="/sample")
    assert Image.open(moved).tobytes() != img.tobytes()


@pytest.mark.parametrize("digit", ["7", "2", "0"])
def test_sample_grid_shows_the_requested_class(client, digit):
    """The classifier reads the requested digit in the returned grid: 16/16 for 2 and 0, 15/16 for 7 when
    measured (seed 3); the bar allows two misses."""
    import genlab
    from genlab.evaluation.metrics import predict
    from genlab.testing import grid_tiles

    path = client.predict("mnist-cgan", "", 3, digit, 1.0, 16, *DIRS, api_name="/sample")
    read = predict(genlab.load("mnist-classifier", device="cpu"), grid_tiles(path, 16))
    assert (read == int(digit)).sum() >= 14, read.tolist()


def test_sample_endpoint_is_documented(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert "/sample" in api["named_endpoints"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("mnist-cgan", "", -5, "any", 1.0, 4), "seed must be an integer from 0 to"),
        (("mnist-cgan", "", 2.5, "any", 1.0, 4), "seed must be an integer from 0 to"),
        (("mnist-cgan", "no-such-model", 0, "any", 1.0, 4), "Unknown model 'no-such-model'"),
        (("no-such-model", "", 0, "any", 1.0, 4), "no-such-model"),
        (("mnist-cgan", "", 0, "any", 1.0, 100), "100"),
        (("mnist-cgan", "", 0, "any", 1.0, 16.5), "16.5"),
        (("mnist-cgan", "nobody/not-a-real-repo", 0, "any", 1.0, 4), "not in the local Hugging Face cache"),
        (("mnist-cgan", "", 0, "eleven", 1.0, 4), "eleven"),
    ],
)
def test_bad_calls_get_readable_errors_and_server_keeps_serving(client, args, message):
    with pytest.raises(Exception) as e:
        client.predict(*args, *DIRS, api_name="/sample")
    assert message in str(e.value)
    assert client.predict("mnist-cgan", "", 1, "any", 0.7, 1, *DIRS, api_name="/sample")
