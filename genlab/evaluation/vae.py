"""A VAE checkpoint: reconstructions and their class agreement, ELBO terms, FID of prior samples."""

from __future__ import annotations


import torch

from ..datasets import ImageSet
from ..hub import load
from .common import MAX_REAL, feature_net_for, folder_for, real_floor
from .metrics import accuracy, fid_kid, memorisation, vae_metrics


MEMORISATION_SAMPLES = 2000  # prior samples whose nearest training image is looked up (as for the GAN cards)


def prior_sample_fid(vae, classifier, train: ImageSet, held_out: ImageSet, samples: int = 5000, seed: int = 0,
                     prior: str = "fitted", refine: int | None = None, floor: float | None = None,
                     with_memorisation: bool = True) -> dict:
    """FID/KID of ``samples`` decoded prior draws against the held-out images, the real floor (``floor`` when the
    caller has it) and the memorisation figures of the first 2,000 draws. The prior is the VAE's fitted mixture
    where it has one ("fitted", with the model's decode-encode passes unless ``refine`` says how many), or
    N(0, I) ("normal")."""
    with torch.no_grad():
        z = vae.sample_prior(samples, torch.Generator().manual_seed(seed), prior, refine=refine)
        fake = torch.cat([vae.decode(z[i : i + 500]) for i in range(0, samples, 500)])
    real = held_out.tensors(MAX_REAL)[0]
    out = {**fid_kid(real, fake, classifier),
           "floor_fid": real_floor(classifier, train, held_out)["fid"] if floor is None else floor}
    if with_memorisation:
        out["memorisation"] = memorisation(fake[:MEMORISATION_SAMPLES], train.tensors(20000)[0], real)
    return out


def reconstructions(vae, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Decoded posterior means of images x (N, C, R, R), in batches, without gradients."""
    with torch.no_grad():
        return torch.cat([vae.decode(vae.encode(x[i : i + batch])[0]) for i in range(0, len(x), batch)])


def reconstruction_memorisation(vae, train_x: torch.Tensor, held_x: torch.Tensor) -> dict:
    """memorisation() of the decoder's reconstructions of the held-out images, which it never saw: the reference a
    VAE's samples are held to. Decoding smooths, so even these sit nearer the training set than the images themselves
    (ratio below 1); prior samples that sit no nearer than they do are not drawing the training images back out."""
    return memorisation(reconstructions(vae, held_x), train_x, held_x)


def prior_fids(vae, classifier, train: ImageSet, held_out: ImageSet, samples: int = 5000, seed: int = 0) -> dict:
    """prior_sample_fid of the VAE's own prior (fid, kid, ..., memorisation), plus N(0, I)'s (fid_normal,
    kid_normal, ...) when the model has a fitted one, and the mixture's draws without the decode-encode passes
    (fid_unrefined, ..., memorisation_unrefined) when it has those; the floor is computed once."""
    out = prior_sample_fid(vae, classifier, train, held_out, samples, seed)
    out["prior"] = "fitted" if vae.prior_components else "normal"
    out["memorisation_reconstructions"] = reconstruction_memorisation(vae, train.tensors(20000)[0],
                                                                      held_out.tensors(MAX_REAL)[0])
    same = dict(floor=out["floor_fid"])
    if vae.prior_components:
        normal = prior_sample_fid(vae, classifier, train, held_out, samples, seed, prior="normal",
                                  with_memorisation=False, **same)
        out.update(fid_normal=normal["fid"], kid_normal=normal["kid"], kid_std_normal=normal["kid_std"])
    if vae.prior_components and vae.prior_refine:  # the mixture's own draws, for comparison with the refined ones
        plain = prior_sample_fid(vae, classifier, train, held_out, samples, seed, refine=0, **same)
        out.update(fid_unrefined=plain["fid"], kid_unrefined=plain["kid"], kid_std_unrefined=plain["kid_std"],
                   memorisation_unrefined=plain["memorisation"])
    return out


def reconstruction_accuracy(vae, classifier, held_out: ImageSet) -> float:
    """Share of held-out images whose reconstruction (decoding the posterior mean) the classifier reads as the
    image's own class: does the VAE keep what the image is?"""
    x, y = held_out.tensors(MAX_REAL)
    return accuracy(classifier, reconstructions(vae, x), y)


def evaluate_vae(name: str, data: str = "mnist", feature_net: str = "", samples: int = 5000, seed: int = 0) -> dict:
    """Held-out negative ELBO, reconstruction error, and (with a feature net) prior-sample FID/KID."""
    vae = load(name, model_type="vae", device="cpu")
    train, held_out = folder_for(vae, data)
    x = held_out.tensors(MAX_REAL)[0]
    out = vae_metrics(vae, x)
    out.pop("kl_per_dim")
    out["held_out"] = len(x)
    if feature_net or data == "mnist":
        classifier = feature_net_for(feature_net, data, vae)
        out.update(prior_fids(vae, classifier, train, held_out, samples, seed),
                   feature_net=feature_net or "mnist-classifier")
        if held_out.num_classes and (data == "mnist" or classifier.labels == held_out.class_names):
            out["recon_accuracy"] = reconstruction_accuracy(vae, classifier, held_out)
    return out
