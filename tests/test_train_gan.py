import dataclasses
import json
import math
import re

import pytest
import torch

import genlab
from genlab.datasets import digits
from genlab.train.__main__ import main as train_main
from genlab.train.gan import PRESETS, build, make_gan_step


def test_one_step_changes_weights_with_finite_loss():
    cfg = dataclasses.replace(PRESETS["tiny"], channels_last=False)
    G, D, opt_g, opt_d = build(cfg)
    step = make_gan_step(G, D, opt_g, opt_d, cfg)
    x, y = digits("train")[:16]
    before_g = [p.detach().clone() for p in G.parameters()]
    before_d = [p.detach().clone() for p in D.parameters()]
    loss_d, loss_g = step(x, y)
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    assert any(not torch.equal(a, b) for a, b in zip(before_g, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_d, D.parameters()))


def test_ema_follows_the_live_generator_and_bn_is_recalibrated():
    import copy

    from genlab.train.gan import recalibrate_bn

    cfg = dataclasses.replace(PRESETS["tiny"], channels_last=False, ema=0.9)
    G, D, opt_g, opt_d = build(cfg)
    g_ema = copy.deepcopy(G).requires_grad_(False)
    start = [p.clone() for p in g_ema.parameters()]
    step = make_gan_step(G, D, opt_g, opt_d, cfg, g_ema=g_ema)
    x, y = digits("train")[:16]
    step(x, y)
    # the first update's decay is warmed up to min(0.9, 1 / 10) = 0.1
    for s, e, live in zip(start, g_ema.parameters(), G.parameters()):
        assert torch.allclose(e, 0.1 * s + 0.9 * live.detach(), atol=1e-6)
    step.updates = 10_000  # long into a run the decay is cfg.ema
    before = [e.clone() for e in g_ema.parameters()]
    step(x, y)
    for s, e, live in zip(before, g_ema.parameters(), G.parameters()):
        assert torch.allclose(e, 0.9 * s + 0.1 * live.detach(), atol=1e-6)
    bn = g_ema.net[0]
    bn.running_mean.fill_(100.0)
    recalibrate_bn(g_ema, batches=3, batch_size=8)
    assert bn.running_mean.abs().max() < 100 and not g_ema.training


def test_loss_moves_over_a_few_steps():
    """D learns quickly to separate real digits from an untrained G: its loss falls."""
    cfg = dataclasses.replace(PRESETS["tiny"], diffaugment="", channels_last=False)
    G, D, opt_g, opt_d = build(cfg)
    step = make_gan_step(G, D, opt_g, opt_d, cfg)
    x, y = digits("train").tensors
    losses = [step(x[i * 32 : (i + 1) * 32], y[i * 32 : (i + 1) * 32])[0].item() for i in range(15)]
    assert all(map(math.isfinite, losses))
    assert sum(losses[-5:]) / 5 < losses[0] / 2


