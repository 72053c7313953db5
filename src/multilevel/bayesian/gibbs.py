"""Blocked Gibbs updates of a Gaussian multilevel model.

Every update is a small pure function ``(state, data, prior, rng) -> (state, accepted)``:

* fixed and random effects jointly from their normal full conditional (one level: block elimination
  over the groups; several levels: a dense Cholesky of the whole system). Non-normal coefficient
  priors enter by a Metropolis-Hastings correction of that joint draw, whose proposal uses the
  prior's normal approximation;
* an unstructured covariance from its inverse-Wishart full conditional; identity and independent
  variances from inverse-gamma full conditionals; the exchangeable correlation by slice sampling;
* the residual variance from its inverse-gamma full conditional.

A variance (or covariance matrix) prior without a conjugate form is handled by an independence
Metropolis-Hastings step whose proposal is the full conditional under the Jeffreys prior.
``accepted`` is ``None`` for an exact Gibbs draw, else whether the proposal was kept.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .distributions import Distribution
from .gaussian import GaussianData
from .priors import PriorSet


@dataclass(frozen=True)
class State:
    """One point of the chain: coefficients, random effects, covariances, residual variance.

    Updates build a new ``State`` by its constructor (``dataclasses.replace`` is several times
    slower, and the sampler makes a few per iteration).
    """

    beta: np.ndarray
    u: tuple[np.ndarray, ...]  # (G_k, q_k) per level, design order
    sigma: tuple[np.ndarray, ...]  # (q_k, q_k) per level, design order
    sigma2: float
    rss: float = math.nan


@dataclass(frozen=True)
class CoefPrior:
    """The coefficients' prior as a normal part (precision, precision x mean) plus exact terms."""

    precision: np.ndarray
    shift: np.ndarray  # precision @ mean
    exact: tuple[tuple[int, Distribution, float, float], ...] = ()  # (j, prior, approx mean, var)


def compile_coef_prior(priors: PriorSet, p: int) -> CoefPrior:
    """Normal approximation of the coefficients' prior (exact when every prior is normal/flat)."""
    prec = np.zeros((p, p))
    shift = np.zeros(p)
    exact = []
    for j, dist in priors.coef.items():
        form = dist.normal_form()
        if form is None:
            mom = dist.moments()
            form = mom if mom is not None and math.isfinite(mom[1]) else (0.0, math.inf)
            exact.append((j, dist, form[0], form[1]))
        mean, var = form
        if math.isfinite(var):
            prec[j, j] = 1.0 / var
            shift[j] = mean / var
    for idx, dist in priors.coef_groups:
        mean, cov = dist.args
        block = np.linalg.inv(cov)
        prec[np.ix_(idx, idx)] = block
        shift[list(idx)] = block @ mean
    return CoefPrior(prec, shift, tuple(exact))


