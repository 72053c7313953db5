"""The random-effects system ``H = A'WA + I`` of a GLMM at one value of theta and of the IRLS weights.

``A = Z Lambda`` is kept per random-effects block (``A_j = Z_j lam_j``, n x q_j). The blocks are ordered
largest first (``lmm.crossprod.order_blocks``): block 0 stays block-diagonal (one q0 x q0 factor per
group), the remaining blocks are eliminated densely after a sparse Schur complement. The sparsity pattern
of every ``Z_j' Z_k`` is computed once per design, so each IRLS step only re-sums weights into a fixed
pattern.

Unlike ``lmm.factor`` this factors the random-effects part alone: PIRLS over ``u`` for fixed beta has no
``[X y]`` block, and the gradient of the Laplace approximation needs solves with ``H`` and the entries of
``H^{-1}`` that observations touch (``selected_inverse``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ..lmm.crossprod import TermBlock

DENSE_LIMIT = 20_000_000  # entries of L_M0 kept dense (160 MB) before switching to sparse storage


class SystemNotPositiveDefinite(ArithmeticError):
    """``H`` is not positive definite at these weights (weights far from a concave log density)."""


@dataclass
class PairPattern:
    """Fixed sparsity of ``Z_j' Z_k`` (j > k): which (group_j, group_k) pair each observation adds to."""

    entry: np.ndarray  # (n,) index of the observation's pair among the nonzero pairs
    rows: np.ndarray  # (nnz,) group of block j
    cols: np.ndarray  # (nnz,) group of block k
    indptr: np.ndarray  # CSR row pointer over groups of block j


def _pair_pattern(bj: TermBlock, bk: TermBlock) -> PairPattern:
    key = bj.codes.astype(np.int64) * bk.n_groups + bk.codes
    unique, entry = np.unique(key, return_inverse=True)
    rows, cols = np.divmod(unique, bk.n_groups)
    indptr = np.searchsorted(rows, np.arange(bj.n_groups + 1))
    return PairPattern(entry.astype(np.intp), rows.astype(np.intp), cols.astype(np.intp), indptr)