def test_cli_writes_checkpoint_card_and_resumes(tmp_path, capsys):
    out, run = tmp_path / "ckpt", tmp_path / "run"
    args = ["gan", "--preset", "tiny", "--steps", "10", "--sample-every", "5", "--out", str(out), "--run-dir", str(run)]
    train_main(args)
    assert {"config.json", "model.safetensors", "README.md", "samples.png", "loss_curve.png"} <= {
        p.name for p in out.iterdir()
    }
    assert not list(out.glob("*.pt")) and not list(out.glob("*.bin"))
    card = (out / "README.md").read_text()
    assert "python -m genlab.train gan --preset tiny" in card and "Wall time" in card
    assert (run / "training_state.safetensors").exists() and (run / "samples_000005.png").exists()
    g = genlab.load(str(out), model_type="gan", device=None)
    assert g(torch.randn(1, g.latent_dim), torch.tensor([3])).shape == (1, 1, 28, 28)

    # resume: continue the same run to 15 steps, starting from the saved step
    train_main(args[:4] + ["15"] + args[5:] + ["--resume", "true"])
    meta = json.loads((run / "training_state.json").read_text())
    assert meta["step"] == 15
    assert "resumed" in capsys.readouterr().out

    # evaluation rewrites the card with measured metrics, beside a baseline run
    from genlab.evaluation.cli import main as eval_main

    from genlab.evaluation.gan import set_truncation

    set_truncation(out, 0.8)  # a default truncation: the card measures at it, and at psi 1 beside it
    from genlab.evaluation.gan import write_truncation_record

    row = {"psi": 0.8, "fid_train": 96.21, "spread_train": 1.137, "fid_held_out": 95.6, "accuracy": 0.576,
           "memorisation_ratio": 1.282}
    write_truncation_record(out, {"rows": [{**row, "psi": 1.0, "fid_train": 103.57}, row], "psi": 0.8,
                                  "samples": 2000, "min_spread": 0.95, "train": 1723, "held_out": 191},
                            288.0, "python -m genlab eval truncation tiny")
    section = tmp_path / "section.md"
    section.write_text("### Measured elsewhere\n\n| at 64 px | FID |\n|---|---:|\n| 40 minutes | 123.45 |\n")
    eval_main(["gan", str(out), "--samples", "100", "--baseline", str(out), "--baseline-run", str(run),
               "--write-card", str(run), "--card-section", str(section)])
    card = (out / "README.md").read_text()
    assert "class-consistency accuracy" in card and "without DiffAugment, same budget" in card
    assert "FID" in card and "floor" in card and "python -m genlab.train gan --preset tiny" in card
    assert "default truncation, ψ = 0.8" in card and "| FID (own digit features) — without truncation (ψ = 1) |" in card
    # the section from the file sits in the results, before the sample grid
    assert card.index("floor") < card.index("| 40 minutes | 123.45 |") < card.index("![samples]")
    # ... after the truncation choice, read from truncation.json beside the checkpoint
    assert card.index("floor") < card.index("### Default truncation: ψ = 0.8") < card.index("| 40 minutes |")
    assert "| **0.8** | **96.21** | 1.137 | 95.60 | 57.60% | 1.282 |" in card
    assert "`python -m genlab eval truncation tiny` (288 s on" in card
    with pytest.raises(SystemExit):  # a section without a card to put it in
        eval_main(["gan", str(out), "--samples", "10", "--card-section", str(section)])



def test_a_run_released_at_a_saved_step_has_the_weights_of_a_run_that_stopped_there(tmp_path, capsys):
    """What the shipped emoji-cgan relies on: a run with the FID curve on (--preview-eval, as its preset) is
    deterministic, and a longer run stopped after its save at step S and released with --resume --steps S gives
    the weights of a plain S-step run (nothing in a step depends on the total). The curve itself draws from the
    global random stream, so the weights differ from a run without it: the preset keeps it on."""
    from safetensors.torch import load_file

    from genlab.train.gan import PRESETS

    common = ["gan", "--preset", "tiny", "--sample-every", "5", "--seed", "3", "--steps", "10"]
    train_main(common + ["--out", str(tmp_path / "plain"), "--run-dir", str(tmp_path / "rp")])
    for name in ("a", "b"):
        train_main(common + ["--preview-eval", "40", "--out", str(tmp_path / name), "--run-dir", str(tmp_path / f"r{name}")])
    assert "step 10: FID" in capsys.readouterr().out  # the curve was measured
    train_main(common + ["--resume", "true", "--out", str(tmp_path / "c"), "--run-dir", str(tmp_path / "rb")])
    a, b, c, plain = (load_file(tmp_path / n / "model.safetensors") for n in ("a", "b", "c", "plain"))
    assert a.keys() == b.keys() == c.keys() == plain.keys()
    for k in a:
        assert torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]), k
    assert any(not torch.equal(a[k], plain[k]) for k in a)
    assert PRESETS["emoji-cgan"].preview_eval == 1000 and PRESETS["emoji-cgan"].steps == 20000


# --- the small-data recipe: spectral norm, LeCam, lazy R1, nearest upsampling, EMA half-life, time budget ---


def test_recipe_options_build_what_they_say():
    cfg = dataclasses.replace(PRESETS["tiny"], spectral_norm=True, upsample="nearest")
    G, D, _, _ = build(cfg)
    assert any(isinstance(m, torch.nn.Upsample) for m in G.modules())
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    assert G._hub_mixin_config["upsample"] == "nearest"
    normed = [m for m in D.modules() if hasattr(m, "parametrizations")]
    assert len(normed) == sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Embedding)) for m in D.modules())
    # spectral norm bounds each layer's largest singular value near 1 after a few power iterations
    D.train()
    for _ in range(20):
        D(torch.randn(4, 1, 28, 28), torch.zeros(4, dtype=torch.long))
    w = D.net[0].weight.flatten(1)
    assert abs(torch.linalg.matrix_norm(w, 2).item() - 1) < 0.1
    import pytest

    with pytest.raises(ValueError, match="upsample must be"):
        genlab.models.Generator(upsample="bilinear")


