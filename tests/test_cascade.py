"""The cascade GAN (models/gan.py Upsampler, train/cascade.py): a GAN at half the size and a learned 2x upsampler,
drawn as one generator."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import genlab
from genlab.errors import CheckpointError
from genlab.models.gan import Generator
from genlab.train.__main__ import main as train_main

SMALL = dict(latent_dim=8, num_classes=3, embed_dim=4, channels=16, image_channels=3, resolution=32,
             preprocess="crop", arch="dcgan-cbn")


def test_a_cascade_draws_at_twice_its_stack_and_starts_as_nearest_upsampling():
    torch.manual_seed(0)
    g = Generator(**SMALL, upsampler=8, upsampler_blocks=1).eval()
    assert (g.resolution, g.base_resolution) == (32, 16)
    z, labels = torch.randn(4, 8), torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        out = g(z, labels)
        e = g.embed(labels)  # the stack's own image, as Generator.forward draws it before the upsampler
        h = g.fc(torch.cat([z, e], 1)).view(-1, g.channels, g.base, g.base)
        for layer in g.net:
            h = layer(h, e) if hasattr(layer, "gain") else layer(h)
    assert out.shape == (4, 3, 32, 32) and h.shape == (4, 3, 16, 16)
    # the upsampler's last conv starts at zero: a fresh cascade is the stack's image, nearest-upsampled
    assert torch.equal(out, F.interpolate(h, scale_factor=2, mode="nearest").clamp(-1, 1))


def test_the_class_blend_reaches_the_upsampler():
    """The class sliders shift the embedding; the upsampler's FiLM reads the shifted one too."""
    torch.manual_seed(0)
    g = Generator(**SMALL, upsampler=8, upsampler_blocks=1).eval()
    torch.nn.init.normal_(g.up.film.weight)
    torch.nn.init.normal_(g.up.out.weight, std=0.1)
    x = torch.zeros(2, 3, 16, 16)
    e = g.embed(torch.tensor([0, 0]))
    with torch.no_grad():
        a = g.up(x, e)
        b = g.up(x, e + g.class_shift(torch.tensor([0, 0]), torch.tensor([0.0, 1.0, 0.0])))
    assert (a - b).abs().max() > 1e-3


