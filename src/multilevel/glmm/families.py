"""Response distributions and links of generalized linear mixed models, as small data-driven objects.

Every family gives, per observation, the conditional log density ``l(eta)`` *with* its normalising
constants (the binomial coefficient, ``-lgamma(y+1)``, ...), as Stata reports the log likelihood, and the
derivatives the Laplace approximation and its gradient need:

- ``s = l'(eta)`` (score), ``w = -l''(eta)`` (the IRLS weight of a true Newton step), ``t = -l'''(eta)``;
- for ancillary parameters ``a`` (cutpoints, ``ln alpha``, ``ln delta``, ``ln sigma``): ``dl/da``,
  ``ds/da`` and ``dw/da`` at fixed ``eta``.

Binary and ordinal outcomes go through a cumulative distribution ``F`` (the inverse link) and the ratios
``f/F``, ``f/S`` and ``f'/f``, ``f''/f``, computed on the log scale so that tails do not lose precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ..errors import OptionError
from ..spec.model_spec import Family as FamilySpec

_LOG_2PI = float(np.log(2 * np.pi))


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow (several times faster than np.logaddexp)."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


# --- links -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CdfLink:
    """A link whose inverse is a distribution function ``F`` (logit, probit, cloglog)."""

    name: str

    def cdf(self, x: np.ndarray) -> np.ndarray:
        if self.name == "logit":
            return special.expit(x)
        if self.name == "probit":
            return special.ndtr(x)
        return -np.expm1(-np.exp(np.minimum(x, 700.0)))

    def log_cdf(self, x: np.ndarray) -> np.ndarray:
        if self.name == "logit":
            return -_softplus(-x)
        if self.name == "probit":
            return special.log_ndtr(x)
        e = np.exp(np.minimum(x, 700.0))
        # log(1 - exp(-e)), accurate for small and large e
        return np.where(e < 0.69, np.log(-np.expm1(-e)), np.log1p(-np.exp(-e)))

    def log_sf(self, x: np.ndarray) -> np.ndarray:
        """log(1 - F(x))."""
        if self.name == "logit":
            return -_softplus(x)
        if self.name == "probit":
            return special.log_ndtr(-x)
        return -np.exp(np.minimum(x, 700.0))

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        if self.name == "logit":
            return -np.abs(x) - 2.0 * np.log1p(np.exp(-np.abs(x)))
        if self.name == "probit":
            return -0.5 * x * x - 0.5 * _LOG_2PI
        return x - np.exp(np.minimum(x, 700.0))

    def shape(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``f'(x)/f(x)`` and ``f''(x)/f(x)``."""
        if self.name == "logit":
            p = special.expit(x)
            return 1.0 - 2.0 * p, 1.0 - 6.0 * p * (1.0 - p)
        if self.name == "probit":
            return -x, x * x - 1.0
        e = np.exp(np.minimum(x, 700.0))
        d1 = 1.0 - e
        return d1, d1 * d1 - e

    def is_symmetric(self) -> bool:
        return self.name in ("logit", "probit")


# --- the interface -----------------------------------------------------------------------------
@dataclass
class ResponseData:
    """What a family reads besides ``eta``: the response and, for binomial outcomes, the trials.

    Terms of the log density that depend on the data alone (binomial coefficients, ``lgamma(y+1)``)
    are computed once and kept in ``constants``.
    """

    y: np.ndarray
    trials: np.ndarray | None = None
    n_categories: int = 0  # ordinal outcomes: number of categories (y coded 0 .. K-1)
    constants: dict = field(default_factory=dict, repr=False)

    def cached(self, key: str, compute) -> np.ndarray:
        if key not in self.constants:
            self.constants[key] = compute()
        return self.constants[key]


