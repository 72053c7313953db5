"""Predicted random effects (BLUPs) and their standard errors, from the blocked Cholesky factor.

With spherical random effects ``b`` (``u_k = (I (x) lam_k) b_k``) the mixed-model equations of
Henderson have the coefficient matrix

    M = [ Lambda'Z'Z Lambda + I   Lambda'Z'X ]  =  L L',   L = [ L_Z   0   ]
        [ X'Z Lambda              X'X        ]                 [ L_XZ  L_X ]

whose inverse, times sigma2, is the covariance of the prediction errors ``(b_hat - b, beta_hat -
beta)`` (Henderson 1975). Its ``bb`` block is

    L_Z^{-T} L_Z^{-1} + H'H,   H = L_X^{-1} L_XZ L_Z^{-1}   (p rows: a low-rank term for beta),

and the first term alone is ``Var(b | y)`` with beta known. Only the diagonal blocks (one per
group) are formed: block 0 of the factor is block-diagonal, the later blocks are dense and small.

Stata's ``predict, reses`` (mixed postestimation, Methods and formulas) treats beta as known after
ML estimation and accounts for its estimation after REML: ``include_fixed=None`` does the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp

from ..lmm.factor import Factorization
from ..lmm.fit import LmmEstimates

if TYPE_CHECKING:
    from ..design.types import RandomBlock
    from ..results.mixed_result import MixedResult

_CHUNK_ENTRIES = 4_000_000  # dense entries per chunk of the block-0 solve (about 32 MB)


def _block_sizes(fac: Factorization) -> list[int]:
    g0, q0 = fac.L0.shape[:2]
    sizes = [g0 * q0]
    k = 1
    while (k, k) in fac.dense:
        sizes.append(fac.dense[(k, k)].shape[0])
        k += 1
    return sizes


def _dense_tail(fac: Factorization, sizes: list[int]) -> np.ndarray:
    """The dense lower-triangular factor of blocks 1.. (one matrix)."""
    offsets = np.concatenate([[0], np.cumsum(sizes[1:])])
    tail = np.zeros((offsets[-1], offsets[-1]))
    for (i, j), block in fac.dense.items():
        tail[offsets[i - 1] : offsets[i], offsets[j - 1] : offsets[j]] = block
    return tail


def _gram_blocks(mat: np.ndarray, q: int) -> np.ndarray:
    """Diagonal ``q x q`` blocks of ``mat' mat``, one per consecutive group of ``q`` columns."""
    rows = mat.shape[0]
    grouped = mat.reshape(rows, -1, q)
    return np.einsum("rgi,rgj->gij", grouped, grouped)


def _block_diag_inverse(l0_inv: np.ndarray) -> sp.spmatrix:
    g, q, _ = l0_inv.shape
    if q == 1:
        return sp.diags(l0_inv[:, 0, 0])
    return sp.bsr_matrix((l0_inv, np.arange(g), np.arange(g + 1)), shape=(g * q, g * q))


