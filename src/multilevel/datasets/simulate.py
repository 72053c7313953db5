"""Simulated multilevel data with known parameters.

Every simulator returns a DataFrame whose ``attrs["truth"]`` holds the parameters that generated
it, labelled as Stata labels the estimates of the matching model (``x``, ``_cons``,
``g: var(_cons)``, ``g: var(x)``, ``g: cov(x,_cons)``, ``var(Residual)``), so a fit can be checked
against the truth label by label. The same seed gives the same frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from ..errors import OptionError

__all__ = ["simulate_mixed", "simulate_crossed"]

_LINKS = {
    "gaussian": ("identity",),
    "bernoulli": ("logit", "probit"),
    "poisson": ("log",),
}

# exp(40) ~ 2e17 is already beyond any count a model could be asked to fit; numpy's Poisson
# sampler refuses means above ~1e19 with an unhelpful message.
_MAX_LOG_MEAN = 40.0

SeedLike = int | np.random.Generator | None


def simulate_mixed(
    n_groups: int,
    group_size: int | tuple[int, int],
    fixed: Mapping[str, float],
    random_sd: float | Mapping[str, float],
    corr: float | ArrayLike = 0.0,
    residual_sd: float = 1.0,
    slopes: Sequence[str] | None = None,
    family: str = "gaussian",
    link: str | None = None,
    seed: SeedLike = None,
    group: str = "g",
    response: str = "y",
) -> pd.DataFrame:
    """Simulate two-level data: random intercept and optional random slopes.

    The model is ``eta_ij = _cons + sum_k beta_k x_kij + u0_j + sum_s u_sj x_sij`` with covariates
    ``x_k ~ N(0, 1)`` drawn independently for every row and the group's random effects
    ``(u_s..., u0) ~ N(0, Sigma)``; the response is ``eta + N(0, residual_sd^2)`` (gaussian),
    Bernoulli with ``P(y=1) = F(eta)`` (``F`` the inverse logit or probit link) or Poisson with
    mean ``exp(eta)``.

    Parameters
    ----------
    n_groups
        Number of groups.
    group_size
        Rows per group, or ``(min, max)`` for unbalanced groups whose sizes are drawn uniformly
        from ``min .. max`` (both included).
    fixed
        Fixed coefficients by name: ``"_cons"`` is the intercept (0 when absent); every other name
        is a covariate drawn N(0, 1), in the order given, e.g. ``{"x": 2.0, "_cons": 1.0}``.
    random_sd
        Standard deviations of the random effects by term: ``"_cons"`` (random intercept) and
        covariate names (random slopes), e.g. ``{"_cons": 1.0, "x": 0.5}``. A number is the
        random-intercept SD alone.
    corr
        Correlation of the random effects: one number for every pair, or a matrix over the terms
        in Stata's order (the slopes in order, then ``_cons``).
    residual_sd
        Residual standard deviation (gaussian family only; the others have no residual).
    slopes
        Covariates with random slopes, in order. ``None`` (the default) takes the non-``_cons``
        names of ``random_sd`` in their order; given explicitly it must name the same covariates
        (it fixes their order in ``corr`` and in the truth).
    family
        ``"gaussian"``, ``"bernoulli"`` or ``"poisson"``.
    link
        ``"identity"`` (gaussian), ``"logit"`` or ``"probit"`` (bernoulli), ``"log"`` (poisson);
        ``None`` is the first of these for the family.
    seed
        Seed or :class:`numpy.random.Generator`; the same seed gives an identical frame.
    group, response
        Names of the group-identifier column (integers ``1 .. n_groups``) and the response.

    Returns
    -------
    pandas.DataFrame
        Columns ``response``, the covariates, ``group``; rows ordered by group.
        ``attrs["truth"]``: ``{label: value}`` with the fixed coefficients (covariates, then
        ``_cons``), ``{group}: var(term)`` for each random term, ``{group}: cov(a,b)`` for each
        pair (as Stata's unstructured covariance lists them) and, for the gaussian family,
        ``var(Residual)``. ``attrs["simulation"]``: the family and link.

    Raises
    ------
    OptionError
        Impossible settings: sizes below 1, negative SDs, a correlation matrix that is not a
        correlation matrix, a slope that is not a covariate, an unknown family or link.

    Examples
    --------
    >>> df = simulate_mixed(50, 20, {"x": 2.0, "_cons": 1.0}, {"_cons": 1.0, "x": 0.5},
    ...                     corr=-0.3, seed=1)
    >>> df.attrs["truth"]["g: cov(x,_cons)"]
    -0.15
    """
    link = _check_family(family, link)
    rng = np.random.default_rng(seed)
    sizes = _group_sizes(rng, n_groups, group_size)
    terms, sds = _random_terms(fixed, random_sd, slopes)
    covariance = _covariance(terms, sds, corr)
    _check_names(fixed, group, response)
    codes = np.repeat(np.arange(n_groups), sizes)
    covariates, eta = _fixed_part(rng, codes.size, fixed)
    effects = rng.standard_normal((n_groups, len(terms))) @ _matrix_root(covariance).T
    for k, term in enumerate(terms):
        per_row = effects[codes, k]
        eta += per_row if term == "_cons" else per_row * covariates[term]
    y = _draw_response(rng, eta, family, link, residual_sd)
    df = pd.DataFrame({response: y, **covariates, group: codes + 1})
    truth = _fixed_truth(fixed)
    truth.update(_covariance_truth(group, terms, covariance))
    if family == "gaussian":
        truth["var(Residual)"] = float(residual_sd) ** 2
    df.attrs["truth"] = truth
    df.attrs["simulation"] = {"family": family, "link": link}
    return df


def simulate_crossed(
    n_a: int,
    n_b: int,
    reps: int = 1,
    fixed: Mapping[str, float] | None = None,
    random_sd: tuple[float, float] = (1.0, 1.0),
    residual_sd: float = 1.0,
    factors: tuple[str, str] = ("a", "b"),
    family: str = "gaussian",
    link: str | None = None,
    seed: SeedLike = None,
    response: str = "y",
) -> pd.DataFrame:
    """Simulate data with two crossed factors, each with a random intercept.

    Every level of the first factor meets every level of the second ``reps`` times:
    ``eta_ijr = _cons + sum_k beta_k x_kijr + a_i + b_j`` with ``a_i ~ N(0, sd_a^2)``,
    ``b_j ~ N(0, sd_b^2)`` and covariates ``x_k ~ N(0, 1)``; the response is drawn from ``eta`` as
    in :func:`simulate_mixed`.

    Parameters
    ----------
    n_a, n_b
        Numbers of levels of the two factors.
    reps
        Rows per combination of levels.
    fixed
        Fixed coefficients as in :func:`simulate_mixed`; ``None`` is ``{"_cons": 0.0}``.
    random_sd
        Standard deviations of the two factors' random intercepts.
    residual_sd
        Residual standard deviation (gaussian family only).
    factors
        Names of the two factor columns (integers ``1 .. n_a`` and ``1 .. n_b``).
    family, link, seed, response
        As in :func:`simulate_mixed`.

    Returns
    -------
    pandas.DataFrame
        Columns ``response``, the covariates, the two factors. ``attrs["truth"]`` labels the
        variances as Stata's ``mixed y || _all: R.a || b:`` does: ``_all: var(R.a)`` and
        ``b: var(_cons)``; then ``var(Residual)`` for the gaussian family.

    Raises
    ------
    OptionError
        Sizes below 1, negative SDs, clashing names, an unknown family or link.
    """
    link = _check_family(family, link)
    fixed = {"_cons": 0.0} if fixed is None else fixed
    for name, count in (("n_a", n_a), ("n_b", n_b), ("reps", reps)):
        _check_count(name, count)
    if len(factors) != 2 or len(random_sd) != 2:
        raise OptionError("factors and random_sd each need exactly two entries, one per factor")
    factor_a, factor_b = factors
    sd_a = _check_sd(f"random_sd of {factor_a!r}", random_sd[0])
    sd_b = _check_sd(f"random_sd of {factor_b!r}", random_sd[1])
    if factor_a == factor_b:
        raise OptionError(f"the two crossed factors need different names, got {factor_a!r} twice")
    _check_names(fixed, factor_a, response, factor_b)
    rng = np.random.default_rng(seed)
    code_a = np.repeat(np.arange(n_a), n_b * reps)
    code_b = np.tile(np.repeat(np.arange(n_b), reps), n_a)
    covariates, eta = _fixed_part(rng, code_a.size, fixed)
    eta += sd_a * rng.standard_normal(n_a)[code_a] + sd_b * rng.standard_normal(n_b)[code_b]
    y = _draw_response(rng, eta, family, link, residual_sd)
    df = pd.DataFrame({response: y, **covariates, factor_a: code_a + 1, factor_b: code_b + 1})
    truth = _fixed_truth(fixed)
    truth[f"_all: var(R.{factor_a})"] = sd_a**2
    truth[f"{factor_b}: var(_cons)"] = sd_b**2
    if family == "gaussian":
        truth["var(Residual)"] = float(residual_sd) ** 2
    df.attrs["truth"] = truth
    df.attrs["simulation"] = {"family": family, "link": link}
    return df


def _check_family(family: str, link: str | None) -> str:
    if family not in _LINKS:
        raise OptionError(f"unknown family {family!r}; choose one of {', '.join(_LINKS)}")
    if link is None:
        return _LINKS[family][0]
    if link not in _LINKS[family]:
        raise OptionError(
            f"link {link!r} is not available for family {family!r}; "
            f"choose one of {', '.join(_LINKS[family])}"
        )
    return link


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptionError(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)


def _check_sd(name: str, value: Any) -> float:
    sd = float(value)
    if not np.isfinite(sd) or sd < 0:
        raise OptionError(f"{name} must be a finite number >= 0, got {value!r}")
    return sd


def _check_names(fixed: Mapping[str, float], *columns: str) -> None:
    taken = set(columns)
    if len(taken) != len(columns):
        raise OptionError(f"column names must differ, got {', '.join(map(repr, columns))}")
    clash = sorted(taken.intersection(fixed))
    if clash:
        raise OptionError(f"covariate name {clash[0]!r} is also the name of another column")


def _group_sizes(
    rng: np.random.Generator, n_groups: int, group_size: int | tuple[int, int]
) -> np.ndarray:
    n_groups = _check_count("n_groups", n_groups)
    if isinstance(group_size, (tuple, list)):
        if len(group_size) != 2:
            raise OptionError(f"group_size must be a number or (min, max), got {group_size!r}")
        low = _check_count("group_size min", group_size[0])
        high = _check_count("group_size max", group_size[1])
        if low > high:
            raise OptionError(f"group_size min {low} exceeds max {high}")
        return rng.integers(low, high, size=n_groups, endpoint=True)
    return np.full(n_groups, _check_count("group_size", group_size))


def _random_terms(
    fixed: Mapping[str, float],
    random_sd: float | Mapping[str, float],
    slopes: Sequence[str] | None,
) -> tuple[list[str], np.ndarray]:
    """Random terms in Stata's order (slopes, then ``_cons``) and their SDs."""
    if not isinstance(random_sd, Mapping):
        random_sd = {"_cons": random_sd}
    named = [name for name in random_sd if name != "_cons"]
    if slopes is None:
        slopes = named
    elif isinstance(slopes, str):
        slopes = [slopes]
    if sorted(slopes) != sorted(named) or len(set(slopes)) != len(slopes):
        raise OptionError(
            f"slopes {list(slopes)} must name exactly the random slopes given SDs in random_sd "
            f"({named})"
        )
    for slope in slopes:
        if slope not in fixed or slope == "_cons":
            raise OptionError(
                f"random slope {slope!r} is not a covariate: add it to fixed "
                "(a coefficient of 0 is fine)"
            )
    terms = list(slopes) + (["_cons"] if "_cons" in random_sd else [])
    if not terms:
        raise OptionError("random_sd names no random effect")
    sds = np.array([_check_sd(f"random_sd of {t!r}", random_sd[t]) for t in terms])
    return terms, sds


def _covariance(terms: list[str], sds: np.ndarray, corr: float | ArrayLike) -> np.ndarray:
    q = len(terms)
    matrix = np.asarray(corr, dtype=float)
    if matrix.ndim == 0:
        value = float(matrix)
        if not -1.0 <= value <= 1.0:
            raise OptionError(f"corr must lie in [-1, 1], got {value!r}")
        matrix = np.full((q, q), value)
        np.fill_diagonal(matrix, 1.0)
    elif matrix.shape != (q, q):
        raise OptionError(f"corr must be a number or a {q}x{q} matrix over {terms}")
    if not np.allclose(matrix, matrix.T) or not np.allclose(np.diag(matrix), 1.0):
        raise OptionError("corr must be symmetric with ones on the diagonal")
    if np.any(np.abs(matrix) > 1.0) or np.linalg.eigvalsh(matrix).min() < -1e-10:
        raise OptionError(f"corr is not a correlation matrix (not positive semidefinite): {corr!r}")
    return matrix * np.outer(sds, sds)


def _matrix_root(covariance: np.ndarray) -> np.ndarray:
    # A symmetric root rather than a Cholesky factor: it also serves singular matrices
    # (a zero SD or a correlation of +-1), which are legitimate settings to simulate.
    values, vectors = np.linalg.eigh(covariance)
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def _fixed_part(
    rng: np.random.Generator, n_rows: int, fixed: Mapping[str, float]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    names = [name for name in fixed if name != "_cons"]
    coefficients = np.array([float(fixed[name]) for name in names])
    if not np.all(np.isfinite(coefficients)) or not np.isfinite(float(fixed.get("_cons", 0.0))):
        raise OptionError(f"fixed coefficients must be finite numbers, got {dict(fixed)!r}")
    draws = rng.standard_normal((len(names), n_rows))
    eta = coefficients @ draws if names else np.zeros(n_rows)
    eta += float(fixed.get("_cons", 0.0))
    return dict(zip(names, draws, strict=True)), eta


def _draw_response(
    rng: np.random.Generator, eta: np.ndarray, family: str, link: str, residual_sd: float
) -> np.ndarray:
    if family == "gaussian":
        sd = _check_sd("residual_sd", residual_sd)
        return eta + sd * rng.standard_normal(eta.size)
    if family == "bernoulli":
        probability = special.expit(eta) if link == "logit" else special.ndtr(eta)
        return (rng.random(eta.size) < probability).astype(np.int64)
    if eta.max(initial=-np.inf) > _MAX_LOG_MEAN:
        raise OptionError(
            f"the linear predictor reaches {eta.max():.3g}: Poisson means above "
            f"exp({_MAX_LOG_MEAN:g}) cannot be drawn; use smaller coefficients or SDs"
        )
    return rng.poisson(np.exp(eta))


def _fixed_truth(fixed: Mapping[str, float]) -> dict[str, float]:
    truth = {name: float(value) for name, value in fixed.items() if name != "_cons"}
    truth["_cons"] = float(fixed.get("_cons", 0.0))
    return truth


def _covariance_truth(group: str, terms: list[str], covariance: np.ndarray) -> dict[str, float]:
    truth = {f"{group}: var({term})": float(covariance[k, k]) for k, term in enumerate(terms)}
    for i in range(len(terms)):
        for j in range(i + 1, len(terms)):
            truth[f"{group}: cov({terms[i]},{terms[j]})"] = float(covariance[i, j])
    return truth
