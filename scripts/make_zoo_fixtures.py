"""Write the translator-import fixtures (tests/data/zoo/): random-weight state dicts in pytorch-CycleGAN-and-pix2pix's
key layout, made with the reference structure (scripts/zoo_reference.py), and the reference network's outputs.

    python scripts/make_zoo_fixtures.py

Each case is stored as ``<case>.safetensors`` (the state dict exactly as upstream's ``torch.save(net.state_dict())``
would hold it, plus the stale InstanceNorm running statistics the published CycleGAN files carry) and
``<case>.reference.safetensors``: ``x`` (an input in [-1, 1]), ``eval`` (the reference network in eval mode, loaded
the way upstream's BaseModel.load_networks loads it) and, for batch-norm nets, ``batch_stats`` (train mode with its
Dropout modules off: batch statistics only). tests/zoo_fixtures.py writes the .pth files back with torch.save.
Seeded: the same files on every run (float32, CPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "zoo"
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT / "tests")]
from zoo_fixtures import CASES  # noqa: E402  (the case table the tests read too)
from zoo_reference import define_G, load_like_upstream  # noqa: E402


def randomise(net: torch.nn.Module, seed: int) -> None:
    """Weights at their default (Kaiming) init from ``seed``; batch norms' affine and running statistics away from
    1/0, so a missing or misplaced one shows; outputs stay mostly inside tanh's range."""
    torch.manual_seed(seed)
    for m in net.modules():
        if hasattr(m, "reset_parameters") and not isinstance(m, torch.nn.BatchNorm2d):
            m.reset_parameters()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.3 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                m.num_batches_tracked.fill_(1000 + seed)


def stale_instance_norm_keys(net: torch.nn.Module, state: dict, seed: int) -> None:
    """What the published CycleGAN files hold for each InstanceNorm (written by PyTorch 0.3/0.4, when InstanceNorm kept
    running statistics): running_mean, running_var and num_batches_tracked, which upstream deletes on load."""
    gen = torch.Generator().manual_seed(100 + seed)
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.InstanceNorm2d):
            c = m.num_features
            state[f"{name}.running_mean"] = 0.1 * torch.randn(c, generator=gen)
            state[f"{name}.running_var"] = 1 + torch.rand(c, generator=gen)
            state[f"{name}.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    for case, (net_g, norm, drop, cin, cout, ngf, (h, w), seed) in CASES.items():
        net = define_G(cin, cout, ngf, net_g, norm, drop)
        randomise(net, seed)
        state = {k: v.clone().contiguous() for k, v in net.state_dict().items()}
        if norm == "instance":
            stale_instance_norm_keys(net, state, seed)
        ref = load_like_upstream(define_G(cin, cout, ngf, net_g, norm, drop), state).eval()
        x = torch.rand(1, cin, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        outputs = {"x": x}
        with torch.no_grad():
            outputs["eval"] = ref(x.clone())
            if norm == "batch":
                ref.train()
                for m in ref.modules():
                    if isinstance(m, torch.nn.Dropout):
                        m.eval()
                outputs["batch_stats"] = ref(x.clone())
        saturated = (outputs["eval"].abs() > 0.99).float().mean().item()
        save_file(state, str(OUT / f"{case}.safetensors"))
        save_file({k: v.contiguous() for k, v in outputs.items()}, str(OUT / f"{case}.reference.safetensors"))
        print(f"{case}: {net_g} {norm} dropout={drop} {cin}->{cout} {h}x{w}, {sum(v.numel() for v in state.values()):,} "
              f"numbers, eval output std {outputs['eval'].std():.3f}, {saturated:.1%} saturated")


if __name__ == "__main__":
    main()
