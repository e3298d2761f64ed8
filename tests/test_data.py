import numpy as np
import pytest

import genlab
import torch
from PIL import Image

from genlab.datasets import digits, image_folder, split_indices


def test_split_is_fixed_and_disjoint():
    train, held_out = split_indices()
    assert len(train) == 4500 and len(held_out) == 500
    assert not set(train) & set(held_out)
    assert np.array_equal(held_out, split_indices()[1])


def test_digits_range_and_labels():
    x, y = digits("eval").tensors
    assert x.shape == (500, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() == -1 and x.max() == 1
    assert set(y.tolist()) == set(range(10))
    with pytest.raises(ValueError, match="split"):
        digits("test")


def test_user_image_folder(tmp_path):
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / cls / f"{i}.png")
    train, held_out = image_folder(tmp_path, 28, 1)
    x, y = train.tensors()
    assert x.shape == (2, 1, 28, 28) and y.tolist() == [0, 1] and train.class_names == ["cat", "dog"]
    assert len(held_out) == 2 and held_out.labels.tolist() == [0, 1]  # one of each class held out
    assert -1 <= x.min() and x.max() <= 1
    with pytest.raises(genlab.DatasetError, match="missing"):
        image_folder(tmp_path / "missing", 28, 1)



def test_app_examples_are_the_exported_held_out_digits(tmp_path):
    from pathlib import Path

    from genlab.datasets import export_examples

    shipped = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"
    for path in export_examples(tmp_path):
        assert np.array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(shipped / path.name))), path.name
