"""Blocked Cholesky factorisation of the penalised least-squares system at one value of theta.

For relative covariance factors ``Lambda = blockdiag(I (x) lam_k)`` the system

    [ Lambda'Z'Z Lambda + I   Lambda'Z'[X y] ]
    [ [X y]'Z Lambda           [X y]'[X y]    ]

is factored block by block (Bates et al. 2015, J. Stat. Soft. 67(1), section 3; MixedModels.jl's blocked
layout). Block 0 stays block-diagonal (one small factor per group); the later blocks, the *tail*, are
factored as one dense matrix, the Schur complement

    D = Lambda_t' K Lambda_t + I,    K = Z_t'Z_t - Z_t'Z_0 W Z_0'Z_t,    W = lam0 (lam0'Z_0g'Z_0g lam0 + I)^-1 lam0'

(``W`` block-diagonal, one ``q0 x q0`` block per group of block 0). The last diagonal element of the
``[X y]`` block is the root of the penalised residual sum of squares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from .crossprod import CrossProducts, TailProducts


class NotPositiveDefinite(ArithmeticError):
    """The system is singular at this theta (the deviance there is taken as +inf)."""


# --- batched small matrices (one per group) -----------------------------------------------------


def batched_cholesky(mat: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a ``(G, q, q)`` stack."""
    if mat.shape[1] == 1:
        if np.any(mat <= 0):
            raise NotPositiveDefinite
        return np.sqrt(mat)
    try:
        return np.linalg.cholesky(mat)
    except np.linalg.LinAlgError as exc:
        raise NotPositiveDefinite from exc


def batched_lower_inverse(low: np.ndarray) -> np.ndarray:
    """Inverses of a ``(G, q, q)`` stack of lower-triangular matrices."""
    q = low.shape[1]
    if q == 1:
        return 1.0 / low
    if q == 2:
        out = np.zeros_like(low)
        out[:, 0, 0] = 1.0 / low[:, 0, 0]
        out[:, 1, 1] = 1.0 / low[:, 1, 1]
        out[:, 1, 0] = -low[:, 1, 0] * out[:, 0, 0] * out[:, 1, 1]
        return out
    return np.linalg.inv(low)


