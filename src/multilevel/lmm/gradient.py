"""Analytic gradient of the profiled deviance with respect to theta.

With ``V = Lambda'Z'Z Lambda + I`` and ``M = [X y]' Sigma^-1 [X y]`` (``Sigma = I + Z Lambda Lambda'Z'``,
``M = R R'`` where ``R`` is the ``[X y]`` block of the factor), the profiled deviance is

    ML:    log|V| + n log(pwrss) + const,                      pwrss = v'M v,  v = (-beta, 1)
    REML:  log|V| + log|M_XX| + (n - p) log(pwrss) + const.

Each theta_k enters only through ``Lambda``, whose derivative is block-diagonal (``I (x) dlam_k`` on the
groups of one block). With ``U = V^-1 Lambda'Z'[X y]`` (the conditional modes for each column of
``[X y]``) and ``F = Z'([X y] - Z Lambda U)``,

    d log|V|  = 2 sum_g tr([V^-1 Lambda'Z'Z]_gg dlam)        (only diagonal blocks of V^-1 are needed)
    dM        = -(F' dLambda U + U' dLambda' F)               (so d pwrss = -2 r'Z dLambda u: the
                                                               envelope theorem)

The diagonal blocks of ``V^-1 Lambda'Z'Z`` come from the block-diagonal block 0 in closed form and from
the dense inverse of the tail's Schur complement ``D``; block 0's coupling to the tail is
``[Z_0'Z_t H Z_t'Z_0]_gg`` with ``H = Lambda_t D^-1 Lambda_t'``, read off through the pair map.
A gradient costs about two evaluations (``D^-1`` from its Cholesky factor), and a quasi-Newton method
needs far fewer of them than a derivative-free one needs evaluations.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.linalg import lapack

from .covariance import CovarianceStructure
from .factor import (
    Factorization,
    back_substitute,
    fixed_effects,
    tail_congruence,
    tail_left_multiply,
    tail_scales,
)

_LINEAR_KINDS = ("identity", "independent", "unstructured")


@lru_cache(maxsize=256)
def factor_basis(structure: CovarianceStructure) -> np.ndarray | None:
    """``lam = sum_k theta_k B_k`` for the structures whose factor is linear in theta, else None.

    The identity, independent and unstructured factors are linear, so ``B_k`` is the factor of the
    k-th unit vector; it is also the derivative ``d lam / d theta_k``.
    """
    if structure.kind not in _LINEAR_KINDS and structure.q > 1:
        return None
    n = structure.n_theta
    basis = np.stack([structure.factor(np.eye(n)[k]) for k in range(n)])
    basis.setflags(write=False)
    return basis


def structure_factor(structure: CovarianceStructure, theta: np.ndarray) -> np.ndarray:
    """``structure.factor(theta)``, without its per-call index set-up where the factor is linear."""
    basis = factor_basis(structure)
    if basis is None:
        return structure.factor(theta)
    n, q, _ = basis.shape
    return (np.asarray(theta, dtype=float) @ basis.reshape(n, q * q)).reshape(q, q)


def factor_derivatives(structure: CovarianceStructure, theta: np.ndarray) -> np.ndarray:
    """``d lam / d theta_k`` for each k, shaped (n_theta, q, q).

    Constant for the linear structures; the exchangeable factor (a Cholesky root of a correlation
    matrix) is differentiated numerically.
    """
    basis = factor_basis(structure)
    if basis is not None:
        return basis
    n = structure.n_theta
    theta = np.asarray(theta, dtype=float)
    out = []
    for k in range(n):
        step = 1e-6 * max(1.0, abs(theta[k]))
        hi, lo = theta.copy(), theta.copy()
        hi[k] += step
        lo[k] -= step
        out.append((structure.factor(hi) - structure.factor(lo)) / (2 * step))
    return np.stack(out)


def has_analytic_gradient(cp) -> bool:
    """The gradient needs the tail's pair map (always present for one block)."""
    return cp.tail is None or cp.tail.pairs is not None


def _tail_inverse(fac: Factorization) -> np.ndarray:
    """``D^-1`` (both triangles) from the tail's Cholesky factor."""
    inv_upper, info = lapack.dpotri(fac.tail.T, lower=0, overwrite_c=0)
    if info != 0:
        raise np.linalg.LinAlgError("tail factor is singular")
    # dpotri fills one triangle; the other holds the factor's zeros (it was cleaned)
    full = inv_upper + inv_upper.T
    full[np.diag_indices_from(full)] *= 0.5
    return full


def _z_residuals(fac: Factorization, u0: np.ndarray, ut: np.ndarray | None):
    """``Z'([X y] - Z Lambda U)`` for block 0 (size0, r) and the tail (m, r)."""
    cp = fac.cp
    g0, q0 = fac.L0.shape[:2]
    r = u0.shape[1]
    lam0 = fac.lambdas[0]
    lu0 = lam0 @ u0.reshape(g0, q0, r)  # Lambda_0 U_0
    f0 = cp.xyz0_by_group - cp.diag[0] @ lu0
    f0 = f0.reshape(g0 * q0, r)
    ft = None
    if ut is not None:
        tail = cp.tail
        lut = tail_left_multiply(fac.lambdas[1:], tail.sizes, ut, transpose=False)
        f0 = f0 - tail.A_t0.T @ lut
        ft = tail.xyz - tail.A_t0 @ lu0.reshape(g0 * q0, r) - tail.A @ lut
    return f0, ft


