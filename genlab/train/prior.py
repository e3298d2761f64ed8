"""The VAE's ex-post prior: a full-covariance Gaussian mixture fitted to the training codes.

Ghosh et al. 2020 ("From Variational to Deterministic Autoencoders", the RAE paper) fit a
10-component GMM to the latent codes of the training set after training and sample from it
instead of N(0, I). This is that, in plain torch (EM in float64, k-means++ start, a small
ridge on every covariance so a component with few codes stays invertible), so no
scikit-learn is needed and nothing is pickled: the mixture becomes three buffers of the
released VAE.

    python -m genlab.train vae --preset emoji-vae --refit checkpoints/emoji-vae   # add/replace the prior only

With ``rank`` r the mixture is fitted to the codes' coordinates along their r principal directions and
embedded back into the full latent space (means on that subspace, covariances U C_k U^T plus the same small
ridge in every other direction), so it is stored and sampled exactly like a full-rank one: the directions in
which the codes vary least, where a mixture of a few thousand codes mostly adds noise the decoder renders as grain,
are held at the codes' mean.
"""

from __future__ import annotations

import math

import torch

from ..models.vae import ConvVAE


def _log_gauss(x: torch.Tensor, means: torch.Tensor, tril: torch.Tensor) -> torch.Tensor:
    """log N(x | mu_k, L_k L_k^T) for every point and component: (N, K)."""
    d = x.size(1)
    diff = x[None] - means[:, None]  # (K, N, D)
    sol = torch.linalg.solve_triangular(tril, diff.transpose(1, 2), upper=False)  # (K, D, N)
    maha = sol.pow(2).sum(1)  # (K, N)
    logdet = 2 * torch.log(torch.diagonal(tril, dim1=1, dim2=2)).sum(1)  # (K,)
    return (-0.5 * (maha + logdet[:, None] + d * math.log(2 * math.pi))).T