class RandomSystem:
    """The design side of ``H``: blocks in factorisation order and the patterns of their products."""

    def __init__(self, blocks: list[TermBlock]):
        self.blocks = blocks
        self.patterns = {
            (j, k): _pair_pattern(blocks[j], blocks[k])
            for j in range(len(blocks))
            for k in range(j)
        }
        sizes = [b.size for b in blocks]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.size_rest = int(sum(sizes[1:]))  # dense part

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    # --- products ------------------------------------------------------------------------------
    def group_sums(self, j: int, values: np.ndarray) -> np.ndarray:
        """Per-group sums over observations of block j: values (n, q) -> (G_j, q)."""
        block = self.blocks[j]
        out = np.empty((block.n_groups, values.shape[1]))
        for a in range(values.shape[1]):
            out[:, a] = np.bincount(block.codes, weights=values[:, a], minlength=block.n_groups)
        return out

    def gather(self, u: list[np.ndarray]) -> list[np.ndarray]:
        """Each observation's random effects of each block: (n, q_j)."""
        return [uj[b.codes] for b, uj in zip(self.blocks, u, strict=True)]

    def linear_predictor(self, A: list[np.ndarray], u: list[np.ndarray]) -> np.ndarray:
        """``A u`` as an n-vector."""
        total = np.zeros(A[0].shape[0])
        for b, a, uj in zip(self.blocks, A, u, strict=True):
            total += np.einsum("nq,nq->n", a, uj[b.codes])
        return total

    def weighted_diag(self, j: int, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(G_j, q, q): sum over the group of w a a'."""
        block = self.blocks[j]
        q = a.shape[1]
        out = np.empty((block.n_groups, q, q))
        for r in range(q):
            for c in range(r + 1):
                s = np.bincount(
                    block.codes, weights=w * a[:, r] * a[:, c], minlength=block.n_groups
                )
                out[:, r, c] = s
                out[:, c, r] = s
        return out

    def weighted_cross(self, j: int, k: int, aj: np.ndarray, ak: np.ndarray, w: np.ndarray):
        """Sparse (BSR) ``A_j' W A_k`` for j > k, in the fixed pattern."""
        pat = self.patterns[(j, k)]
        qj, qk = aj.shape[1], ak.shape[1]
        nnz = len(pat.rows)
        data = np.empty((nnz, qj, qk))
        for r in range(qj):
            for c in range(qk):
                data[:, r, c] = np.bincount(
                    pat.entry, weights=w * aj[:, r] * ak[:, c], minlength=nnz
                )
        shape = (self.blocks[j].n_groups * qj, self.blocks[k].n_groups * qk)
        return sp.bsr_matrix((data, pat.cols, pat.indptr), shape=shape)

    # --- factorisation -------------------------------------------------------------------------
    def factor(self, A: list[np.ndarray], w: np.ndarray) -> SystemFactor:
        """Cholesky factor of ``H = A'WA + I``."""
        d0 = self.weighted_diag(0, A[0], w)
        q0 = A[0].shape[1]
        d0 += np.eye(q0)
        if q0 == 1:
            if np.any(d0[:, 0, 0] <= 0):
                raise SystemNotPositiveDefinite
            l0 = np.sqrt(d0)
            l0inv = 1.0 / l0
        else:
            try:
                l0 = np.linalg.cholesky(d0)
            except np.linalg.LinAlgError as exc:
                raise SystemNotPositiveDefinite from exc
            l0inv = np.linalg.inv(l0)
        if self.n_blocks == 1:
            return SystemFactor(self, l0, l0inv, None, None)
        # Rows of the dense part: L_M0 = H_M0 L0^{-T}; Schur complement S = H_MM - L_M0 L_M0'.
        if self.offsets[1] * self.size_rest <= DENSE_LIMIT:
            lm0 = self._dense_below(A, w, l0inv)
            schur = self._dense_part(A, w) - lm0 @ lm0.T
        else:
            below = [
                _scale_columns(self.weighted_cross(j, 0, A[j], A[0], w), l0inv)
                for j in range(1, self.n_blocks)
            ]
            lm0 = sp.vstack(below).tocsr()
            schur = self._dense_part(A, w) - (lm0 @ lm0.T).toarray()
        try:
            lm = sla.cholesky(schur, lower=True, check_finite=False)
        except sla.LinAlgError as exc:
            raise SystemNotPositiveDefinite from exc
        return SystemFactor(self, l0, l0inv, lm0, lm)

    def _dense_below(self, A: list[np.ndarray], w: np.ndarray, l0inv: np.ndarray) -> np.ndarray:
        """Dense ``L_M0 = H_M0 L0^{-T}`` (size_M x size_0) by direct accumulation."""
        b0 = self.blocks[0]
        g0, q0 = b0.n_groups, b0.q
        size0, base = self.offsets[1], self.offsets[1]
        out = np.zeros(self.size_rest * size0)
        for j in range(1, self.n_blocks):
            bj = self.blocks[j]
            for a in range(bj.q):
                row = self.offsets[j] - base + bj.codes * bj.q + a
                for b in range(q0):
                    index = row * size0 + b0.codes * q0 + b
                    out += np.bincount(
                        index, weights=w * A[j][:, a] * A[0][:, b], minlength=out.size
                    )
        below = out.reshape(self.size_rest, g0, q0)
        return np.einsum("mgb,gcb->mgc", below, l0inv).reshape(self.size_rest, size0)

    def _dense_part(self, A: list[np.ndarray], w: np.ndarray) -> np.ndarray:
        base = self.offsets[1]
        m = np.eye(self.size_rest)
        for j in range(1, self.n_blocks):
            diag = self.weighted_diag(j, A[j], w)
            lo, hi = self.offsets[j] - base, self.offsets[j + 1] - base
            m[lo:hi, lo:hi] += (
                sla.block_diag(*diag) if diag.shape[1] > 1 else np.diag(diag[:, 0, 0])
            )
            for k in range(1, j):
                klo, khi = self.offsets[k] - base, self.offsets[k + 1] - base
                cross = self.weighted_cross(j, k, A[j], A[k], w).toarray()
                m[lo:hi, klo:khi] += cross
                m[klo:khi, lo:hi] += cross.T
        return m

    # --- per-block vectors <-> one stacked vector ------------------------------------------------
    def stack(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([p.ravel() for p in parts])

    def unstack(self, vec: np.ndarray) -> list[np.ndarray]:
        return [
            vec[self.offsets[j] : self.offsets[j + 1]].reshape(b.n_groups, b.q)
            for j, b in enumerate(self.blocks)
        ]


def _scale_columns(cross: sp.bsr_matrix, l0inv: np.ndarray) -> sp.csr_matrix:
    """``cross @ blockdiag(L0^{-T})`` where the column blocks of ``cross`` are block-0 groups."""
    data = cross.data  # (nnz, qj, q0)
    scaled = np.einsum("eab,ecb->eac", data, l0inv[cross.indices])
    return sp.bsr_matrix((scaled, cross.indices, cross.indptr), shape=cross.shape).tocsr()


@dataclass
class SystemFactor:
    """``H = L L'`` with ``L = [[L0, 0], [L_M0, L_M]]`` (L0 block-diagonal per block-0 group)."""

    system: RandomSystem
    L0: np.ndarray  # (G0, q0, q0)
    L0inv: np.ndarray  # (G0, q0, q0)
    LM0: np.ndarray | sp.csr_matrix | None  # (size_M, size_0)
    LM: np.ndarray | None  # (size_M, size_M) lower

    def logdet(self) -> float:
        """``log |H|``."""
        total = 2.0 * np.log(np.diagonal(self.L0, axis1=1, axis2=2)).sum()
        if self.LM is not None:
            total += 2.0 * np.log(np.diag(self.LM)).sum()
        return float(total)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``H^{-1} rhs`` for a stacked vector."""
        size0 = self.system.offsets[1]
        g0, q0 = self.L0.shape[:2]
        y0 = np.einsum("gab,gb->ga", self.L0inv, rhs[:size0].reshape(g0, q0)).ravel()
        if self.LM is None:
            x0 = np.einsum("gba,gb->ga", self.L0inv, y0.reshape(g0, q0))
            return x0.ravel()
        ym = sla.solve_triangular(
            self.LM, rhs[size0:] - self.LM0 @ y0, lower=True, check_finite=False
        )
        xm = sla.solve_triangular(self.LM, ym, lower=True, trans="T", check_finite=False)
        r0 = (y0 - self.LM0.T @ xm).reshape(g0, q0)
        x0 = np.einsum("gba,gb->ga", self.L0inv, r0)
        return np.concatenate([x0.ravel(), xm])

    def selected_inverse(self) -> SelectedInverse:
        """Diagonal blocks of ``H^{-1}`` for block 0, and the dense rows/columns of the other blocks."""
        c00 = np.einsum("gba,gbc->gac", self.L0inv, self.L0inv)
        if self.LM is None:
            return SelectedInverse(self.system, c00, None, None)
        g0, q0 = self.L0.shape[:2]
        lm_inv = sla.solve_triangular(
            self.LM, np.eye(self.LM.shape[0]), lower=True, check_finite=False
        )
        cmm = lm_inv.T @ lm_inv
        # G = L0^{-T} L_M0' (size_0 x size_M); C_0M = -G C_MM; C_00 = L0^{-T}L0^{-1} + G C_MM G'.
        lm0 = self.LM0 if isinstance(self.LM0, np.ndarray) else self.LM0.toarray()
        lt = lm0.T.reshape(g0, q0, -1)
        g = np.einsum("gba,gbm->gam", self.L0inv, lt)
        c0m = -np.einsum("gam,mn->gan", g, cmm)
        c00 = c00 - np.einsum("gam,gbm->gab", c0m, g)
        return SelectedInverse(self.system, c00, c0m.reshape(g0 * q0, -1), cmm)


@dataclass
class SelectedInverse:
    """The entries of ``C = H^{-1}`` that observations touch."""

    system: RandomSystem
    C00: np.ndarray  # (G0, q0, q0)
    C0M: np.ndarray | None  # (size_0, size_M)
    CMM: np.ndarray | None  # (size_M, size_M)

    def _rows(self, j: int) -> np.ndarray:
        """(n, q_j) index of each observation's entries of block j in the stacked order."""
        block = self.system.blocks[j]
        start = self.system.offsets[j] - (self.system.offsets[1] if j > 0 else 0)
        return start + block.codes[:, None] * block.q + np.arange(block.q)[None, :]

    def times_local(self, A: list[np.ndarray]) -> list[np.ndarray]:
        """For each observation i and block j, ``(C a_i)`` restricted to block j's entries: (n, q_j)."""
        sys = self.system
        b0 = sys.blocks[0]
        out = [np.einsum("nab,nb->na", self.C00[b0.codes], A[0])]
        if self.CMM is None:
            return out
        rows = [self._rows(j) for j in range(sys.n_blocks)]
        for j in range(1, sys.n_blocks):
            out[0] += np.einsum(
                "nab,nb->na", self.C0M[rows[0][:, :, None], rows[j][:, None, :]], A[j]
            )
            cj = np.einsum("nba,nb->na", self.C0M[rows[0][:, :, None], rows[j][:, None, :]], A[0])
            for k in range(1, sys.n_blocks):
                cj += np.einsum(
                    "nab,nb->na", self.CMM[rows[j][:, :, None], rows[k][:, None, :]], A[k]
                )
            out.append(cj)
        return out

    def block_diagonal(self, j: int) -> np.ndarray:
        """(G_j, q_j, q_j): the diagonal blocks of ``H^{-1}`` for block j's groups."""
        if j == 0:
            return self.C00
        block = self.system.blocks[j]
        start = self.system.offsets[j] - self.system.offsets[1]
        idx = start + np.arange(block.n_groups)[:, None] * block.q + np.arange(block.q)[None, :]
        return self.CMM[idx[:, :, None], idx[:, None, :]]
