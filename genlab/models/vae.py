"""Convolutional VAE at any resolution, grey or colour (Kingma & Welling 2014; beta-VAE weighting).

Likelihood: independent Bernoulli per pixel on intensities in [0, 1] (the usual "binary
cross-entropy" VAE on grey-level MNIST). Grey targets make it a cross-entropy rather than a
normalised density, so the negative ELBO in nats is comparable across genlab VAEs, not with
published binarised-MNIST NLLs. ``likelihood="gaussian"`` is the calibrated-decoder VAE (Rybkin
et al. 2021, "Simple and Effective VAE Training with Calibrated Decoders", the "optimal sigma-VAE"):
a Gaussian per pixel around the decoded intensities with one shared variance, set in training to
the batch's mean squared error (the variance that maximises the likelihood), so the weight of the
reconstruction against the KL follows how well the decoder already does instead of a fixed beta.
The released model keeps the variance calibrated on its training images (``log_sigma``).

Prior samples: decoding z ~ N(0, I) shows the regions of latent space that no training image
encodes to (the "holes" between the aggregate posterior's clusters), so prior samples look
like noise even when reconstructions are good. An ex-post density (Ghosh et al. 2020, "From
Variational to Deterministic Autoencoders") fixes that without retraining: a Gaussian
mixture fitted to the training images' codes, stored in the checkpoint as three buffers
(``prior_weights`` (K,), ``prior_means`` (K, D), ``prior_scale_tril`` (K, D, D)).
``sample_prior`` draws from it; ``prior="normal"`` keeps N(0, I) for comparison.

A mixture draw can still fall between the clusters of codes, where the decoder blends two
emoji into a blotch. ``prior_refine`` > 0 walks each fitted-prior draw k times through the
autoencoder, z <- mu(x = decode(z)), the Markov chain of Creswell et al. 2016 ("Improving
sampling from generative autoencoders with Markov chains"): each pass moves the code to where
the encoder puts an image like the one it decodes to, which is where the decoder was trained.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import HubModel, check_shape_config, octaves, widths


LIKELIHOODS = ("bernoulli", "gaussian")
MIN_VARIANCE = 1e-6  # the Gaussian decoder's variance floor (intensities in [0, 1]): a perfect batch cannot divide by 0


class ConvVAE(HubModel, tags=["vae", "image-generation"]):
    """Encoder q(z|x) = N(mu, diag(exp(logvar))), decoder p(x|z) Bernoulli logits per pixel and channel.

    One stride-2 conv per octave down to the base map (7x7 at 28 px, 4x4 at 32-256 px), a
    fully connected bottleneck, and the mirror image up.

    >>> vae = ConvVAE()
    >>> mu, logvar = vae.encode(torch.zeros(2, 1, 28, 28))
    >>> mu.shape, vae.decode(mu).shape
    (torch.Size([2, 16]), torch.Size([2, 1, 28, 28]))
    """

    model_type = "vae"
    added_options = {"upsample": "transposed", "prior_refine": 0, "likelihood": "bernoulli"}
    MAX_REFINE = 20  # decode-encode passes per fitted-prior draw (also the checkpoint loader's bound)

    def __init__(
        self,
        latent_dim: int = 16,  # size of z; the traversal grid shows one row per dimension
        channels: int = 32,  # first conv width; doubled per octave (at most 8x)
        hidden: int = 256,  # fully connected width between convs and z
        beta: float = 1.0,  # KL weight (beta-VAE); 1 is the plain ELBO
        image_channels: int = 1,  # 1: grey, 3: RGB
        resolution: int = 28,  # image side in px: base x 2^n (28, 32, 48, 64, 96, 128, 256, ...)
        preprocess: str = "mnist",  # how uploads are prepared: "mnist" (digit centring), "crop" or "pad"
        prior_components: int = 0,  # Gaussian mixture fitted to the training codes (0: the N(0, I) prior only)
        upsample: str = "transposed",  # decoder: "transposed" (4x4 stride-2) or "nearest" (2x nearest + 3x3 conv)
        prior_refine: int = 0,  # decode -> encode passes applied to each fitted-prior draw (0: the mixture's draw as is)
        likelihood: str = "bernoulli",  # p(x|z): "bernoulli" (cross-entropy) or "gaussian" (one calibrated variance)
    ):
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
        self.likelihood = likelihood
        if likelihood == "gaussian":  # log of the decoder's noise scale on [0, 1] intensities (calibrate_sigma)
            self.register_buffer("log_sigma", torch.zeros(()))
        check_shape_config(resolution, image_channels, preprocess=preprocess)
        if upsample not in ("transposed", "nearest"):
            raise ValueError(f"upsample must be one of transposed, nearest, got {upsample!r}")
        self.upsample = upsample
        if not (isinstance(prior_refine, int) and 0 <= prior_refine <= self.MAX_REFINE):
            raise ValueError(f"prior_refine must be a whole number from 0 to {self.MAX_REFINE}, got {prior_refine!r}")
        self.prior_refine = prior_refine
        n, base = octaves(resolution)
        chans = widths(channels, n, 8 * channels)  # (c, 2c, ...) after each downsampling
        self.latent_dim = latent_dim
        self.beta = beta
        self.image_channels = image_channels
        self.resolution = resolution
        self.preprocess = preprocess
        enc: list[nn.Module] = []
        for c_in, c_out in zip([image_channels, *chans], chans):
            enc += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.SiLU()]  # halves the side
        self.encoder = nn.Sequential(
            *enc,  # (B, chans[-1], base, base)
            nn.Flatten(),
            nn.Linear(chans[-1] * base * base, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 2 * latent_dim),  # (B, 2 * latent): mu and logvar
        )
        dec: list[nn.Module] = []
        ups = list(reversed(chans))
        for c_in, c_out in zip(ups, [*ups[1:], image_channels]):
            if upsample == "nearest":  # no overlapping kernel footprints: no checkerboard on flat colour
                dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1), nn.SiLU()]
            else:
                dec += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.SiLU()]  # doubles the side
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.SiLU(),
            nn.Linear(hidden, chans[-1] * base * base),
            nn.SiLU(),
            nn.Unflatten(1, (chans[-1], base, base)),
            *dec[:-1],  # (B, image_channels, res, res) logits: no activation after the last
        )
        # Average KL per latent dimension on held-out data, stored with the weights so the app
        # can rank dimensions without the dataset. Filled in by training.
        self.register_buffer("kl_per_dim", torch.zeros(latent_dim))
        self.prior_components = prior_components
        if prior_components:  # the fitted prior (filled in after training; see genlab/train/prior.py)
            self.register_buffer("prior_weights", torch.full((prior_components,), 1.0 / prior_components))
            self.register_buffer("prior_means", torch.zeros(prior_components, latent_dim))
            self.register_buffer("prior_scale_tril", torch.eye(latent_dim).repeat(prior_components, 1, 1))

    @property
    def priors(self) -> tuple[str, ...]:
        """The priors this model can sample: "fitted" (when it has one) and "normal" (N(0, I))."""
        return ("fitted", "normal") if self.prior_components else ("normal",)

    def sample_prior(self, n: int, generator: torch.Generator | None = None, prior: str = "fitted",
                     refine: int | None = None) -> torch.Tensor:
        """n latents (n, latent_dim) on the CPU: from the fitted mixture, then ``refine`` decode-encode passes
        (default: the model's ``prior_refine``), or N(0, I) as drawn (``prior="normal"``, and for a model without
        a fitted prior). The same generator state gives the same latents."""
        if prior not in ("fitted", "normal"):
            raise ValueError(f"prior must be 'fitted' or 'normal', got {prior!r}")
        refine = self.prior_refine if refine is None else refine
        if not (isinstance(refine, int) and 0 <= refine <= self.MAX_REFINE):
            raise ValueError(f"refine must be a whole number from 0 to {self.MAX_REFINE}, got {refine!r}")
        eps = torch.randn(n, self.latent_dim, generator=generator)
        if prior == "normal" or not self.prior_components:
            return eps
        k = torch.multinomial(self.prior_weights.detach().cpu().float(), n, replacement=True, generator=generator)
        means, tril = self.prior_means.detach().cpu().float(), self.prior_scale_tril.detach().cpu().float()
        z = means[k] + (tril[k] @ eps.unsqueeze(-1)).squeeze(-1)  # (n, D): mu_k + L_k eps
        return self.refine_codes(z, refine) if refine else z

    @torch.no_grad()
    def refine_codes(self, z: torch.Tensor, passes: int, batch: int = 500) -> torch.Tensor:
        """z (n, latent_dim) after ``passes`` steps of z <- mu(decode(z)), on the CPU (the decoder and encoder run
        where the model is, in batches, in eval mode)."""
        p = next(self.parameters())
        was_training = self.training
        self.eval()
        out = []
        for i in range(0, len(z), batch):
            zi = z[i : i + batch].to(p.device, p.dtype)
            for _ in range(passes):
                zi = self.encode(self.decode(zi))[0]
            out.append(zi.float().cpu())
        self.train(was_training)
        return torch.cat(out) if out else z

    def prior_spread(self, prior: str = "fitted") -> tuple[torch.Tensor, torch.Tensor]:
        """Per-dimension mean and standard deviation of the prior (latent_dim,) each: where a traversal of one
        dimension should run (mean +- span * std), so it stays where the decoder has seen codes."""
        if prior == "normal" or not self.prior_components:
            return torch.zeros(self.latent_dim), torch.ones(self.latent_dim)
        w = self.prior_weights.detach().cpu().float()[:, None]  # (K, 1)
        means = self.prior_means.detach().cpu().float()
        tril = self.prior_scale_tril.detach().cpu().float()
        var_k = tril.pow(2).sum(-1)  # (K, D): diagonal of L L^T
        mean = (w * means).sum(0)
        var = (w * (var_k + means.pow(2))).sum(0) - mean.pow(2)  # law of total variance
        return mean, var.clamp_min(1e-12).sqrt()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, C, H, W) in [-1, 1] -> mu, logvar, each (B, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, C, H, W)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, latent_dim) -> mean images (B, C, H, W) in [-1, 1]."""
        return torch.sigmoid(self.decoder(z)) * 2 - 1

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reparameterised pass: (logits, mu, logvar)."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode_logits(z), mu, logvar


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per dimension, (B, latent_dim), in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)