def _block0_coupling(below: sp.spmatrix, tail: np.ndarray, l0_inv: np.ndarray) -> np.ndarray:
    """Diagonal blocks of ``W'W`` with ``W = D^{-1} B A^{-1}``, solved in column chunks."""
    g0, q0, _ = l0_inv.shape
    coupled = sp.csc_matrix(below @ _block_diag_inverse(l0_inv))
    step = max(1, _CHUNK_ENTRIES // max(tail.shape[0], 1) // q0) * q0
    out = np.empty((g0, q0, q0))
    for start in range(0, g0 * q0, step):
        stop = min(start + step, g0 * q0)
        chunk = coupled[:, start:stop].toarray()
        w = sla.solve_triangular(tail, chunk, lower=True, check_finite=False)
        out[start // q0 : stop // q0] = _gram_blocks(w, q0)
    return out


def _fixed_projection(
    fac: Factorization, sizes: list[int], l0_inv: np.ndarray, tail: np.ndarray | None
) -> np.ndarray:
    """``H = L_X^{-1} L_XZ L_Z^{-1}`` (p x total random effects): how beta's error reaches b."""
    p = fac.xyxy.shape[0] - 1
    l_xz = np.concatenate([block[:p] for block in fac.xy], axis=1)
    g0, q0, _ = l0_inv.shape
    s0 = sizes[0]
    y_parts = []
    rhs0 = l_xz[:, :s0]
    if tail is not None:
        y_tail = sla.solve_triangular(
            tail, l_xz[:, s0:].T, lower=True, trans="T", check_finite=False
        ).T
        below = sp.vstack([fac.sparse_below[j] for j in range(1, len(sizes))]).tocsr()
        rhs0 = rhs0 - (below.T @ y_tail.T).T
        y_parts.append(y_tail)
    y0 = np.einsum("pgi,gij->pgj", rhs0.reshape(p, g0, q0), l0_inv).reshape(p, s0)
    y = np.concatenate([y0, *y_parts], axis=1)
    return sla.solve_triangular(fac.xyxy[:p, :p], y, lower=True, check_finite=False)


def spherical_error_blocks(fac: Factorization, include_fixed: bool) -> list[np.ndarray]:
    """Per-group blocks of ``Var(b_hat - b) / sigma2`` in the factor's block order.

    Parameters
    ----------
    fac
        The blocked factor at the estimates.
    include_fixed
        Add the error of the estimated fixed effects (``H'H``); ``False`` gives ``Var(b | y)``.

    Returns
    -------
    list of numpy.ndarray
        One ``(groups, q, q)`` array per factor block.
    """
    sizes = _block_sizes(fac)
    l0_inv = np.linalg.inv(fac.L0)
    blocks = [np.einsum("gki,gkj->gij", l0_inv, l0_inv)]
    tail = None
    if len(sizes) > 1:
        tail = _dense_tail(fac, sizes)
        below = sp.vstack([fac.sparse_below[j] for j in range(1, len(sizes))]).tocsr()
        blocks[0] = blocks[0] + _block0_coupling(below, tail, l0_inv)
        tail_inv = sla.solve_triangular(tail, np.eye(tail.shape[0]), lower=True)
        offsets = np.concatenate([[0], np.cumsum(sizes[1:])])
        for k in range(1, len(sizes)):
            q = fac.lambdas[k].shape[0]
            blocks.append(_gram_blocks(tail_inv[:, offsets[k - 1] : offsets[k]], q))
    p = fac.xyxy.shape[0] - 1
    if include_fixed and p > 0:
        h = _fixed_projection(fac, sizes, l0_inv, tail)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        for k, lam in enumerate(fac.lambdas):
            blocks[k] = blocks[k] + _gram_blocks(h[:, offsets[k] : offsets[k + 1]], lam.shape[0])
    return blocks


def prediction_error_covariances(est: LmmEstimates, include_fixed: bool) -> list[np.ndarray]:
    """``Var(u_hat - u)`` per group, ``(groups, q, q)`` per design block (Design.blocks order).

    Parameters
    ----------
    est
        The estimates of a linear mixed model.
    include_fixed
        Account for the estimation of the fixed effects (as Stata after REML); ``False`` treats
        them as known (as Stata after ML, and lme4's ``condVar``).

    Returns
    -------
    list of numpy.ndarray
    """
    spherical = spherical_error_blocks(est.factor, include_fixed)
    out: list[np.ndarray | None] = [None] * len(spherical)
    for block, lam, cov_b in zip(est.problem.cp.blocks, est.factor.lambdas, spherical, strict=True):
        out[block.source] = est.sigma2 * np.einsum("ia,gab,jb->gij", lam, cov_b, lam)
    return out


def group_index(block: RandomBlock) -> pd.Index:
    """The groups of a level as an index: values, or a MultiIndex of paths for a nested level."""
    level = block.level
    if level.crossed_factor is not None:
        return pd.Index(block.group_values, name=level.crossed_factor)
    if len(level.groups) > 1:
        return pd.MultiIndex.from_tuples(block.group_values, names=list(level.groups))
    return pd.Index(block.group_values, name=level.groups[0])


def random_effects(fit: MixedResult) -> dict[str, pd.DataFrame]:
    """Predicted random effects (BLUPs) of each level.

    Parameters
    ----------
    fit
        A fitted linear mixed model.

    Returns
    -------
    dict of str to pandas.DataFrame
        Level label -> one row per group, one column per random effect in Stata's order
        (slopes, then ``_cons``).
    """
    out = {}
    for block, values in zip(fit.design.blocks, fit.estimates.random_effects, strict=True):
        out[block.label] = pd.DataFrame(
            np.asarray(values).reshape(block.n_groups, -1),
            index=group_index(block),
            columns=list(block.effect_names),
        )
    return out


def random_effects_se(
    fit: MixedResult, include_fixed: bool | None = None
) -> dict[str, pd.DataFrame]:
    """Standard errors of the BLUPs, as Stata's ``predict, reses``.

    Parameters
    ----------
    fit
        A fitted linear mixed model.
    include_fixed
        Whether the error of the estimated fixed effects is included. ``None`` follows Stata: not
        after ML (``sqrt diag Var(u | y)``, lme4's ``condVar``), included after REML
        (``sqrt diag Var(u_hat - u)``).

    Returns
    -------
    dict of str to pandas.DataFrame
        Shaped as :func:`random_effects`.
    """
    include = fit.reml if include_fixed is None else bool(include_fixed)
    covs = prediction_error_covariances(fit.estimates, include)
    out = {}
    for block, cov in zip(fit.design.blocks, covs, strict=True):
        se = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
        out[block.label] = pd.DataFrame(
            se, index=group_index(block), columns=list(block.effect_names)
        )
    return out