def test_lecam_and_r1_steps_are_finite_and_move_d():
    cfg = dataclasses.replace(PRESETS["tiny"], channels_last=False, spectral_norm=True, lecam=0.3, r1_gamma=1.0,
                              r1_every=2)
    G, D, opt_g, opt_d = build(cfg)
    step = make_gan_step(G, D, opt_g, opt_d, cfg)
    x, y = digits("train")[:16]
    losses = [step(x, y) for _ in range(4)]
    assert all(torch.isfinite(a) and torch.isfinite(b) for a, b in losses)
    # LeCam's anchors follow D's logits (running means, no longer at their zero start)
    assert step.logit_means.real.item() != 0 and step.logit_means.fake.item() != 0
    from genlab.models.gan import lecam_loss, r1_penalty

    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])
    # only what strays past the anchors counts: relu(real - ema_fake)^2 + relu(ema_real - fake)^2
    assert torch.isclose(lecam_loss(real, fake, torch.tensor(1.0), torch.tensor(0.5)),
                         torch.tensor((1.5**2 + 0) / 2 + (2.0**2 + 0) / 2))
    xr = torch.randn(3, 2, requires_grad=True)
    assert torch.isclose(r1_penalty((xr * torch.tensor([3.0, 4.0])).sum(1), xr), torch.tensor(25.0))


def test_ema_half_life_in_images():
    from genlab.train.gan import ema_decay

    cfg = dataclasses.replace(PRESETS["tiny"], ema_kimg=10.0)
    # long into a run: the weight of an update halves after 10,000 images
    decay = ema_decay(cfg, 1_000_000, 32)
    assert abs(decay ** (10_000 / 32) - 0.5) < 1e-6
    assert ema_decay(cfg, 10, 32) < decay  # ramped up: early on the half-life is 5 % of the images seen


def test_time_budget_stops_the_run_and_the_card_says_why(tmp_path, capsys):
    train_main(["gan", "--preset", "tiny", "--steps", "100000", "--minutes", "0.002", "--out", str(tmp_path / "ck"),
                "--run-dir", str(tmp_path / "run"), "--spectral-norm", "true", "--upsample", "nearest"])
    assert "minute budget is spent" in capsys.readouterr().out
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert 1 <= run["step"] < 100000 and run["images_seen"] == run["step"] * 64
    card = (tmp_path / "ck" / "README.md").read_text()
    assert f"{run['step']} steps x batch" in card and "upsampling: nearest" in card and "spectral norm" in card
    assert genlab.load(str(tmp_path / "ck")).upsample == "nearest"


def test_a_checkpoint_with_an_unknown_upsampling_is_refused(tmp_path):
    import pytest

    from genlab.models import Generator

    Generator(latent_dim=8, channels=16, embed_dim=4, upsample="nearest").save_pretrained(tmp_path / "g")
    cfg = json.loads((tmp_path / "g" / "config.json").read_text())
    (tmp_path / "g" / "config.json").write_text(json.dumps({**cfg, "upsample": "pixelshuffle"}))
    with pytest.raises(genlab.CheckpointError, match="upsample must be one of transposed, nearest"):
        genlab.load(str(tmp_path / "g"))


