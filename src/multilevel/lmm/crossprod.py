"""Cross-products of the blocked mixed-model system, computed once per design (or per IRLS weight).

The random-effects blocks are ordered largest first (as MixedModels.jl does): block 0 is kept
block-diagonal through the whole factorisation; the later blocks (the *tail*) fill in and are handled
as one dense matrix. ``XY`` is ``[X y]``, so the Cholesky factor's last diagonal element is the root of
the penalised residual sum of squares.

What the factorisation needs at every theta is precomputed here, so that one evaluation touches no
array of length n:

- the dense ``Z_t'Z_t`` of the tail and the sparse ``Z_t'Z_0``;
- a :class:`PairMap`: the Schur complement of block 0 in the tail, ``Z_t'Z_0 W Z_0'Z_t`` with ``W``
  block-diagonal, is linear in ``W``; its nonzero pattern and coefficients are fixed by the design, so
  the product is one sparse mat-vec per evaluation instead of a sparse-sparse product.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

# Above this many (row, row, group) triples the pair map is not built (memory ~ 16 bytes each) and the
# Schur complement falls back to a sparse product per evaluation.
PAIR_MAP_LIMIT = 40_000_000


@dataclass
class TermBlock:
    """One random-effects block in the factorisation's order."""

    codes: np.ndarray  # (n,) group of each row
    Z: np.ndarray  # (n, q) covariates
    n_groups: int
    source: int  # index of the block in Design.blocks

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def size(self) -> int:
        return self.n_groups * self.q


@dataclass
class PairMap:
    """The lower triangle of ``Z_t'Z_0 W Z_0'Z_t`` as a linear map of ``W`` (``(G0, q0, q0)``, raveled).

    ``matrix @ W.ravel()`` gives the values at the positions ``(rows, cols)`` (``rows >= cols``); every
    other entry of the product is zero.
    """

    rows: np.ndarray
    cols: np.ndarray
    matrix: sp.csr_matrix  # (n_pairs, G0 * q0 * q0)
    matrix_t: sp.csr_matrix  # its transpose, for the gradient
    size: int  # m, the order of the tail

    @property
    def flat_lower(self) -> np.ndarray:
        return self.rows * self.size + self.cols

    @property
    def strict(self) -> np.ndarray:
        """Positions of the pairs below the diagonal."""
        return np.flatnonzero(self.rows != self.cols)


@dataclass
class TailProducts:
    """Blocks 1.. stacked as one dense part of order ``m``."""

    sizes: tuple[int, ...]  # size of each tail block
    A: np.ndarray  # (m, m) Z_t'Z_t, both triangles
    A_t0: sp.csr_matrix  # (m, size0) Z_t'Z_0
    xyz: np.ndarray  # (m, p+1) Z_t'[X y]
    pairs: PairMap | None = None

    @property
    def m(self) -> int:
        return self.A.shape[0]


@dataclass
class CrossProducts:
    """``Z_k'Z_k`` (per group), ``Z_j'Z_k``, ``[X y]'Z_k`` and ``[X y]'[X y]`` of a (weighted) design."""

    blocks: list[TermBlock]
    diag: list[np.ndarray]  # per block: (G, q, q) per-group Z'Z
    offdiag: dict[tuple[int, int], object] = field(default_factory=dict)  # (j, k), j > k
    xyz: list[np.ndarray] = field(default_factory=list)  # per block: (p+1, G, q)
    xyxy: np.ndarray | None = None  # (p+1, p+1)
    n: int = 0
    p: int = 0
    tail: TailProducts | None = None  # blocks 1.., None with a single block
    _xyz0_by_group: np.ndarray | None = field(default=None, repr=False)

    @property
    def xyz0_by_group(self) -> np.ndarray:
        """``Z_0g'[X y]`` per group of block 0, shaped (G0, q0, p+1) and contiguous (made once)."""
        if self._xyz0_by_group is None:
            self._xyz0_by_group = np.ascontiguousarray(np.moveaxis(self.xyz[0], 0, 2))
        return self._xyz0_by_group


def order_blocks(
    codes: list[np.ndarray], Zs: list[np.ndarray], n_groups: list[int]
) -> list[TermBlock]:
    """Term blocks sorted by size, largest first (stable, so equal sizes keep the written order)."""
    blocks = [
        TermBlock(c, z, g, i) for i, (c, z, g) in enumerate(zip(codes, Zs, n_groups, strict=True))
    ]
    return sorted(blocks, key=lambda b: -b.size)


