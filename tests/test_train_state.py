import torch

from genlab.train.state import load_state, save_state


def test_state_round_trip_without_pickle(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    rng = torch.Generator().manual_seed(7)
    save_state(tmp_path / "state", {"m": model, "opt": opt, "rng": rng}, {"step": 3})
    expected_next = torch.randn(2, generator=rng)

    model2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-3)
    rng2 = torch.Generator()
    meta = load_state(tmp_path / "state", {"m": model2, "opt": opt2, "rng": rng2})
    assert meta["step"] == 3
    assert torch.equal(model.weight, model2.weight)
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], opt2.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(torch.randn(2, generator=rng2), expected_next)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".safetensors"]
