"""Standard errors as Stata reports them for ``me`` commands.

The observed information is taken on Stata's estimation scale (coefficients, cutpoints, ``/lnalpha``,
``ln sd`` and ``atanh corr`` of the random effects); reported variances and covariances get their standard
errors by the delta method, and their confidence intervals are formed on the log (variances, standard
deviations) or atanh (correlations) scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..lmm.inference import invert_information
from .params import ParameterLayout

# A log standard deviation this low, or a correlation this close to +-1, is a parameter at its boundary.
_LN_SD_FLOOR = -18.0
_ATANH_CEILING = 18.0


@dataclass
class Covariance:
    """Estimates and their covariance on the estimation and reported scales."""

    phi: np.ndarray
    cov_phi: np.ndarray  # NaN rows/columns for parameters at a boundary
    reported: np.ndarray
    cov_reported: np.ndarray
    active: np.ndarray  # parameters with a standard error
    singular: bool  # the information matrix of the active parameters was not invertible


def active_parameters(layout: ParameterLayout, phi: np.ndarray) -> np.ndarray:
    """Which estimation-scale parameters are away from their boundary."""
    active = np.ones(len(phi), dtype=bool)
    if layout.problem.family.name == "nbinomial":
        # a dispersion at its floor (a Poisson model) has no standard error, as a zero variance
        lo = layout.n_beta
        active[lo : lo + layout.n_ancillary] = phi[lo : lo + layout.n_ancillary] > -19.9
    start = layout.n_beta + layout.n_ancillary
    for structure in layout.design_structures:
        n_sd = structure.q if structure.kind in ("independent", "unstructured") else 1
        block = phi[start : start + structure.n_stata]
        active[start : start + n_sd] = block[:n_sd] > _LN_SD_FLOOR
        if structure.n_stata > n_sd:
            near_one = np.abs(block[n_sd:]) > _ATANH_CEILING
            active[start + n_sd : start + structure.n_stata] = ~near_one
            if not np.all(block[:n_sd] > _LN_SD_FLOOR):
                active[start + n_sd : start + structure.n_stata] = False
        start += structure.n_stata
    return active


def stata_hessian_from_work(
    layout: ParameterLayout, phi: np.ndarray, hess_x: np.ndarray
) -> np.ndarray:
    """Hessian of the deviance on Stata's scale from the work-scale Hessian at an optimum."""
    jac = layout.stata_jacobian(phi)
    return jac.T @ hess_x @ jac


def stata_hessian_from_function(
    deviance: Callable[[np.ndarray], float], phi: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Central differences of a deviance given as a function of phi (active parameters only)."""
    from .optimize import function_hessian

    index = np.flatnonzero(active)
    base = phi.copy()

    def restricted(values: np.ndarray) -> float:
        point = base.copy()
        point[index] = values
        return deviance(point)

    full = np.full((len(phi), len(phi)), np.nan)
    steps = np.full(len(index), 5e-4)
    full[np.ix_(index, index)] = function_hessian(restricted, phi[index], steps)
    return full


def covariance_from_hessian(
    layout: ParameterLayout, phi: np.ndarray, hess_phi: np.ndarray, active: np.ndarray
) -> Covariance:
    """Invert the information (half the deviance Hessian) and carry it to the reported scale."""
    n = len(phi)
    cov = np.full((n, n), np.nan)
    index = np.flatnonzero(active)
    info = 0.5 * hess_phi[np.ix_(index, index)]
    inverse, singular = invert_information(info)
    cov[np.ix_(index, index)] = inverse
    reported = layout.reported_from_stata(phi)
    jac = _reported_jacobian(layout, phi)
    cov_reported = np.full((n, n), np.nan)
    jac_active = jac[:, index]
    cov_reported_active = jac_active @ inverse @ jac_active.T
    rows = _reported_active(jac, active)
    cov_reported[np.ix_(rows, rows)] = cov_reported_active[np.ix_(rows, rows)]
    return Covariance(phi, cov, reported, cov_reported, active, singular)


def _reported_active(jac: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Reported parameters that depend on active estimation-scale parameters only."""
    depends = np.abs(jac) > 0
    return np.flatnonzero(~np.any(depends[:, ~active], axis=1))


def _reported_jacobian(layout: ParameterLayout, phi: np.ndarray, step: float = 1e-6) -> np.ndarray:
    cols = [
        (layout.reported_from_stata(phi + step * e) - layout.reported_from_stata(phi - step * e))
        / (2 * step)
        for e in np.eye(len(phi))
    ]
    jac = np.array(cols).T
    jac[np.abs(jac) < 1e-12] = 0.0
    return jac


def parameter_table(
    layout: ParameterLayout, covariance: Covariance, level: float = 95.0, eform: bool = False
) -> pd.DataFrame:
    """Estimate, SE, z, P>|z| and interval of every reported parameter, as Stata's table shows them.

    Coefficients get Wald intervals (exponentiated with their SEs by the delta method when ``eform``, as
    ``or``/``irr`` show them); variances get log-scale intervals, covariances plain ones; cutpoints and
    ``/lnalpha`` are shown as estimated.
    """
    crit = stats.norm.ppf(0.5 + level / 200)
    est = covariance.reported.copy()
    se = np.sqrt(np.clip(np.diag(covariance.cov_reported), 0.0, None))
    se[~np.isfinite(np.diag(covariance.cov_reported))] = np.nan
    nb = layout.n_beta
    z = np.full(len(est), np.nan)
    p = np.full(len(est), np.nan)
    lower, upper = est - crit * se, est + crit * se
    fixed = slice(0, nb + layout.n_ancillary)
    with np.errstate(divide="ignore", invalid="ignore"):
        z[fixed] = est[fixed] / se[fixed]
    p[fixed] = 2 * stats.norm.sf(np.abs(z[fixed]))
    z[nb : nb + layout.n_ancillary] = np.nan  # Stata shows no test for cutpoints or ln alpha
    p[nb : nb + layout.n_ancillary] = np.nan
    if eform and nb:
        coef = est[:nb]
        lower[:nb], upper[:nb] = np.exp(lower[:nb]), np.exp(upper[:nb])
        est[:nb] = np.exp(coef)
        se[:nb] = est[:nb] * se[:nb]
    for i, label in enumerate(layout.labels):
        name = label.split(": ", 1)[-1]
        if name.startswith("var(") and est[i] > 0 and np.isfinite(se[i]):
            half = crit * se[i] / est[i]
            lower[i], upper[i] = est[i] * np.exp(-half), est[i] * np.exp(half)
    return pd.DataFrame(
        {"coef": est, "se": se, "z": z, "p": p, "lower": lower, "upper": upper},
        index=layout.labels,
    )