def _grouped_products(
    codes: np.ndarray, left: np.ndarray, right: np.ndarray, n_groups: int
) -> np.ndarray:
    """Per-group sums of outer products: out[g, a, b] = sum_{i in g} left[i, a] * right[i, b]."""
    n_left, n_right = left.shape[1], right.shape[1]
    out = np.empty((n_groups, n_left, n_right))
    for a in range(n_left):
        for b in range(n_right):
            out[:, a, b] = np.bincount(codes, weights=left[:, a] * right[:, b], minlength=n_groups)
    return out


def _cross_block(bj: TermBlock, bk: TermBlock, zj: np.ndarray, zk: np.ndarray) -> sp.csr_matrix:
    """Sparse ``Z_j' Z_k`` with rows ordered group-major (g * q + effect)."""
    rows, cols, vals = [], [], []
    for a in range(bj.q):
        for b in range(bk.q):
            rows.append(bj.codes * bj.q + a)
            cols.append(bk.codes * bk.q + b)
            vals.append(zj[:, a] * zk[:, b])
    mat = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(bj.size, bk.size),
    )
    return mat.tocsr()


def cross_products(
    X: np.ndarray, y: np.ndarray, blocks: list[TermBlock], weights: np.ndarray | None = None
) -> CrossProducts:
    """All cross-products the factorisation needs, with optional observation weights."""
    xy = np.column_stack([X, y]).astype(float, copy=False)
    if weights is not None:
        root = np.sqrt(weights)
        xy = xy * root[:, None]
        zs = [b.Z * root[:, None] for b in blocks]
    else:
        zs = [b.Z for b in blocks]
    diag = [_grouped_products(b.codes, z, z, b.n_groups) for b, z in zip(blocks, zs, strict=True)]
    xyz = [
        np.moveaxis(_grouped_products(b.codes, xy, z, b.n_groups), 1, 0)
        for b, z in zip(blocks, zs, strict=True)
    ]
    offdiag = {}
    for j in range(len(blocks)):
        for k in range(j):
            offdiag[(j, k)] = _cross_block(blocks[j], blocks[k], zs[j], zs[k])
    cp = CrossProducts(
        blocks=blocks,
        diag=diag,
        offdiag=offdiag,
        xyz=xyz,
        xyxy=xy.T @ xy,
        n=X.shape[0],
        p=X.shape[1],
    )
    cp.tail = tail_products(cp)
    return cp


def with_response(cp: CrossProducts, X: np.ndarray, y: np.ndarray) -> CrossProducts:
    """The same cross-products for a new response (unweighted): only the ``y`` parts change."""
    xyxy = cp.xyxy.copy()
    xyxy[-1, :-1] = xyxy[:-1, -1] = X.T @ y
    xyxy[-1, -1] = y @ y
    xyz = []
    for block, old in zip(cp.blocks, cp.xyz, strict=True):
        new = old.copy()
        new[-1] = _grouped_products(block.codes, y[:, None], block.Z, block.n_groups)[:, 0, :]
        xyz.append(new)
    out = CrossProducts(cp.blocks, cp.diag, cp.offdiag, xyz, xyxy, cp.n, cp.p)
    if cp.tail is not None:
        out.tail = replace(cp.tail, xyz=_tail_xyz(xyz))
    return out


# --- the tail: blocks 1.. as one dense part ---------------------------------------------------------


def _tail_xyz(xyz: list[np.ndarray]) -> np.ndarray:
    """``Z_t'[X y]`` of the tail blocks, stacked group-major: (m, p+1)."""
    return np.concatenate([x.reshape(x.shape[0], -1).T for x in xyz[1:]], axis=0)


def _tail_dense(cp: CrossProducts, sizes: list[int]) -> np.ndarray:
    """Dense symmetric ``Z_t'Z_t``: block-diagonal within a tail block, sparse products across."""
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    m = int(offsets[-1])
    A = np.zeros((m, m))
    for j in range(1, len(cp.blocks)):
        lo, hi = offsets[j - 1], offsets[j]
        g, q, _ = cp.diag[j].shape
        view = A[lo:hi, lo:hi].reshape(g, q, g, q)
        idx = np.arange(g)
        view[idx, :, idx, :] = cp.diag[j]
        for i in range(j + 1, len(cp.blocks)):
            cross = cp.offdiag[(i, j)].toarray()
            A[offsets[i - 1] : offsets[i], lo:hi] = cross
            A[lo:hi, offsets[i - 1] : offsets[i]] = cross.T
    return A


