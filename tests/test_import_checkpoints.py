"""`genlab import`: StyleGAN2-ADA / StyleGAN3 network pickles and DCGAN state dicts, read without running anything
from them, drawing the same pictures as the reference code.

The fixtures were written by the reference code itself (scripts/make_import_fixtures.py, run against
NVlabs/stylegan2-ada-pytorch, NVlabs/stylegan3 and pytorch/examples checkouts): random-weight generators at reduced
widths (and one with the published models' 512-d z/w and 8 mapping layers), pickled as NVIDIA's training loop
pickles them, and the reference's own outputs G(z, onehot(c), truncation_psi, noise_mode='const'). The repository
keeps them as safetensors + JSON; the ``foreign`` fixture writes the pickles and .pth files back for a session
(tests/import_fixtures.py).
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import genlab
from genlab.errors import CheckpointError
from genlab.formats import import_checkpoint, sha256
from genlab.formats.safe_pickle import UnsafePickleError, read_pickle
from genlab.tasks.sampling import SamplingError, latents, sample, sefa_directions

DATA = Path(__file__).parent / "data" / "import"
ROOT = Path(__file__).resolve().parent.parent
# fixture file -> (detected arch, genlab class)
FIXTURES = {
    "sg2_uncond_skip_32.pkl": ("stylegan2", "StyleGAN2Generator"),  # unconditional, 'skip', 32 px
    "sg2_cond_resnet_64.pkl": ("stylegan2", "StyleGAN2Generator"),  # 5 classes, 'resnet', 64 px, fp16 blocks
    "sg2_orig_grey_16.pkl": ("stylegan2", "StyleGAN2Generator"),  # 3 classes, 'orig', grey, 1 mapping layer
    "sg2_fullwidth_8.pkl": ("stylegan2", "StyleGAN2Generator"),  # 512-d z and w, 8 mapping layers
    "sg2_stylegan3repo_32.pkl": ("stylegan2", "StyleGAN2Generator"),  # stylegan3's StyleGAN2 (NGC's stylegan2-*.pkl)
    "sg3_t_32.pkl": ("stylegan3", "StyleGAN3Generator"),  # stylegan3-t
    "sg3_r_16.pkl": ("stylegan3", "StyleGAN3Generator"),  # stylegan3-r, 4 classes
    "dcgan_netG_epoch_24.pth": ("dcgan", "DCGANGenerator"),  # pytorch/examples dcgan
    "huggan_dcgan": ("huggan-dcgan", "DCGANGenerator"),  # HugGAN layout: pytorch_model.bin + config.json
}


def reference(source: str) -> dict[str, torch.Tensor]:
    stem = "dcgan_netG_epoch_24" if source == "huggan_dcgan" else source.split(".")[0]
    return load_file(str(DATA / f"{stem}.reference.safetensors"))


def cases(ref: dict) -> list[tuple[str, int, int | None, float, int]]:
    out = []
    for key in sorted({k.rsplit(".", 1)[0] for k in ref}):
        seed, label, psi, n = key.split("_")
        out.append((key, int(seed[4:]), None if label == "labelNone" else int(label[5:]), float(psi[3:]), int(n[1:])))
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory, foreign) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("imported")
    return {src: import_checkpoint(foreign / src, name=src.split(".")[0], out=out).folder for src in FIXTURES}


@pytest.mark.parametrize("source", list(FIXTURES))
def test_imported_generator_draws_the_reference_pictures(imported, source):
    g = genlab.load(str(imported[source]), model_type="gan", device=None)
    assert type(g).__name__ == FIXTURES[source][1]
    ref = reference(source)
    for key, seed, label, psi, n in cases(ref):
        z, _ = latents(g, seed=seed, label=label, n=n)
        assert torch.equal(z, ref[f"{key}.z"])  # the same latents as the reference was given
        img = sample(g, seed=seed, n=n, psi=psi, label=label)
        diff = (img - ref[f"{key}.image"]).abs().max().item()
        assert diff < 1e-3, f"{source} {key}: max abs difference {diff}"
        assert ref[f"{key}.image"].abs().max() > 0.05  # the comparison is not between two blank images


def test_detection_and_card(imported, foreign):
    card = (imported["sg2_cond_resnet_64.pkl"] / "README.md").read_text()
    assert sha256(foreign / "sg2_cond_resnet_64.pkl") in card
    assert "StyleGAN2" in card and "License-NC" in card and "genlab import" in card
    assert "float16" in card  # its two highest resolutions run in fp16 in the reference
    g = genlab.load(str(imported["sg2_cond_resnet_64.pkl"]), device=None)
    assert (g.num_classes, g.resolution, g.z_dim, g.w_dim) == (5, 64, 24, 40)
    assert "DCGAN" in (imported["huggan_dcgan"] / "README.md").read_text()


def test_full_width_mapping(imported):
    """The published models' widths: 512-d z and W, 8 mapping layers (parity is in the test above)."""
    g = genlab.load(str(imported["sg2_fullwidth_8.pkl"]), device=None)
    assert (g.z_dim, g.w_dim, g.mapping.layers) == (512, 512, 8)