@dataclass
class GlmFamily:
    """Base class: a conditional distribution with its link and its ancillary parameters."""

    name: str
    link: str
    ancillary_names: list[str] = field(default_factory=list)

    @property
    def n_ancillary(self) -> int:
        return len(self.ancillary_names)

    # per observation, at eta and ancillary parameters
    def loglik(self, eta: np.ndarray, data: ResponseData, anc: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivatives(
        self, eta: np.ndarray, data: ResponseData, anc: np.ndarray, third: bool = False
    ) -> tuple[np.ndarray, ...]:
        """``(l, s, w)``, or ``(l, s, w, t)`` with ``third=True``."""
        raise NotImplementedError

    def ancillary_derivatives(
        self, eta: np.ndarray, data: ResponseData, anc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``dl/da``, ``ds/da``, ``dw/da``, each (n, n_ancillary)."""
        n = len(eta)
        empty = np.zeros((n, 0))
        return empty, empty, empty

    def ancillary_start(self, data: ResponseData) -> np.ndarray:
        return np.zeros(self.n_ancillary)

    def mean(self, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        """Conditional mean of one trial (the probability for binary outcomes)."""
        raise NotImplementedError

    @property
    def is_ordinal(self) -> bool:
        return False


# --- binomial ------------------------------------------------------------------------------------
@dataclass
class Binomial(GlmFamily):
    """Bernoulli or binomial(N) outcome with a logit, probit or cloglog link."""

    cdf: CdfLink | None = None

    def __post_init__(self):
        self.cdf = CdfLink(self.link)

    def _trials(self, data: ResponseData) -> np.ndarray:
        return np.ones_like(data.y) if data.trials is None else data.trials

    def _constant(self, data: ResponseData) -> np.ndarray:
        def compute():
            n, y = self._trials(data), data.y
            return special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)

        return data.cached("binomial", compute)

    def loglik(self, eta, data, anc):
        n, y = self._trials(data), data.y
        if self.link == "logit":
            return y * eta - n * _softplus(eta) + self._constant(data)
        return (
            _xlogy_safe(y, self.cdf.log_cdf(eta))
            + _xlogy_safe(n - y, self.cdf.log_sf(eta))
            + self._constant(data)
        )

    def derivatives(self, eta, data, anc, third=False):
        if self.link == "logit":
            return self._logit_derivatives(eta, data, third)
        n, y = self._trials(data), data.y
        log_f = self.cdf.log_pdf(eta)
        log_cdf, log_sf = self.cdf.log_cdf(eta), self.cdf.log_sf(eta)
        r = np.exp(log_f - log_cdf)  # f / F
        m = np.exp(log_f - log_sf)  # f / S
        d1, d2 = self.cdf.shape(eta)
        fails = n - y
        loglik = _xlogy_safe(y, log_cdf) + _xlogy_safe(fails, log_sf) + self._constant(data)
        score = y * r - fails * m
        weight = -(y * (r * d1 - r * r) + fails * (-m * d1 - m * m))
        if not third:
            return loglik, score, weight
        third_derivative = y * (r * d2 - 3 * r * r * d1 + 2 * r**3) + fails * (
            -m * d2 - 3 * m * m * d1 - 2 * m**3
        )
        return loglik, score, weight, -third_derivative

    def _logit_derivatives(self, eta, data, third):
        # The canonical link: l = y eta - n log(1 + e^eta), one exponential for everything.
        n, y = self._trials(data), data.y
        e = np.exp(-np.abs(eta))
        log1pe = np.log1p(e)
        mu = np.where(eta >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        loglik = y * eta - n * (np.maximum(eta, 0.0) + log1pe) + self._constant(data)
        var = mu * (1.0 - mu)
        if not third:
            return loglik, y - n * mu, n * var
        return loglik, y - n * mu, n * var, n * var * (1.0 - 2.0 * mu)

    def mean(self, eta, anc):
        return self.cdf.cdf(eta)


_STIRLING_FROM = 1e4  # r beyond which the differences below come from asymptotic series


def _lgamma_diff(y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """lgamma(y + r) - lgamma(r), without cancellation when r is huge (dispersion near zero)."""
    r = np.broadcast_to(r, np.broadcast_shapes(np.shape(y), np.shape(r)))
    large = r > _STIRLING_FROM * (1.0 + y)
    rs = np.where(large, r, _STIRLING_FROM)
    inv_gap = y / (rs * (rs + y))
    cube = y * (3 * rs * rs + 3 * rs * y + y * y) / (rs**3 * (rs + y) ** 3)
    series = y * np.log(rs) + (rs + y - 0.5) * np.log1p(y / rs) - y - inv_gap / 12 + cube / 360
    with np.errstate(invalid="ignore"):
        direct = special.gammaln(y + r) - special.gammaln(r)
    return np.where(large, series, direct)


def _polygamma_diffs(y: np.ndarray, r: np.ndarray, orders: int) -> list[np.ndarray]:
    """psi_k(y + r) - psi_k(r) for k = 0 .. orders-1, series for huge r."""
    r = np.broadcast_to(r, np.broadcast_shapes(np.shape(y), np.shape(r)))
    large = r > _STIRLING_FROM * (1.0 + y)
    rs = np.where(large, r, _STIRLING_FROM)
    d1 = y / (rs * (rs + y))  # 1/r - 1/(r+y)
    d2 = y * (2 * rs + y) / (rs**2 * (rs + y) ** 2)  # 1/r^2 - 1/(r+y)^2
    d3 = y * (3 * rs * rs + 3 * rs * y + y * y) / (rs**3 * (rs + y) ** 3)  # 1/r^3 - 1/(r+y)^3
    series = [np.log1p(y / rs) + 0.5 * d1 + d2 / 12, -d1 - 0.5 * d2 - d3 / 6, d2 + d3]
    out = []
    for k in range(orders):
        with np.errstate(invalid="ignore"):
            direct = special.polygamma(k, y + r) - special.polygamma(k, r)
        out.append(np.where(large, series[k], direct))
    return out


def _lgamma_y1(data: ResponseData) -> np.ndarray:
    return data.cached("lgamma_y1", lambda: special.gammaln(data.y + 1))


def _xlogy_safe(coef: np.ndarray, log_value: np.ndarray) -> np.ndarray:
    """coef * log_value with 0 * (-inf) taken as 0."""
    return np.where(coef == 0, 0.0, coef * log_value)


# --- ordinal -------------------------------------------------------------------------------------
@dataclass
class Ordinal(GlmFamily):
    """Cumulative-link model: P(y <= j) = F(cut_j - eta), cutpoints as ancillary parameters."""

    n_categories: int = 0
    cdf: CdfLink | None = None

    def __post_init__(self):
        self.cdf = CdfLink(self.link)
        self.ancillary_names = [f"/cut{j}" for j in range(1, self.n_categories)]

    @property
    def is_ordinal(self) -> bool:
        return True

    def _bounds(self, eta, data, cuts):
        """Upper and lower arguments a = cut_y - eta, b = cut_{y-1} - eta (+-inf at the ends)."""
        code = data.y.astype(np.intp)
        padded = np.concatenate([[-np.inf], np.asarray(cuts, dtype=float), [np.inf]])
        return padded[code + 1] - eta, padded[code] - eta, code

    def _log_prob(self, a, b):
        """log(F(a) - F(b)) without cancellation in either tail."""
        cdf = self.cdf
        with np.errstate(invalid="ignore", divide="ignore"):
            log_fa, log_fb = cdf.log_cdf(a), cdf.log_cdf(b)
            log_sa, log_sb = cdf.log_sf(a), cdf.log_sf(b)
            lower = log_fa + np.log1p(-np.exp(log_fb - log_fa))
            upper = log_sb + np.log1p(-np.exp(log_sa - log_sb))
        use_upper = log_fb > np.log(0.5)
        out = np.where(use_upper, upper, lower)
        out = np.where(np.isneginf(b), log_fa, out)
        return np.where(np.isposinf(a), log_sb, out)

    def loglik(self, eta, data, anc):
        a, b, _ = self._bounds(eta, data, anc)
        return self._log_prob(a, b)

    def _pieces(self, eta, data, cuts):
        a, b, code = self._bounds(eta, data, cuts)
        log_p = self._log_prob(a, b)
        finite_a, finite_b = np.isfinite(a), np.isfinite(b)
        a0, b0 = np.where(finite_a, a, 0.0), np.where(finite_b, b, 0.0)
        ra = np.where(finite_a, np.exp(self.cdf.log_pdf(a0) - log_p), 0.0)
        rb = np.where(finite_b, np.exp(self.cdf.log_pdf(b0) - log_p), 0.0)
        fa1, fa2 = self.cdf.shape(a0)
        fb1, fb2 = self.cdf.shape(b0)
        g = {
            "a": ra,
            "b": -rb,
            "aa": ra * fa1 - ra * ra,
            "bb": -rb * fb1 - rb * rb,
            "ab": ra * rb,
            "aaa": ra * fa2 - 3 * ra * ra * fa1 + 2 * ra**3,
            "bbb": -rb * fb2 - 3 * rb * rb * fb1 - 2 * rb**3,
            "aab": ra * rb * fa1 - 2 * ra * ra * rb,
            "abb": ra * rb * fb1 + 2 * ra * rb * rb,
        }
        return log_p, g, code, finite_a, finite_b

    def derivatives(self, eta, data, anc, third=False):
        log_p, g, _, _, _ = self._pieces(eta, data, anc)
        score = -(g["a"] + g["b"])
        weight = -(g["aa"] + 2 * g["ab"] + g["bb"])
        if not third:
            return log_p, score, weight
        t = g["aaa"] + 3 * g["aab"] + 3 * g["abb"] + g["bbb"]
        return log_p, score, weight, t

    def ancillary_derivatives(self, eta, data, anc):
        _, g, code, finite_a, finite_b = self._pieces(eta, data, anc)
        n, k = len(eta), self.n_ancillary
        dl, ds, dw = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k))
        rows = np.arange(n)
        ia, ib = rows[finite_a], rows[finite_b]
        ca, cb = code[finite_a], code[finite_b] - 1
        dl[ia, ca] += g["a"][ia]
        dl[ib, cb] += g["b"][ib]
        ds[ia, ca] += -(g["aa"] + g["ab"])[ia]
        ds[ib, cb] += -(g["ab"] + g["bb"])[ib]
        dw[ia, ca] += -(g["aaa"] + 2 * g["aab"] + g["abb"])[ia]
        dw[ib, cb] += -(g["aab"] + 2 * g["abb"] + g["bbb"])[ib]
        return dl, ds, dw

    def ancillary_start(self, data):
        """Cutpoints of the marginal category frequencies (the model with eta = 0)."""
        counts = np.bincount(data.y.astype(np.intp), minlength=self.n_categories)
        cumulative = np.cumsum(counts)[:-1] / counts.sum()
        cumulative = np.clip(cumulative, 1e-6, 1 - 1e-6)
        return _quantile(self.cdf, cumulative)

    def mean(self, eta, anc):
        raise OptionError("an ordinal outcome has category probabilities, not a mean")

    def category_probabilities(self, eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
        """(n, K) probabilities of each outcome category."""
        cumulative = self.cdf.cdf(np.asarray(cuts)[None, :] - eta[:, None])
        padded = np.column_stack([np.zeros(len(eta)), cumulative, np.ones(len(eta))])
        return np.diff(padded, axis=1)


def _quantile(cdf: CdfLink, p: np.ndarray) -> np.ndarray:
    if cdf.name == "logit":
        return special.logit(p)
    if cdf.name == "probit":
        return special.ndtri(p)
    return np.log(-np.log1p(-p))


# --- counts --------------------------------------------------------------------------------------
@dataclass
class Poisson(GlmFamily):
    """Poisson counts with the log link."""

    def loglik(self, eta, data, anc):
        y = data.y
        return y * eta - np.exp(eta) - _lgamma_y1(data)

    def derivatives(self, eta, data, anc, third=False):
        y = data.y
        mu = np.exp(eta)
        loglik = y * eta - mu - _lgamma_y1(data)
        if not third:
            return loglik, y - mu, mu
        return loglik, y - mu, mu, mu

    def mean(self, eta, anc):
        return np.exp(eta)

    def ancillary_start(self, data):
        return np.zeros(0)


@dataclass
class NegativeBinomialMean(GlmFamily):
    """Stata's mean dispersion (NB2): Var(y) = mu (1 + alpha mu); ancillary ``/lnalpha``."""

    def __post_init__(self):
        self.ancillary_names = ["/lnalpha"]

    def loglik(self, eta, data, anc):
        y, alpha = data.y, float(np.exp(anc[0]))
        mu = np.exp(eta)
        r = 1.0 / alpha
        return (
            _lgamma_diff(y, r)
            - _lgamma_y1(data)
            - r * np.log1p(alpha * mu)
            + special.xlogy(y, alpha * mu / (1.0 + alpha * mu))
        )

    def derivatives(self, eta, data, anc, third=False):
        y, alpha = data.y, float(np.exp(anc[0]))
        mu = np.exp(eta)
        denom = 1.0 + alpha * mu
        loglik = self.loglik(eta, data, anc)
        score = (y - mu) / denom
        weight = mu * (1.0 + alpha * y) / denom**2
        if not third:
            return loglik, score, weight
        return loglik, score, weight, (1.0 + alpha * y) * mu * (1.0 - alpha * mu) / denom**3

    def ancillary_derivatives(self, eta, data, anc):
        y, alpha = data.y, float(np.exp(anc[0]))
        mu = np.exp(eta)
        r = 1.0 / alpha
        denom = 1.0 + alpha * mu
        dl = -r * (_polygamma_diffs(y, r, 1)[0] - np.log1p(alpha * mu) + (mu - y) / (r + mu))
        ds = -alpha * mu * (y - mu) / denom**2
        dw = alpha * mu * (y - 2 * mu - alpha * mu * y) / denom**3
        return dl[:, None], ds[:, None], dw[:, None]

    def ancillary_start(self, data):
        return np.zeros(1)

    def mean(self, eta, anc):
        return np.exp(eta)


@dataclass
class NegativeBinomialConstant(GlmFamily):
    """Stata's constant dispersion (NB1): Var(y) = mu (1 + delta); ancillary ``/lndelta``."""

    def __post_init__(self):
        self.ancillary_names = ["/lndelta"]

    def _parts(self, eta, data, anc):
        delta = float(np.exp(anc[0]))
        r = np.exp(eta) / delta
        return data.y, delta, r, float(np.log1p(delta))

    def loglik(self, eta, data, anc):
        y, delta, r, c = self._parts(eta, data, anc)
        return _lgamma_diff(y, r) - _lgamma_y1(data) - r * c + y * (np.log(delta) - c)

    def derivatives(self, eta, data, anc, third=False):
        y, _, r, c = self._parts(eta, data, anc)
        diffs = _polygamma_diffs(y, r, 3 if third else 2)
        phi = diffs[0] - c
        phi1 = diffs[1]
        loglik = self.loglik(eta, data, anc)
        score = r * phi
        second = r * phi + r * r * phi1
        if not third:
            return loglik, score, -second
        phi2 = diffs[2]
        third_derivative = r * phi + 3 * r * r * phi1 + r**3 * phi2
        return loglik, score, -second, -third_derivative

    def ancillary_derivatives(self, eta, data, anc):
        y, delta, r, _ = self._parts(eta, data, anc)
        _, score, weight, t = self.derivatives(eta, data, anc, third=True)
        share = delta / (1.0 + delta)
        dl = -score + (y - r * delta) / (1.0 + delta)
        ds = weight - r * share  # -l'' - r pi
        dw = -t + r * share  # l''' + r pi
        return dl[:, None], ds[:, None], dw[:, None]

    def ancillary_start(self, data):
        return np.zeros(1)

    def mean(self, eta, anc):
        return np.exp(eta)


# --- gaussian ----------------------------------------------------------------------------------
@dataclass
class Gaussian(GlmFamily):
    """Normal outcome (meglm family(gaussian)) with identity or log link; ancillary ``ln sigma``."""

    response: str = "y"

    def __post_init__(self):
        self.ancillary_names = [f"var(e.{self.response})"]

    def _mu(self, eta):
        if self.link == "identity":
            one = np.ones_like(eta)
            return eta, one, np.zeros_like(eta), np.zeros_like(eta)
        mu = np.exp(eta)
        return mu, mu, mu, mu

    def loglik(self, eta, data, anc):
        mu = self._mu(eta)[0]
        var = float(np.exp(2 * anc[0]))
        return -0.5 * (_LOG_2PI + np.log(var)) - 0.5 * (data.y - mu) ** 2 / var

    def derivatives(self, eta, data, anc, third=False):
        mu, d1, d2, d3 = self._mu(eta)
        var = float(np.exp(2 * anc[0]))
        resid = data.y - mu
        loglik = -0.5 * (_LOG_2PI + np.log(var)) - 0.5 * resid**2 / var
        score = resid * d1 / var
        weight = -(resid * d2 - d1 * d1) / var
        if not third:
            return loglik, score, weight
        return loglik, score, weight, -(resid * d3 - 3 * d1 * d2) / var

    def ancillary_derivatives(self, eta, data, anc):
        mu, d1, d2, _ = self._mu(eta)
        var = float(np.exp(2 * anc[0]))
        resid = data.y - mu
        dl = -1.0 + resid**2 / var
        ds = -2.0 * resid * d1 / var
        dw = 2.0 * (resid * d2 - d1 * d1) / var
        return dl[:, None], ds[:, None], dw[:, None]

    def ancillary_start(self, data):
        return np.array([np.log(max(float(np.std(data.y)), 1e-8))])

    def mean(self, eta, anc):
        return self._mu(eta)[0]


# --- construction --------------------------------------------------------------------------------
def family_for(spec: FamilySpec, n_categories: int = 0, response: str = "y") -> GlmFamily:
    """The family object for a model's ``Family`` (and the number of ordinal categories)."""
    name, link = spec.name, spec.link
    if name in ("bernoulli", "binomial"):
        if link not in ("logit", "probit", "cloglog"):
            raise OptionError(f"link({link}) is not allowed with family({name})")
        return Binomial(name, link)
    if name == "ordinal":
        if link not in ("logit", "probit", "cloglog"):
            raise OptionError(f"link({link}) is not allowed with family(ordinal)")
        return Ordinal(name, link, n_categories=n_categories)
    if name == "poisson":
        return Poisson(name, "log")
    if name == "nbinomial":
        if spec.dispersion == "constant":
            return NegativeBinomialConstant(name, "log")
        return NegativeBinomialMean(name, "log")
    if name == "gaussian":
        return Gaussian(
            name, link if link in ("identity", "log") else "identity", response=response
        )
    raise OptionError(f"family({name}) is not supported")