def squared_error(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B, D) squared error of the decoded intensities against x (in [-1, 1]), both on [0, 1]: the Gaussian
    likelihood's data term and its calibration."""
    return (torch.sigmoid(logits) - (x + 1) / 2).pow(2).flatten(1)


def negative_elbo(vae: ConvVAE, x: torch.Tensor, beta: float | None = None,
                  min_variance: float = MIN_VARIANCE) -> tuple[torch.Tensor, ...]:
    """Per-image (loss, reconstruction nats, KL nats), each (B,), for x in [-1, 1].

    loss = reconstruction + beta * KL; with beta = 1 it is the negative ELBO. ``min_variance``: in training, the
    Gaussian decoder's batch variance is held at least this high (a floor above the default keeps the
    reconstruction term from outweighing the KL once the training images are fitted closely).
    """
    logits, mu, logvar = vae(x)
    target = (x + 1) / 2  # [0, 1] intensities
    if vae.likelihood == "gaussian":  # -log N(target; sigmoid(logits), sigma^2) summed over pixels
        sq = squared_error(logits, x)  # (B, D)
        if vae.training:  # the batch's maximum-likelihood variance (no gradient: at the optimum it has none)
            log_sigma = 0.5 * sq.detach().mean().clamp_min(max(min_variance, MIN_VARIANCE)).log()
        else:
            log_sigma = vae.log_sigma
        rec = sq.sum(1) / (2 * torch.exp(2 * log_sigma)) + sq.shape[1] * (log_sigma + 0.5 * math.log(2 * math.pi))
    else:
        rec = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(1)
    kl = kl_divergence(mu, logvar).sum(1)
    return rec + (vae.beta if beta is None else beta) * kl, rec, kl


@torch.no_grad()
def calibrate_sigma(vae: ConvVAE, x: torch.Tensor, batch: int = 500) -> float:
    """A Gaussian-likelihood VAE's released noise scale: the variance that maximises the likelihood of ``x``
    (the training images, in [-1, 1]) under one reparameterised sample each, i.e. their mean squared error.
    Stored in ``log_sigma``; returns sigma. Seeded (0), so a release is reproducible."""
    if vae.likelihood != "gaussian":
        raise ValueError("only a VAE with likelihood='gaussian' has a noise scale to calibrate")
    was_training = vae.training
    vae.eval()
    total, count = 0.0, 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            sq = squared_error(vae(xb)[0], xb)
            total += sq.sum().item()
            count += sq.numel()
    vae.log_sigma.fill_(0.5 * math.log(max(total / max(count, 1), MIN_VARIANCE)))
    vae.train(was_training)
    return math.exp(vae.log_sigma.item())