def test_arch_override_must_match(tmp_path, foreign):
    with pytest.raises(CheckpointError, match="holds a stylegan2"):
        import_checkpoint(foreign / "sg2_uncond_skip_32.pkl", "x", tmp_path, arch="stylegan3")
    with pytest.raises(CheckpointError, match="already a genlab model"):
        import_checkpoint(ROOT / "checkpoints" / "mnist-cgan", "x", tmp_path)
    with pytest.raises(CheckpointError, match="exists already"):
        import_checkpoint(foreign / "sg3_r_16.pkl", "same", tmp_path)
        import_checkpoint(foreign / "sg3_r_16.pkl", "same", tmp_path)
    with pytest.raises(CheckpointError, match="--name"):
        import_checkpoint(foreign / "sg3_r_16.pkl", "../escape", tmp_path)


# --- Every GAN tool, in StyleGAN's own spaces -------------------------------------------------------------------


def test_truncation_is_about_w_avg_and_sefa_moves_in_w(imported):
    g = genlab.load(str(imported["sg2_uncond_skip_32.pkl"]), device=None)
    flat = sample(g, seed=0, n=3, psi=0.0)  # every image is w_avg's
    assert torch.allclose(flat[0], flat[2], atol=1e-5)
    assert torch.allclose(flat[0:1], g(g.mapping.w_avg[None], torch.zeros(1, dtype=torch.long)), atol=1e-5)
    d, ev = sefa_directions(g, 5)
    assert d.shape == (5, g.w_dim) and torch.allclose(d @ d.T, torch.eye(5), atol=1e-4)
    assert (ev[:-1] >= ev[1:]).all()
    base = sample(g, seed=1, n=2)
    moved = sample(g, seed=1, n=2, offsets=[3.0], directions=d)
    assert (moved - base).abs().mean() > 1e-3
    # the offset is added in W: the same as drawing w + 3 d directly
    w = g.code(latents(g, seed=1, n=2)[0], torch.zeros(2, dtype=torch.long))
    assert torch.allclose(moved, g(w + 3 * d[0], None), atol=1e-5)


def test_noise_modes(imported):
    g = genlab.load(str(imported["sg2_uncond_skip_32.pkl"]), device=None)
    const = sample(g, seed=2, n=2)
    random_a = sample(g, seed=2, n=2, noise_mode="random")
    assert not torch.allclose(const, random_a)
    assert torch.equal(random_a, sample(g, seed=2, n=2, noise_mode="random"))  # fixed by the seed
    assert not torch.allclose(const, sample(g, seed=2, n=2, noise_mode="none"))
    g3 = genlab.load(str(imported["sg3_t_32.pkl"]), device=None)
    with pytest.raises(SamplingError, match="no noise inputs"):
        sample(g3, seed=0, noise_mode="random")


def test_conditional_stylegan_classes(imported):
    g = genlab.load(str(imported["sg3_r_16.pkl"]), device=None)
    assert g.labels == ["0", "1", "2", "3"]
    a, b = sample(g, seed=0, n=1, label=0), sample(g, seed=0, n=1, label=3)
    assert not torch.allclose(a, b)
    with pytest.raises(SamplingError, match="no unconditional mode"):
        sample(g, seed=0, n=1, label=g.any_class)
    # a class blend of 1 towards class 3 is class 3's picture with the same z
    blended = sample(g, seed=0, n=1, label=0, class_amounts=[0, 0, 0, 1.0])
    assert torch.allclose(blended, b, atol=1e-5)


