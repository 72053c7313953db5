"""Blocked Cholesky factorisation of the penalised least-squares system at one value of theta.

For relative covariance factors ``Lambda = blockdiag(I (x) lam_k)`` the system

    [ Lambda'Z'Z Lambda + I   Lambda'Z'[X y] ]
    [ [X y]'Z Lambda           [X y]'[X y]    ]

is factored block by block (Bates et al. 2015, J. Stat. Soft. 67(1), section 3; MixedModels.jl's blocked
layout). Block 0 stays block-diagonal, later blocks are dense; the last diagonal element of the ``[X y]``
block is the root of the penalised residual sum of squares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .crossprod import CrossProducts


class NotPositiveDefinite(ArithmeticError):
    """The system is singular at this theta (the deviance there is taken as +inf)."""


@dataclass
class Factorization:
    """The blocks of the Cholesky factor ``L`` of the penalised system."""

    lambdas: list[np.ndarray]
    L0: np.ndarray  # (G0, q0, q0) per-group lower factors of block 0
    T0: np.ndarray  # (G0, q0, q0) lam0 @ L0_g^{-T}
    sparse_below: dict[int, sp.csr_matrix] = field(default_factory=dict)  # L_j0, j >= 1
    dense: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # L_ij, i >= j >= 1
    xy: list[np.ndarray] = field(default_factory=list)  # L_{XY,k}: (p+1, size_k)
    xyxy: np.ndarray | None = None  # (p+1, p+1) lower factor

    @property
    def pwrss(self) -> float:
        """Penalised weighted residual sum of squares at the conditional estimates."""
        return float(self.xyxy[-1, -1] ** 2)

    def logdet_theta(self) -> float:
        """``log |Lambda'Z'Z Lambda + I|``."""
        total = 2.0 * np.log(np.diagonal(self.L0, axis1=1, axis2=2)).sum()
        for (i, j), block in self.dense.items():
            if i == j:
                total += 2.0 * np.log(np.diag(block)).sum()
        return float(total)

    def logdet_x(self) -> float:
        """``log |R_X|^2``, the fixed-effects part that REML adds."""
        return float(2.0 * np.log(np.diag(self.xyxy)[:-1]).sum())


def _block_diag_sparse(blocks: np.ndarray) -> sp.spmatrix:
    """Sparse block-diagonal matrix from a (G, a, b) stack."""
    g, a, b = blocks.shape
    if a == 1 and b == 1:
        return sp.diags(blocks[:, 0, 0])
    return sp.bsr_matrix((blocks, np.arange(g), np.arange(g + 1)), shape=(g * a, g * b))


def _dense_block_diagonal(blocks: np.ndarray) -> np.ndarray:
    """Dense block-diagonal matrix from a (G, q, q) stack, without a Python loop over groups."""
    g, q, _ = blocks.shape
    if q == 1:
        return np.diag(blocks[:, 0, 0])
    out = np.zeros((g, q, g, q))
    idx = np.arange(g)
    out[idx, :, idx, :] = blocks
    return out.reshape(g * q, g * q)


def _factor_block0(cp: CrossProducts, lam0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q0 = lam0.shape[0]
    if q0 == 1:
        l0 = np.sqrt(cp.diag[0] * lam0[0, 0] ** 2 + 1.0)
        return l0, lam0[0, 0] / l0
    inner = np.einsum("ji,gjk,kl->gil", lam0, cp.diag[0], lam0) + np.eye(q0)
    try:
        l0 = np.linalg.cholesky(inner)
    except np.linalg.LinAlgError as exc:
        raise NotPositiveDefinite from exc
    t0 = np.einsum("ij,gkj->gik", lam0, np.linalg.inv(l0))
    return l0, t0


def _scale_sparse(
    mat: sp.spmatrix, left: np.ndarray, n_left: int, right_blocks: sp.spmatrix
) -> sp.csr_matrix:
    """``(I (x) left') @ mat @ right_blocks`` for a sparse ``mat``."""
    lt = _block_diag_sparse(np.ascontiguousarray(np.broadcast_to(left.T, (n_left, *left.shape))))
    return sp.csr_matrix(lt @ mat @ right_blocks)


def _dense_cross(
    cp: CrossProducts, i: int, j: int, lam_i: np.ndarray, lam_j: np.ndarray
) -> np.ndarray:
    """``(I (x) lam_i') A_ij (I (x) lam_j)`` as a dense array."""
    bi, bj = cp.blocks[i], cp.blocks[j]
    raw = cp.offdiag[(i, j)].toarray().reshape(bi.n_groups, bi.q, bj.n_groups, bj.q)
    return np.einsum("ai,gahb,bj->gihj", lam_i, raw, lam_j).reshape(bi.size, bj.size)


def factorize(cp: CrossProducts, lambdas: list[np.ndarray]) -> Factorization:
    """Factor the penalised system for the relative factors ``lambdas`` (one per block, in cp order)."""
    l0, t0 = _factor_block0(cp, lambdas[0])
    g0, q0 = cp.blocks[0].n_groups, cp.blocks[0].q
    t0_sparse = _block_diag_sparse(t0.reshape(g0, q0, q0))
    fac = Factorization(lambdas=lambdas, L0=l0.reshape(g0, q0, q0), T0=t0.reshape(g0, q0, q0))
    fac.xy.append(np.einsum("pgi,gij->pgj", cp.xyz[0], fac.T0).reshape(cp.p + 1, -1))
    n_blocks = len(cp.blocks)
    for j in range(1, n_blocks):
        fac.sparse_below[j] = _scale_sparse(
            cp.offdiag[(j, 0)], lambdas[j], cp.blocks[j].n_groups, t0_sparse
        )
    for j in range(1, n_blocks):
        _factor_dense_block(cp, fac, j)
    xyxy = cp.xyxy - sum(block @ block.T for block in fac.xy)
    try:
        fac.xyxy = sla.cholesky(xyxy, lower=True, check_finite=False)
    except sla.LinAlgError as exc:
        raise NotPositiveDefinite from exc
    return fac


def _factor_dense_block(cp: CrossProducts, fac: Factorization, j: int) -> None:
    """Diagonal block j >= 1, the blocks below it, and its ``[X y]`` row."""
    lambdas = fac.lambdas
    lam = lambdas[j]
    m = _dense_block_diagonal(np.einsum("ji,gjk,kl->gil", lam, cp.diag[j], lam))
    m[np.diag_indices_from(m)] += 1.0
    below = fac.sparse_below[j]
    m -= (below @ below.T).toarray()
    for k in range(1, j):
        m -= fac.dense[(j, k)] @ fac.dense[(j, k)].T
    try:
        ljj = sla.cholesky(m, lower=True, check_finite=False)
    except sla.LinAlgError as exc:
        raise NotPositiveDefinite from exc
    fac.dense[(j, j)] = ljj
    for i in range(j + 1, len(cp.blocks)):
        rhs = _dense_cross(cp, i, j, lambdas[i], lam)
        rhs -= (fac.sparse_below[i] @ below.T).toarray()
        for k in range(1, j):
            rhs -= fac.dense[(i, k)] @ fac.dense[(j, k)].T
        fac.dense[(i, j)] = sla.solve_triangular(ljj, rhs.T, lower=True, check_finite=False).T
    xy = np.einsum("pgi,ij->pgj", cp.xyz[j], lam).reshape(cp.p + 1, -1)
    xy = xy - (below @ fac.xy[0].T).T
    for k in range(1, j):
        xy = xy - fac.xy[k] @ fac.dense[(j, k)].T
    fac.xy.append(sla.solve_triangular(ljj, xy.T, lower=True, check_finite=False).T)


def fixed_effects(fac: Factorization) -> np.ndarray:
    """Conditional estimates of the fixed effects, ``R_X beta = c_beta``."""
    p = fac.xyxy.shape[0] - 1
    if p == 0:
        return np.zeros(0)
    return sla.solve_triangular(
        fac.xyxy[:p, :p].T, fac.xyxy[p, :p], lower=False, check_finite=False
    )


def spherical_effects(fac: Factorization, beta: np.ndarray) -> list[np.ndarray]:
    """Conditional modes ``b`` of the spherical random effects, per block, by back-substitution."""
    p = len(beta)
    n_blocks = len(fac.xy)
    rhs = [fac.xy[k][p] - fac.xy[k][:p].T @ beta for k in range(n_blocks)]
    b: list[np.ndarray | None] = [None] * n_blocks
    for j in range(n_blocks - 1, 0, -1):
        r = rhs[j].copy()
        for i in range(j + 1, n_blocks):
            r -= fac.dense[(i, j)].T @ b[i]
        b[j] = sla.solve_triangular(fac.dense[(j, j)].T, r, lower=False, check_finite=False)
    r0 = rhs[0].copy()
    for i in range(1, n_blocks):
        r0 -= fac.sparse_below[i].T @ b[i]
    g0, q0 = fac.L0.shape[:2]
    r0 = r0.reshape(g0, q0)
    if q0 == 1:
        b[0] = r0[:, 0] / fac.L0[:, 0, 0]
    else:
        lt = np.swapaxes(fac.L0, 1, 2)
        b[0] = np.linalg.solve(lt, r0[..., None])[..., 0].ravel()
    return b


def random_effects(fac: Factorization, b: list[np.ndarray]) -> list[np.ndarray]:
    """Random effects ``u_k = (I (x) lam_k) b_k`` per block, shaped (groups, effects)."""
    out = []
    for lam, bk in zip(fac.lambdas, b, strict=True):
        q = lam.shape[0]
        out.append(bk.reshape(-1, q) @ lam.T)
    return out
