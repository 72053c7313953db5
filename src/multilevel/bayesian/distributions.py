"""Prior distributions with Stata's ``bayesmh`` names and parametrisations.

Each distribution is plain data (name, arguments) with a log density that works on NumPy arrays and,
given ``xp=jax.numpy``, on JAX arrays (used by the NUTS sampler). Parametrisations follow Stata:
``normal(mu, var)``, ``t(mu, sigma2, df)``, ``lognormal(mu, var)``, ``uniform(a, b)``,
``gamma(shape, scale)``, ``igamma(shape, scale)``, ``exponential(scale)``, ``beta(a, b)``,
``laplace(mu, scale)``, ``cauchy(loc, scale)``, ``chi2(df)``, ``pareto(shape, scale)``,
``jeffreys`` (1/x for a variance; ``jeffreys(d)``: |S|^-(d+1)/2 for a covariance matrix), ``flat``,
``mvnormal(d, m1, ..., md, S)``, ``wishart(d, df, V)``, ``iwishart(d, df, V)``.
Densities are normalised where the distribution is proper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ..errors import OptionError

LOG2PI = math.log(2 * math.pi)

SCALAR = {
    "normal": 2,
    "t": 3,
    "lognormal": 2,
    "uniform": 2,
    "gamma": 2,
    "igamma": 2,
    "exponential": 1,
    "beta": 2,
    "laplace": 2,
    "cauchy": 2,
    "chi2": 1,
    "pareto": 2,
    "jeffreys": 0,
    "flat": 0,
}
ALIASES = {"lnormal": "lognormal", "exp": "exponential", "mvn": "mvnormal"}
MULTIVARIATE = ("mvnormal", "mvn0", "wishart", "iwishart")
POSITIVE_SUPPORT = {"lognormal", "gamma", "igamma", "exponential", "chi2", "pareto", "jeffreys"}


def _fmt(value) -> str:
    if isinstance(value, np.ndarray):
        if value.ndim == 2 and np.array_equal(value, np.eye(len(value))):
            return f"I({len(value)})"
        return "matrix"
    text = f"{float(value):.7g}"
    if text.startswith("0.") and len(text) > 2:
        text = text[1:]
    elif text.startswith("-0."):
        text = "-" + text[2:]
    return text


@dataclass(frozen=True)
class Distribution:
    """A prior distribution: Stata's name and arguments.

    ``args`` holds numbers for scalar distributions; for ``mvnormal`` the mean vector and the
    covariance matrix; for ``wishart``/``iwishart`` the degrees of freedom and scale matrix;
    ``dim`` is ``d`` of a multivariate or matrix distribution (``None`` for a scalar one).
    """

    name: str
    args: tuple = ()
    dim: int | None = None
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        if self.text:
            return self.text
        if self.name in ("flat",) or (self.name == "jeffreys" and self.dim is None):
            return self.name
        if self.name in ("wishart", "iwishart"):
            return f"{self.name}({self.dim},{_fmt(self.args[0])},{_fmt(self.args[1])})"
        if self.name == "jeffreys":
            return f"jeffreys({self.dim})"
        if self.name == "mvnormal":
            means = ",".join(_fmt(m) for m in self.args[0])
            return f"mvnormal({self.dim},{means},{_fmt(self.args[1])})"
        return f"{self.name}({','.join(_fmt(a) for a in self.args)})"

    @property
    def is_matrix(self) -> bool:
        return self.name in ("wishart", "iwishart") or (
            self.name == "jeffreys" and self.dim is not None
        )

    @property
    def is_proper(self) -> bool:
        return self.name not in ("flat", "jeffreys")

    def logpdf(self, x, xp=np):
        """Log density at ``x`` (a scalar or array of scalars; a (d, d) matrix for matrix priors)."""
        if self.is_matrix:
            return _matrix_logpdf(self, x, xp)
        if self.name == "mvnormal":
            return _mvnormal_logpdf(self, x, xp)
        return _scalar_logpdf(self.name, self.args, x, xp)

    def normal_form(self) -> tuple[float, float] | None:
        """(mean, variance) when the prior is normal, (0, inf) when flat, else ``None``."""
        if self.name == "normal":
            return float(self.args[0]), float(self.args[1])
        if self.name == "flat":
            return 0.0, math.inf
        return None

    def ig_form(self) -> tuple[float, float] | None:
        """(a, b) with density proportional to x^-(a+1) exp(-b/x), when the prior has that form."""
        if self.name == "igamma":
            return float(self.args[0]), float(self.args[1])
        if self.name == "jeffreys" and self.dim is None:
            return 0.0, 0.0
        if self.name == "flat":
            return -1.0, 0.0
        return None

    def iw_form(self, d: int) -> tuple[float, np.ndarray] | None:
        """(df, scale) with density proportional to |S|^-(df+d+1)/2 exp(-tr(scale S^-1)/2)."""
        if self.name == "iwishart":
            return float(self.args[0]), np.asarray(self.args[1], float)
        if self.name == "jeffreys":
            return 0.0, np.zeros((d, d))
        if self.name == "flat":
            return -(d + 1.0), np.zeros((d, d))
        return None

    def moments(self) -> tuple[float, float] | None:
        """(mean, variance) of a proper scalar prior with finite variance, else ``None``."""
        a = [float(v) for v in self.args]
        n = self.name
        table = {
            "normal": lambda: (a[0], a[1]),
            "t": lambda: (a[0], a[1] * a[2] / (a[2] - 2)) if a[2] > 2 else None,
            "uniform": lambda: ((a[0] + a[1]) / 2, (a[1] - a[0]) ** 2 / 12),
            "laplace": lambda: (a[0], 2 * a[1] ** 2),
            "beta": lambda: (
                a[0] / (a[0] + a[1]),
                a[0] * a[1] / ((a[0] + a[1]) ** 2 * (a[0] + a[1] + 1)),
            ),
        }
        fn = table.get(n)
        return fn() if fn else None

    def sample(self, rng: np.random.Generator, size=None):
        """Draws from a proper prior (used by simulation-based calibration)."""
        return _sample(self, rng, size)


def _scalar_logpdf(name: str, args: tuple, x, xp):
    a = [float(v) for v in args]
    x = xp.asarray(x)
    pos = x > 0
    safe = xp.where(pos, x, 1.0)
    ninf = -xp.inf
    if name == "normal":
        return -0.5 * (LOG2PI + math.log(a[1]) + (x - a[0]) ** 2 / a[1])
    if name == "t":
        mu, s2, nu = a
        z2 = (x - mu) ** 2 / s2
        const = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi * s2)
        return const - (nu + 1) / 2 * xp.log1p(z2 / nu)
    if name == "lognormal":
        lx = xp.log(safe)
        val = -0.5 * (LOG2PI + math.log(a[1]) + (lx - a[0]) ** 2 / a[1]) - lx
        return xp.where(pos, val, ninf)
    if name == "uniform":
        inside = (x >= a[0]) & (x <= a[1])
        return xp.where(inside, -math.log(a[1] - a[0]), ninf)
    if name == "gamma":
        val = (a[0] - 1) * xp.log(safe) - safe / a[1] - math.lgamma(a[0]) - a[0] * math.log(a[1])
        return xp.where(pos, val, ninf)
    if name == "igamma":
        val = a[0] * math.log(a[1]) - math.lgamma(a[0]) - (a[0] + 1) * xp.log(safe) - a[1] / safe
        return xp.where(pos, val, ninf)
    if name == "exponential":
        return xp.where(x >= 0, -math.log(a[0]) - x / a[0], ninf)
    if name == "beta":
        inside = (x > 0) & (x < 1)
        s = xp.where(inside, x, 0.5)
        lb = math.lgamma(a[0]) + math.lgamma(a[1]) - math.lgamma(a[0] + a[1])
        val = (a[0] - 1) * xp.log(s) + (a[1] - 1) * xp.log1p(-s) - lb
        return xp.where(inside, val, ninf)
    if name == "laplace":
        return -math.log(2 * a[1]) - xp.abs(x - a[0]) / a[1]
    if name == "cauchy":
        return -math.log(math.pi * a[1]) - xp.log1p(((x - a[0]) / a[1]) ** 2)
    if name == "chi2":
        k = a[0] / 2
        val = (k - 1) * xp.log(safe) - safe / 2 - math.lgamma(k) - k * math.log(2)
        return xp.where(pos, val, ninf)
    if name == "pareto":
        s = xp.where(x >= a[1], x, a[1])
        val = math.log(a[0]) + a[0] * math.log(a[1]) - (a[0] + 1) * xp.log(s)
        return xp.where(x >= a[1], val, ninf)
    if name == "jeffreys":
        return xp.where(pos, -xp.log(safe), ninf)
    if name == "flat":
        return xp.zeros_like(x * 1.0)
    raise OptionError(f"prior {name}() is not available for a scalar parameter")


def _logdet_spd(m, xp):
    chol = xp.linalg.cholesky(m)
    return 2.0 * xp.sum(xp.log(xp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def _matrix_logpdf(dist: Distribution, x, xp):
    d = dist.dim
    logdet = _logdet_spd(x, xp)
    if dist.name == "jeffreys":
        return -(d + 1) / 2 * logdet
    nu = float(dist.args[0])
    scale = np.asarray(dist.args[1], float)
    _, logdet_scale = np.linalg.slogdet(scale)
    norm = nu * d / 2 * math.log(2) + float(special.multigammaln(nu / 2, d))
    if dist.name == "iwishart":
        inv = xp.linalg.inv(x)
        tr = xp.sum(xp.asarray(scale) * inv, axis=(-2, -1))
        return nu / 2 * logdet_scale - norm - (nu + d + 1) / 2 * logdet - tr / 2
    tr = xp.sum(xp.asarray(np.linalg.inv(scale)) * x, axis=(-2, -1))
    return (nu - d - 1) / 2 * logdet - tr / 2 - norm - nu / 2 * logdet_scale


def _mvnormal_logpdf(dist: Distribution, x, xp):
    mean = np.asarray(dist.args[0], float)
    cov = np.asarray(dist.args[1], float)
    prec = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    r = x - xp.asarray(mean)
    quad = xp.sum(r @ xp.asarray(prec) * r, axis=-1)
    return -0.5 * (len(mean) * LOG2PI + logdet + quad)


def _sample(dist: Distribution, rng: np.random.Generator, size):
    a = [float(v) for v in dist.args] if not dist.is_matrix and dist.name != "mvnormal" else []
    n = dist.name
    draws = {
        "normal": lambda: rng.normal(a[0], math.sqrt(a[1]), size),
        "uniform": lambda: rng.uniform(a[0], a[1], size),
        "igamma": lambda: a[1] / rng.gamma(a[0], 1.0, size),
        "gamma": lambda: rng.gamma(a[0], a[1], size),
        "exponential": lambda: rng.exponential(a[0], size),
        "lognormal": lambda: np.exp(rng.normal(a[0], math.sqrt(a[1]), size)),
        "beta": lambda: rng.beta(a[0], a[1], size),
        "chi2": lambda: rng.chisquare(a[0], size),
    }
    if n == "iwishart":
        from scipy.stats import invwishart

        return invwishart(df=dist.args[0], scale=dist.args[1]).rvs(random_state=rng)
    if n == "wishart":
        from scipy.stats import wishart

        return wishart(df=dist.args[0], scale=dist.args[1]).rvs(random_state=rng)
    if n not in draws:
        raise OptionError(f"cannot draw from prior {dist}")
    return draws[n]()
