"""Gauss–Hermite quadrature of the GLMM likelihood for nested random effects, adaptive or not.

With nested levels the likelihood factorises over top-level groups, and within one the integral over a
level's effects is nested inside the integral over its ancestors'. Working on the spherical effects ``u``
(prior N(0, I)), each level's effects of a group are written, given the ancestors' node values, as

    u_l = m_l + B_l (u_anc - m_anc) + R_l z,     z on the product Gauss–Hermite grid of the level,

so that ``int f(u) du ~ |R_l| sum_k w_k f(u(z_k)) / phi(z_k)``. The methods differ in (m, B, R):

- ``ghermite``: m = 0, B = 0, R = I (nodes where the prior puts them);
- ``mcaghermite``: mode and curvature -- m the conditional modes, and B, R from the precision ``H`` at the
  mode with the lower levels eliminated first (the Gaussian approximation's conditional of a level given
  its ancestors). One node per effect is then exactly the Laplace approximation;
- ``mvaghermite`` (Stata's default): the same form with the posterior means and covariances (computed by
  the quadrature itself, iterated to a fixed point from the mode-curvature start) in place of mode and
  inverse curvature.

Everything is vectorised over groups and nodes: level l keeps arrays shaped
``(G_l, K_0, ..., K_{L-1}, ...)`` with singleton axes for the levels below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.polynomial.hermite_e import hermegauss

from .laplace import GlmmProblem, ModeState
from .system import RandomSystem

ADAPT_TOLERANCE = 1e-8
ADAPT_MAX_ITERATIONS = 50
MAX_NODES = 50_000_000  # observations x node combinations held at once


@dataclass
class NestedTree:
    """Random-effects blocks as a chain of nested levels, top first."""

    blocks: list[int]  # factorisation-block index of each level
    codes: list[np.ndarray]  # (n,) group at each level
    ancestors: list[list[np.ndarray]]  # ancestors[l][k] (G_l,): group at level k < l
    children: list[sp.csr_matrix | None]  # (G_{l-1} x G_l) membership, None at the top
    bottom: sp.csr_matrix  # (G_{L-1} x n) membership of observations
    q: list[int]

    @property
    def depth(self) -> int:
        return len(self.blocks)

    def ancestor_slices(self, level: int) -> list[slice]:
        starts = np.concatenate([[0], np.cumsum(self.q[:level])]).astype(int)
        return [slice(starts[k], starts[k + 1]) for k in range(level)]


def nested_tree(system: RandomSystem) -> NestedTree | None:
    """The nesting chain of the blocks, or None when some pair of levels is crossed."""
    order = sorted(range(system.n_blocks), key=lambda j: system.blocks[j].n_groups)
    blocks = [system.blocks[j] for j in order]
    parents = [None]
    for outer, inner in zip(blocks[:-1], blocks[1:], strict=False):
        parent = np.full(inner.n_groups, -1, dtype=np.intp)
        parent[inner.codes] = outer.codes
        if np.any(parent[inner.codes] != outer.codes) or np.any(parent < 0):
            return None
        parents.append(parent)
    ancestors = [[]]
    for level in range(1, len(blocks)):
        chain = [parents[level]]
        for k in range(level - 2, -1, -1):
            chain.insert(0, parents[k + 1][chain[0]])
        ancestors.append(chain)
    children = [None] + [
        _membership(parents[level], blocks[level - 1].n_groups) for level in range(1, len(blocks))
    ]
    return NestedTree(
        blocks=order,
        codes=[b.codes for b in blocks],
        ancestors=ancestors,
        children=children,
        bottom=_membership(blocks[-1].codes, blocks[-1].n_groups),
        q=[b.q for b in blocks],
    )


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(values))) over one axis, kept as a singleton axis."""
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return top + np.log(np.sum(np.exp(values - top), axis=axis, keepdims=True))


def _membership(codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
    n = len(codes)
    return sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n))