@pytest.mark.parametrize("kwargs, match", [
    ({"upsampler": 10_000}, "upsampler must be"),
    ({"upsampler": 8, "upsampler_blocks": 0}, "upsampler_blocks at least 1"),
    ({"upsampler": True}, "upsampler must be"),
])
def test_upsampler_options_are_bounded(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Generator(**{**SMALL, **kwargs})


def test_a_hostile_cascade_config_is_refused_before_building(tmp_path):
    g = Generator(**SMALL, upsampler=8, upsampler_blocks=1)
    g.save_pretrained(tmp_path / "c")
    back = genlab.load(str(tmp_path / "c"), device="cpu")
    assert back.up is not None and back.resolution == 32
    cfg = json.loads((tmp_path / "c" / "config.json").read_text())
    (tmp_path / "c" / "config.json").write_text(json.dumps({**cfg, "upsampler": 1_000_000}))
    with pytest.raises(CheckpointError, match="upsampler"):
        genlab.load(str(tmp_path / "c"), device="cpu")


def test_cascade_cli_trains_the_upsampler_only_resumes_and_releases_one_generator(tmp_path, capsys):
    """The tiny preset on the emoji (the shipped 32-px emoji-cgan as the base): the base's weights come through
    unchanged, the upsampler learns (nearer the real 64-px emoji than nearest upsampling after 24 steps), a
    stopped run resumes, and the release loads as one 64-px generator with its card."""
    from genlab.datasets.emoji import emoji_set

    out, run = tmp_path / "ck", tmp_path / "run"
    args = ["cascade", "--preset", "tiny", "--out", str(out), "--run-dir", str(run), "--sample-every", "12",
            "--lr", "0.002"]
    train_main(args + ["--steps", "12"])
    train_main(args + ["--steps", "24", "--resume", "true"])
    assert "resumed" in capsys.readouterr().out
    g = genlab.load(str(out), device="cpu")
    base = genlab.load("emoji-cgan", device="cpu")
    assert (g.resolution, g.base_resolution, g.up is not None) == (64, 32, True)
    shared = {k: v for k, v in g.state_dict().items() if not k.startswith("up.")}
    assert all(torch.equal(v, base.state_dict()[k]) for k, v in shared.items())
    low, high = emoji_set(32)[1], emoji_set(64)[1]
    x, y = low.tensors(64)[0], high.tensors(64)[0]
    with torch.no_grad():
        learned = (g.up(x, g.embed(low.labels[:64])) - y).abs().mean()
    nearest = (F.interpolate(x, scale_factor=2, mode="nearest") - y).abs().mean()
    assert learned < nearest, (learned, nearest)
    text = (out / "README.md").read_text()
    assert "learned 2x upsampler" in text and "emoji-cgan" in text and "24 steps" in text
    state = json.loads((run / "training_state.json").read_text())
    assert state["step"] == 24 and state["family"] == "cascade"
    # samples.png is the seed's latents at psi 1, as for every GAN run (the card puts the truncated grid above it)
    assert drawn_grid(g, out / "samples.png", psi=1.0) <= 2


def drawn_grid(g, png, psi: float) -> int:
    """The largest pixel difference (0-255) between a grid file and the generator's seed-0 class grid drawn now
    at ``psi`` (genlab.evaluation.gan.seed_grid: what samples.png and samples_truncated.png are meant to hold)."""
    import numpy as np
    from PIL import Image

    from genlab.evaluation.gan import seed_grid

    now = np.asarray(seed_grid(g, psi), dtype=int)
    return int(np.abs(now - np.asarray(Image.open(png).convert("RGB"), dtype=int)).max())


def test_the_shipped_cascade_grids_are_what_its_card_says():
    """emoji-cgan-64's card shows samples_truncated.png as its default psi and samples.png as psi 1 (a file drawn
    at another psi differs by up to 255)."""
    from genlab.hub import resolve

    folder = resolve("emoji-cgan-64")
    g = genlab.load(str(folder), model_type="gan", device="cpu").eval()
    text = (folder / "README.md").read_text()
    assert f"default truncation, ψ = {g.psi:g}" in text and "the training run's grid at ψ = 1" in text
    assert g.psi != 1.0 and drawn_grid(g, folder / "samples_truncated.png", g.psi) <= 2
    assert drawn_grid(g, folder / "samples.png", 1.0) <= 2


def test_cascade_refuses_a_base_of_the_wrong_size(tmp_path):
    with pytest.raises(SystemExit):
        train_main(["cascade", "--preset", "tiny", "--base", "mnist-cgan", "--out", str(tmp_path / "o"),
                    "--run-dir", str(tmp_path / "r")])


def test_a_cascade_card_lists_each_target_met_or_missed():
    from genlab.evaluation.cascade_card import cascade_targets

    meta = {"config": {"base": "emoji-cgan", "target_fid_ratio": 1.5, "target_accuracy": 0.65, "target_minutes": 180.0},
            "elapsed_s": 2400.0, "base_meta": {"command": "x", "elapsed_s": 3172.0}}
    metrics = {"fid": 140.0, "floor_fid": 90.5, "accuracy": 0.66, "psi": 0.7, "samples": 5000,
               "memorisation": {"ratio": 1.2, "near_copies": 0.0}}
    text = cascade_targets(meta, metrics)
    rows = {line.split(" | ")[0].strip("| "): line.rsplit(" | ", 1)[1].strip(" |") for line in text.splitlines()
            if line.startswith("| ") and "---" not in line and not line.startswith("| target")}
    assert rows == {"FID at most 1.5x the real floor (90.50), so at most 135.8": "**missed**",
                    "class accuracy at least 65%": "met", "memorisation ratio at least 1": "met",
                    "no near-copies": "met", "training in all at most 180 minutes on this kind of CPU": "met"}
    assert "140.00 (1.55x)" in text and "92.9 minutes" in text


def test_with_a_base_lr_the_base_weights_train_too_and_resume(tmp_path, capsys):
    """--base-lr: from --tune-after on, the base's weights train end to end through the upsampler; the release holds
    their average, so they differ from the base's. A run saved before its tuning began resumes into it (the preset's
    one command: frozen, then tuned), and a tuned run resumes with its tuning state."""
    out, run = tmp_path / "ck", tmp_path / "run"
    args = ["cascade", "--preset", "tiny", "--out", str(out), "--run-dir", str(run), "--sample-every", "3"]
    tuned = ["--base-lr", "0.001", "--tune-after", "3"]
    train_main(args + ["--steps", "3"])  # frozen so far (as the tuned preset is before --tune-after)
    with pytest.raises(SystemExit):  # past its tune-after with no tuning state: refused, not silently frozen
        train_main(args + ["--steps", "6", "--resume", "true", "--base-lr", "0.001", "--tune-after", "1"])
    train_main(args + tuned + ["--steps", "6", "--resume", "true"])
    train_main(args + tuned + ["--steps", "9", "--resume", "true"])
    assert capsys.readouterr().out.count("resumed") == 3  # the refused one read its state first
    g, base = genlab.load(str(out), device="cpu"), genlab.load("emoji-cgan", device="cpu")
    moved = [k for k, v in base.state_dict().items() if not torch.equal(v, g.state_dict()[k])]
    assert "fc.weight" in moved and all(not k.startswith("up.") for k in moved)
    assert "base's own weights train too" in (out / "README.md").read_text()