def test_attribute_sliders_fit_in_w(imported):
    from genlab.tasks.attributes import fit_attributes

    g = genlab.load(str(imported["sg2_uncond_skip_32.pkl"]), device=None)
    attrs = fit_attributes(g, None, samples=4 * g.w_dim + 64, eval_samples=32)
    assert attrs.directions.shape[1] == g.w_dim
    assert "size" in attrs.slider_names and attrs.effects is not None
    k = attrs.slider_names.index("brightness")
    own = attrs.effects[k, attrs.measures.index("brightness")]
    assert own > 0.1  # the fitted brightness direction brightens fresh samples


def test_projection_into_w_reduces_the_error(imported):
    from genlab.tasks.projection import project

    g = genlab.load(str(imported["sg2_uncond_skip_32.pkl"]), device=None)
    target = sample(g, seed=11, n=1).clamp(-1, 1)
    steps = list(project(g, target, steps=40, restarts=2, every=10))
    first, last = steps[0], steps[-1]
    assert last.z.shape == (g.w_dim,)
    assert last.mse < first.mse
    # the projected W is a start the sampler takes, and draws the projection
    img = sample(g, seed=0, n=2, start=(last.z, 0))
    assert torch.allclose(img[0:1], last.image, atol=1e-4)


def test_pixel_budget_bounds_big_grids():
    from genlab.models import StyleGAN2Generator

    g = StyleGAN2Generator(z_dim=4, w_dim=4, resolution=1024, channel_base=1024, channel_max=1, mapping_layers=1).eval()
    with pytest.raises(SamplingError, match="at most 1 megapixel"):
        sample(g, seed=0, n=2)


# --- Nothing in a file runs -------------------------------------------------------------------------------------


class _RunsCommand:
    """A pickle payload whose unpickling would run a shell command (pickle calls os.system with it)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_pickle_that_runs_a_command_is_refused_and_the_command_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "network-snapshot.pkl"
    evil.write_bytes(pickle.dumps({"G_ema": _RunsCommand(f"touch {marker}")}))
    with pytest.raises(UnsafePickleError, match=r"(posix|os)\.system"):
        read_pickle(evil)
    with pytest.raises(CheckpointError, match="system"):
        import_checkpoint(evil, "evil", tmp_path / "out")
    cli = subprocess.run([sys.executable, "-m", "genlab", "import", str(evil), "--name", "evil", "--out",
                          str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 1 and "system" in cli.stderr and "nothing in it was run" in cli.stderr
    # the same payload in a .pth: torch.load(weights_only=True) refuses it
    evil_pth = tmp_path / "netG_epoch_1.pth"
    evil_pth.write_bytes(_torch_save({"main.0.weight": torch.zeros(1), "x": _RunsCommand(f"touch {marker}")}))
    with pytest.raises(CheckpointError, match="weights_only"):
        import_checkpoint(evil_pth, "evil2", tmp_path / "out")
    assert not marker.exists()


def _torch_save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _call(module: str, name: str, *args: bytes) -> bytes:
    """Pickle opcodes for module.name(*args) (each arg already opcodes): written by hand, so the test process never
    has to import or fake the names a hostile file asks for."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n(" + b"".join(args) + b"tR"


def _value(x) -> bytes:
    return pickle.dumps(x, protocol=3)[2:-1]  # a value's opcodes, without the header and STOP (3: no frames)


def _pickle_file(path: Path, body: bytes) -> Path:
    path.write_bytes(b"\x80\x03" + body + b".")
    return path