def test_resnet_arch_and_hinge_loss_train_and_load(tmp_path, capsys, monkeypatch):
    """--g-arch resnet (residual blocks, class-conditional batch norm), --d-arch resnet, --loss hinge: the models
    are what the flags say, a few steps move the losses, the card names the recipe and the checkpoint loads."""
    cfg = dataclasses.replace(PRESETS["tiny"], g_arch="resnet", d_arch="resnet", loss="hinge", spectral_norm=True)
    G, D, _, _ = build(cfg)
    from genlab.models.gan import CondBatchNorm, DBlock, GBlock

    assert sum(isinstance(m, GBlock) for m in G.modules()) == 2  # 7 -> 14 -> 28
    assert sum(isinstance(m, CondBatchNorm) for m in G.modules()) == 4
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    assert sum(isinstance(m, DBlock) for m in D.modules()) == 4  # 28 -> 14 -> 7 -> 4, and one more at 4x4
    normed = [m for m in D.modules() if hasattr(m, "parametrizations")]
    assert len(normed) == sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Embedding)) for m in D.modules())
    # conditional BN: the class reaches every block, so two classes differ even where z is the same
    G.eval()
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, CondBatchNorm):
                torch.nn.init.normal_(m.gain.weight, std=0.5)
        z = torch.randn(1, G.latent_dim)
        assert not torch.allclose(G(z, torch.tensor([1])), G(z, torch.tensor([2])))
    from genlab.models.gan import LOSSES

    d_hinge, g_hinge = LOSSES["hinge"]
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    assert torch.isclose(d_hinge(real, fake), torch.tensor((0 + 0.5) / 2 + (0 + 1.0) / 2))
    assert torch.isclose(g_hinge(fake), torch.tensor(1.5))
    monkeypatch.setenv("GENLAB_LOG_EVERY", "10")  # two loss-curve points in 20 steps
    train_main(["gan", "--preset", "tiny", "--steps", "20", "--batch-size", "16", "--out", str(tmp_path / "ck"),
                "--run-dir", str(tmp_path / "run"), "--g-arch", "resnet", "--d-arch", "resnet", "--loss", "hinge",
                "--spectral-norm", "true"])
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert all(len(c) == 2 and c[0] != c[1] and all(v == v for v in c) for c in run["history"].values())
    card = (tmp_path / "ck" / "README.md").read_text()
    assert "residual GAN" in card and "hinge loss" in card and "conditional batch norm" in card
    g = genlab.load(str(tmp_path / "ck"))
    assert g.arch == "resnet" and g(torch.randn(2, g.latent_dim), torch.tensor([0, g.any_class])).shape == (2, 1, 28, 28)
    import pytest

    with pytest.raises(SystemExit):
        train_main(["gan", "--preset", "tiny", "--loss", "wasserstein"])
    assert "--loss must be one of nonsaturating, hinge" in capsys.readouterr().err
    with pytest.raises(ValueError, match="arch must be one of dcgan, dcgan-cbn, resnet"):
        genlab.models.Generator(arch="stylegan")


def test_dcgan_with_conditional_batch_norm(tmp_path, capsys):
    """--g-arch dcgan-cbn: the DCGAN stack with class-conditional batch norm after every conv, so the class reaches
    every octave; the plain DCGAN's weights keep their names (shipped checkpoints load); the discriminator has no
    batch norm and refuses the word; a few steps train, the card names it and the checkpoint loads."""
    from genlab.models.gan import CondBatchNorm, Discriminator, Generator

    plain, cbn = Generator(latent_dim=8, channels=16, embed_dim=4), Generator(latent_dim=8, channels=16, embed_dim=4,
                                                                              arch="dcgan-cbn")
    assert sum(isinstance(m, CondBatchNorm) for m in cbn.modules()) == 3  # the base map and both octaves
    assert not any(isinstance(m, CondBatchNorm) for m in plain.modules())
    unwrapped = {k.replace(".bn.", ".") for k in cbn.state_dict() if not re.search(r"\.(gain|bias)\.(weight|bias)$", k)}
    assert unwrapped == set(plain.state_dict())  # the same stack, each BN wrapped with its class gain and bias
    cbn.eval()
    with torch.no_grad():
        z = torch.randn(1, 8)
        cbn.fc.weight[:, 8:] = 0  # the class no longer enters at the input: only the conditional BNs carry it
        assert torch.allclose(cbn(z, torch.tensor([1])), cbn(z, torch.tensor([2])))  # they start as plain BN
        for m in cbn.modules():
            if isinstance(m, CondBatchNorm):
                torch.nn.init.normal_(m.gain.weight, std=0.5)
        assert not torch.allclose(cbn(z, torch.tensor([1])), cbn(z, torch.tensor([2])))
    with pytest.raises(ValueError, match="arch must be one of dcgan, resnet"):
        Discriminator(arch="dcgan-cbn")
    train_main(["gan", "--preset", "tiny", "--steps", "6", "--batch-size", "16", "--out", str(tmp_path / "ck"),
                "--run-dir", str(tmp_path / "run"), "--g-arch", "dcgan-cbn"])
    text = (tmp_path / "ck" / "README.md").read_text()
    assert "Class-conditional DCGAN with class-conditional batch norm (" in text  # the card's first line
    assert "generator upsampling: transposed, class-conditional batch norm" in text  # and its recipe line
    g = genlab.load(str(tmp_path / "ck"))
    assert g.arch == "dcgan-cbn" and sum(isinstance(m, CondBatchNorm) for m in g.modules()) == 3
    with pytest.raises(SystemExit):
        train_main(["gan", "--preset", "tiny", "--d-arch", "dcgan-cbn"])
    assert "--d-arch must be one of dcgan, resnet" in capsys.readouterr().err


