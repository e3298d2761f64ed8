"""Augmentation: labelled generation, the ImageFolder ZIP, classic transforms, the experiment."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.evaluation import augment as augment_eval
from genlab.tasks import augment
from genlab.images import to_uint8


def test_generate_labelled_is_balanced_and_seeded(tiny_gan):
    images, labels = augment.generate_labelled(tiny_gan, [7, 3], per_class=5, seed=1)
    assert images.shape == (10, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert labels.tolist() == [3] * 5 + [7] * 5
    again, _ = augment.generate_labelled(tiny_gan, [3, 7], per_class=5, seed=1)
    torch.testing.assert_close(images, again)


@pytest.mark.parametrize("classes,per_class", [([], 5), ([10], 5), ([1], 0), (list(range(10)), 501)])
def test_generate_labelled_refuses_bad_requests(tiny_gan, classes, per_class):
    with pytest.raises(ValueError):
        augment.generate_labelled(tiny_gan, classes, per_class)


def test_zip_has_imagefolder_layout_that_torchvision_reads(tiny_gan, tmp_path):
    from torchvision.datasets import ImageFolder

    images, labels = augment.generate_labelled(tiny_gan, [0, 4], per_class=3)
    path = augment.write_imagefolder_zip(images, labels, tmp_path / "d.zip")
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        zf.extractall(tmp_path / "d")
    assert names == [f"{c}/{c}_{i:05d}.png" for c in (0, 4) for i in range(3)]
    folder = ImageFolder(str(tmp_path / "d"))
    assert folder.classes == ["0", "4"] and len(folder) == 6
    img = Image.open(tmp_path / "d" / "4" / "4_00002.png")
    assert img.size == (28, 28) and img.mode == "L"
    np.testing.assert_array_equal(np.asarray(img), to_uint8(images[5:6])[0])


def test_classic_augment_is_seeded_and_varied(tmp_path):
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "a.png")
    a = augment.classic_augment(tmp_path / "a.png", n=4, seed=0)
    b = augment.classic_augment(tmp_path / "a.png", n=4, seed=0)
    assert len(a) == 4 and all(im.size == (256, 256) for im in a)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(a[1]))


def test_subsample_draws_n_per_class():
    labels = torch.arange(10).repeat(20)
    idx = augment_eval.subsample(labels, 3, seed=0)
    assert torch.bincount(labels[idx]).tolist() == [3] * 10
    assert not torch.equal(idx, augment_eval.subsample(labels, 3, seed=1))


def test_experiment_rows_and_summary(tiny_gan):
    rows = augment_eval.augmentation_experiment(tiny_gan, n_real=(2,), k_generated=2, seeds=(0, 1), steps=2,
                                           log=lambda _: None)
    assert len(rows) == 2 * len(augment_eval.ARMS)
    assert {r["train_images"] for r in rows} == {20, 40}
    summary = augment_eval.summarise(rows)
    assert [s["arm"] for s in summary] == list(augment_eval.ARMS) and summary[0]["delta"] == 0
    table = augment_eval.markdown_table(summary)
    assert "2 generated/class" in table and table.count("\n") == 1 + len(augment_eval.ARMS)


def test_small_classifier_learns_from_few_steps():
    from genlab.datasets import digits
    from genlab.evaluation.metrics import accuracy

    x, y = digits("train").tensors
    idx = augment_eval.subsample(y, 20, seed=0)
    model = augment_eval.train_small_classifier(x[idx], y[idx], steps=40, seed=0)
    assert accuracy(model, x[:300], y[:300]) > 0.5  # chance is 0.1
