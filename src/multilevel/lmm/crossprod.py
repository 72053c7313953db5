"""Cross-products of the blocked mixed-model system, computed once per design (or per IRLS weight).

The random-effects blocks are ordered largest first (as MixedModels.jl does): block 0 is kept
block-diagonal through the whole factorisation, later blocks fill in and are handled densely.
``XY`` is ``[X y]``, so the Cholesky factor's last diagonal element is the root of the penalised residual sum
of squares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


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
class CrossProducts:
    """``Z_k'Z_k`` (per group), ``Z_j'Z_k``, ``[X y]'Z_k`` and ``[X y]'[X y]`` of a (weighted) design."""

    blocks: list[TermBlock]
    diag: list[np.ndarray]  # per block: (G, q, q) per-group Z'Z
    offdiag: dict[tuple[int, int], object] = field(default_factory=dict)  # (j, k), j > k
    xyz: list[np.ndarray] = field(default_factory=list)  # per block: (p+1, G, q)
    xyxy: np.ndarray | None = None  # (p+1, p+1)
    n: int = 0
    p: int = 0


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
    xy = np.column_stack([X, y])
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
    return CrossProducts(
        blocks=blocks,
        diag=diag,
        offdiag=offdiag,
        xyz=xyz,
        xyxy=xy.T @ xy,
        n=X.shape[0],
        p=X.shape[1],
    )


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
    return CrossProducts(cp.blocks, cp.diag, cp.offdiag, xyz, xyxy, cp.n, cp.p)
