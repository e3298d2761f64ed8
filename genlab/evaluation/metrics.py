"""FID/KID with the project's own feature nets, class accuracy, paired and VAE metrics.

The feature net is a genlab classifier trained on the same data: the shipped
``mnist-classifier`` for digits, ``python -m genlab.train classifier --data DIR`` for a folder.
Its penultimate layer replaces Inception, so metrics run offline and measure the data at
hand. Numbers are therefore comparable across genlab checkpoints on the same data, not with
published Inception-FIDs.
"""

from __future__ import annotations

import warnings
import weakref

import torch
from torch import nn

from ..models import ImageClassifier, Generator
from ..tasks.sampling import draw


class FeatureNet(nn.Module):
    """What torchmetrics' FID/KID call as their "feature" network: here, rows of features computed already
    (``features_of``), scaled. One pass of the classifier then serves FID, KID and accuracy."""

    def __init__(self, num_features: int, scale: float = 1.0):
        super().__init__()
        self.num_features = num_features
        self.scale = scale  # features are multiplied by this

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return f * self.scale  # (B, num_features)


# (classifier, images) -> their features, kept while both live and neither has changed: the held-out images
# are scored against many sample sets (the real floor, every direction, the identity baseline), and a
# classifier pass over them is most of an evaluation's time on a CPU.
_FEATURES: dict[tuple, tuple] = {}


def _weights_version(classifier: nn.Module) -> int:
    return sum(p._version for p in classifier.parameters())  # in-place updates (an optimizer step) bump it