def _block0_trace_terms(fac: Factorization, d_inv: np.ndarray | None) -> np.ndarray:
    """``sum_g [V^-1 Lambda'Z'Z]_gg^T`` over block 0, a (q0, q0) matrix."""
    cp = fac.cp
    a00 = cp.diag[0]
    q0 = a00.shape[1]
    # J_g = V00_g^-1 lam0' = L0^-T T0'
    inv_t = np.swapaxes(fac.L0inv, 1, 2)
    j = inv_t @ np.swapaxes(fac.T0, 1, 2)
    if d_inv is None:
        x = j @ a00
    else:
        n_blocks = _block0_coupling(fac, d_inv)
        eye = np.eye(q0)
        # lam0 V00_g^-1 lam0' = W0_g
        inner = a00 - n_blocks @ (eye - fac.W0 @ a00)
        x = j @ inner
    return x.sum(axis=0).T


def _block0_coupling(fac: Factorization, d_inv: np.ndarray) -> np.ndarray:
    """``N_g = [Z_0'Z_t H Z_t'Z_0]_gg`` with ``H = Lambda_t D^-1 Lambda_t'``, shaped (G0, q0, q0)."""
    tail = fac.cp.tail
    pairs = tail.pairs
    lam_t = fac.lambdas[1:]
    scales = tail_scales(lam_t, tail.sizes)
    if scales is not None:
        h = scales[pairs.rows] * scales[pairs.cols] * d_inv[pairs.rows, pairs.cols]
    else:
        h = tail_congruence(lam_t, tail.sizes, d_inv, transpose=False)[pairs.rows, pairs.cols]
    h = np.where(pairs.rows == pairs.cols, 0.5 * h, h)
    g0, q0 = fac.L0.shape[:2]
    half = (pairs.matrix_t @ h).reshape(g0, q0, q0)
    return half + np.swapaxes(half, 1, 2)


def _tail_trace_terms(fac: Factorization, d_inv: np.ndarray) -> list[np.ndarray]:
    """``sum_g [D^-1 Lambda_t' K]_gg^T`` for each tail block, (q_j, q_j) each."""
    tail = fac.cp.tail
    lam_t = fac.lambdas[1:]
    scales = tail_scales(lam_t, tail.sizes)
    out = []
    if scales is not None:
        diag = scales @ (d_inv * fac.kernel)
        start = 0
        for size in tail.sizes:
            out.append(np.array([[diag[start : start + size].sum()]]))
            start += size
        return out
    scaled = tail_left_multiply(lam_t, tail.sizes, fac.kernel, transpose=True)
    start = 0
    for lam, size in zip(lam_t, tail.sizes, strict=True):
        q = lam.shape[0]
        rows = d_inv[start : start + size].reshape(size // q, q, -1)
        cols = scaled[:, start : start + size].reshape(-1, size // q, q)
        out.append(np.einsum("gic,cgj->ji", rows, cols))
        start += size
    return out


def _residual_weights(fac: Factorization, reml: bool, pwrss_weight: float) -> np.ndarray:
    """``C`` with ``d(pwrss and log|M_XX| terms) = -2 sum_g F_g C dLambda U_g'``."""
    p = fac.xyxy.shape[0] - 1
    beta = fixed_effects(fac)
    v = np.append(-beta, 1.0)
    weights = pwrss_weight * np.outer(v, v)
    if reml and p > 0:
        r_x = fac.xyxy[:p, :p]
        inv_r = lapack.dtrtri(r_x, lower=1)[0]
        weights[:p, :p] += inv_r.T @ inv_r
    return weights


def _residual_terms(f: np.ndarray, u: np.ndarray, weights: np.ndarray, q: int) -> np.ndarray:
    """``sum_g F_g C U_g'`` for one block, (q, q)."""
    r = f.shape[1]
    uc = u @ weights
    return np.einsum("gir,gjr->ij", f.reshape(-1, q, r), uc.reshape(-1, q, r))


def profiled_gradient(
    fac: Factorization,
    structures: list[CovarianceStructure],
    thetas: list[np.ndarray],
    reml: bool,
    sigma2: float | None = None,
) -> np.ndarray:
    """Gradient in theta of the deviance at the factorisation ``fac`` (made with ``keep_kernel``).

    With ``sigma2`` None this is the profiled deviance (``dof log pwrss``); with a ``sigma2`` it is the
    deviance at that residual variance (``pwrss / sigma2``), beta still at its conditional estimate.
    """
    cp = fac.cp
    dof = cp.n - cp.p if reml else cp.n
    ct = np.concatenate(fac.xy[1:], axis=1).T if fac.tail is not None else None
    u0, ut = back_substitute(fac, fac.xy[0].T, ct)
    f0, ft = _z_residuals(fac, u0, ut)
    pwrss_weight = dof / fac.pwrss if sigma2 is None else 1.0 / sigma2
    weights = _residual_weights(fac, reml, pwrss_weight)
    d_inv = _tail_inverse(fac) if fac.tail is not None else None
    trace_terms = [_block0_trace_terms(fac, d_inv)]
    residual_terms = [_residual_terms(f0, u0, weights, fac.L0.shape[1])]
    if d_inv is not None:
        trace_terms += _tail_trace_terms(fac, d_inv)
        start = 0
        for lam, size in zip(fac.lambdas[1:], cp.tail.sizes, strict=True):
            sl = slice(start, start + size)
            residual_terms.append(_residual_terms(ft[sl], ut[sl], weights, lam.shape[0]))
            start += size
    grads = []
    for structure, theta, tr, res in zip(
        structures, thetas, trace_terms, residual_terms, strict=True
    ):
        y = 2.0 * tr - 2.0 * res
        derivatives = factor_derivatives(structure, theta)
        grads.append(derivatives.reshape(len(derivatives), -1) @ y.ravel())
    return np.concatenate(grads)
