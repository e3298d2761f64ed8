import genlab
from genlab.train.__main__ import main as train_main


def test_vae_cli_writes_checkpoint_with_kl_ranking(tmp_path):
    out = tmp_path / "vae"
    train_main(["vae", "--preset", "tiny", "--out", str(out)])
    assert {"config.json", "model.safetensors", "README.md", "samples.png", "reconstructions.png"} <= {
        p.name for p in out.iterdir()
    }
    vae = genlab.load(str(out), model_type="vae", device=None)
    assert (vae.kl_per_dim > 0).any()  # measured on held-out digits and shipped with the weights
    card = (out / "README.md").read_text()
    assert "python -m genlab.train vae --preset tiny" in card and "negative ELBO" in card


def test_gaussian_likelihood_trains_calibrates_and_loads(tmp_path):
    """--likelihood gaussian: the released checkpoint carries its calibrated noise scale, the card says which
    likelihood its negative ELBO is under, and a config.json naming another likelihood is refused on load."""
    import json
    import math

    import pytest

    out = tmp_path / "vae"
    train_main(["vae", "--preset", "tiny", "--likelihood", "gaussian", "--out", str(out)])
    vae = genlab.load(str(out), model_type="vae", device=None)
    assert vae.likelihood == "gaussian" and 0.05 < math.exp(vae.log_sigma.item()) < 0.5
    card = (out / "README.md").read_text()
    assert "Gaussian, sigma" in card and "calibrated-decoder sigma-VAE" in card and "Bernoulli" not in card
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "likelihood": "laplace"}))
    with pytest.raises(genlab.CheckpointError, match="likelihood must be one of bernoulli, gaussian"):
        genlab.load(str(out), model_type="vae", device=None)


def test_min_sigma_is_bounded_and_needs_the_gaussian_likelihood(tmp_path, capsys):
    import pytest

    for flags, message in ((["--min-sigma", "0.1"], "add --likelihood gaussian"),
                           (["--likelihood", "gaussian", "--min-sigma", "2"], "between 0 and 1"),
                           (["--likelihood", "gaussian", "--min-sigma", "nan"], "between 0 and 1")):
        with pytest.raises(SystemExit):
            train_main(["vae", "--preset", "tiny", *flags, "--out", str(tmp_path / "vae")])
        assert message in capsys.readouterr().err
        assert not (tmp_path / "vae").exists()  # refused before any data is read or step is trained
