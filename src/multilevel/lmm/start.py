"""Starting values of theta from moment estimates, computed from the cross-products alone.

lme4 starts every fit at theta = 1 (random-effect standard deviations equal to the residual one). A start
near the optimum saves most of the optimiser's early, poorly informed steps. The estimate here is the
classic moment one: fit OLS, fit every group's effects to its residuals as fixed effects (jointly for
crossed or nested factors, by a few Gauss-Seidel sweeps over the blocks' normal equations, so that one
factor's variance is not counted in another's), take the residual variance left over, and for each
factor the spread of its group effects less the part that sampling noise explains
(``sigma2 (Z_g'Z_g)^-1``). Only the optimiser's starting point depends on these.
"""

from __future__ import annotations

import numpy as np

from .crossprod import CrossProducts
from .deviance import LmmProblem

# Relative variances are floored here: theta = 0 is a stationary point of the profiled deviance (the
# gradient vanishes there), so a start must stay off it.
_MIN_RELATIVE_VARIANCE = 1e-2
_MAX_RELATIVE_VARIANCE = 1e4


def _ols(cp: CrossProducts) -> tuple[np.ndarray, float]:
    """OLS coefficients and residual sum of squares from ``[X y]'[X y]``."""
    p = cp.p
    if p == 0:
        return np.zeros(0), float(cp.xyxy[0, 0])
    xtx, xty = cp.xyxy[:p, :p], cp.xyxy[:p, p]
    try:
        beta = np.linalg.solve(xtx, xty)
    except np.linalg.LinAlgError:
        beta = np.linalg.lstsq(xtx, xty, rcond=None)[0]
    return beta, float(cp.xyxy[p, p] - beta @ xty)


_SWEEPS = 4


def _cross(cp: CrossProducts, k: int, j: int, effects: np.ndarray) -> np.ndarray:
    """``Z_k'Z_j b_j`` for blocks k != j, shaped (G_k, q_k)."""
    product = cp.offdiag[(k, j)] if k > j else cp.offdiag[(j, k)].T
    return (product @ effects.ravel()).reshape(cp.diag[k].shape[:2])


def _backfit(cp: CrossProducts, beta: np.ndarray):
    """Group effects of every block fitted jointly to the OLS residuals (Gauss-Seidel sweeps).

    Returns the effects, ``Z_k'r`` and the per-group ``(Z_g'Z_g)^-1`` of each block, and a mask of the
    groups whose effects are determined (their ``Z_g'Z_g`` well conditioned).
    """
    ztr, inverses, determined = [], [], []
    for k in range(len(cp.blocks)):
        ztz = cp.diag[k]
        q = ztz.shape[1]
        ztr.append(cp.xyz[k][-1] - np.einsum("j,jgq->gq", beta, cp.xyz[k][:-1]))
        scale = np.maximum(np.trace(ztz, axis1=1, axis2=2), 1e-300)[:, None, None]
        determined.append(np.linalg.det(ztz / scale) > 1e-8**q)
        # a ridge keeps undetermined groups finite; they are left out of the spread below
        inverses.append(np.linalg.inv(ztz + 1e-8 * scale * np.eye(q)))
    effects = [np.zeros_like(z) for z in ztr]
    # Coarsest block first: with nested factors the joint fit is not unique, and this order leaves each
    # coarse group's effect with the coarse factor rather than spread over its subgroups.
    for _ in range(_SWEEPS if len(cp.blocks) > 1 else 1):
        for k in reversed(range(len(cp.blocks))):
            rhs = ztr[k].copy()
            for j in range(len(cp.blocks)):
                if j != k:
                    rhs -= _cross(cp, k, j, effects[j])
            effects[k] = (inverses[k] @ rhs[:, :, None])[:, :, 0]
    return effects, ztr, inverses, determined


def _relative_covariance(effects: np.ndarray, inv: np.ndarray, sigma2: float) -> np.ndarray:
    """Spread of the group effects less sampling noise, over sigma2, made comfortably positive definite."""
    q = effects.shape[1]
    if len(effects) < 2:
        return np.eye(q)
    centred = effects - effects.mean(axis=0)
    spread = centred.T @ centred / (len(effects) - 1)
    rel = (spread - sigma2 * inv.mean(axis=0)) / sigma2
    rel = 0.5 * (rel + rel.T)
    vals, vecs = np.linalg.eigh(rel)
    vals = np.clip(vals, _MIN_RELATIVE_VARIANCE, _MAX_RELATIVE_VARIANCE)
    return (vecs * vals) @ vecs.T


def moment_start(problem: LmmProblem) -> np.ndarray:
    """Theta from moment estimates of each block's covariance, relative to the residual variance.

    Parameters
    ----------
    problem
        The profiled-deviance problem (its cross-products and covariance structures).

    Returns
    -------
    numpy.ndarray
        A starting theta inside the bounds, never on the stationary point theta = 0.
    """
    cp = problem.cp
    beta, rss = _ols(cp)
    effects, ztr, inverses, determined = _backfit(cp, beta)
    # Residual variance: what OLS and all the groups' effects leave unexplained.
    explained = sum(float(np.einsum("gi,gi->", b, z)) for b, z in zip(effects, ztr, strict=True))
    dof = cp.n - cp.p - sum(b.size for b in effects)
    sigma2 = (rss - explained) / dof if dof > 0 else 0.0
    if not sigma2 > 0:
        sigma2 = max(rss / max(cp.n - cp.p, 1), 1e-12) / 2
    thetas = []
    for k, structure in enumerate(problem.structures):
        keep = determined[k]
        rel = _relative_covariance(effects[k][keep], inverses[k][keep], sigma2)
        theta = structure.theta_from_relative(rel)
        lower, upper = structure.theta_bounds()
        thetas.append(np.clip(theta, lower, upper))
    return np.concatenate(thetas)
