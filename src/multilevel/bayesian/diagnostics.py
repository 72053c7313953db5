"""MCMC diagnostics as Stata reports them.

* Effective sample size (``bayesstats ess``): Stata's estimator ESS = T / (1 + 2 sum_{k=1}^{K} rho_k),
  the autocorrelations rho_k (ArviZ's FFT autocorrelation, the biased 1/T autocovariance) summed
  up to the lag before the first one below ``corrtol`` (0.01) in absolute value, at most ``corrlag``
  (500) lags. With several chains the chains' ESS are added. Correlation time = draws / ESS,
  efficiency = ESS / draws, MCSE = posterior sd / sqrt(ESS). (ArviZ's own ``ess`` -- Geyer's
  initial monotone sequence on rank-normalised draws -- is available through ``BayesResult.idata``;
  for well-mixing chains the two agree closely.)
* Gelman-Rubin ``Rc`` (``bayesstats grubin``): the original potential scale reduction of Gelman &
  Rubin (1992) with the degrees-of-freedom correction of Brooks & Gelman (1998),
  Rc = sqrt((d + 3) / (d + 1) * V / W), as Stata computes it -- not ArviZ's rank-normalised R-hat.
* Highest posterior density intervals from ArviZ (``arviz.hdi``).
"""

from __future__ import annotations

import math

import numpy as np

CORRLAG = 500
CORRTOL = 0.01


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Autocorrelations of one chain at lags 0..T-1 (ArviZ's FFT estimator)."""
    import arviz as az

    x = np.asarray(x, float)
    if np.ptp(x) == 0:
        out = np.zeros(len(x))
        out[0] = 1.0
        return out
    return np.asarray(az.autocorr(x))


def ess_chain(x: np.ndarray, corrlag: int = CORRLAG, corrtol: float = CORRTOL) -> float:
    """Stata's effective sample size of one chain."""
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return float(n)
    rho = autocorrelation(x)[1 : min(corrlag, n - 1) + 1]
    small = np.nonzero(np.abs(rho) < corrtol)[0]
    cut = small[0] if len(small) else len(rho)
    tau = 1.0 + 2.0 * float(np.sum(rho[:cut]))
    return n / max(tau, 1e-12)


def ess(draws: np.ndarray, corrlag: int = CORRLAG, corrtol: float = CORRTOL) -> np.ndarray:
    """ESS of each parameter of ``draws`` (chains, draws, parameters): chains' ESS added."""
    draws = np.asarray(draws, float)
    if draws.ndim == 2:
        draws = draws[..., None]
    out = np.zeros(draws.shape[2:])
    for index in np.ndindex(*draws.shape[2:]):
        out[index] = sum(
            ess_chain(draws[(c, slice(None)) + index], corrlag, corrtol)
            for c in range(draws.shape[0])
        )
    return out


def gelman_rubin(draws: np.ndarray) -> np.ndarray:
    """Brooks-Gelman corrected Rc for each parameter of ``draws`` (chains, draws, parameters)."""
    draws = np.asarray(draws, float)
    m, n = draws.shape[:2]
    if m < 2:
        raise ValueError("the Gelman-Rubin diagnostic needs at least two chains")
    means = draws.mean(axis=1)
    variances = draws.var(axis=1, ddof=1)
    grand = means.mean(axis=0)
    W = variances.mean(axis=0)
    B = n * means.var(axis=0, ddof=1)
    V = (n - 1) / n * W + (m + 1) / (m * n) * B
    var_w = variances.var(axis=0, ddof=1) / m
    cov_w_x2 = _cov(variances, means**2)
    cov_w_x = _cov(variances, means)
    var_v = (
        ((n - 1) / n) ** 2 * var_w
        + ((m + 1) / (m * n)) ** 2 * 2 / (m - 1) * B**2
        + 2 * (m + 1) * (n - 1) / (m * n**2) * n / m * (cov_w_x2 - 2 * grand * cov_w_x)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        d = 2 * V**2 / var_v
        rc = np.sqrt((d + 3) / (d + 1) * V / W)
    return np.where(W > 0, rc, np.nan)


def _cov(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a0 = a - a.mean(axis=0)
    b0 = b - b.mean(axis=0)
    return np.sum(a0 * b0, axis=0) / (a.shape[0] - 1)


def credible_interval(x: np.ndarray, clevel: float = 95.0, hpd: bool = False) -> tuple:
    """Equal-tailed (or HPD) ``clevel``% interval of pooled draws ``x``."""
    x = np.asarray(x, float).ravel()
    if hpd:
        import arviz as az

        lo, hi = az.hdi(x, hdi_prob=clevel / 100)
        return float(lo), float(hi)
    tail = (100 - clevel) / 200
    lo, hi = np.quantile(x, [tail, 1 - tail])
    return float(lo), float(hi)


def summarize(draws: np.ndarray, clevel: float = 95.0, hpd: bool = False) -> dict:
    """Mean, sd, MCSE, median and interval of each parameter of ``draws`` (chains, draws, P)."""
    draws = np.asarray(draws, float)
    if draws.ndim == 2:
        draws = draws[..., None]
    pooled = draws.reshape(-1, draws.shape[2])
    sd = pooled.std(axis=0, ddof=1) if len(pooled) > 1 else np.zeros(pooled.shape[1])
    n_ess = ess(draws)
    lows, highs = zip(
        *(credible_interval(pooled[:, j], clevel, hpd) for j in range(pooled.shape[1])), strict=True
    )
    return {
        "mean": pooled.mean(axis=0),
        "sd": sd,
        "mcse": sd / np.sqrt(n_ess),
        "median": np.median(pooled, axis=0),
        "lower": np.array(lows),
        "upper": np.array(highs),
        "ess": n_ess,
    }


def gaussian_log_evidence(theta: np.ndarray, log_post_at) -> float:
    """Laplace-Metropolis log marginal likelihood (Lewis & Raftery 1997).

    ``theta`` holds draws (draws, d) of unconstrained parameters; ``log_post_at(t)`` returns
    log p(y | t) + log p(t) (the prior including the Jacobian of the transformation). The
    posterior is approximated by a normal with the draws' mean and covariance:
    log p(y) = d/2 log(2 pi) + 1/2 log|Cov| + log p(y | t*) + log p(t*), t* the mean.
    """
    theta = np.asarray(theta, float)
    centre = theta.mean(axis=0)
    cov = np.atleast_2d(np.cov(theta, rowvar=False))
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return math.nan
    d = theta.shape[1]
    return 0.5 * d * math.log(2 * math.pi) + 0.5 * logdet + float(log_post_at(centre))


def mcse_sd(draws: np.ndarray) -> np.ndarray:
    """MCSE of the posterior sd of each parameter of ``draws`` (chains, draws, P).

    Delta method on the mean of the squared deviations, whose MCSE uses their own ESS.
    """
    draws = np.asarray(draws, float)
    pooled = draws.reshape(-1, draws.shape[-1])
    sq = (draws - pooled.mean(axis=0)) ** 2
    flat = sq.reshape(-1, draws.shape[-1])
    mcse_var = flat.std(axis=0) / np.sqrt(ess(sq))
    return mcse_var / (2 * np.sqrt(flat.mean(axis=0)))
