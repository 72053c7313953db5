"""The model without random effects, fitted by Newton's method on the exact log likelihood.

It gives the starting values of the mixed model and the log likelihood of Stata's "LR test vs. <family>
model" line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .families import GlmFamily, ResponseData


@dataclass
class GlmFit:
    """Coefficients, ancillary parameters and log likelihood of the fixed-effects-only model."""

    beta: np.ndarray
    ancillary: np.ndarray
    loglik: float
    converged: bool
    iterations: int


def _value_and_derivatives(family, X, offset, data, beta, anc):
    """Log likelihood, gradient and Hessian in (beta, ancillary)."""
    eta = offset + X @ beta
    loglik, score, weight = family.derivatives(eta, data, anc)
    grad_beta = X.T @ score
    hess_bb = -(X.T * weight) @ X
    k = family.n_ancillary
    if not k:
        return float(loglik.sum()), grad_beta, hess_bb
    dl, ds, _ = family.ancillary_derivatives(eta, data, anc)
    grad = np.concatenate([grad_beta, dl.sum(0)])
    hess_ba = X.T @ ds
    hess_aa = _ancillary_hessian(family, eta, data, anc)
    hess = np.block([[hess_bb, hess_ba], [hess_ba.T, hess_aa]])
    return float(loglik.sum()), grad, hess


def _ancillary_hessian(family, eta, data, anc, step: float = 1e-6) -> np.ndarray:
    """d2 l / da da' by central differences of the analytic first derivatives."""
    k = family.n_ancillary
    out = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = step
        plus = family.ancillary_derivatives(eta, data, anc + e)[0].sum(0)
        minus = family.ancillary_derivatives(eta, data, anc - e)[0].sum(0)
        out[:, j] = (plus - minus) / (2 * step)
    return 0.5 * (out + out.T)


def fit_glm(
    family: GlmFamily,
    X: np.ndarray,
    offset: np.ndarray,
    data: ResponseData,
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> GlmFit:
    """Maximum likelihood for the model with no random effects (Newton with step halving)."""
    p = X.shape[1]
    beta = np.zeros(p)
    anc = family.ancillary_start(data)
    if family.name in ("poisson", "nbinomial") and p:
        # Start at the log of the mean count, so that exp(eta) is of the right size.
        cons = _constant_column(X)
        if cons is not None:
            beta[cons] = np.log(max(float(np.mean(data.y)), 1e-3)) - float(np.mean(offset))
    params = np.concatenate([beta, anc])
    value, grad, hess = _value_and_derivatives(family, X, offset, data, beta, anc)
    converged = False
    iterations = 0
    for _ in range(max_iterations):
        iterations += 1
        step = _newton_direction(hess, grad)
        t = 1.0
        for _ in range(50):
            trial = params + t * step
            new_value = _safe_loglik(family, offset + X @ trial[:p], data, trial[p:])
            if np.isfinite(new_value) and new_value >= value - 1e-12 * abs(value):
                break
            t *= 0.5
        else:
            break
        params = trial
        previous = value
        value, grad, hess = _value_and_derivatives(family, X, offset, data, params[:p], params[p:])
        if abs(value - previous) < tolerance * (1 + abs(value)) and np.max(np.abs(t * step)) < 1e-7:
            converged = True
            break
    return GlmFit(params[:p], params[p:], value, converged, iterations)


def _safe_loglik(family, eta: np.ndarray, data, anc: np.ndarray) -> float:
    """Log likelihood at a trial point; a step that overflows a parameter counts as a failed step."""
    try:
        with np.errstate(all="ignore"):
            return float(family.loglik(eta, data, anc).sum())
    except (ZeroDivisionError, OverflowError, FloatingPointError):
        return -np.inf


def _newton_direction(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Newton step for maximisation; falls back to a regularised step where -H is not positive definite."""
    neg = -hess
    try:
        chol = np.linalg.cholesky(neg)
        return np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
    except np.linalg.LinAlgError:
        shift = abs(float(np.min(np.linalg.eigvalsh(neg)))) + 1e-3
        return np.linalg.solve(neg + shift * np.eye(len(grad)), grad)


def _constant_column(X: np.ndarray) -> int | None:
    for j in range(X.shape[1]):
        column = X[:, j]
        if np.all(column == column[0]) and column[0] != 0:
            return j
    return None
