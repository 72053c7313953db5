"""The posterior of a generalized linear multilevel model on a non-centred parametrisation (JAX).

Unconstrained coordinates ``t``: the coefficients; each level's covariance parameters and
standard-normal effects ``z`` with ``u_g = L z_g`` (as :mod:`.nuts` lays them out for the linear
model); then the family's own parameters -- the first cutpoint and the logs of the gaps between
cutpoints (so that every point keeps them ordered), ``lnalpha`` (``lndelta``) as it is, the log of a
Gaussian outcome's variance. The log density adds the priors of :class:`PriorSet` at the model's
parameters, the Jacobians of these transformations, and the conditional log likelihood with every
normalising constant (binomial coefficients, ``-lgamma(y+1)``), as Stata reports it.

The data enter the log density as arguments, not as constants, so that the compiled sampler is
reused across chains and across data sets of the same shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ..design.types import Design
from ..errors import DataError, OptionError
from ..glmm.families import ResponseData, family_for
from ..spec.model_spec import Family as FamilySpec
from .gaussian import LevelData
from .glmm_layout import GlmmLayout
from .nuts import _Model
from .priors import PriorSet

LOG2PI = math.log(2 * math.pi)
LOG_DISPERSION_FLOOR = -30.0  # ln alpha below this is a Poisson model to every digit
_STIRLING_FROM = 1e4  # size beyond which lgamma(y + r) - lgamma(r) comes from its series
_ETA_CAP = 700.0  # exp() of anything beyond overflows


def _jnp():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jnp


@dataclass
class GlmmData:
    """The arrays of a generalized linear multilevel model, and what its likelihood needs."""

    family: str
    link: str
    dispersion: str
    y: np.ndarray
    X: np.ndarray
    offset: np.ndarray
    trials: np.ndarray
    levels: list[LevelData]
    n_categories: int = 0
    constant: float = 0.0  # sum of the terms of the log likelihood that depend on y alone
    spec_family: FamilySpec = field(default_factory=FamilySpec)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]


def glmm_data(design: Design) -> GlmmData:
    """The arrays of a generalized linear multilevel ``design``, checked for the sampler."""
    spec = design.spec
    family, link = spec.family.name, spec.family.link
    y = np.asarray(design.y, float)
    X = np.asarray(design.X, float)
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)):
        raise DataError("the response and covariates must be finite (drop missing rows first)")
    if X.shape[1] and np.linalg.matrix_rank(X) < X.shape[1]:
        raise DataError("the fixed-effects design is collinear; omit collinear columns first")
    if design.weights is not None:
        raise OptionError("bayes: weights are not supported with multilevel models")
    offset = np.zeros(len(y)) if design.offset is None else np.asarray(design.offset, float)
    trials = np.ones(len(y)) if design.trials is None else np.asarray(design.trials, float)
    if family == "gaussian" and link not in ("identity", "log"):
        raise OptionError(f"link({link}) is not allowed with family(gaussian)")
    _check_response(family, y, trials, len(design.response_levels), spec.response)
    levels = [
        LevelData(np.asarray(b.codes, np.int64), np.asarray(b.Z, float), b.n_groups)
        for b in design.blocks
    ]
    data = GlmmData(
        family,
        link,
        spec.family.dispersion,
        y,
        X,
        offset,
        trials,
        levels,
        len(design.response_levels),
        spec_family=spec.family,
    )
    data.constant = float(np.sum(_data_constant(data)))
    return data


def _check_response(family: str, y, trials, k: int, name: str) -> None:
    if family == "bernoulli" and not np.all((y == 0) | (y == 1)):
        raise DataError(f"outcome {name} must be 0 or 1 for a Bernoulli model")
    if family == "binomial" and (np.any(y < 0) or np.any(y > trials)):
        raise DataError(f"outcome {name} must lie between 0 and the number of trials")
    if family in ("poisson", "nbinomial") and np.any(y < 0):
        raise DataError(f"outcome {name} has negative values; a count model needs counts >= 0")
    if family == "ordinal" and (k < 2 or np.any((y < 0) | (y >= k) | (y != np.round(y)))):
        raise DataError(f"outcome {name} must be coded 0 .. K-1 by at least 2 ordered categories")


def _data_constant(data: GlmmData) -> np.ndarray:
    y, n = data.y, data.trials
    if data.family in ("bernoulli", "binomial"):
        return special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    if data.family in ("poisson", "nbinomial"):
        return -special.gammaln(y + 1)
    if data.family == "gaussian":
        return np.full(len(y), -0.5 * LOG2PI)
    return np.zeros(len(y))


def device_arrays(data: GlmmData) -> dict:
    """The data as JAX arrays: the arguments of the compiled log density."""
    jnp = _jnp()
    arrays = {
        "y": jnp.asarray(data.y),
        "X": jnp.asarray(data.X),
        "offset": jnp.asarray(data.offset),
        "trials": jnp.asarray(data.trials),
        "constant": jnp.asarray(data.constant),
        "codes": [jnp.asarray(lev.codes) for lev in data.levels],
        "Z": [jnp.asarray(lev.Z) for lev in data.levels],
    }
    return arrays


# --- conditional log likelihoods (per observation, without the data-only constants) -----------
def _log_cdf(link: str, x, jnp):
    from jax.scipy.special import log_ndtr

    if link == "logit":
        return -jnp.logaddexp(0.0, -x)
    if link == "probit":
        return log_ndtr(x)
    e = jnp.exp(jnp.clip(x, -_ETA_CAP, _ETA_CAP))
    return _log1mexp(-e, jnp)


def _log_sf(link: str, x, jnp):
    from jax.scipy.special import log_ndtr

    if link == "logit":
        return -jnp.logaddexp(0.0, x)
    if link == "probit":
        return log_ndtr(-x)
    return -jnp.exp(jnp.clip(x, -_ETA_CAP, _ETA_CAP))


def _log1mexp(x, jnp):
    """log(1 - exp(x)) for x < 0, accurate at both ends (both branches kept finite)."""
    x = jnp.minimum(x, -np.finfo(float).tiny)
    near = x > -math.log(2)
    return jnp.where(
        near,
        jnp.log(-jnp.expm1(jnp.where(near, x, -1.0))),
        jnp.log1p(-jnp.exp(jnp.where(near, -1.0, x))),
    )


def _binomial(link, y, n, eta, jnp):
    if link == "logit":
        return y * eta - n * jnp.logaddexp(0.0, eta)
    return y * _log_cdf(link, eta, jnp) + (n - y) * _log_sf(link, eta, jnp)


def _ordinal(link, y, eta, cuts, jnp):
    """log(F(c_y - eta) - F(c_{y-1} - eta)), the infinite end cutpoints replaced by +-1e6."""
    big = jnp.asarray([1e6])
    padded = jnp.concatenate([-big, cuts, big])
    code = y.astype(int)
    a, b = padded[code + 1] - eta, padded[code] - eta
    log_fa, log_fb = _log_cdf(link, a, jnp), _log_cdf(link, b, jnp)
    log_sa, log_sb = _log_sf(link, a, jnp), _log_sf(link, b, jnp)
    upper_tail = log_fb > math.log(0.5)
    lower = log_fa + _log1mexp(jnp.where(upper_tail, -1.0, log_fb - log_fa), jnp)
    upper = log_sb + _log1mexp(jnp.where(upper_tail, log_sa - log_sb, -1.0), jnp)
    return jnp.where(upper_tail, upper, lower)


def _lgamma_diff(y, log_r, jnp):
    """lgamma(y + r) - lgamma(r), r = exp(log_r), without cancellation when r is huge."""
    from jax.scipy.special import gammaln

    r = jnp.exp(log_r)
    large = r > _STIRLING_FROM * (1.0 + y)
    rs = jnp.where(large, r, _STIRLING_FROM * (1.0 + y))
    rd = jnp.where(large, 1.0, r)
    inv_gap = y / (rs * (rs + y))
    cube = y * (3 * rs * rs + 3 * rs * y + y * y) / (rs**3 * (rs + y) ** 3)
    log_rs = jnp.where(large, log_r, jnp.log(rs))
    series = y * log_rs + (rs + y - 0.5) * jnp.log1p(y / rs) - y - inv_gap / 12 + cube / 360
    return jnp.where(large, series, gammaln(y + rd) - gammaln(rd))


def _negative_binomial(y, eta, log_dispersion, constant_dispersion: bool, jnp):
    lnd = jnp.maximum(log_dispersion, LOG_DISPERSION_FLOOR)
    eta = jnp.minimum(eta, _ETA_CAP)
    if constant_dispersion:  # NB1: size mu/delta, success probability 1/(1 + delta)
        log1p_d = jnp.log1p(jnp.exp(lnd))
        log_r = eta - lnd
        return _lgamma_diff(y, log_r, jnp) - jnp.exp(log_r) * log1p_d + y * (lnd - log1p_d)
    log1p_am = jnp.logaddexp(0.0, lnd + eta)  # log(1 + alpha mu)
    return _lgamma_diff(y, -lnd, jnp) - jnp.exp(-lnd) * log1p_am + y * (lnd + eta - log1p_am)


def loglik_terms(data: GlmmData, y, trials, eta, anc, jnp):
    """Per-observation log likelihood without the data-only constants.

    ``anc`` holds the family's parameters on their natural scale: the cutpoints, ``lnalpha``
    (``lndelta``), or the variance of a Gaussian outcome.
    """
    fam, link = data.family, data.link
    if fam in ("bernoulli", "binomial"):
        return _binomial(link, y, trials, eta, jnp)
    if fam == "ordinal":
        return _ordinal(link, y, eta, anc, jnp)
    if fam == "poisson":
        return y * eta - jnp.exp(jnp.minimum(eta, _ETA_CAP))
    if fam == "nbinomial":
        return _negative_binomial(y, eta, anc[0], data.dispersion == "constant", jnp)
    mu = eta if link == "identity" else jnp.exp(jnp.minimum(eta, _ETA_CAP))
    return -0.5 * jnp.log(anc[0]) - 0.5 * (y - mu) ** 2 / anc[0]


# --- the model on the unconstrained scale -----------------------------------------------------
class GlmmModel(_Model):
    """Offsets of the unconstrained vector, the maps to the model's parameters, the log density."""

    def __init__(self, data: GlmmData, layout: GlmmLayout, priors: PriorSet):
        super().__init__(data, layout, priors)
        self.anc_start = self.resid
        self.anc_names = layout.ancillary_names
        self.dim = self.anc_start + len(self.anc_names)
        self.n_z = self.anc_start - (self.z_start[0] if self.z_start else self.anc_start)

    def ancillary(self, t, jnp):
        """Natural values of the family's parameters and the log Jacobian of their transform."""
        free = t[self.anc_start : self.dim]
        if not len(self.anc_names):
            return free, 0.0
        if self.data.family == "ordinal":
            steps = jnp.concatenate([free[:1], jnp.exp(free[1:])])
            return jnp.cumsum(steps), jnp.sum(free[1:])
        if self.data.family == "gaussian":
            return jnp.exp(free), jnp.sum(free)
        return free, 0.0

    def linear_predictor(self, t, us, arrays, jnp):
        eta = arrays["offset"] + arrays["X"] @ t[: self.layout.p]
        for u, codes, Z in zip(us, arrays["codes"], arrays["Z"], strict=True):
            eta = eta + jnp.sum(Z * u[codes], axis=1)
        return eta

    def loglik(self, t, arrays, jnp, per_observation: bool = False):
        """Conditional log likelihood (with constants) and the random effects at ``t``."""
        sigmas, _ = self.sigma_and_prior(t, jnp)
        us = self.effects(t, sigmas, jnp)
        anc, _ = self.ancillary(t, jnp)
        eta = self.linear_predictor(t, us, arrays, jnp)
        terms = loglik_terms(self.data, arrays["y"], arrays["trials"], eta, anc, jnp)
        if per_observation:
            return terms, us
        return jnp.sum(terms) + arrays["constant"], us

    def log_density(self, t, arrays, jnp):
        """Log posterior density (normalised prior and likelihood) on the unconstrained scale."""
        sigmas, logp = self.sigma_and_prior(t, jnp)
        beta = t[: self.layout.p]
        for j, dist in self.priors.coef.items():
            logp += dist.logpdf(beta[j], xp=jnp)
        for idx, dist in self.priors.coef_groups:
            logp += dist.logpdf(beta[jnp.asarray(idx)], xp=jnp)
        z_all = t[self.anc_start - self.n_z : self.anc_start]
        logp += -0.5 * jnp.sum(z_all**2) - 0.5 * LOG2PI * self.n_z
        anc, log_jac = self.ancillary(t, jnp)
        logp += log_jac
        for j, name in enumerate(self.anc_names):
            logp += self.priors.ancillary[name].logpdf(anc[j], xp=jnp)
        us = self.effects(t, sigmas, jnp)
        eta = self.linear_predictor(t, us, arrays, jnp)
        terms = loglik_terms(self.data, arrays["y"], arrays["trials"], eta, anc, jnp)
        return logp + jnp.sum(terms) + arrays["constant"]

    def initial(self, beta, sigmas, anc) -> np.ndarray:
        """Unconstrained vector at coefficients, design-order covariances, ancillary values."""
        t = np.zeros(self.dim)
        t[: self.layout.p] = beta
        for (lev, start, n_cov), sigma in zip(self.parts, sigmas, strict=True):
            if lev.structure == "unstructured" and lev.q > 1:
                chol = np.linalg.cholesky(sigma)
                rows, cols = np.tril_indices(lev.q, -1)
                t[start : start + n_cov] = np.concatenate([np.log(np.diag(chol)), chol[rows, cols]])
            elif lev.structure == "exchangeable" and lev.q > 1:
                t[start] = math.log(sigma[0, 0])
            else:
                t[start : start + n_cov] = np.log(np.diag(sigma)[:n_cov])
        t[self.anc_start :] = self.free_ancillary(np.asarray(anc, float))
        return t

    def free_ancillary(self, anc: np.ndarray) -> np.ndarray:
        """The unconstrained coordinates of the family's parameters."""
        if self.data.family == "ordinal" and len(anc) > 1:
            gaps = np.diff(anc)
            if np.any(gaps <= 0):
                raise OptionError("initial cutpoints must increase: cut1 < cut2 < ...")
            return np.concatenate([anc[:1], np.log(gaps)])
        if self.data.family == "gaussian":
            if np.any(anc <= 0):
                raise OptionError("the initial variance must be positive")
            return np.log(anc)
        return anc


def numpy_loglik(data: GlmmData, beta, u: list[np.ndarray], anc) -> float:
    """Conditional log likelihood by the frequentist engine's families (NumPy).

    Gives the deviance of DIC at the posterior means, and an implementation independent of
    :func:`loglik_terms` to check it against.
    """
    eta = data.offset + data.X @ np.asarray(beta, float)
    for lev, uk in zip(data.levels, u, strict=True):
        eta = eta + np.einsum("nq,nq->n", lev.Z, np.asarray(uk)[lev.codes])
    family = family_for(data.spec_family, data.n_categories)
    anc = np.asarray(anc, float)
    if data.family == "gaussian":
        anc = 0.5 * np.log(anc)  # the engine's ancillary parameter is ln sigma
    response = ResponseData(data.y, data.trials, data.n_categories)
    return float(np.sum(family.loglik(eta, response, anc)))
