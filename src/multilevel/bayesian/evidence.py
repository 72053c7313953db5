"""DIC and the Laplace-Metropolis log marginal likelihood of a Gaussian multilevel model.

DIC follows Stata: the deviance is -2 log p(y | beta, u, sigma2) given the random effects,
DIC = D(theta_bar) + 2 pD with pD = mean deviance - D(theta_bar), theta_bar the posterior means.

The log marginal likelihood integrates the random effects out analytically (the model is
Gaussian) and applies the Laplace-Metropolis approximation to the remaining parameters on an
unconstrained scale: log variances, the log-Cholesky factor of a covariance matrix, a logit-scaled
correlation; the prior there includes the Jacobian of the transformation. It is undefined
(``nan``) when a prior is improper.
"""

from __future__ import annotations

import math

import numpy as np

from . import diagnostics
from .gaussian import GaussianData, conditional_deviance, marginal_loglik
from .layout import LevelLayout, ModelLayout
from .priors import PriorSet
from .sampler import level_prior_names


def dic(
    data: GaussianData, layout: ModelLayout, params: np.ndarray, u_mean: list, deviance: np.ndarray
) -> tuple[float, float]:
    """(DIC, pD) from pooled parameter draws, posterior means of u and the deviance draws."""
    mean = params.reshape(-1, params.shape[-1]).mean(axis=0)
    beta = mean[: layout.p]
    d_bar = conditional_deviance(data, beta, list(u_mean), float(mean[-1]))
    p_d = float(np.mean(deviance)) - d_bar
    return d_bar + 2 * p_d, p_d


def _rho_bounds(lev: LevelLayout, prior) -> tuple[float, float]:
    lo, hi = -1.0 / (lev.q - 1), 1.0
    if prior.name == "uniform":
        lo, hi = max(lo, float(prior.args[0])), min(hi, float(prior.args[1]))
    return lo, hi


def _to_free(row: np.ndarray, layout: ModelLayout, priors: PriorSet) -> np.ndarray:
    """Unconstrained coordinates of one draw of the reported parameters."""
    out = [row[: layout.p]]
    pos = layout.p
    for lev, entry in zip(layout.levels, priors.levels, strict=True):
        n = len(lev.params())
        vals = row[pos : pos + n]
        pos += n
        if lev.structure == "unstructured" and lev.q > 1:
            chol = np.linalg.cholesky(lev.params_to_sigma(vals))
            rows, cols = np.tril_indices(lev.q, -1)
            out += [np.log(np.diag(chol)), chol[rows, cols]]
        elif lev.structure == "exchangeable" and lev.q > 1:
            lo, hi = _rho_bounds(lev, entry[f"{lev.stub}:rho"])
            s = (vals[1] - lo) / (hi - lo)
            out.append(np.array([math.log(vals[0]), math.log(s / (1 - s))]))
        else:
            k = len(level_prior_names(lev))
            out.append(np.log(np.diag(lev.params_to_sigma(vals))[:k]))
    out.append(np.log(row[-1:]))
    return np.concatenate(out)


def _from_free(t: np.ndarray, layout: ModelLayout, priors: PriorSet) -> tuple:
    """(beta, design-order covariances, sigma2, log prior + log Jacobian) of a free point."""
    beta = t[: layout.p]
    logp = _coef_logprior(beta, priors)
    pos = layout.p
    sigmas = []
    for lev, entry in zip(layout.levels, priors.levels, strict=True):
        names = level_prior_names(lev)
        q = lev.q
        if lev.structure == "unstructured" and q > 1:
            k = q * (q + 1) // 2
            free = t[pos : pos + k]
            chol = np.diag(np.exp(free[:q]))
            rows, cols = np.tril_indices(q, -1)
            chol[rows, cols] = free[q:]
            sigma = chol @ chol.T
            ranks = np.arange(q, 0, -1) + 1.0  # d - i + 2 for 1-based i
            logp += q * math.log(2) + float(ranks @ free[:q])
            logp += float(entry[names[0]].logpdf(sigma))
        elif lev.structure == "exchangeable" and q > 1:
            k = 2
            s2 = math.exp(t[pos])
            lo, hi = _rho_bounds(lev, entry[names[1]])
            s = 1 / (1 + math.exp(-t[pos + 1]))
            rho = lo + (hi - lo) * s
            sigma = s2 * ((1 - rho) * np.eye(q) + rho * np.ones((q, q)))
            logp += float(entry[names[0]].logpdf(s2)) + t[pos]
            logp += float(entry[names[1]].logpdf(rho)) + math.log((hi - lo) * s * (1 - s))
        else:
            k = len(names)
            v = np.exp(t[pos : pos + k])
            sigma = np.diag(v) if k > 1 else v[0] * np.eye(q)
            logp += sum(float(entry[nm].logpdf(x)) for nm, x in zip(names, v, strict=True))
            logp += float(np.sum(t[pos : pos + k]))
        pos += k
        sigmas.append(sigma)
    sigma2 = math.exp(t[pos])
    logp += float(priors.resid.logpdf(sigma2)) + t[pos]
    return beta, sigmas, sigma2, logp


def _coef_logprior(beta: np.ndarray, priors: PriorSet) -> float:
    total = sum(float(dist.logpdf(beta[j])) for j, dist in priors.coef.items())
    for idx, dist in priors.coef_groups:
        total += float(dist.logpdf(beta[list(idx)]))
    return total


def all_proper(priors: PriorSet) -> bool:
    """Whether every prior is proper (a marginal likelihood needs it)."""
    dists = list(priors.coef.values()) + [d for _, d in priors.coef_groups] + [priors.resid]
    dists += [d for entry in priors.levels for d in entry.values()]
    dists += list(priors.ancillary.values())
    return all(d.is_proper for d in dists)


def log_marginal_likelihood(
    data: GaussianData, layout: ModelLayout, priors: PriorSet, params: np.ndarray
) -> float:
    """Laplace-Metropolis log marginal likelihood from pooled draws ``params`` (draws, P).

    ``priors`` must be in the design's order of effects (see :func:`priors.design_order`).
    """
    if not all_proper(priors):
        return math.nan
    free = np.array([_to_free(row, layout, priors) for row in params])

    def log_post(t: np.ndarray) -> float:
        beta, sigmas, sigma2, logp = _from_free(t, layout, priors)
        return marginal_loglik(data, beta, sigmas, sigma2) + logp

    return diagnostics.gaussian_log_evidence(free, log_post)