def test_embedded_source_code_is_never_executed(tmp_path):
    """NVIDIA's pickles carry their own module source, which their loader runs; a file whose source would write a
    marker at import is read as a record (its state kept, its source never compiled)."""
    marker = tmp_path / "ran"
    meta = {"type": "class", "version": 4, "class_name": "Generator",
            "module_src": f"open({str(marker)!r}, 'w').write('ran')\nclass Generator: pass\n",
            "state": {"_parameters": {}, "_buffers": {}, "_modules": {}, "_init_kwargs": {"z_dim": 4}}}
    body = b"}X\x05\x00\x00\x00G_ema" + _call("torch_utils.persistence", "_reconstruct_persistent_obj",
                                                 _value(meta)) + b"s"
    path = _pickle_file(tmp_path / "source.pkl", body)
    data = read_pickle(path)
    assert data["G_ema"].class_name == "Generator" and data["G_ema"].init_kwargs == {"z_dim": 4}
    with pytest.raises(CheckpointError, match="not a StyleGAN2-ADA or StyleGAN3"):
        import_checkpoint(path, "src", tmp_path / "out")
    assert not marker.exists()


def test_truncated_and_lying_pickles_are_refused(tmp_path, foreign):
    data = (foreign / "sg3_r_16.pkl").read_bytes()
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        import_checkpoint(cut, "cut", tmp_path / "out")
    not_pickle = tmp_path / "text.pkl"
    not_pickle.write_text("hello")
    with pytest.raises(CheckpointError, match="not a pickle"):
        read_pickle(not_pickle)
    # a tensor whose shape (1000 x 1000) reaches past its 4-element storage is refused before it is made
    blob = io.BytesIO()
    with warnings.catch_warnings():  # TypedStorage is deprecated; it is what a pickled tensor's storage is
        warnings.simplefilter("ignore")
        torch.save(torch.zeros(4).storage(), blob, _use_new_zipfile_serialization=False)
    storage = _call("torch.storage", "_load_from_bytes", _value(blob.getvalue()))
    tensor = _call("torch._utils", "_rebuild_tensor_v2", storage, _value(0), _value((1000, 1000)),
                   _value((1000, 1)), _value(False), _value({}))
    with pytest.raises(UnsafePickleError, match="reaches past its storage"):
        read_pickle(_pickle_file(tmp_path / "lie.pkl", tensor))
    # a name outside the table, however harmless it looks, is refused by name
    with pytest.raises(UnsafePickleError, match="builtins.getattr"):
        read_pickle(_pickle_file(tmp_path / "getattr.pkl", _call("builtins", "getattr", _value(1), _value("real"))))


def test_hostile_config_values_are_bounded_before_building(tmp_path):
    """A pickle whose constructor arguments ask for a giant network is refused on the meta device."""
    from genlab.formats import build

    with pytest.raises(CheckpointError, match="resolution"):
        build("stylegan2", {"z_dim": 8, "c_dim": 0, "w_dim": 8, "resolution": 4096, "image_channels": 3,
                            "mapping_layers": 2}, {})
    with pytest.raises(CheckpointError, match="weights"):
        build("stylegan2", {"z_dim": 1024, "c_dim": 0, "w_dim": 1024, "resolution": 1024, "image_channels": 3,
                            "mapping_layers": 16, "channel_base": 2**20, "channel_max": 4096}, {})


def test_the_page_draws_small_imports_and_says_why_not_big_ones(imported, monkeypatch):
    """The in-page generator takes an imported model within its compute budget (the exported graph adds w_avg back
    to the page's centred codes); over it, the page's note gives the model's GFLOP per image."""
    import genlab.web as web
    from genlab.ui.common import with_graph

    g = genlab.load(str(imported["sg2_uncond_skip_32.pkl"]), device=None)
    assert web.gflop_per_image(g) < 0.01
    spec = web.gan_spec(g, seed=3, label=None, directions=sefa_directions(g, 2)[0])
    assert spec["latent_dim"] == g.w_dim and spec["embed_dim"] == 1
    codes = torch.frombuffer(bytearray(__import__("base64").b64decode(spec["z"])), dtype=torch.float32).view(64, -1)
    z, labels = latents(g, seed=3, n=64)
    assert torch.allclose(codes, g.code(z, labels) - g.mapping.w_avg, atol=1e-6)  # relative to w_avg
    assert with_graph({}, g)["onnx"]
    monkeypatch.setattr(web, "MAX_PAGE_GFLOP", 0.001)
    big = genlab.load(str(imported["sg2_cond_resnet_64.pkl"]), device=None)
    reason = with_graph({}, big)["reason"]
    assert "GFLOP per image" in reason and "server draws it" in reason
