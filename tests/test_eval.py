import json

from genlab.eval import main


def test_eval_cli_prints_metrics(capsys):
    main(["gan", "mnist-cgan", "--samples", "200", "--json"])
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["mnist-cgan"]
    assert {"accuracy", "fid", "kid", "kid_std", "floor_fid", "floor_kid"} <= set(r)
    assert 0.9 <= r["accuracy"] <= 1 and r["fid"] > 0