def test_minibatch_std_mode_seeking_and_hflip():
    """The diversity options: D's minibatch-stddev feature tells a group of one repeated picture from a varied
    one and never mixes the reals with the fakes of the D phase's one pass; the mode-seeking step draws pairs of
    one class; x-flips mirror about half of a batch."""
    from genlab.datasets.base import random_hflip
    from genlab.models.gan import group_std

    same, varied = torch.ones(4, 3), torch.randn(4, 3)
    s = group_std(torch.cat([same, varied]), 4)
    assert s.shape == (8, 1) and (s[:4] < 1e-3).all() and (s[4:] > 0.1).all()
    assert torch.equal(group_std(torch.cat([same, varied]), 4)[:4], group_std(same, 4))  # groups stay apart
    assert group_std(torch.randn(6, 3), 4).shape == (6, 1)  # 6 rows: groups of 3
    cfg = dataclasses.replace(PRESETS["tiny"], channels_last=False, spectral_norm=True, minibatch_std=4,
                              mode_seeking=1.0, hflip=True)
    G, D, opt_g, opt_d = build(cfg)
    assert D.out.in_features == D.embed.embedding_dim == D.net[-2].out_channels + 1
    seen = []
    G.register_forward_pre_hook(lambda m, args: seen.append(args[1].clone()))
    step = make_gan_step(G, D, opt_g, opt_d, cfg)
    x, y = digits("train")[:16]
    assert all(torch.isfinite(v) for v in step(x, y))
    assert torch.equal(seen[0][:8], seen[0][8:])  # the G phase's pairs share their class
    gen = torch.Generator().manual_seed(0)
    batch = torch.arange(16.0).view(1, 1, 1, 16).repeat(64, 1, 1, 1)
    flipped = random_hflip(batch, gen)
    mirrored = (flipped[:, 0, 0, 0] == 15).sum().item()
    assert 16 < mirrored < 48 and torch.equal(flipped[flipped[:, 0, 0, 0] == 15], batch[:1].flip(3).expand(mirrored, -1, -1, -1))


def test_the_emoji_recipe_is_named_in_the_card_and_with_recipe_resets_it():
    """The shipped emoji-cgan's recipe line names every change it makes against the DCGAN (the card is how a reader
    knows what trained the weights); with_recipe() is the benchmarks' way back to the plain recipe plus one change."""
    from types import SimpleNamespace

    from genlab.evaluation.cards import gan_recipe
    from genlab.train.gan import EMOJI_CGAN_RECIPE, GANTrainConfig, with_recipe

    line = gan_recipe(PRESETS["emoji-cgan"])
    for words in ("upsampling: transposed, class-conditional batch norm", "discriminator: spectral norm", "minibatch-stddev feature (groups of 4)",
                  "mode-seeking term (weight 1)", "Adam beta1 0, lr 0.0002"):
        assert words in line, line
    assert "x-flips" not in line and "LeCam" not in line
    old = gan_recipe(SimpleNamespace(upsample="transposed", spectral_norm=False))  # a card of an older run
    assert old == "generator upsampling: transposed; discriminator: no spectral norm; nonsaturating loss"
    plain, default = with_recipe(PRESETS["emoji-cgan"]), GANTrainConfig()
    assert all(getattr(plain, k) == getattr(default, k) for k in EMOJI_CGAN_RECIPE)
    assert (plain.steps, plain.data, plain.resolution) == (PRESETS["emoji-cgan"].steps, "emoji", 32)
    assert with_recipe(PRESETS["emoji-cgan"], hflip=True).hflip


def test_options_added_later_keep_the_digest_of_weights_that_do_not_use_them():
    """attributes.json, arithmetic.json and directions.json are keyed by the weights' digest: a new constructor
    option at its old behaviour must not change it, and a model that uses the option must get another one."""
    from genlab.models import Discriminator, Generator, weights_digest

    torch.manual_seed(0)
    a = Generator(resolution=16, channels=16)
    b = Generator(resolution=16, channels=16, arch="dcgan")
    b.load_state_dict(a.state_dict())
    assert a._hub_mixin_config["arch"] == "dcgan"  # the mixin records the default ...
    b._hub_mixin_config.pop("arch")  # ... which a checkpoint saved before the option existed lacks
    assert weights_digest(a) == weights_digest(b)  # the digest leaves it out
    b._hub_mixin_config["arch"] = "resnet"  # same weights, the option at another value: another digest
    assert weights_digest(a) != weights_digest(b)
    d = Discriminator(resolution=16, channels=16)
    before = weights_digest(d)
    d._hub_mixin_config.pop("minibatch_std")  # a config written before the option existed
    assert weights_digest(d) == before