@torch.no_grad()
def features_of(classifier: ImageClassifier, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """The classifier's penultimate features (N, feature_dim) of images (N, C, H, W) in [-1, 1], in batches
    of ``batch``; remembered for the same images tensor and the same (unchanged) classifier."""
    key = (id(classifier), id(images))
    hit = _FEATURES.get(key)
    state = (images._version, _weights_version(classifier), batch)
    if hit is not None and hit[0]() is classifier and hit[1]() is images and hit[2] == state:
        return hit[3]
    classifier.eval()
    f = torch.cat([classifier.features(images[i : i + batch].float()) for i in range(0, len(images), batch)])
    try:
        _FEATURES[key] = (weakref.ref(classifier), weakref.ref(images), state, f)
        weakref.finalize(images, _FEATURES.pop, key, None)
    except TypeError:  # not weak-referenceable: just not remembered
        pass
    return f


@torch.no_grad()
def predict(classifier: ImageClassifier, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Predicted labels (N,) for images (N, C, H, W) in [-1, 1] (from the same features FID uses)."""
    return classifier.head(features_of(classifier, images, batch)).argmax(1)


def accuracy(classifier: ImageClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images the classifier labels as ``labels``."""
    return (predict(classifier, images) == labels.to(images.device)).float().mean().item()


@torch.no_grad()
def fid_kid(real: torch.Tensor, fake: torch.Tensor, classifier: ImageClassifier, batch: int = 500) -> dict[str, float]:
    """FID and KID (mean, std over subsets) between two image sets in [-1, 1].

    KID's polynomial kernel (x.y/d + 1)^3 assumes features of order 1; the classifier's are
    about 5 (RMS), which makes KID's variance explode. KID therefore sees the features
    divided by their RMS over ``real`` (FID is scale-aware as is and uses them raw).
    Each image set goes through the classifier once, for both metrics.
    """
    f_real, f_fake = features_of(classifier, real, batch), features_of(classifier, fake, batch)
    rms = f_real[:1000].pow(2).mean().sqrt().item()
    # torchmetrics is imported here, not at the top: it pulls in torchvision and scipy (6 s here), which every
    # training run (and the Train tab's jobs) would otherwise pay at start-up
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    fid = FrechetInceptionDistance(feature=FeatureNet(classifier.feature_dim), normalize=True)
    with warnings.catch_warnings():  # "KID will save all extracted features": yes, a few thousand 128-d rows
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(
            feature=FeatureNet(classifier.feature_dim, 1 / rms), normalize=True,
            subset_size=min(500, len(real), len(fake)),
        )
    for metric in (fid, kid):
        for i in range(0, len(f_real), batch):
            metric.update(f_real[i : i + batch], real=True)
        for i in range(0, len(f_fake), batch):
            metric.update(f_fake[i : i + batch], real=False)
    with torch.random.fork_rng(devices=[]):  # KID's random subsets, fixed without touching global RNG
        torch.manual_seed(0)
        kid_mean, kid_std = kid.compute()
    return {"fid": fid.compute().item(), "kid": kid_mean.item(), "kid_std": kid_std.item()}


def sampling_psi(g: Generator, psi: float | None = None) -> float:
    """The truncation to sample at: ``psi`` if given, else the model's default (config ``psi``; 1: none)."""
    return float(getattr(g, "psi", 1.0) if psi is None else psi)


@torch.no_grad()
def generate(g: Generator, n: int, seed: int = 0, batch: int = 500,
             psi: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """n conditional samples, classes balanced (0, 1, ..., 9, 0, ...): (images, labels), with z scaled by ``psi``
    (default: the model's own truncation, as the app draws).

    An unconditional model (num_classes 0) samples with its "any class" label."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % g.num_classes if g.num_classes else torch.full((n,), g.any_class)
    z = torch.randn(n, g.latent_dim, generator=gen)
    device = next(g.parameters()).device
    g.eval()
    images = torch.cat([draw(g, z[i : i + batch].to(device), labels[i : i + batch].to(device), sampling_psi(g, psi)).cpu()
                        for i in range(0, n, batch)])
    return images, labels


def evaluate_generator(g: Generator, classifier: ImageClassifier, real: torch.Tensor, n: int = 5000, seed: int = 0,
                       real_labels: torch.Tensor | None = None, psi: float | None = None) -> dict:
    """Class-consistency accuracy of n conditional samples and FID/KID against ``real``; with ``real_labels``
    also the within-class spread of the samples (``class_spread``). ``psi``: the truncation (default: the
    model's own), recorded in the result."""
    fake, labels = generate(g, n, seed, psi=psi)
    cpu_classifier = classifier.cpu()
    out = {"accuracy": accuracy(cpu_classifier, fake, labels), **fid_kid(real, fake, cpu_classifier), "samples": n,
           "psi": sampling_psi(g, psi)}
    if real_labels is not None:
        if not g.num_classes:  # unconditional: the spread of all samples against all real images
            labels, real_labels = torch.zeros_like(labels), torch.zeros_like(real_labels)
        out["spread"] = class_spread(cpu_classifier, fake, labels, real, real_labels)
    return out


@torch.no_grad()
def class_spread(classifier: ImageClassifier, fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor,
                 real_labels: torch.Tensor, per_class: int = 200) -> float:
    """Within-class variety, the mode-collapse measure FID mixes with everything else: per class, the mean
    pairwise distance between the features of (up to ``per_class``) samples over the same for the real images
    of that class, averaged over the classes. 1: samples as varied as real images of their class; near 0: one
    picture per class. Classes with fewer than 2 real images or samples are left out."""
    classifier.eval()
    ratios = []
    for c in real_labels.unique().tolist():
        r, f = real[real_labels == c], fake[fake_labels == c][:per_class]
        if len(r) < 2 or len(f) < 2:
            continue
        fr, ff = classifier.features(r.float()), classifier.features(f.float())
        ratios.append((torch.pdist(ff).mean() / torch.pdist(fr).mean().clamp_min(1e-8)).item())
    return sum(ratios) / len(ratios) if ratios else float("nan")


def any_class_fid(g, classifier, real: torch.Tensor, samples: int = 5000, seed: int = 0,
                  psi: float | None = None) -> float:
    """FID of ``samples`` draws with the "any class" label (same latents as the conditional ones, at the same
    truncation) against real."""
    with torch.no_grad():
        z = torch.randn(samples, g.latent_dim, generator=torch.Generator().manual_seed(seed)) * sampling_psi(g, psi)
        fake = torch.cat([g(z[i : i + 500], torch.full((len(z[i : i + 500]),), g.any_class)) for i in range(0, samples, 500)])
    return fid_kid(real, fake, classifier)["fid"]


@torch.no_grad()
def image_quality(outputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor,
                  classifier: ImageClassifier | None) -> dict:
    """Paired metrics for translations (B, C, H, W) in [-1, 1] against their targets.

    L1, PSNR and SSIM on [0, 1] intensities; FID/KID against the targets; class accuracy of
    the outputs (does the translation keep the digit's identity?).
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    a, b = (outputs.clamp(-1, 1) + 1) / 2, (targets + 1) / 2
    return {
        "l1": (a - b).abs().mean().item(),
        "psnr": peak_signal_noise_ratio(a, b, data_range=1.0, reduction="elementwise_mean", dim=(1, 2, 3)).item(),
        "ssim": structural_similarity_index_measure(a, b, data_range=1.0).item(),
        **({"accuracy": accuracy(classifier, outputs.clamp(-1, 1), labels),
            **fid_kid(targets, outputs.clamp(-1, 1), classifier)} if classifier is not None else {}),
    }


@torch.no_grad()
def vae_metrics(vae, x: torch.Tensor, batch: int = 500) -> dict:
    """Held-out negative ELBO (beta = 1) and its parts, in nats per image, one reparameterised sample
    per image (seed 0), reconstruction MSE on [0, 1] intensities, and the average KL per dimension."""
    from ..models.vae import kl_divergence, negative_elbo

    vae.eval()
    parts = {"neg_elbo": [], "reconstruction_nats": [], "kl_nats": [], "mse": [], "kl": []}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            loss, rec, kl = negative_elbo(vae, xb, beta=1.0)
            mu, logvar = vae.encode(xb)
            mse = ((vae.decode(mu) - xb) / 2).pow(2).flatten(1).mean(1)
            for k, v in zip(parts, (loss, rec, kl, mse, kl_divergence(mu, logvar))):
                parts[k].append(v)
    out = {k: torch.cat(v).mean().item() for k, v in parts.items() if k != "kl"}
    out["kl_per_dim"] = torch.cat(parts["kl"]).mean(0)
    return out


@torch.no_grad()
def nearest_distances(queries: torch.Tensor, references: torch.Tensor, batch: int = 256,
                      exclude_self: bool = False) -> torch.Tensor:
    """RMS pixel distance (images in [-1, 1] mapped to [0, 1]) from each query to its nearest reference: (Nq,).

    exclude_self: queries and references are the same set; a zero distance to oneself is skipped."""
    q = ((queries.float().flatten(1) + 1) / 2)
    r = ((references.float().flatten(1) + 1) / 2)
    r_sq = (r * r).sum(1)  # (Nr,)
    out = []
    for i in range(0, len(q), batch):
        qb = q[i : i + batch]
        d2 = ((qb * qb).sum(1, keepdim=True) + r_sq[None] - 2 * qb @ r.T).clamp_min(0)  # (b, Nr)
        if exclude_self:
            d2[torch.arange(len(qb)), torch.arange(i, i + len(qb))] = float("inf")
        out.append(d2.min(1).values)
    return (torch.cat(out) / q.shape[1]).sqrt()


def memorisation(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor) -> dict[str, float]:
    """How close generated samples come to the training set, against how close real unseen images come.

    A model that copies its training images puts samples much nearer to them than held-out real
    images are (the real-to-real baseline). Returns the median nearest-training distance of samples
    and of held-out images, their ratio (< 1: samples sit closer to the training set than new real
    images do), and the share of samples nearer to a training image than the closest 1 % of held-out
    images are (near-copies)."""
    return memorisation_from_distances(nearest_distances(samples, train), nearest_distances(held_out, train))


def memorisation_from_distances(fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    """memorisation()'s figures from the nearest-training distances of the samples (fake) and of the held-out
    images (real), for a caller that also plots them."""
    near = torch.quantile(real, 0.01)
    return {"sample_to_train_median": float(fake.median()), "held_out_to_train_median": float(real.median()),
            "ratio": float(fake.median() / real.median().clamp_min(1e-8)),
            "near_copies": float((fake < near).float().mean()), "near_copy_threshold": float(near)}