def hermite_grid(points: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Product Gauss–Hermite rule for N(0, I_q): nodes (K^q, q) and log weights (K^q,)."""
    nodes, weights = hermegauss(points)
    log_w = np.log(weights / np.sqrt(2 * np.pi))
    grids = np.meshgrid(*([nodes] * q), indexing="ij")
    log_grids = np.meshgrid(*([log_w] * q), indexing="ij")
    return (
        np.stack([g.ravel() for g in grids], axis=1),
        np.sum([g.ravel() for g in log_grids], axis=0),
    )


@dataclass
class Adaptation:
    """Per level: centres m (G, q), regressions B (G, q, Q_anc), scales R (G, q, q), log|R| (G,)."""

    m: list[np.ndarray]
    B: list[np.ndarray]
    R: list[np.ndarray]
    logdet: list[np.ndarray]


def nonadaptive(tree: NestedTree, system: RandomSystem) -> Adaptation:
    m, B, R, logdet = [], [], [], []
    for level, j in enumerate(tree.blocks):
        g, q = system.blocks[j].n_groups, tree.q[level]
        m.append(np.zeros((g, q)))
        B.append(np.zeros((g, q, sum(tree.q[:level]))))
        R.append(np.broadcast_to(np.eye(q), (g, q, q)).copy())
        logdet.append(np.zeros(g))
    return Adaptation(m, B, R, logdet)


def mode_curvature(tree: NestedTree, problem: GlmmProblem, state: ModeState, anc) -> Adaptation:
    """Centres at the conditional modes; B and R from H with the lower levels eliminated first."""
    system = problem.system
    _, _, w = problem.family.derivatives(state.eta, problem.data, anc)
    A = [state.A[j] for j in tree.blocks]
    modes = system.unstack(state.u)
    diag, cross = [], []
    for level in range(tree.depth):
        block = system.blocks[tree.blocks[level]]
        d = system.weighted_diag(tree.blocks[level], A[level], w) + np.eye(tree.q[level])
        diag.append(d)
        coupling = np.zeros((block.n_groups, tree.q[level], sum(tree.q[:level])))
        for k, sl in enumerate(tree.ancestor_slices(level)):
            for a in range(tree.q[level]):
                for b in range(tree.q[k]):
                    coupling[:, a, sl.start + b] = np.bincount(
                        block.codes,
                        weights=w * A[level][:, a] * A[k][:, b],
                        minlength=block.n_groups,
                    )
        cross.append(coupling)
    for level in range(tree.depth - 1, 0, -1):
        _eliminate(tree, level, diag, cross)
    m, B, R, logdet = [], [], [], []
    for level in range(tree.depth):
        chol = np.linalg.cholesky(diag[level])
        inv_chol = np.linalg.inv(chol)
        m.append(modes[tree.blocks[level]])
        B.append(-np.linalg.solve(diag[level], cross[level]))
        R.append(np.swapaxes(inv_chol, 1, 2))
        logdet.append(-np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1))
    return Adaptation(m, B, R, logdet)


def _eliminate(tree: NestedTree, level: int, diag: list, cross: list) -> None:
    """Schur complement of one level's groups onto their ancestors."""
    update = np.einsum("gai,gaj->gij", cross[level], np.linalg.solve(diag[level], cross[level]))
    slices = tree.ancestor_slices(level)
    for k, sk in enumerate(slices):
        target = tree.ancestors[level][k]
        np.add.at(diag[k], target, -update[:, sk, sk])
        for kk in range(k):
            np.subtract.at(cross[k], (target, slice(None), slices[kk]), update[:, sk, slices[kk]])


@dataclass
class QuadratureResult:
    """Log likelihood and, when asked, posterior moments of each level's spherical effects."""

    loglik: float
    mean: list[np.ndarray] | None = None  # (G_l, q_l)
    cov: list[np.ndarray] | None = None  # (G_l, q_l, q_l)
    cross: list[np.ndarray] | None = None  # (G_l, q_l, Q_anc): Cov(u_l, u_anc)


class Quadrature:
    """Gauss–Hermite quadrature over a nested tree with a given number of points per effect."""

    def __init__(self, problem: GlmmProblem, tree: NestedTree, points: int):
        self.problem = problem
        self.tree = tree
        self.points = points
        self.grids = [hermite_grid(points, q) for q in tree.q]
        n_nodes = int(np.prod([len(g[1]) for g in self.grids]))
        if n_nodes * len(problem.data.y) > MAX_NODES:
            raise MemoryError(
                f"{n_nodes} quadrature nodes per observation are too many for this data; "
                "use fewer integration points or intmethod(laplace)"
            )

    def _shape(self, level: int) -> tuple[int, ...]:
        sizes = [len(g[1]) for g in self.grids]
        return tuple(sizes[: level + 1]) + (1,) * (self.tree.depth - level - 1)

    def node_values(self, adapt: Adaptation) -> list[np.ndarray]:
        """u at every node: level l -> (G_l, K_0, .., K_l, 1, .., q_l)."""
        tree = self.tree
        values = []
        for level in range(tree.depth):
            z = self.grids[level][0]
            scaled = np.einsum("gab,kb->gka", adapt.R[level], z)  # (G, K_l, q)
            shape = (scaled.shape[0],) + (1,) * level + (z.shape[0],)
            shape += (1,) * (tree.depth - level - 1) + (tree.q[level],)
            u = scaled.reshape(shape) + adapt.m[level].reshape(
                (-1,) + (1,) * tree.depth + (tree.q[level],)
            )
            for k, sl in enumerate(tree.ancestor_slices(level)):
                anc = tree.ancestors[level][k]
                deviation = values[k][anc] - adapt.m[k][anc].reshape(
                    (-1,) + (1,) * tree.depth + (tree.q[k],)
                )
                coef = adapt.B[level][:, :, sl]  # (G, q_l, q_k)
                coef = coef.reshape((coef.shape[0],) + (1,) * tree.depth + coef.shape[1:])
                u = u + np.matmul(coef, deviation[..., None])[..., 0]
            values.append(u)
        return values

    def evaluate(
        self,
        adapt: Adaptation,
        A: list[np.ndarray],
        fixed_eta: np.ndarray,
        anc: np.ndarray,
        moments: bool = False,
    ) -> QuadratureResult:
        """Log likelihood at these node placements; ``A`` per factorisation block."""
        tree, problem = self.tree, self.problem
        values = self.node_values(adapt)
        A = [A[j] for j in tree.blocks]
        n = len(fixed_eta)
        full = self._shape(tree.depth - 1)
        # Nodes first and observations last, so that the family's arrays broadcast the data.
        eta = np.empty((*full, n))
        eta[...] = fixed_eta
        for level in range(tree.depth):
            codes, a = tree.codes[level], A[level]
            node_shape = self._shape(level)
            for qi in range(tree.q[level]):
                per_group = values[level][..., qi]
                per_group = np.broadcast_to(per_group, (per_group.shape[0], *node_shape))
                by_node = per_group.reshape(per_group.shape[0], -1).T[:, codes]
                eta += a[:, qi] * by_node.reshape((*node_shape, n))
        terms = problem.family.loglik(eta.reshape(-1, n), problem.data, anc)
        acc = (tree.bottom @ terms.T).reshape((-1, *full))
        totals, conditionals = [], []
        for level in range(tree.depth - 1, -1, -1):
            z, log_w = self.grids[level]
            node_axis = (1,) * level + (len(log_w),) + (1,) * (tree.depth - level - 1)
            prior = log_w + 0.5 * np.sum(z * z, axis=1)
            total = (
                acc
                - 0.5 * np.sum(values[level] ** 2, axis=-1)
                + prior.reshape((1, *node_axis))
                + adapt.logdet[level].reshape((-1,) + (1,) * tree.depth)
            )
            reduced = _logsumexp(total, axis=level + 1)
            if moments:
                conditionals.insert(0, np.exp(total - reduced))
            totals.insert(0, reduced)
            if level > 0:
                shape = reduced.shape[1:]
                acc = (tree.children[level] @ reduced.reshape(reduced.shape[0], -1)).reshape(
                    (-1, *shape)
                )
        loglik = float(totals[0].sum())
        if not moments:
            return QuadratureResult(loglik)
        return self._moments(loglik, values, conditionals)

    def _moments(self, loglik, values, conditionals) -> QuadratureResult:
        tree = self.tree
        joint = []
        means, covs, crosses = [], [], []
        for level in range(tree.depth):
            p = conditionals[level]
            if level > 0:
                p = p * joint[level - 1][tree.ancestors[level][level - 1]]
            joint.append(p)
            weights = p.reshape(len(p), -1)
            u = _flat_nodes(values[level], p.shape)
            mean = np.einsum("gt,gta->ga", weights, u)
            cov = np.einsum("gt,gta,gtb->gab", weights, u, u) - np.einsum("ga,gb->gab", mean, mean)
            parts = []
            for k in range(level):
                anc = tree.ancestors[level][k]
                v = _flat_nodes(values[k][anc], p.shape)
                mixed = np.einsum("gt,gta,gtb->gab", weights, u, v)
                parts.append(mixed - np.einsum("ga,gb->gab", mean, means[k][anc]))
            q = u.shape[-1]
            cross = np.concatenate(parts, axis=2) if parts else np.zeros((len(mean), q, 0))
            means.append(mean)
            covs.append(cov)
            crosses.append(cross)
        return QuadratureResult(loglik, means, covs, crosses)


def _flat_nodes(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Node values broadcast to a level's node shape, flattened to (G, T, q)."""
    full = np.broadcast_to(values, (*shape, values.shape[-1]))
    return full.reshape(shape[0], -1, values.shape[-1])


def mean_variance(tree: NestedTree, result: QuadratureResult) -> Adaptation:
    """Adaptation from posterior moments: the Gaussian with those moments, conditioned on ancestors."""
    m, B, R, logdet = [], [], [], []
    for level in range(tree.depth):
        mean, cov, cross = result.mean[level], result.cov[level], result.cross[level]
        if level == 0:
            conditional = cov
            b = np.zeros((len(mean), tree.q[0], 0))
        else:
            anc_cov = _ancestor_covariance(tree, level, result)
            b = np.linalg.solve(anc_cov, np.swapaxes(cross, 1, 2)).swapaxes(1, 2)
            conditional = cov - np.einsum("gai,gbi->gab", b, cross)
        conditional = 0.5 * (conditional + np.swapaxes(conditional, 1, 2))
        q = conditional.shape[1]
        chol = np.linalg.cholesky(conditional + 1e-12 * np.eye(q))
        m.append(mean)
        B.append(b)
        R.append(chol)
        logdet.append(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1))
    return Adaptation(m, B, R, logdet)


def _ancestor_covariance(tree: NestedTree, level: int, result: QuadratureResult) -> np.ndarray:
    """Joint posterior covariance of all ancestors of each group of ``level``."""
    slices = tree.ancestor_slices(level)
    size = slices[-1].stop
    g = len(tree.ancestors[level][0])
    out = np.zeros((g, size, size))
    for k, sk in enumerate(slices):
        anc = tree.ancestors[level][k]
        out[:, sk, sk] = result.cov[k][anc]
        for skk in slices[:k]:
            block = result.cross[k][anc][:, :, skk]
            out[:, sk, skk] = block
            out[:, skk, sk] = np.swapaxes(block, 1, 2)
    return out


def adaptation_change(old: Adaptation, new: Adaptation) -> float:
    return max(
        max(float(np.max(np.abs(a - b), initial=0.0)) for a, b in zip(old.m, new.m, strict=True)),
        max(float(np.max(np.abs(a - b), initial=0.0)) for a, b in zip(old.R, new.R, strict=True)),
    )
