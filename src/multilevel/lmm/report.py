"""From LmmEstimates to the quantities Stata reports: labelled parameters, SEs, intervals, tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..design.types import Design
from .covariance import CovarianceStructure
from .fit import LmmEstimates, fixed_covariance
from .inference import VarianceInference, variance_inference


@dataclass
class VarianceRow:
    """One reported variance parameter with its delta-method SE and Stata's interval."""

    level: str  # "schid", "" for the residual
    name: str  # "var(homework)"
    estimate: float
    se: float
    lower: float
    upper: float


def _structures_in_design_order(est: LmmEstimates) -> list[CovarianceStructure]:
    out: list = [None] * len(est.problem.structures)
    for block, structure in zip(est.problem.cp.blocks, est.problem.structures, strict=True):
        out[block.source] = structure
    return out


def _jacobian(fun, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    cols = [(fun(x + step * e) - fun(x - step * e)) / (2 * step) for e in np.eye(len(x))]
    return np.array(cols).T


def _interval(kind: str, estimate: float, se: float, z: float) -> tuple[float, float]:
    """Stata's intervals: variances/sds on the log scale, correlations on atanh, covariances plain."""
    if not np.isfinite(se):
        return np.nan, np.nan
    if kind in ("var", "sd") and estimate > 0 and z * se / estimate > 700:
        # a variance at its boundary: the log-scale interval spans (0, inf)
        return 0.0, np.inf
    if kind == "var" and estimate > 0:
        half = z * se / estimate  # se of ln(var) = se(var)/var
        return estimate * np.exp(-half), estimate * np.exp(half)
    if kind == "sd" and estimate > 0:
        half = z * se / estimate
        return estimate * np.exp(-half), estimate * np.exp(half)
    if kind == "corr" and abs(estimate) < 1:
        half = z * se / (1 - estimate**2)
        centre = np.arctanh(estimate)
        return float(np.tanh(centre - half)), float(np.tanh(centre + half))
    return estimate - z * se, estimate + z * se


def variance_rows(
    est: LmmEstimates,
    design: Design,
    vi: VarianceInference,
    level: float = 95.0,
    scale: str = "var",
) -> list[VarianceRow]:
    """Variance parameters (``scale="var"``) or standard deviations and correlations (``"sd"``)."""
    z = stats.norm.ppf(0.5 + level / 200)
    structures = _structures_in_design_order(est)
    rows: list[VarianceRow] = []
    for k, structure in enumerate(structures):
        sl = vi.slices[k]

        def reported(phi, structure=structure):
            sigma = structure.sigma_from_stata(phi)
            return _scale_values(structure, sigma, scale)

        values = reported(vi.phi[sl])
        jac = _jacobian(reported, vi.phi[sl])
        ses = np.sqrt(np.clip(np.diag(jac @ vi.cov_phi[sl, sl] @ jac.T), 0, None))
        names = _scale_labels(structure, scale)
        for name, value, se in zip(names, values, ses, strict=True):
            kind = name.split("(")[0]
            lo, hi = _interval(kind, value, se, z)
            rows.append(VarianceRow(design.blocks[k].label, name, value, se, lo, hi))
    resid = vi.residual_index
    se_ln = float(np.sqrt(max(vi.cov_phi[resid, resid], 0.0)))
    if scale == "var":
        value = float(np.exp(2 * vi.phi[resid]))
        se = 2 * value * se_ln
        name = "var(Residual)"
    else:
        value = float(np.exp(vi.phi[resid]))
        se = value * se_ln
        name = "sd(Residual)"
    lo, hi = _interval(name.split("(")[0], value, se, z)
    rows.append(VarianceRow("", name, value, se, lo, hi))
    return rows


def _scale_labels(structure: CovarianceStructure, scale: str) -> list[str]:
    labels = structure.variance_labels()
    if scale == "var":
        return labels
    return [lab.replace("var(", "sd(", 1).replace("cov(", "corr(", 1) for lab in labels]


def _scale_values(structure: CovarianceStructure, sigma: np.ndarray, scale: str) -> np.ndarray:
    values = structure.reported_values(sigma)
    if scale == "var":
        return values
    labels = structure.variance_labels()
    out = values.copy()
    q = structure.q
    sd = np.sqrt(np.clip(np.diag(sigma), 0, None))
    for i, lab in enumerate(labels):
        if lab.startswith("var("):
            out[i] = np.sqrt(max(values[i], 0.0))
        elif structure.kind == "exchangeable":
            out[i] = values[i] / max(float(np.mean(np.diag(sigma))), 1e-300)
        else:
            a, b = _pair_from_label(structure, lab, q)
            out[i] = sigma[a, b] / (sd[a] * sd[b]) if sd[a] * sd[b] > 0 else 0.0
    return out


def _pair_from_label(structure: CovarianceStructure, label: str, q: int) -> tuple[int, int]:
    inner = label[label.index("(") + 1 : -1]
    left, right = inner.split(",")
    names = list(structure.names)
    return names.index(left), names.index(right)


def fixed_table(est: LmmEstimates, design: Design, level: float = 95.0) -> pd.DataFrame:
    """Coefficient, SE, z, P>|z| and interval of each estimated fixed effect."""
    cov = fixed_covariance(est)
    se = np.sqrt(np.diag(cov))
    z = est.beta / se
    crit = stats.norm.ppf(0.5 + level / 200)
    frame = pd.DataFrame(
        {
            "coef": est.beta,
            "se": se,
            "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
            "lower": est.beta - crit * se,
            "upper": est.beta + crit * se,
        },
        index=design.fixed_names,
    )
    return frame


def wald_test_fixed(est: LmmEstimates, design: Design) -> tuple[float, int, float]:
    """Wald chi2 that all fixed effects but the constant are zero (Stata's header test)."""
    names = design.fixed_names
    keep = [i for i, name in enumerate(names) if name != "_cons"]
    if not keep:
        return np.nan, 0, np.nan
    cov = fixed_covariance(est)[np.ix_(keep, keep)]
    beta = est.beta[keep]
    chi2 = float(beta @ np.linalg.solve(cov, beta))
    return chi2, len(keep), float(stats.chi2.sf(chi2, len(keep)))


def linear_model_loglik(design: Design, reml: bool) -> float:
    """Log (restricted) likelihood of the model without random effects, for Stata's LR test."""
    X, y = design.X, np.asarray(design.y, dtype=float)
    n, p = X.shape
    q, r = np.linalg.qr(X)
    resid = y - q @ (q.T @ y)
    rss = float(resid @ resid)
    if not reml:
        return -0.5 * n * (1 + np.log(2 * np.pi * rss / n))
    logdet = 2 * np.log(np.abs(np.diag(r))).sum()
    return -0.5 * ((n - p) * (1 + np.log(2 * np.pi * rss / (n - p))) + logdet)


def lr_test_vs_linear(loglik: float, design: Design, reml: bool, n_var_params: int) -> dict:
    """LR test against the linear model: chibar2(01) for one variance parameter, else chi2(k) (conservative)."""
    chi2 = max(0.0, 2 * (loglik - linear_model_loglik(design, reml)))
    if n_var_params == 1:
        p = 0.5 * stats.chi2.sf(chi2, 1) if chi2 > 0 else 1.0
        return {"chi2": chi2, "df": 1, "p": float(p), "chibar": True}
    return {
        "chi2": chi2,
        "df": n_var_params,
        "p": float(stats.chi2.sf(chi2, n_var_params)),
        "chibar": False,
    }


__all__ = [
    "VarianceRow",
    "variance_inference",
    "variance_rows",
    "fixed_table",
    "wald_test_fixed",
    "lr_test_vs_linear",
    "linear_model_loglik",
]
