"""Upload preprocessing: odd modes are converted correctly or refused with a readable message."""

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from genlab.errors import ImageInputError
from genlab.images import MAX_PIXELS, prepare_mnist, save_gif


def _digit(size=200, dark_on_light=True) -> Image.Image:
    """A thick '7'-like stroke, as a user would draw it."""
    bg, fg = (255, 0) if dark_on_light else (0, 255)
    img = Image.new("L", (size, size), bg)
    d = ImageDraw.Draw(img)
    s = size / 10
    d.line([(2 * s, 2 * s), (8 * s, 2 * s), (4 * s, 9 * s)], fill=fg, width=int(s))
    return img


def _check_mnist_like(x: torch.Tensor):
    assert x.shape == (1, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    a = (x[0, 0] + 1) / 2
    rows, cols = torch.nonzero(a > 0.25, as_tuple=True)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) <= 20  # fits the 20x20 box
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cy, cx = (ys * a).sum() / a.sum(), (xs * a).sum() / a.sum()
    assert abs(cy - 13.5) < 1.0 and abs(cx - 13.5) < 1.0  # centred by mass


def test_dark_on_light_is_inverted_and_centred():
    x = prepare_mnist(_digit())
    _check_mnist_like(x)
    assert x[0, 0].mean() < -0.5  # mostly dark background now


def test_polarity_does_not_matter():
    a, b = prepare_mnist(_digit()), prepare_mnist(_digit(dark_on_light=False))
    assert torch.allclose(a, b, atol=0.02)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_odd_modes_convert(mode, tmp_path):
    base = _digit()
    if mode == "I;16":
        img = Image.fromarray((np.asarray(base, dtype=np.uint16) * 257).astype(np.uint16))
    elif mode == "I":
        img = base.convert("I")
    elif mode == "F":
        img = Image.fromarray(np.asarray(base, dtype=np.float32) / 255)
    else:
        img = base.convert(mode)
    path = tmp_path / ("x.tiff" if mode in ("I;16", "I", "F", "CMYK") else "x.png")
    img.save(path)
    x = prepare_mnist(str(path))
    _check_mnist_like(x)
    assert torch.allclose(x, prepare_mnist(base), atol=0.1)


def test_alpha_drawing_on_transparent_canvas():
    """A Sketchpad drawing: black strokes on a fully transparent background."""
    rgba = np.zeros((280, 280, 4), np.uint8)
    stroke = np.asarray(_digit(280)) < 128
    rgba[stroke] = (0, 0, 0, 255)
    _check_mnist_like(prepare_mnist(rgba))


def test_tiny_and_huge_images():
    _check_mnist_like(prepare_mnist(_digit(12)))
    big = _digit(3000)
    _check_mnist_like(prepare_mnist(big))


def test_refusals_have_readable_messages(tmp_path):
    with pytest.raises(ImageInputError, match="blank"):
        prepare_mnist(Image.new("L", (50, 50), 255))
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ImageInputError, match="Could not read"):
        prepare_mnist(str(tmp_path / "notes.txt"))
    buf = io.BytesIO()
    _digit().save(buf, format="PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageInputError, match="truncated|corrupt"):
        prepare_mnist(str(tmp_path / "cut.png"))
    bomb = Image.new("1", (8000, 8000))  # 64 MP, tiny file, refused before decoding
    bomb.save(tmp_path / "bomb.png")
    assert 8000 * 8000 > MAX_PIXELS
    with pytest.raises(ImageInputError, match="limit"):
        prepare_mnist(str(tmp_path / "bomb.png"))


def test_gif_goes_there_and_back(tmp_path):
    frames = [Image.new("L", (8, 8), v) for v in (0, 100, 200)]
    gif = Image.open(save_gif(frames, tmp_path / "a.gif"))
    assert gif.n_frames == 4  # 0, 100, 200, 100 (then loops)
    values = []
    for i in range(gif.n_frames):
        gif.seek(i)
        values.append(gif.convert("L").getpixel((0, 0)))
    assert values == [0, 100, 200, 100]
