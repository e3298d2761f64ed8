import dataclasses
import json
import math

import torch

import genlab
from genlab.data import digits
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
    from genlab.eval import main as eval_main

    eval_main(["gan", str(out), "--samples", "100", "--baseline", str(out), "--baseline-run", str(run),
               "--write-card", str(run)])
    card = (out / "README.md").read_text()
    assert "class-consistency accuracy" in card and "without DiffAugment, same budget" in card
    assert "FID" in card and "floor" in card and "python -m genlab.train gan --preset tiny" in card

