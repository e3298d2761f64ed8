"""A user's own colour folder (with broken files in it) trained by every family, evaluated, and served.

The folder is generated: three classes of coloured shapes in mixed sizes and modes (RGB, JPEG,
RGBA, palette, CMYK, 16-bit grey), plus an empty, a truncated, a text and a 4x4 file per class.
Each family trains for a few steps through the CLI (``python -m genlab.train ... --data DIR``);
the launched app then serves the tiny GAN, VAE, pix2pix and classifier-judged outputs.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from PIL import Image

import genlab
from genlab.datasets import image_folder, paired_folder
from genlab.train.__main__ import main as train_main

from conftest import OWN_RES as RES

CLASSES = ["circle", "square", "triangle"]


def test_folder_loader_skips_exactly_the_broken_files_and_splits_stably(folders):
    root, shapes = folders
    train, held = image_folder(root / "shapes", RES, 3)
    assert train.class_names == CLASSES and held.class_names == CLASSES
    assert len(train) + len(held) == len(shapes["good"]) and len(held) == 3  # 10 % of 12 per class, rounded
    assert sorted(p for p, _ in train.skipped) == sorted(map(str, shapes["broken"]))
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (3, RES, RES)
    # the same split whatever else is asked (size, channels, streaming): held-out files never move
    streamed, held2 = image_folder(root / "shapes", 16, 1, memory_budget_mb=0)
    assert not streamed.in_memory and len(held2) == len(held) and held2.labels.tolist() == held.labels.tolist()
    x, y = held2.tensors()
    assert x.shape == (3, 1, 16, 16) and -1 <= x.min() and x.max() <= 1


def test_streamed_batches_match_in_memory_pixels(tmp_path):
    from genlab.testing import make_shapes_folder

    make_shapes_folder(tmp_path / "clean", per_class=5, size=40, broken=False)  # no file that only decoding catches
    mem, mem_held = image_folder(tmp_path / "clean", RES, 3)
    disk, disk_held = image_folder(tmp_path / "clean", RES, 3, memory_budget_mb=0)
    assert mem.in_memory and not disk.in_memory and len(mem) == len(disk) == 12
    assert torch.equal(mem.tensors()[0], disk.tensors()[0]) and torch.equal(mem_held.tensors()[0], disk_held.tensors()[0])
    batch, labels = next(disk.batches(8, torch.Generator().manual_seed(0), workers=0))
    assert batch.shape == (8, 3, RES, RES) and labels.shape == (8,)


def test_folder_errors_name_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(genlab.DatasetError, match="No readable images in .*empty"):
        image_folder(tmp_path / "empty", RES, 3)
    (tmp_path / "small" / "a").mkdir(parents=True)
    (tmp_path / "small" / "b").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (20, 20), (i, 0, 0)).save(tmp_path / "small" / "a" / f"{i}.png")
    Image.new("RGB", (20, 20)).save(tmp_path / "small" / "b" / "only.png")
    with pytest.raises(genlab.DatasetError, match=r"at least 2 .*small/b \(1\)"):
        image_folder(tmp_path / "small", RES, 3)


def test_flat_folder_trains_an_unconditional_gan(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(flat / f"{i}.png")
    (flat / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    out = tmp_path / "ckpt"
    train_main(["gan", "--data", str(flat), "--resolution", "16", "--channels", "3", "--steps", "4",
                "--batch-size", "4", "--g-channels", "16", "--d-channels", "8", "--out", str(out), "--run-dir",
                str(tmp_path / "run")])
    g = genlab.load(str(out), device=None)
    assert g.num_classes == 0 and g.labels == [] and g.resolution == 16
    from genlab.tasks.sampling import class_choices, sample

    assert class_choices(g) == ["any"] and sample(g, n=3).shape == (3, 3, 16, 16)
    assert "broken.jpg" in (out / "README.md").read_text()


def test_every_family_trains_on_the_folder_and_records_it(trained, folders):
    root, shapes = folders
    for family, ckpt in trained.items():
        config = json.loads((ckpt / "config.json").read_text())
        assert config["resolution"] == RES and config["image_channels"] == 3, family
        card = (ckpt / "README.md").read_text()
        flag = "--data-a" if family == "cyclegan" else "--data"  # a CycleGAN reads two folders
        assert f"python -m genlab.train {family} {flag}" in card and "Skipped files" in card, family
    assert json.loads((trained["gan"] / "config.json").read_text())["class_names"] == CLASSES
    assert json.loads((trained["classifier"] / "config.json").read_text())["class_names"] == CLASSES
    for name in ("empty.png", "truncated.png", "notes.png", "tiny.png"):
        assert name in (trained["gan"] / "README.md").read_text()
    # the GAN card was evaluated with the folder's own classifier as feature net, beside the real floor
    gan_card = (trained["gan"] / "README.md").read_text()
    assert "ckpt-classifier" in gan_card and "floor" in gan_card
    # ... and with the memorisation check: samples' nearest training image against held-out images', with its figure
    assert "### Memorisation" in gan_card and "near-copies" in gan_card
    assert Image.open(trained["gan"] / "memorisation.png").size[0] > 500
    g = genlab.load(str(trained["gan"]), device=None)
    assert g(torch.randn(2, g.latent_dim), torch.tensor([0, 3])).shape == (2, 3, RES, RES)


def test_resume_refuses_a_folder_with_other_classes(trained, folders, tmp_path):
    root, _ = folders
    other = tmp_path / "other"
    for name in ("cat", "dog"):
        (other / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (20, 20), (i * 40, 0, 0)).save(other / name / f"{i}.png")
    with pytest.raises(SystemExit):  # the CLI prints the DatasetError and exits 2
        train_main(["gan", "--data", str(other), "--resolution", str(RES), "--channels", "3", "--steps", "30",
                    "--batch-size", "4", "--g-channels", "32", "--d-channels", "16", "--out", str(tmp_path / "x"),
                    "--run-dir", str(root / "run-gan"), "--resume", "true"])


def test_eval_cli_on_the_folder(trained, folders, capsys):
    from genlab.evaluation.cli import main as eval_main

    root, _ = folders
    eval_main(["gan", str(trained["gan"]), "--data", str(root / "shapes"), "--feature-net",
               str(trained["classifier"]), "--samples", "30", "--json"])
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])[str(trained["gan"])]
    assert {"fid", "kid", "floor_fid", "accuracy"} <= r.keys() and r["feature_net"] == str(trained["classifier"])
    m = r["memorisation"]
    assert m["sample_to_train_median"] > 0 and m["held_out_to_train_median"] > 0 and 0 <= m["near_copies"] <= 1
    eval_main(["pix2pix", str(trained["pix2pix"]), "--data", str(root / "pairs"), "--json"])
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"l1", "psnr", "ssim"} <= r["model"].keys() and r["held_out"] >= 1
    eval_main(["vae", str(trained["vae"]), "--data", str(root / "shapes"), "--json"])
    assert "neg_elbo" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with pytest.raises(genlab.DatasetError, match="feature net"):
        eval_main(["gan", str(trained["gan"]), "--data", str(root / "shapes")])


def test_paired_folder_matches_by_name_and_skips_orphans(folders):
    root, _ = folders
    train, held = paired_folder(root / "pairs", RES, 3, in_channels=1)
    skipped = dict(train.a.skipped)
    assert any(p.endswith("lonely.png") for p in skipped)
    assert len(train) + len(held) == 11 and train.a.channels == 1 and train.b.channels == 3


def test_app_serves_the_folder_models(client, trained, folders, tmp_path):
    root, shapes = folders
    zeros = [0.0] * 6
    # GAN: by folder path, with the folder's class names
    png = client.predict("mnist-cgan", str(trained["gan"]), 0, "square", 1.0, 4, *zeros, api_name="/sample")
    assert Image.open(png).mode == "RGB"
    with pytest.raises(Exception, match="circle, square, triangle"):
        client.predict("mnist-cgan", str(trained["gan"]), 0, "7", 1.0, 4, *zeros, api_name="/sample")
    # VAE: interpolate two of the user's colour images with the folder VAE
    a, b = handle_file(str(shapes["good"][0])), handle_file(str(shapes["good"][-1]))
    mid = Image.open(client.predict(a, b, 0.5, "linear", str(trained["vae"]), api_name="/interpolate"))
    assert mid.mode == "RGB" and mid.size[0] >= RES
    # pix2pix: a grey outline in, colour out
    seen, outputs = client.predict(handle_file(str(root / "pairs" / "A" / "0000.png")), str(trained["pix2pix"]), 2,
                                   0, api_name="/translate")
    assert Image.open(outputs).mode == "RGB" and Image.open(outputs).width >= 2 * RES
    # repair with the folder VAE: half of a shape painted over
    mask = np.zeros((48, 60, 4), np.uint8)
    mask[:, :30, 3] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    img = Image.open(shapes["good"][0]).convert("RGB").resize((60, 48))
    img.save(tmp_path / "img.png")
    editor = {"background": handle_file(str(tmp_path / "img.png")), "layers": [handle_file(str(tmp_path / "mask.png"))],
              "composite": None}
    original, repaired, baseline, candidates, status = client.predict(editor, "vae", 20, 0, str(trained["vae"]),
                                                                      api_name="/inpaint")
    assert Image.open(repaired).size == (60, 48) and len(candidates) >= 1 and "done" in status
    # augmentation with the folder GAN: a colour ZIP with one folder per class name
    gallery, zip_path = client.predict(["circle", "triangle"], 3, 0, str(trained["gan"]), api_name="/augment")
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert sorted({n.split("/")[0] for n in names}) == ["circle", "triangle"] and len(names) == 6
        assert Image.open(zf.open(names[0])).mode == "RGB"
    assert gallery[0]["caption"] in ("circle", "triangle")
    # the shipped digit models still answer as before
    assert client.predict("mnist-cgan", "", 1, "7", 1.0, 1, *zeros, api_name="/sample")


def test_image_to_uint8_converts_odd_modes_and_fits_a_square():
    from genlab.images import image_to_uint8

    grey16 = Image.fromarray((np.full((30, 60), 40000)).astype(np.uint16))  # 16-bit: scaled, not clipped
    out = image_to_uint8(grey16, 16, 3, "crop")
    assert out.shape == (3, 16, 16) and abs(int(out.mean()) - round(40000 / 65535 * 255)) <= 1
    rgba = Image.new("RGBA", (40, 20), (255, 0, 0, 0))  # fully transparent: composited on white
    assert image_to_uint8(rgba, 8, 1, "crop").min() == 255
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, :, 2] = 200  # blue everywhere; pad takes the border colour, so the square stays blue
    padded = image_to_uint8(Image.fromarray(wide), 12, 3, "pad")
    assert padded.shape == (3, 12, 12) and (padded[2] > 190).all() and (padded[0] < 10).all()
    with pytest.raises(ValueError, match="fit"):
        image_to_uint8(Image.fromarray(wide), 12, 3, "stretch")


def test_augmentation_experiment_runs_on_the_folder_gan(trained, folders):
    """What generated images are worth, measured on the user's folder: real images from its training split,
    the GAN's samples of its classes, a classifier at its size and channels, accuracy on its held-out split."""
    from genlab.evaluation.augment import augmentation_experiment, summarise

    root, _ = folders
    g = genlab.load(str(trained["gan"]), device="cpu")
    rows = augmentation_experiment(g, n_real=(2,), k_generated=3, seeds=(0, 1), steps=4, log=lambda *_: None,
                                   data=str(root / "shapes"))
    assert len(rows) == 8 and {r["arm"] for r in rows} == {"real", "real + classic", "real + generated",
                                                          "real + generated + classic"}
    assert {r["train_images"] for r in rows} == {2 * 3, 2 * 3 + 3 * 3}  # 2 real + 3 generated per class
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert [s["seeds"] for s in summarise(rows)] == [2, 2, 2, 2]
