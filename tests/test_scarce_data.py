"""Few images is the normal case: every family trains on a 30-image folder (3 classes x 10; pix2pix on 20
pairs) through the CLI with its default batch size, which is larger than the set: the batch is clipped to
the set, the log says so, the card records the batch used, and the loss moves."""

from __future__ import annotations

import json

import pytest
from PIL import Image

import genlab
from genlab.datasets import image_folder
from genlab.testing import make_paired_folder, make_shapes_folder
from genlab.train.__main__ import main as train_main

RES = 16


@pytest.fixture(scope="module")
def scarce(tmp_path_factory):
    root = tmp_path_factory.mktemp("scarce")
    make_shapes_folder(root / "shapes", per_class=10, size=40, broken=False)  # 30 images
    make_paired_folder(root / "pairs", n=21, size=40)  # 21 drawn, one broken partner: 20 readable pairs
    return root


def _train(family: str, args: list[str], root, capsys) -> tuple[dict, str]:
    out, run = root / f"ckpt-{family}", root / f"run-{family}"
    train_main([family, *args, "--resolution", str(RES), "--channels", "3", "--steps", "100", "--sample-every", "50",
                "--out", str(out), "--run-dir", str(run)])
    log = capsys.readouterr()
    return json.loads((run / "run.json").read_text()), log.out + log.err


# (family, its own flags: small widths only; the batch size stays the family's default, above the set size)
FAMILIES = [
    ("gan", ["--g-channels", "16", "--d-channels", "8", "--spectral-norm", "true", "--lecam", "0.3"]),
    ("vae", ["--vae-channels", "8", "--hidden", "32", "--latent-dim", "4", "--eval-samples", "0"]),
    ("classifier", []),
]


@pytest.mark.parametrize("family,flags", FAMILIES, ids=[f for f, _ in FAMILIES])
def test_family_trains_on_30_images_with_its_default_batch(scarce, capsys, family, flags):
    meta, log = _train(family, ["--data", str(scarce / "shapes"), *flags], scarce, capsys)
    assert meta["data"]["train"] + meta["data"]["held_out"] == 30
    n = meta["data"]["train"]
    assert f"larger than the {n} training images: using batches of {n}" in log
    assert meta["config"]["batch_size"] == n  # the card and images_seen record the batch really used
    assert meta["images_seen"] == 100 * n
    for name, curve in meta["history"].items():
        assert len(curve) == 2 and all(v == v and abs(v) < 1e6 for v in curve), name
    assert any(curve[0] != curve[1] for curve in meta["history"].values())  # the loss moved
    model = genlab.load(str(scarce / f"ckpt-{family}"))
    assert model.resolution == RES


def test_pix2pix_trains_on_20_pairs(scarce, capsys):
    meta, log = _train("pix2pix", ["--data", str(scarce / "pairs"), "--in-channels", "1", "--g-channels", "8"],
                       scarce, capsys)
    n = meta["data"]["train"]
    assert meta["data"]["train"] + meta["data"]["held_out"] == 20
    assert f"using batches of {n}" in log and meta["config"]["batch_size"] == n
    assert all(len(c) == 2 and c[0] != c[1] for c in meta["history"].values())


def test_cyclegan_clips_to_the_smaller_domain(scarce, capsys):
    # the default batch (8) against a 7-image B side: clipped to B's count
    b = scarce / "small_b"
    make_shapes_folder(b, per_class=8, size=40, broken=False, classes=("x",))
    meta, log = _train("cyclegan", ["--data-a", str(scarce / "shapes" / "circle"), "--data-b", str(b / "x"),
                                    "--g-channels", "4", "--blocks", "1", "--d-channels", "4"], scarce, capsys)
    assert meta["data"]["train_b"] == 7
    assert "using batches of 7" in log and meta["config"]["batch_size"] == 7
    assert all(len(c) == 2 for c in meta["history"].values())


def test_a_class_of_one_image_is_a_clear_error_that_names_the_fix(tmp_path):
    make_shapes_folder(tmp_path / "set", per_class=10, size=40, broken=False, classes=("a", "b"))
    (tmp_path / "set" / "c").mkdir()
    Image.new("RGB", (40, 40), (9, 9, 9)).save(tmp_path / "set" / "c" / "only.png")
    with pytest.raises(genlab.DatasetError, match=r"set/c \(1\)\. Add images to that class, or move its folder out"):
        image_folder(tmp_path / "set", RES, 3)
