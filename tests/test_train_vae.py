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