def fit_gaussian_mixture(codes: torch.Tensor, k: int, seed: int = 0, iters: int = 300, ridge: float = 1e-3,
                         tol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """EM for a K-component full-covariance Gaussian mixture on codes (N, D).

    Returns (weights (K,), means (K, D), scale_tril (K, D, D), mean log-likelihood per code), float32.
    ``ridge`` (times the codes' average variance) is added to every covariance's diagonal.
    """
    x = codes.detach().double().cpu()
    n, d = x.shape
    if not 1 <= k <= n:
        raise ValueError(f"a {k}-component mixture needs at least {k} codes; got {n}")
    gen = torch.Generator().manual_seed(seed)
    # k-means++ start: each next centre drawn with probability proportional to the squared distance
    centres = [x[torch.randint(0, n, (1,), generator=gen)].squeeze(0)]
    for _ in range(1, k):
        dist = torch.cdist(x, torch.stack(centres)).min(1).values.pow(2)
        centres.append(x[torch.multinomial(dist / dist.sum() if dist.sum() > 0 else torch.ones(n), 1,
                                           generator=gen)].squeeze(0))
    means = torch.stack(centres)  # (K, D)
    eps = ridge * x.var(0).mean().clamp_min(1e-12)
    cov = (x.T.cov() + eps * torch.eye(d, dtype=x.dtype)).repeat(k, 1, 1)
    weights = torch.full((k,), 1.0 / k, dtype=x.dtype)
    last = -math.inf
    for _ in range(iters):
        tril = torch.linalg.cholesky(cov)
        logp = _log_gauss(x, means, tril) + weights.log()[None]  # (N, K)
        total = torch.logsumexp(logp, 1)  # (N,)
        ll = total.mean().item()
        resp = (logp - total[:, None]).exp()  # (N, K) E step
        nk = resp.sum(0).clamp_min(1e-10)  # M step
        weights = nk / n
        means = (resp.T @ x) / nk[:, None]
        diff = x[None] - means[:, None]  # (K, N, D)
        cov = torch.einsum("kn,kni,knj->kij", resp.T, diff, diff) / nk[:, None, None]
        cov = cov + eps * torch.eye(d, dtype=x.dtype)
        if abs(ll - last) < tol * max(1.0, abs(ll)):
            break
        last = ll
    tril = torch.linalg.cholesky(cov)
    ll = torch.logsumexp(_log_gauss(x, means, tril) + weights.log()[None], 1).mean().item()
    return weights.float(), means.float(), tril.float(), ll


def mixture_log_likelihood(codes: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                           tril: torch.Tensor) -> float:
    """Mean log-likelihood of codes (N, D) under a fitted mixture: how the component count is chosen."""
    x = codes.double().cpu()
    return torch.logsumexp(_log_gauss(x, means.double(), tril.double()) + weights.double().log()[None], 1).mean().item()


@torch.no_grad()
def training_codes(vae: ConvVAE, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Posterior means of images (N, C, R, R) in [-1, 1]: (N, latent_dim)."""
    vae.eval()
    device = next(vae.parameters()).device
    return torch.cat([vae.encode(images[i : i + batch].to(device))[0].cpu() for i in range(0, len(images), batch)])


def choose_components(codes: torch.Tensor, candidates: tuple[int, ...], seed: int = 0) -> tuple[int, dict[int, float]]:
    """Pick the component count by the log-likelihood of held-back codes (a fifth of the training codes,
    never the evaluation split); returns (best K, {K: held-back log-likelihood})."""
    perm = torch.randperm(len(codes), generator=torch.Generator().manual_seed(seed))
    cut = max(1, len(codes) // 5)
    back, fit = codes[perm[:cut]], codes[perm[cut:]]
    scores = {}
    for k in candidates:
        if k > len(fit):
            continue
        w, m, t, _ = fit_gaussian_mixture(fit, k, seed)
        scores[k] = mixture_log_likelihood(back, w, m, t)
    if not scores:
        raise ValueError(f"too few training codes ({len(codes)}) for any of {candidates} components")
    return max(scores, key=scores.get), scores


def _rebuilt(vae: ConvVAE, state: dict, **config) -> ConvVAE:
    """A ConvVAE with ``vae``'s config changed by ``config``, holding ``state``, on ``vae``'s device."""
    out = ConvVAE(**{**{k: v for k, v in (vae._hub_mixin_config or {}).items() if k != "model_type"}, **config})
    out.load_state_dict(state, strict=True)
    return out.to(next(vae.parameters()).device).eval()


def with_prior(vae: ConvVAE, weights: torch.Tensor, means: torch.Tensor, tril: torch.Tensor) -> ConvVAE:
    """A copy of ``vae`` whose config and buffers carry the fitted mixture (K = len(weights))."""
    state = {k: v for k, v in vae.state_dict().items() if not k.startswith("prior_")}
    state.update(prior_weights=weights, prior_means=means, prior_scale_tril=tril)
    return _rebuilt(vae, state, prior_components=len(weights))


def with_refine(vae: ConvVAE, passes: int) -> ConvVAE:
    """A copy of ``vae`` whose config sets ``prior_refine`` (decode-encode passes per fitted-prior draw)."""
    return _rebuilt(vae, vae.state_dict(), prior_refine=passes)


def principal_coordinates(codes: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The codes (N, D) along their ``rank`` leading principal directions: (coordinates (N, rank), the codes' mean
    (D,), the directions (D, rank) as columns), float64."""
    x = codes.detach().double().cpu()
    _, vectors = torch.linalg.eigh(x.T.cov())  # eigenvalues ascending
    mean, basis = x.mean(0), vectors.flip(1)[:, :rank]
    return (x - mean) @ basis, mean, basis


def fit_subspace_mixture(codes: torch.Tensor, k: int, rank: int, seed: int = 0, ridge: float = 1e-3
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """fit_gaussian_mixture on the codes' coordinates along their ``rank`` principal directions, embedded back
    into the full space: (weights, means (K, D), scale_tril (K, D, D), mean log-likelihood of the projected codes).
    The other directions keep only the ridge (``ridge`` times the codes' average variance), as every covariance
    does. rank 0 or >= D: the full-space fit."""
    d = codes.size(1)
    if not 0 < rank < d:
        return fit_gaussian_mixture(codes, k, seed, ridge=ridge)
    y, mean, basis = principal_coordinates(codes, rank)
    w, m, t, ll = fit_gaussian_mixture(y, k, seed, ridge=ridge)
    cov_r = t.double() @ t.double().transpose(1, 2)  # (K, r, r)
    eps = ridge * codes.detach().double().cpu().var(0).mean().clamp_min(1e-12)
    cov = basis[None] @ cov_r @ basis.T[None] + eps * torch.eye(d, dtype=torch.float64)
    return w, (mean[None] + m.double() @ basis.T).float(), torch.linalg.cholesky(cov).float(), ll


def fit_prior(vae: ConvVAE, images: torch.Tensor, components: int | tuple[int, ...] = (1, 5, 10, 20, 40),
              seed: int = 0, rank: int = 0) -> tuple[ConvVAE, dict]:
    """Fit the ex-post prior on the training images: a fixed K, or the best of several by held-back
    likelihood; with ``rank``, in the codes' leading principal directions (fit_subspace_mixture). Returns (the
    VAE with its prior, a report for the card)."""
    codes = training_codes(vae, images)
    if not 0 <= rank <= codes.size(1):
        raise ValueError(f"a prior rank must lie between 0 and the latent size {codes.size(1)}, got {rank}")
    rank = 0 if rank == codes.size(1) else rank
    candidates = (components,) if isinstance(components, int) else tuple(components)
    scores: dict[int, float] = {}
    k = candidates[0]
    if len(candidates) > 1:
        k, scores = choose_components(principal_coordinates(codes, rank)[0] if rank else codes, candidates, seed)
    w, m, t, ll = fit_subspace_mixture(codes, k, rank, seed)
    return with_prior(vae, w, m, t), {"components": k, "rank": rank, "train_log_likelihood": ll,
                                      "codes": len(codes),
                                      "held_back_log_likelihood": {str(c): v for c, v in scores.items()}}
