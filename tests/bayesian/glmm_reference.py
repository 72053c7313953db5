"""An MCMC-free posterior of a random-intercept binomial-logit model (the cbpp reference).

The likelihood integrates each group's random intercept by adaptive Gauss-Hermite quadrature
(mode and curvature of the group's integrand by Newton's method, then 20 nodes), written here in
NumPy independently of the package. The posterior of theta = (beta, log sigma2) under Stata's
default priors -- normal(0,10000) on each coefficient, igamma(.01,.01) on sigma2, with the Jacobian
sigma2 of the log transform -- is integrated by self-normalised importance sampling from a
multivariate t(4) centred at the posterior mode with 1.2 times the inverse Hessian as its scale.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

NODES, WEIGHTS = np.polynomial.hermite.hermgauss(20)
PRIOR_VAR = 10000.0  # normal(0,10000)
IG_SHAPE = IG_SCALE = 0.01  # igamma(.01,.01)


def group_loglik(X, y, n, codes, n_groups, beta, log_s2, newton_steps: int = 25) -> np.ndarray:
    """log p(y | beta, sigma2) for a batch of parameter values: beta (B, p), log_s2 (B,) -> (B,)."""
    beta = np.atleast_2d(beta)
    sigma = np.exp(0.5 * np.asarray(log_s2, float))[:, None]
    eta = beta @ X.T  # (B, N)
    const = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)

    def sums(values):  # (B, N) -> (B, G)
        out = np.zeros((values.shape[0], n_groups))
        np.add.at(out.T, codes, values.T)
        return out

    z = np.zeros((beta.shape[0], n_groups))
    for _ in range(newton_steps):  # the group's integrand is log-concave in z
        p = special.expit(eta + sigma * z[:, codes])
        grad = sigma * sums(y - n * p) - z
        curv = sigma**2 * sums(n * p * (1 - p)) + 1.0
        z = z + grad / curv
    p = special.expit(eta + sigma * z[:, codes])
    tau = 1.0 / np.sqrt(sigma**2 * sums(n * p * (1 - p)) + 1.0)
    total = np.zeros_like(z)
    logs = []
    for x, w in zip(NODES, WEIGHTS, strict=True):
        zk = z + math.sqrt(2) * tau * x
        lin = eta + sigma * zk[:, codes]
        terms = y * lin - n * np.logaddexp(0.0, lin) + const
        logs.append(sums(terms) - 0.5 * zk**2 + math.log(w) + x * x)
    stacked = np.stack(logs)
    total = (
        special.logsumexp(stacked, axis=0)
        + np.log(math.sqrt(2) * tau)
        - 0.5 * math.log(2 * math.pi)
    )
    return total.sum(axis=1)


def log_prior(beta, log_s2) -> np.ndarray:
    """Stata's default priors on (beta, log sigma2), Jacobian included."""
    beta = np.atleast_2d(beta)
    log_s2 = np.asarray(log_s2, float)
    lp = stats.norm.logpdf(beta, 0.0, math.sqrt(PRIOR_VAR)).sum(axis=1)
    s2 = np.exp(log_s2)
    lp += stats.invgamma.logpdf(s2, IG_SHAPE, scale=IG_SCALE) + log_s2
    return lp


def _hessian(fun, x, step=1e-4):
    k = len(x)
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * step, np.eye(k)[j] * step
            h[i, j] = (
                fun(x + e_i + e_j) - fun(x + e_i - e_j) - fun(x - e_i + e_j) + fun(x - e_i - e_j)
            ) / (4 * step * step)
    return h


def importance_posterior(X, y, n, codes, n_groups, draws: int, seed: int, chunk: int = 5000):
    """Posterior means and sds of (beta..., sigma2) with their importance-sampling errors."""
    p = X.shape[1]

    def log_post(theta):
        theta = np.atleast_2d(theta)
        ll = group_loglik(X, y, n, codes, n_groups, theta[:, :p], theta[:, p])
        return ll + log_prior(theta[:, :p], theta[:, p])

    start = np.zeros(p + 1)
    mode = optimize.minimize(lambda t: -log_post(t)[0], start, method="BFGS").x
    cov = np.linalg.inv(-_hessian(lambda t: log_post(t)[0], mode)) * 1.2
    proposal = stats.multivariate_t(loc=mode, shape=cov, df=4, seed=seed)
    theta = proposal.rvs(draws)
    log_w = np.concatenate(
        [log_post(theta[i : i + chunk]) for i in range(0, draws, chunk)]
    ) - proposal.logpdf(theta)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    values = np.column_stack([theta[:, :p], np.exp(theta[:, p])])
    mean = w @ values
    dev = values - mean
    var = w @ dev**2
    se_mean = np.sqrt((w**2) @ dev**2)
    se_var = np.sqrt((w**2) @ (dev**2 - var) ** 2)
    return {
        "mean": mean,
        "sd": np.sqrt(var),
        "se_mean": se_mean,
        "se_sd": se_var / (2 * np.sqrt(var)),
        "ess": float(1.0 / np.sum(w**2)),
        "mode": mode,
    }
