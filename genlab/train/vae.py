"""Training loop for the convolutional VAE.

    python -m genlab.train vae --preset mnist-vae                          # the shipped digits model
    python -m genlab.train vae --data my_photos/ --resolution 64 --channels 3 --name my-vae

The held-out split gives the card's negative ELBO, reconstruction error, FID/KID of prior
samples (with a feature net) and the per-dimension KL the app ranks dimensions by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from pathlib import Path

import torch

from ..evaluation.cards import card_license, data_lines
from ..errors import DatasetError
from ..hub import CONFIG_BOUNDS
from ..evaluation.common import MAX_REAL, feature_net_for
from ..evaluation.vae import prior_fids, reconstruction_accuracy
from ..datasets.base import random_hflip
from ..images import to_pil_grid
from ..evaluation.metrics import vae_metrics
from ..models.vae import LIKELIHOODS, ConvVAE, calibrate_sigma, negative_elbo
from .common import CommonConfig, Run
from .report import write_card


@dataclass
class VAETrainConfig(CommonConfig):
    name: str = "mnist-vae"  # checkpoint name: writes checkpoints/<name>
    steps: int = 5250  # optimizer steps (150 epochs of the 4,500 digits at batch 128)
    batch_size: int = 128  # images per step
    lr: float = 1e-3  # Adam, cosine decay to 0
    latent_dim: int = 16  # size of z
    vae_channels: int = 32  # first conv width; doubled per octave
    hidden: int = 256  # fully connected width around z
    beta: float = 1.0  # KL weight; 1 = plain ELBO
    eval_samples: int = 5000  # prior samples for FID/KID (0 skips)
    feature_net: str = ""  # classifier for FID/KID; default mnist-classifier on digits, none on folders
    mixed_precision: str = "no"  # the ELBO's sums want float32 (bf16 is offered, not the default)
    prior_components: str = "1,5,10,20,40"  # ex-post prior: mixture sizes to choose from by held-back likelihood ("10": fixed; "0": N(0, I) only)
    prior_refine: int = 0  # decode -> encode passes applied to each fitted-prior draw (0-20; 0: the mixture's draws as they are)
    prior_rank: int = 0  # fit the mixture in the codes' leading principal directions (1 to latent size; 0: all of them)
    upsample: str = "transposed"  # decoder upsampling: "transposed" (4x4 stride-2) or "nearest" (2x nearest + 3x3 conv)
    hflip: bool = False  # mirror a random half of each batch left-right (twice the images; off where mirrored images are wrong)
    likelihood: str = "bernoulli"  # p(x|z): "bernoulli" (cross-entropy) or "gaussian" (sigma-VAE: one variance, calibrated)
    min_sigma: float = 0.0  # gaussian only: the training noise scale's floor on [0, 1] intensities (0-1; 0: the batch's own)
    CHOICES: ClassVar[dict] = {"upsample": ("transposed", "nearest"), "likelihood": LIKELIHOODS}  # the CLI refuses other words
    refit: str = ""  # a VAE checkpoint folder: fit only its ex-post prior on --data (no training), rewrite its weights, samples and card section


PRESETS = {
    "mnist-vae": VAETrainConfig(),
    # The OpenMoji emoji (python -m genlab data emoji is made on first use), colour, a wider latent than the digits'
    "emoji-vae": VAETrainConfig(name="emoji-vae", data="emoji", resolution=64, channels=3, steps=6000, batch_size=64,
                                latent_dim=32, hidden=256, sample_every=1000, feature_net="emoji-classifier",
                                # K = 40 in the codes' 12 leading principal directions, 8 decode-encode passes per
                                # draw. Chosen by FID vs the TRAINING images (mean of 3 x 2,000 samples) among the
                                # settings whose samples are no nearer the training set than the decoder's
                                # reconstructions of the held-out emoji are (memorisation ratio >= 0.851): K=40, rank
                                # 12, 8 passes 253.9 (0.893); 4 passes 264.9 (0.895); rank 8 + 8 passes 271.3 but
                                # 0.843; all 32 directions, K=20 + 4 passes 430.9 (1.001; one set).
                                # benchmarks/vae_prior_choice.py; docs/models.md "VAE priors".
                                prior_components="40", prior_refine=8, prior_rank=12),
    "tiny": VAETrainConfig(name="tiny-vae", steps=35, eval_samples=0, sample_every=35, prior_components="4"),
}


def components(cfg: VAETrainConfig) -> tuple[int, ...]:
    """--prior-components as numbers: () for none."""
    try:
        ks = tuple(int(k) for k in cfg.prior_components.split(",") if k.strip())
    except ValueError:
        raise DatasetError(f"--prior-components must be comma-separated whole numbers, got {cfg.prior_components!r}")
    if any(not 0 <= k <= 256 for k in ks):
        raise DatasetError(f"--prior-components must be between 0 and 256, got {cfg.prior_components!r}")
    return tuple(k for k in ks if k)


def refine_passes(cfg: VAETrainConfig) -> int:
    """--prior-refine, checked: 0 to ConvVAE.MAX_REFINE."""
    if not (isinstance(cfg.prior_refine, int) and 0 <= cfg.prior_refine <= ConvVAE.MAX_REFINE):
        raise DatasetError(f"--prior-refine must be a whole number from 0 to {ConvVAE.MAX_REFINE}, "
                           f"got {cfg.prior_refine!r}")
    return cfg.prior_refine


def prior_rank(cfg: VAETrainConfig, latent_dim: int | None = None) -> int:
    """--prior-rank, checked: 0 (all directions) to the latent size (the model's, for --refit)."""
    latent_dim = cfg.latent_dim if latent_dim is None else latent_dim
    if not (isinstance(cfg.prior_rank, int) and 0 <= cfg.prior_rank <= latent_dim):
        raise DatasetError(f"--prior-rank must be a whole number from 0 (all directions) to the latent size "
                           f"({latent_dim}), got {cfg.prior_rank!r}")
    return cfg.prior_rank


def release_prior(model: ConvVAE, train, cfg: VAETrainConfig, run: Run) -> tuple[ConvVAE, dict]:
    """Fit the ex-post prior on the training images' codes (see train/prior.py); log what was chosen."""
    from .prior import fit_prior, with_refine

    ks = components(cfg)
    passes = refine_passes(cfg)
    if not ks:
        return model, {}
    x_train = train.tensors(20000)[0]  # (N, C, R, R): the codes of up to 20,000 training images
    ks = tuple(k for k in ks if k <= max(1, len(x_train) // 10)) or (1,)  # >= 10 codes per component
    model, report = fit_prior(model, x_train, ks if len(ks) > 1 else ks[0], cfg.seed,
                              rank=prior_rank(cfg, model.latent_dim))
    model = with_refine(model, passes)
    report["refine"] = passes
    run.print(f"prior: a {report['components']}-component Gaussian mixture on {report['codes']} training codes"
              + (f" in their {report['rank']} leading principal directions" if report["rank"] else "")
              + (f" (held-back log-likelihood by K: {report['held_back_log_likelihood']})"
                 if report["held_back_log_likelihood"] else "")
              + (f"; each draw then takes {passes} decode-encode passes" if passes else ""))
    return model, report


def refit_prior(cfg: VAETrainConfig, command: str | None = None):
    """--refit CHECKPOINT: the same prior fit as at the end of training, on an already trained VAE."""
    from ..hub import load

    run = Run(cfg, "vae", command)
    train, held_out = run.data()
    model = load(cfg.refit, model_type="vae", device="cpu").float().eval()
    model, report = release_prior(model, train, cfg, run)
    out = Path(cfg.refit)
    model.save_pretrained(out)
    metrics = {}
    feature_net = cfg.feature_net or ("mnist-classifier" if cfg.data == "mnist" else "")
    if cfg.eval_samples and feature_net:
        metrics = prior_fids(model, feature_net_for(feature_net, cfg.data, model), train, held_out,
                             cfg.eval_samples, cfg.seed)
    write_prior_samples(model, out, cfg.seed)
    update_prior_section(out, prior_text(report, metrics, cfg, run.command))
    run.print(f"wrote the prior into {out}: {report} {metrics}")
    return out


def write_prior_samples(model: ConvVAE, out, seed: int) -> None:
    """samples.png: 100 draws of the model's own prior; with a fitted one, samples_normal.png: N(0, I); with
    decode-encode passes, samples_unrefined.png: the same mixture draws without them."""
    pngs = {"samples.png": ("fitted", None), "samples_normal.png": ("normal", None)} if model.prior_components else \
        {"samples.png": ("normal", None)}
    if model.prior_components and model.prior_refine:
        pngs["samples_unrefined.png"] = ("fitted", 0)
    with torch.no_grad():
        for name, (prior, refine) in pngs.items():
            z = model.sample_prior(100, torch.Generator().manual_seed(seed), prior, refine=refine)
            to_pil_grid(model.decode(z), nrow=10).save(Path(out) / name)


def prior_text(report: dict, m: dict, cfg: VAETrainConfig, command: str) -> str:
    """The card's prior section: what was fitted, how it was chosen, and the FID of both priors."""
    if not report:
        return "Prior samples come from N(0, I) (no ex-post prior fitted: --prior-components 0)."
    rank = report.get("rank", 0)
    where = (f" along their {rank} leading principal directions (the mixture lives in that subspace; every other "
             "direction stays at the codes' mean, up to the covariances' small ridge)" if rank else "")
    lines = [f"A {report['components']}-component full-covariance Gaussian mixture fitted by EM to the posterior "
             f"means of the {report['codes']} training images (Ghosh et al. 2020){where}, stored in the checkpoint "
             "(`prior_weights`, `prior_means`, `prior_scale_tril`); 'Random from prior', the prior samples and the "
             "prior FID use it, and N(0, I) stays available for comparison."]
    if report["held_back_log_likelihood"]:
        scores = ", ".join(f"K={k}: {v:.2f}" for k, v in report["held_back_log_likelihood"].items())
        lines.append(f"K was chosen by the mean log-likelihood of a held-back fifth of the training codes ({scores}); "
                     "the evaluation split is never used for the choice.")
    passes = report.get("refine", 0)
    if passes:
        lines.append(f"Each mixture draw then takes {passes} decode-encode passes, z <- mu(decode(z)) (the Markov chain "
                     "of Creswell et al. 2016): a draw that falls between clusters of codes, where the decoder blends "
                     "two images into a blotch, moves to where the encoder puts an image like the one it decodes "
                     f"to. The checkpoint's `prior_refine` = {passes} sets it; `sample_prior(n, refine=0)` skips it.")
    if "fid" in m:
        def mem(d):
            return f"{d['ratio']:.3f}" if d else ""
        fitted = f"fitted mixture + {passes} passes" if passes else "fitted mixture"
        lines += ["", "| prior | FID | FID / floor | KID | memorisation ratio |", "|---|---:|---:|---:|---:|",
                  f"| {fitted} | {m['fid']:.2f} | {m['fid'] / m['floor_fid']:.2f}x | {m['kid']:.4f} ± "
                  f"{m['kid_std']:.4f} | {mem(m.get('memorisation'))} |"]
        if "fid_unrefined" in m:
            lines.append(f"| fitted mixture, no passes | {m['fid_unrefined']:.2f} | "
                         f"{m['fid_unrefined'] / m['floor_fid']:.2f}x | {m['kid_unrefined']:.4f} ± "
                         f"{m['kid_std_unrefined']:.4f} | {mem(m.get('memorisation_unrefined'))} |")
        if "fid_normal" in m:
            lines.append(f"| N(0, I) | {m['fid_normal']:.2f} | {m['fid_normal'] / m['floor_fid']:.2f}x | "
                         f"{m['kid_normal']:.4f} ± {m['kid_std_normal']:.4f} | |")
        ref = m.get("memorisation_reconstructions")
        if ref:
            lines.append(f"| (reference) the decoder's reconstructions of the held-out images | | | | {mem(ref)} |")
        lines.append(f"\n{cfg.eval_samples} samples each (seed {cfg.seed}) against the held-out images; real floor "
                     f"(train vs held-out) {m['floor_fid']:.2f}. Memorisation ratio: the median distance from the first "
                     f"{min(2000, cfg.eval_samples):,} samples to their nearest training image over the same for the held-out images (below 1: "
                     "samples sit nearer the training set than new real images do)."
                     + (" Decoding smooths, so even the reconstructions of images the VAE never saw sit nearer the "
                        f"training set ({ref['ratio']:.3f}); samples at or above that are not drawing training images "
                        "back out." if ref else ""))
    lines.append(f"\nFitted by: `{command}`. Samples from the fitted prior: ![samples](samples.png) "
                 + ("the same mixture draws without the passes: ![samples without the passes](samples_unrefined.png) "
                    if passes else "")
                 + "from N(0, I), same seeds: ![samples from N(0, I)](samples_normal.png)")
    return "\n".join(lines)


PRIOR_HEADING = "## Prior"


def update_prior_section(out, text: str) -> None:
    """Put ``text`` under the card's "## Prior" heading (replacing an older one), before "## Samples"."""
    card = Path(out) / "README.md"
    body = card.read_text()
    nl = chr(10)
    section = f"{PRIOR_HEADING}{nl}{nl}{text}{nl}{nl}"
    if PRIOR_HEADING + nl in body:
        start = body.index(PRIOR_HEADING + nl)
        nxt = body.find(nl + "## ", start + len(PRIOR_HEADING))
        body = body[:start] + section + (body[nxt + 1 :] if nxt >= 0 else "")
    elif nl + "## Samples" in body:
        i = body.index(nl + "## Samples") + 1
        body = body[:i] + section + body[i:]
    else:
        body = body.rstrip(nl) + nl + nl + section
    card.write_text(body)


def train_vae(cfg: VAETrainConfig, command: str | None = None):
    # refuse bad prior flags before any data is read or step is trained (--refit: the rank against the checkpoint's latent)
    components(cfg), refine_passes(cfg), prior_rank(cfg, CONFIG_BOUNDS["latent_dim"] if cfg.refit else None)
    if not 0.0 <= cfg.min_sigma <= 1.0:
        raise DatasetError(f"--min-sigma must be between 0 and 1 (a noise scale on [0, 1] intensities), got {cfg.min_sigma}")
    if cfg.min_sigma and cfg.likelihood != "gaussian":
        raise DatasetError("--min-sigma sets the Gaussian decoder's noise floor; add --likelihood gaussian")
    if cfg.refit:
        return refit_prior(cfg, command)
    run = Run(cfg, "vae", command)
    train, held_out = run.data()
    torch.manual_seed(cfg.seed)
    order = run.order()
    vae = ConvVAE(latent_dim=cfg.latent_dim, channels=cfg.vae_channels, hidden=cfg.hidden, beta=cfg.beta,
                  image_channels=cfg.channels, resolution=cfg.resolution, preprocess=run.preprocess,
                  upsample=cfg.upsample, likelihood=cfg.likelihood)
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    vae, opt = run.accelerator.prepare(vae, opt)
    model = run.accelerator.unwrap_model(vae)
    objects = {"vae": model, "opt": opt, "sched": sched, "order": order}
    step = run.resume(objects)
    x_eval = held_out.tensors(2000)[0].to(run.device)  # for the curve and the preview
    show = x_eval[:50]
    fixed_z = torch.randn(100, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(run.device)

    def preview(path):
        model.eval()
        with torch.no_grad():
            recon = model.decode(model.encode(show)[0])
            pairs = torch.stack([show, recon], 1).flatten(0, 1)  # original, reconstruction, ...
            to_pil_grid(torch.cat([pairs, model.decode(fixed_z[:50])]), nrow=10).save(path)

    batches = run.counted(train.batches(cfg.batch_size, order, run.device, cfg.workers))
    run.start(step)
    while step < cfg.steps:
        vae.train()
        x, _ = next(batches)  # (B, C, R, R) in [-1, 1]
        if cfg.hflip:
            x = random_hflip(x, order)
        loss = negative_elbo(vae, x, min_variance=cfg.min_sigma ** 2)[0].mean()  # reconstruction + beta * KL, nats/image
        opt.zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        opt.step()
        sched.step()
        step += 1
        run.log(step, **{"train loss": loss})
        if run.should_stop(step, objects, preview):  # --minutes, or the job's Stop: saved, released
            break
        if run.due(step):
            run.save(objects, step, preview)
    meta = run.finish(step)
    if not run.accelerator.is_main_process:
        return run.out

    # --- Release: weights with the held-out KL per dimension, samples, card ---
    model = model.float().cpu().eval()
    x_eval = held_out.tensors(MAX_REAL)[0]
    sigma = calibrate_sigma(model, train.tensors(MAX_REAL)[0]) if model.likelihood == "gaussian" else None
    metrics = vae_metrics(model, x_eval)
    if sigma is not None:
        metrics["sigma"] = sigma
    model.kl_per_dim.copy_(metrics.pop("kl_per_dim"))  # ships with the weights
    model, prior_report = release_prior(model, train, cfg, run)
    model.save_pretrained(run.out)
    write_prior_samples(model, run.out, cfg.seed)
    with torch.no_grad():
        show = x_eval[:50]
        labels = held_out.labels[: len(x_eval)]
        if 1 < held_out.num_classes <= 10:  # one row per class: its first 5 held-out images and their reconstructions
            show = torch.cat([x_eval[torch.nonzero(labels == c)[:5, 0]] for c in range(held_out.num_classes)])
        recon = model.decode(model.encode(show)[0])
        to_pil_grid(torch.stack([show, recon], 1).flatten(0, 1), nrow=10).save(run.out / "reconstructions.png")
    feature_net = cfg.feature_net or ("mnist-classifier" if cfg.data == "mnist" else "")
    if cfg.eval_samples and feature_net:
        classifier = feature_net_for(feature_net, cfg.data, model)
        metrics.update(prior_fids(model, classifier, train, held_out, cfg.eval_samples, cfg.seed),
                       feature_net=feature_net)
        if held_out.num_classes and classifier.labels == held_out.class_names:
            metrics["recon_accuracy"] = reconstruction_accuracy(model, classifier, held_out)
    metrics["held_out"] = len(x_eval)
    _write_card(run.out, cfg, metrics, meta)
    update_prior_section(run.out, prior_text(prior_report, metrics, cfg, meta["command"]))
    run.print(f"wrote {run.out} ({run.elapsed:.0f} s of training): {metrics}")
    return run.out


def likelihood_words(m: dict) -> str:
    """The card's name for the reconstruction term."""
    if "sigma" in m:
        return f"Gaussian, sigma {m['sigma']:.4f} calibrated on the training images"
    return "Bernoulli cross-entropy"


def likelihood_note(m: dict) -> str:
    """What the card's negative ELBO is, for the likelihood the model was trained with."""
    if "sigma" in m:
        return ("The likelihood is a Gaussian per pixel and channel around the decoded intensities in [0, 1], with "
                f"one variance (sigma = {m['sigma']:.4f}, the training images' mean squared error: the calibrated-"
                "decoder sigma-VAE), one reparameterised sample per image; as a density on continuous intensities "
                "its negative ELBO can be below 0 and is comparable only with other Gaussian-likelihood VAEs.")
    return ("The likelihood is an independent Bernoulli per pixel on grey-level intensities (not binarised), one "
            "reparameterised sample per image, so the negative ELBO (summed over pixels and colour channels) is an "
            "upper bound on -log p(x) in nats, comparable across genlab VAEs but not with binarised-MNIST NLLs.")


def _write_card(out, cfg: VAETrainConfig, m: dict, meta: dict) -> None:
    digits = cfg.data == "mnist"
    what = "digits" if digits else "images"
    rows = [
        f"| negative ELBO (beta = 1), nats per image | {m['neg_elbo']:.2f} |",
        f"| of which reconstruction ({likelihood_words(m)}) | {m['reconstruction_nats']:.2f} |",
        f"| of which KL from the posterior to the prior N(0, I) | {m['kl_nats']:.2f} |",
        f"| reconstruction MSE per pixel, intensities in [0, 1] (decoding the mean) | {m['mse']:.4f} |",
    ]
    if "recon_accuracy" in m:
        rows.append(f"| reconstructions the classifier reads as the original's class | {m['recon_accuracy']:.2%} |")
    if "fid" in m:
        rows += [
            f"| FID of {cfg.eval_samples} prior samples (features of `{m['feature_net']}`; the {('fitted mixture' + (f' + {cfg.prior_refine} decode-encode passes' if cfg.prior_refine else '')) if m.get('prior') == 'fitted' else 'N(0, I)'} prior) | {m['fid']:.2f} |",
            f"| KID of prior samples (features scaled to unit RMS) | {m['kid']:.4f} ± {m['kid_std']:.4f} |",
        ]
        if "fid_normal" in m:
            rows.append(f"| FID of {cfg.eval_samples} samples from N(0, I) instead | {m['fid_normal']:.2f} |")
    floor = f" (the real-vs-real floor, train vs held-out, is {m['floor_fid']:.2f})" if "fid" in m else ""
    write_card(
        out,
        license=card_license(meta),
        title=f"genlab {cfg.name}",
        summary=f"Convolutional VAE for {cfg.resolution}x{cfg.resolution} {'grey' if cfg.channels == 1 else 'colour'} "
        f"{what}: encode an image, interpolate in latent space, traverse single dimensions. Load with "
        "`genlab.load(...)`.",
        tags=["vae", "image-generation"] + (["mnist"] if digits else []),
        sections={
            "Training": f"""
- Command: `{meta["command"]}`
{data_lines(meta)}
- {cfg.steps} steps x batch {cfg.batch_size}; Adam {cfg.lr}, cosine decay; latent {cfg.latent_dim}, beta {cfg.beta}{"; Gaussian likelihood, one calibrated variance (sigma-VAE)" if cfg.likelihood == "gaussian" else ""}
- Wall time: {meta["elapsed_s"]:.0f} s of training on {meta["machine"]}
""",
            "Results": f"""
On the {m['held_out']} held-out {what} (never trained on). {likelihood_note(m)} FID/KID use a genlab classifier's penultimate features against the
held-out {what}{floor}.

| metric | value |
|---|---|
{chr(10).join(rows)}
""",
            "Samples": "Prior samples: ![samples](samples.png)\n\n"
            f"Held-out {what} and reconstructions (pairs{', one row per class' if (meta.get('data') or {}).get('class_names') else ''}): ![reconstructions](reconstructions.png)\n\n"
            "![loss](loss_curve.png)",
        },
    )