def congruence(lam: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """``lam' M_g lam`` for every ``M_g`` of a ``(G, q, q)`` stack."""
    if lam.shape[0] == 1:
        return mats * (lam[0, 0] * lam[0, 0])
    return lam.T @ mats @ lam


# --- the tail's Lambda: block-diagonal, one lam_k repeated over the groups of tail block k -------------


def tail_scales(lambdas: list[np.ndarray], sizes: tuple[int, ...]) -> np.ndarray | None:
    """The diagonal of ``Lambda_t`` when every tail block is scalar (the common crossed case), else None."""
    if any(lam.shape[0] > 1 for lam in lambdas):
        return None
    return np.repeat([lam[0, 0] for lam in lambdas], sizes)


def tail_left_multiply(
    lambdas: list[np.ndarray], sizes: tuple[int, ...], mat: np.ndarray, transpose: bool
) -> np.ndarray:
    """``Lambda_t' M`` (``transpose``) or ``Lambda_t M`` for a 2-d ``M`` with m rows; a new array."""
    scales = tail_scales(lambdas, sizes)
    if scales is not None:
        return mat * scales[:, None]
    out = np.empty_like(mat)
    start = 0
    for lam, size in zip(lambdas, sizes, strict=True):
        q = lam.shape[0]
        block = mat[start : start + size].reshape(size // q, q, mat.shape[1])
        left = lam.T if transpose else lam
        out[start : start + size] = np.einsum("ij,gjc->gic", left, block).reshape(size, -1)
        start += size
    return out


def tail_congruence(
    lambdas: list[np.ndarray], sizes: tuple[int, ...], mat: np.ndarray, transpose: bool
) -> np.ndarray:
    """``Lambda_t' M Lambda_t`` (``transpose``) or ``Lambda_t M Lambda_t'`` for a dense m x m ``M``."""
    scales = tail_scales(lambdas, sizes)
    if scales is not None:
        return mat * np.multiply.outer(scales, scales)
    left = tail_left_multiply(lambdas, sizes, mat, transpose)
    return tail_left_multiply(lambdas, sizes, np.ascontiguousarray(left.T), transpose).T


# --- the factorisation ---------------------------------------------------------------------------


@dataclass
class Factorization:
    """The blocks of the Cholesky factor ``L`` of the penalised system.

    ``tail`` is the dense lower factor of ``D`` (blocks 1.. together); ``dense`` and ``sparse_below``
    present it block by block, as ``L_ij`` (``i >= j >= 1``) and ``L_j0``.
    """

    lambdas: list[np.ndarray]
    L0: np.ndarray  # (G0, q0, q0) per-group lower factors of block 0
    T0: np.ndarray  # (G0, q0, q0) lam0 @ L0_g^{-T}
    W0: np.ndarray  # (G0, q0, q0) T0 T0'
    L0inv: np.ndarray | None = None  # (G0, q0, q0) inverses of L0
    xy: list[np.ndarray] = field(default_factory=list)  # L_{XY,k}: (p+1, size_k)
    xyxy: np.ndarray | None = None  # (p+1, p+1) lower factor
    tail: np.ndarray | None = None  # (m, m) lower factor of D
    kernel: np.ndarray | None = field(default=None, repr=False)  # K, kept on request
    cp: CrossProducts | None = field(default=None, repr=False)
    _sparse_below: dict | None = field(default=None, repr=False)

    @property
    def tail_sizes(self) -> tuple[int, ...]:
        return () if self.cp is None or self.cp.tail is None else self.cp.tail.sizes

    @property
    def dense(self) -> dict[tuple[int, int], np.ndarray]:
        """Views ``L_ij`` (``i >= j >= 1``) of the tail factor."""
        out = {}
        if self.tail is None:
            return out
        offsets = np.concatenate([[0], np.cumsum(self.tail_sizes)])
        for i in range(1, len(offsets)):
            for j in range(1, i + 1):
                out[(i, j)] = self.tail[offsets[i - 1] : offsets[i], offsets[j - 1] : offsets[j]]
        return out

    @property
    def sparse_below(self) -> dict[int, sp.csr_matrix]:
        """``L_j0 = Lambda_j' Z_j'Z_0 T0`` for j >= 1, built on first use."""
        if self._sparse_below is None:
            self._sparse_below = _sparse_below(self)
        return self._sparse_below

    @property
    def pwrss(self) -> float:
        """Penalised weighted residual sum of squares at the conditional estimates."""
        return float(self.xyxy[-1, -1] ** 2)

    def logdet_theta(self) -> float:
        """``log |Lambda'Z'Z Lambda + I|``."""
        total = 2.0 * np.log(np.diagonal(self.L0, axis1=1, axis2=2)).sum()
        if self.tail is not None:
            total += 2.0 * np.log(np.diagonal(self.tail)).sum()
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


def _sparse_below(fac: Factorization) -> dict[int, sp.csr_matrix]:
    tail = fac.cp.tail
    below = sp.csr_matrix(tail.A_t0 @ _block_diag_sparse(fac.T0))
    out, start = {}, 0
    for j, size in enumerate(tail.sizes, start=1):
        lam = fac.lambdas[j]
        copies = np.ascontiguousarray(np.broadcast_to(lam.T, (size // lam.shape[0], *lam.shape)))
        scale = _block_diag_sparse(copies)
        out[j] = sp.csr_matrix(scale @ below[start : start + size])
        start += size
    return out


def _factor_block0(diag0: np.ndarray, lam0: np.ndarray):
    """Per-group factors of block 0: ``L0`` (lower), its inverse, ``T0 = lam0 L0^-T``, ``W0 = T0 T0'``."""
    q0 = lam0.shape[0]
    if q0 == 1:
        lam = lam0[0, 0]
        l0 = np.sqrt(diag0 * (lam * lam) + 1.0)
        t0 = lam / l0
        return l0, 1.0 / l0, t0, t0 * t0
    l0 = batched_cholesky(congruence(lam0, diag0) + np.eye(q0))
    l0_inv = batched_lower_inverse(l0)
    t0 = lam0 @ np.swapaxes(l0_inv, 1, 2)
    return l0, l0_inv, t0, t0 @ np.swapaxes(t0, 1, 2)


def schur_kernel(tail: TailProducts, w0: np.ndarray) -> np.ndarray:
    """``K = Z_t'Z_t - Z_t'Z_0 W0 Z_0'Z_t`` (dense, both triangles), a new array."""
    kernel = tail.A.copy()
    pairs = tail.pairs
    if pairs is None:
        kernel -= (tail.A_t0 @ _block_diag_sparse(w0) @ tail.A_t0.T).toarray()
        return kernel
    values = pairs.matrix @ w0.ravel()
    kernel[pairs.rows, pairs.cols] -= values
    strict = pairs.strict
    kernel[pairs.cols[strict], pairs.rows[strict]] -= values[strict]
    return kernel


def _cholesky_in_place(mat: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a C-ordered symmetric matrix, overwriting it (upper part zeroed).

    LAPACK works column-major: the transpose of a C-ordered array is a Fortran-ordered one, whose
    upper factor is our lower factor, so no copy is made.
    """
    upper, info = lapack.dpotrf(mat.T, lower=0, clean=1, overwrite_a=1)
    if info != 0:
        raise NotPositiveDefinite
    return upper.T


def solve_lower(low: np.ndarray, rhs: np.ndarray, transpose: bool = False) -> np.ndarray:
    """Solve ``low x = rhs`` (or ``low' x = rhs``) for a lower-triangular ``low``.

    LAPACK's ``dtrtrs`` is called directly on the Fortran-ordered transpose: no copy of a C-ordered
    factor, and none of the per-call overhead of ``scipy.linalg.solve_triangular``. Several right-hand
    sides are solved one column at a time: a multi-column solve goes to OpenBLAS's threaded ``dtrsm``,
    whose thread hand-offs cost far more than the arithmetic for the few columns of ``[X y]``.
    """
    upper = low.T
    trans = 0 if transpose else 1
    if rhs.ndim == 1:
        solution, info = lapack.dtrtrs(upper, rhs, lower=0, trans=trans)
        if info != 0:
            raise NotPositiveDefinite
        return solution
    out = np.empty(rhs.shape)
    for k in range(rhs.shape[1]):
        out[:, k] = solve_lower(low, rhs[:, k], transpose)
    return out


def cholesky_lower(mat: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a small symmetric matrix (upper part zero)."""
    low, info = lapack.dpotrf(mat, lower=1, clean=1)
    if info != 0:
        raise NotPositiveDefinite
    return low


def block0_solve(fac: Factorization, rhs: np.ndarray) -> np.ndarray:
    """``T0' rhs`` per group, for ``rhs`` shaped (G0, q0, r)."""
    if fac.T0.shape[1] == 1:
        return fac.T0 * rhs
    return np.swapaxes(fac.T0, 1, 2) @ rhs


def factorize(
    cp: CrossProducts, lambdas: list[np.ndarray], keep_kernel: bool = False
) -> Factorization:
    """Factor the penalised system for the relative factors ``lambdas`` (one per block, in cp order)."""
    l0, l0_inv, t0, w0 = _factor_block0(cp.diag[0], lambdas[0])
    fac = Factorization(lambdas=lambdas, L0=l0, T0=t0, W0=w0, L0inv=l0_inv, cp=cp)
    b0 = cp.xyz0_by_group  # (G0, q0, p+1)
    c0 = block0_solve(fac, b0)
    fac.xy.append(c0.reshape(-1, cp.p + 1).T)
    xyxy = cp.xyxy - fac.xy[0] @ fac.xy[0].T
    if cp.tail is not None:
        ct = _factor_tail(cp, fac, b0, keep_kernel)
        xyxy -= ct.T @ ct
        start = 0
        for size in cp.tail.sizes:
            fac.xy.append(ct[start : start + size].T)
            start += size
    fac.xyxy = cholesky_lower(xyxy)
    return fac


def _factor_tail(
    cp: CrossProducts, fac: Factorization, b0: np.ndarray, keep_kernel: bool
) -> np.ndarray:
    """Factor ``D`` into ``fac.tail``; return ``L_tt^-1 Lambda_t'(Z_t'[X y] - Z_t'Z_0 W0 Z_0'[X y])``."""
    tail = cp.tail
    lam_t = fac.lambdas[1:]
    kernel = schur_kernel(tail, fac.W0)
    scales = tail_scales(lam_t, tail.sizes)
    if scales is None:
        schur = tail_congruence(lam_t, tail.sizes, kernel, transpose=True)
    else:  # scalar blocks: two scaling passes, in place unless the kernel is kept
        schur = np.multiply(kernel, scales[:, None], out=None if keep_kernel else kernel)
        schur *= scales[None, :]
    if keep_kernel:
        fac.kernel = kernel
    schur[np.diag_indices_from(schur)] += 1.0
    fac.tail = _cholesky_in_place(np.ascontiguousarray(schur))
    w_b0 = fac.W0 @ b0 if fac.W0.shape[1] > 1 else fac.W0 * b0
    rhs = tail.xyz - tail.A_t0 @ w_b0.reshape(-1, cp.p + 1)
    rhs = tail_left_multiply(lam_t, tail.sizes, rhs, transpose=True)
    return solve_lower(fac.tail, rhs)


def _l0_inverse(fac: Factorization) -> np.ndarray:
    return fac.L0inv if fac.L0inv is not None else batched_lower_inverse(fac.L0)


def fixed_effects(fac: Factorization) -> np.ndarray:
    """Conditional estimates of the fixed effects, ``R_X beta = c_beta``."""
    p = fac.xyxy.shape[0] - 1
    if p == 0:
        return np.zeros(0)
    return solve_lower(fac.xyxy[:p, :p], fac.xyxy[p, :p], transpose=True)


def back_substitute(fac: Factorization, c0: np.ndarray, ct: np.ndarray | None) -> tuple:
    """Solve ``L' b = c`` for the spherical effects: ``c0`` (size0, r) and ``ct`` (m, r) -> (b0, bt)."""
    g0, q0 = fac.L0.shape[:2]
    r = c0.shape[1]
    bt = None
    rhs0 = c0.reshape(g0, q0, r)
    if fac.tail is not None:
        tail = fac.cp.tail
        bt = solve_lower(fac.tail, ct, transpose=True)
        scaled = tail_left_multiply(fac.lambdas[1:], tail.sizes, bt, transpose=False)
        rhs0 = rhs0 - block0_solve(fac, (tail.A_t0.T @ scaled).reshape(g0, q0, r))
    if q0 == 1:
        b0 = rhs0 / fac.L0
    else:
        inv_t = np.swapaxes(_l0_inverse(fac), 1, 2)
        b0 = inv_t @ rhs0
    return b0.reshape(g0 * q0, r), bt


def spherical_effects(fac: Factorization, beta: np.ndarray) -> list[np.ndarray]:
    """Conditional modes ``b`` of the spherical random effects, per block, by back-substitution."""
    p = len(beta)
    c0 = (fac.xy[0][p] - fac.xy[0][:p].T @ beta)[:, None]
    ct = None
    if fac.tail is not None:
        ct = np.concatenate([block[p] - block[:p].T @ beta for block in fac.xy[1:]])[:, None]
    b0, bt = back_substitute(fac, c0, ct)
    out = [b0[:, 0]]
    if bt is not None:
        start = 0
        for size in fac.tail_sizes:
            out.append(bt[start : start + size, 0])
            start += size
    return out


def random_effects(fac: Factorization, b: list[np.ndarray]) -> list[np.ndarray]:
    """Random effects ``u_k = (I (x) lam_k) b_k`` per block, shaped (groups, effects)."""
    out = []
    for lam, bk in zip(fac.lambdas, b, strict=True):
        q = lam.shape[0]
        out.append(bk.reshape(-1, q) @ lam.T)
    return out
