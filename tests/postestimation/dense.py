"""Dense textbook formulas of a linear mixed model, for checking the blocked computations.

Everything here builds the n x n marginal covariance ``V = Z G Z' + sigma2 I`` explicitly, so it is
only for small data sets.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla


def full_z(fit) -> np.ndarray:
    """``Z`` with one column per (group, effect) of every level, in Design.blocks order."""
    pieces = []
    for block in fit.design.blocks:
        q = block.n_effects
        z = np.zeros((fit.nobs, block.n_groups * q))
        rows = np.arange(fit.nobs)
        for j in range(q):
            z[rows, block.codes * q + j] = block.Z[:, j]
        pieces.append(z)
    return np.hstack(pieces)


def full_g(fit) -> np.ndarray:
    """``G = blockdiag(I (x) Sigma_k)``, the covariance of all random effects."""
    blocks = [
        np.kron(np.eye(block.n_groups), cov)
        for block, cov in zip(fit.design.blocks, fit.estimates.covariances, strict=True)
    ]
    return sla.block_diag(*blocks)


def dense_blup_and_errors(fit, include_fixed: bool) -> tuple[np.ndarray, np.ndarray]:
    """BLUPs ``G Z' V^{-1} (y - X beta)`` and ``Var(u_hat - u)``.

    With beta known: ``G - G Z' V^{-1} Z G``; with beta estimated:
    ``G - G Z' P Z G`` where ``P = V^{-1} - V^{-1} X (X' V^{-1} X)^{-1} X' V^{-1}``
    (Searle, Casella and McCulloch 1992, ch. 7).
    """
    z, g = full_z(fit), full_g(fit)
    x, y = fit.design.X, np.asarray(fit.design.y, dtype=float)
    v = z @ g @ z.T + fit.estimates.sigma2 * np.eye(fit.nobs)
    v_inv = np.linalg.inv(v)
    blup = g @ z.T @ v_inv @ (y - x @ fit.estimates.beta)
    middle = v_inv
    if include_fixed:
        vx = v_inv @ x
        middle = v_inv - vx @ np.linalg.solve(x.T @ vx, vx.T)
    return blup, g - g @ z.T @ middle @ z @ g


def split_by_level(fit, vector: np.ndarray) -> dict[str, np.ndarray]:
    """A vector over all random effects cut into (groups, effects) arrays per level."""
    out, start = {}, 0
    for block in fit.design.blocks:
        size = block.n_groups * block.n_effects
        out[block.label] = vector[start : start + size].reshape(block.n_groups, block.n_effects)
        start += size
    return out