def _normal_draw(precision: np.ndarray, rhs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # one inverse of the (small) Cholesky factor serves the mean and the draw
    root = np.linalg.inv(np.linalg.cholesky(precision))  # precision^-1 = root' root
    return root.T @ (root @ rhs + rng.standard_normal(len(rhs)))


def _coef_log_ratio(cp: CoefPrior, new: np.ndarray, old: np.ndarray) -> float:
    """log [prior/approx](new) - log [prior/approx](old) for the non-normal coefficient priors."""
    total = 0.0
    for j, dist, mean, var in cp.exact:
        for x, sign in ((new[j], 1.0), (old[j], -1.0)):
            approx = 0.0 if not math.isfinite(var) else -0.5 * (x - mean) ** 2 / var
            total += sign * (float(dist.logpdf(x)) - approx)
    return total


def draw_effects_single(state: State, data: GaussianData, cp: CoefPrior, rng) -> tuple:
    """(beta, u) jointly for one random level, by elimination of the group blocks."""
    s2 = state.sigma2
    lam = np.linalg.inv(state.sigma[0])
    A = data.ZtZ / s2 + lam
    B = data.ZtX / s2
    c = data.Zty / s2
    a_inv = np.linalg.inv(A)
    ai_b = a_inv @ B
    ai_c = np.einsum("gij,gj->gi", a_inv, c)
    schur = data.XtX / s2 + cp.precision - np.einsum("gqp,gqr->pr", B, ai_b)
    rhs = data.Xty / s2 + cp.shift - np.einsum("gqp,gq->p", B, ai_c)
    beta = _normal_draw(schur, rhs, rng)
    mean_u = ai_c - np.einsum("gqp,p->gq", ai_b, beta)
    root = np.linalg.cholesky(a_inv)
    u = mean_u + np.einsum("gij,gj->gi", root, rng.standard_normal(mean_u.shape))
    return _accept_effects(state, data, cp, beta, (u,), rng)


def _kron_index(data: GaussianData) -> list[tuple[np.ndarray, np.ndarray]]:
    cached = getattr(data, "_kron_cache", None)
    if cached is None:
        cached = []
        for lev, start in zip(data.levels, data.offsets, strict=False):
            q = lev.q
            base = start + np.arange(lev.n_groups)[:, None, None] * q
            rows = (base + np.arange(q)[None, :, None] + 0 * np.arange(q)[None, None, :]).ravel()
            cols = (base + 0 * np.arange(q)[None, :, None] + np.arange(q)[None, None, :]).ravel()
            cached.append((rows, cols))
        data._kron_cache = cached
    return cached


def draw_effects_dense(state: State, data: GaussianData, cp: CoefPrior, rng) -> tuple:
    """(beta, u_1, ..., u_K) jointly for several levels from the dense precision matrix."""
    s2, p = state.sigma2, data.p
    prec = data.WtW / s2
    prec[:p, :p] += cp.precision
    for (rows, cols), lev, sig in zip(_kron_index(data), data.levels, state.sigma, strict=True):
        prec[rows, cols] += np.tile(np.linalg.inv(sig).ravel(), lev.n_groups)
    rhs = data.Wty / s2
    rhs[:p] += cp.shift
    theta = _normal_draw(prec, rhs, rng)
    us = tuple(
        theta[a:b].reshape(lev.n_groups, lev.q)
        for lev, a, b in zip(data.levels, data.offsets[:-1], data.offsets[1:], strict=True)
    )
    return _accept_effects(state, data, cp, theta[:p], us, rng)


def draw_effects_fixed_only(state: State, data: GaussianData, cp: CoefPrior, rng) -> tuple:
    """beta alone (a model without random levels)."""
    beta = _normal_draw(
        data.XtX / state.sigma2 + cp.precision, data.Xty / state.sigma2 + cp.shift, rng
    )
    return _accept_effects(state, data, cp, beta, (), rng)


def _accept_effects(state, data, cp, beta, u, rng) -> tuple:
    accepted = None
    if cp.exact:
        accepted = math.log(rng.uniform()) < _coef_log_ratio(cp, beta, state.beta)
        if not accepted:
            return state, accepted
    return State(beta, u, state.sigma, state.sigma2, residual_ss(data, beta, u)), accepted


def residual_ss(data: GaussianData, beta: np.ndarray, u: tuple) -> float:
    """||y - X beta - Z u||^2 from the cross-products (no pass over the observations)."""
    if not u:
        return float(data.yty - 2 * beta @ data.Xty + beta @ data.XtX @ beta)
    if data.single:
        (uk,) = u
        rss = data.yty - 2 * beta @ data.Xty + beta @ data.XtX @ beta
        rss -= 2 * np.sum(uk * data.Zty)
        rss += 2 * np.einsum("gq,gqp,p->", uk, data.ZtX, beta)
        rss += np.einsum("gi,gij,gj->", uk, data.ZtZ, uk)
        return float(max(rss, 0.0))
    theta = np.concatenate([beta] + [uk.ravel() for uk in u])
    rss = data.yty - 2 * theta @ data.Wty + theta @ data.WtW @ theta
    return float(max(rss, 0.0))


# --- variances -----------------------------------------------------------------------------
def draw_variance(k: float, ss: float, prior: Distribution, current: float, rng) -> tuple:
    """A variance v whose likelihood is v^(-k/2) exp(-ss/(2v)), under ``prior``."""
    form = prior.ig_form()
    if form is not None:
        shape, scale = form[0] + k / 2, form[1] + ss / 2
        return scale / rng.gamma(shape), None
    proposal = (ss / 2) / rng.gamma(k / 2)
    log_ratio = float(prior.logpdf(proposal)) + math.log(proposal)
    log_ratio -= float(prior.logpdf(current)) + math.log(current)
    if math.log(rng.uniform()) < log_ratio:
        return proposal, True
    return current, False


def draw_iwishart(df: float, scale: np.ndarray, rng) -> np.ndarray:
    """One inverse-Wishart(df, scale) draw by the Bartlett decomposition of its inverse.

    With ``scale = K K'`` (Cholesky) and ``B`` Bartlett's lower-triangular factor of a
    Wishart(df, I) matrix, ``K^-T B B' K^-1`` is Wishart(df, scale^-1) (any square root of the
    scale matrix serves, Wishart(df, I) being invariant under rotations), so its inverse
    ``(K B^-T)(K B^-T)'`` is the draw.
    """
    d = len(scale)
    bart = np.zeros((d, d))
    bart.flat[:: d + 1] = np.sqrt(rng.chisquare(df - np.arange(d)))
    rows, cols = _strict_lower(d)
    bart[rows, cols] = rng.standard_normal(len(rows))
    root = np.linalg.cholesky(scale) @ np.linalg.inv(bart).T
    return root @ root.T


@functools.cache
def _strict_lower(d: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tril_indices(d, -1)


def draw_covariance(G: int, ss: np.ndarray, prior: Distribution, current: np.ndarray, rng) -> tuple:
    """An unstructured covariance matrix given G effect vectors with scatter ``ss``."""
    d = len(ss)
    form = prior.iw_form(d)
    if form is not None:
        return draw_iwishart(form[0] + G, form[1] + ss, rng), None
    proposal = draw_iwishart(float(G), ss, rng)
    jeffreys = Distribution("jeffreys", (), d)
    log_ratio = float(prior.logpdf(proposal)) - float(jeffreys.logpdf(proposal))
    log_ratio -= float(prior.logpdf(current)) - float(jeffreys.logpdf(current))
    if math.log(rng.uniform()) < log_ratio:
        return proposal, True
    return current, False


def _exchangeable_terms(rho: float, q: int, ss: np.ndarray) -> tuple[float, float]:
    """(log|R|, tr(R^-1 ss)) for R = (1 - rho) I + rho J."""
    logdet = math.log1p((q - 1) * rho) + (q - 1) * math.log1p(-rho)
    quad = (np.trace(ss) - rho / (1 + (q - 1) * rho) * ss.sum()) / (1 - rho)
    return logdet, float(quad)


def draw_rho(rho: float, s2: float, G: int, ss: np.ndarray, prior: Distribution, rng) -> float:
    """The exchangeable correlation by slice sampling with shrinkage on its bounded support."""
    q = len(ss)
    lo, hi = -1.0 / (q - 1), 1.0
    if prior.name == "uniform":
        lo, hi = max(lo, float(prior.args[0])), min(hi, float(prior.args[1]))
    eps = 1e-12
    lo, hi = lo + eps, hi - eps

    def logf(r: float) -> float:
        logdet, quad = _exchangeable_terms(r, q, ss)
        return -0.5 * G * logdet - 0.5 * quad / s2 + float(prior.logpdf(r))

    level = logf(rho) + math.log(rng.uniform())
    for _ in range(200):
        cand = rng.uniform(lo, hi)
        if logf(cand) > level:
            return cand
        if cand < rho:
            lo = cand
        else:
            hi = cand
    return rho


def draw_level(state: State, k: int, structure: str, prior: dict, names: list, rng) -> tuple:
    """Covariance parameters of level ``k`` given its random effects.

    ``names`` are the level's parameter names in design order of the effects (``U1:sigma2``,
    ``U0:sigma2`` for independent) or the structure's names; ``prior`` maps them to priors.
    """
    u = state.u[k]
    G, q = u.shape
    ss = u.T @ u
    sigma = state.sigma[k]
    accepts = []
    if structure == "unstructured" and q > 1:
        sigma, acc = draw_covariance(G, ss, prior[names[0]], sigma, rng)
        accepts.append(acc)
    elif structure == "exchangeable" and q > 1:
        s2, rho = sigma[0, 0], sigma[0, 1] / sigma[0, 0]
        _, quad = _exchangeable_terms(rho, q, ss)
        s2, acc = draw_variance(G * q, quad, prior[names[0]], s2, rng)
        accepts.append(acc)
        rho = draw_rho(rho, s2, G, ss, prior[names[1]], rng)
        sigma = s2 * ((1 - rho) * np.eye(q) + rho * np.ones((q, q)))
    elif structure == "independent" or q == 1:
        diag = np.diag(sigma).copy()
        for j in range(q):
            diag[j], acc = draw_variance(G, ss[j, j], prior[names[j]], diag[j], rng)
            accepts.append(acc)
        sigma = np.diag(diag)
    else:  # identity
        s2, acc = draw_variance(G * q, np.trace(ss), prior[names[0]], sigma[0, 0], rng)
        accepts.append(acc)
        sigma = s2 * np.eye(q)
    sigmas = state.sigma[:k] + (sigma,) + state.sigma[k + 1 :]
    return State(state.beta, state.u, sigmas, state.sigma2, state.rss), accepts


def draw_residual(state: State, data: GaussianData, prior: Distribution, rng) -> tuple:
    """The residual variance given the current residual sum of squares."""
    s2, acc = draw_variance(data.n, state.rss, prior, state.sigma2, rng)
    return State(state.beta, state.u, state.sigma, s2, state.rss), acc