def tail_products(cp: CrossProducts) -> TailProducts | None:
    """The tail's dense and sparse products and its pair map (None with a single block)."""
    if len(cp.blocks) < 2:
        return None
    sizes = [b.size for b in cp.blocks[1:]]
    A_t0 = sp.vstack([cp.offdiag[(j, 0)] for j in range(1, len(cp.blocks))]).tocsr()
    tail = TailProducts(
        sizes=tuple(sizes), A=_tail_dense(cp, sizes), A_t0=A_t0, xyz=_tail_xyz(cp.xyz)
    )
    tail.pairs = build_pair_map(A_t0, cp.blocks[0].q)
    return tail


def _segment_pairs(
    starts: np.ndarray, lengths: np.ndarray, lower_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of positions within each segment ``starts[s] .. starts[s] + lengths[s]``.

    All ordered pairs, or with ``lower_only`` those with ``j <= i`` (enumerated directly: half the
    work when the positions are sorted by row, so that ``j <= i`` means row_j <= row_i).
    """
    counts = lengths * (lengths + 1) // 2 if lower_only else lengths * lengths
    total = int(counts.sum())
    seg = np.repeat(np.arange(len(lengths)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    if lower_only:
        # within = i (i + 1) / 2 + j with 0 <= j <= i: invert the triangular number, then fix rounding
        i = ((np.sqrt(8.0 * within + 1.0) - 1.0) // 2).astype(np.int64)
        i -= i * (i + 1) // 2 > within
        i += (i + 1) * (i + 2) // 2 <= within
        j = within - i * (i + 1) // 2
    else:
        n_seg = lengths[seg]
        i, j = within // n_seg, within % n_seg
    return starts[seg] + i, starts[seg] + j


def _pair_ids(keys: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and the index of each key among them (``np.unique``, faster when m is small)."""
    if m * m > 1 << 24:
        distinct, ids = np.unique(keys, return_inverse=True)
        return distinct, ids.ravel()
    seen = np.zeros(m * m, dtype=bool)
    seen[keys] = True
    distinct = np.flatnonzero(seen)
    rank = np.zeros(m * m, dtype=np.int64)
    rank[distinct] = np.arange(len(distinct))
    return distinct, rank[keys]


def build_pair_map(A_t0: sp.csr_matrix, q0: int) -> PairMap | None:
    """The pair map of ``A_t0 W A_t0'`` (see :class:`PairMap`), or None when it would be too large.

    Each block-0 group couples every pair of tail rows it touches; the coefficient of ``W[g, c, e]`` at
    ``(a, b)`` is ``A_t0[a, (g, c)] * A_t0[b, (g, e)]``.
    """
    m, size0 = A_t0.shape
    csc = A_t0.tocsc()
    csc.sort_indices()
    group_ptr = (csc.indptr[::q0] if q0 > 1 else csc.indptr).astype(np.int64)
    starts, lengths = group_ptr[:-1], np.diff(group_ptr)
    if int((lengths * lengths).sum()) > PAIR_MAP_LIMIT:
        return None
    # With one effect per group a segment is one column, its rows sorted and distinct.
    first, second = _segment_pairs(starts, lengths, lower_only=q0 == 1)
    rows_i, rows_j = csc.indices[first].astype(np.int64), csc.indices[second].astype(np.int64)
    if q0 > 1:
        keep = rows_i >= rows_j
        first, second, rows_i, rows_j = first[keep], second[keep], rows_i[keep], rows_j[keep]
    entry_col = np.repeat(np.arange(size0), np.diff(csc.indptr))
    col_i, col_j = entry_col[first], entry_col[second]
    column = col_i * q0 + col_j % q0  # (g * q0 + c) * q0 + e
    keys, pair_id = _pair_ids(rows_i * m + rows_j, m)
    matrix = sp.csr_matrix(
        (csc.data[first] * csc.data[second], (pair_id, column)),
        shape=(len(keys), size0 * q0),
    )
    return PairMap(rows=keys // m, cols=keys % m, matrix=matrix, matrix_t=matrix.T.tocsr(), size=m)
