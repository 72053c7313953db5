"""The blocked factorisation against dense linear algebra (closed forms on small crossed designs).

With the dense ``Z`` and ``Lambda`` of a design, ``V = Lambda'Z'Z Lambda + I``: the factor's blocks must
multiply back to ``V``, its log determinant must be ``log|V|``, and its penalised residual sum of squares
must be the generalised least-squares one, ``r' (I + Z Lambda Lambda'Z')^-1 r`` at the GLS estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from multilevel.design import build_design
from multilevel.lmm import crossprod
from multilevel.lmm.crossprod import build_pair_map, cross_products
from multilevel.lmm.factor import factorize, fixed_effects, spherical_effects
from multilevel.lmm.fit import build_problem, fit_lmm
from multilevel.spec import parse_model


def _frame(seed: int = 2, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 20, n),
            "b": rng.integers(0, 7, n),
            "c": rng.integers(0, 4, n),
            "x": rng.standard_normal(n),
        }
    )
    frame["y"] = frame.x + rng.standard_normal(20)[frame.a] + rng.standard_normal(n)
    return frame


MODELS = [
    "y ~ x + (1 | a) + (1 | b) + (1 | c)",
    "y ~ x + (x | a) + (x | b)",
    "y ~ x + (1 | a) + (x | b) + (1 | c)",
]


def _dense(problem, lambdas):
    """Dense Z Lambda in the factorisation's block order, and X, y."""
    cp = problem.cp
    columns = []
    for block, lam in zip(cp.blocks, lambdas, strict=True):
        n, q = block.Z.shape
        z = np.zeros((n, block.n_groups * q))
        for e in range(q):
            z[np.arange(n), block.codes * q + e] = block.Z[:, e]
        columns.append(z @ np.kron(np.eye(block.n_groups), lam))
    return np.hstack(columns)


def _assembled_factor(fac, sizes):
    """The full lower factor of the random-effects part, from the Factorization's blocks."""
    total = sum(sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    low = np.zeros((total, total))
    g0, q0, _ = fac.L0.shape
    for g in range(g0):
        low[g * q0 : (g + 1) * q0, g * q0 : (g + 1) * q0] = fac.L0[g]
    for j, below in fac.sparse_below.items():
        low[offsets[j] : offsets[j + 1], : sizes[0]] = below.toarray()
    for (i, j), block in fac.dense.items():
        low[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = block
    return low


@pytest.mark.parametrize("model", MODELS)
def test_factor_matches_dense_algebra(model):
    frame = _frame()
    design = build_design(parse_model(model, command="mixed"), frame)
    problem = build_problem(design, False)
    rng = np.random.default_rng(1)
    theta = problem.start() * 0.5 + 0.3 * rng.random(problem.n_theta)
    lambdas = problem.lambdas(theta)
    fac = factorize(problem.cp, lambdas)
    zl = _dense(problem, lambdas)
    v = zl.T @ zl + np.eye(zl.shape[1])
    sizes = [b.size for b in problem.cp.blocks]
    low = _assembled_factor(fac, sizes)
    np.testing.assert_allclose(low @ low.T, v, atol=1e-9 * np.abs(v).max())
    assert fac.logdet_theta() == pytest.approx(np.linalg.slogdet(v)[1], rel=1e-11)
    sigma_inv = np.linalg.inv(np.eye(len(design.y)) + zl @ zl.T)
    X, y = design.X, design.y
    beta = np.linalg.solve(X.T @ sigma_inv @ X, X.T @ sigma_inv @ y)
    resid = y - X @ beta
    assert fac.pwrss == pytest.approx(resid @ sigma_inv @ resid, rel=1e-10)
    np.testing.assert_allclose(fixed_effects(fac), beta, rtol=1e-9)
    # conditional modes: u = V^-1 (Z Lambda)' (y - X beta)
    u = np.concatenate(spherical_effects(fac, beta))
    np.testing.assert_allclose(u, np.linalg.solve(v, zl.T @ resid), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("q0", [1, 2])
def test_pair_map_reproduces_the_sparse_product(q0):
    rng = np.random.default_rng(4)
    a_t0 = sp.random(15, 12 * q0, density=0.3, random_state=5, format="csr")
    weights = rng.standard_normal((12, q0, q0))
    weights = weights @ np.swapaxes(weights, 1, 2)  # symmetric blocks, as W0 is
    pairs = build_pair_map(a_t0, q0)
    block_diag = sp.block_diag(list(weights)).tocsr()
    expected = (a_t0 @ block_diag @ a_t0.T).toarray()
    got = np.zeros_like(expected)
    got[pairs.rows, pairs.cols] = pairs.matrix @ weights.ravel()
    np.testing.assert_allclose(np.tril(got), np.tril(expected), atol=1e-12)
    assert np.all(pairs.rows >= pairs.cols)


def test_without_pair_map_the_fit_is_the_same(monkeypatch):
    # Over the size limit the Schur complement comes from a sparse product and BOBYQA minimises.
    frame = _frame()
    design = build_design(parse_model(MODELS[0], command="mixed"), frame)
    with_pairs = fit_lmm(design)
    monkeypatch.setattr(crossprod, "PAIR_MAP_LIMIT", 0)
    problem = build_problem(design, False)
    assert problem.cp.tail.pairs is None
    without = fit_lmm(design)
    assert without.deviance == pytest.approx(with_pairs.deviance, rel=1e-10)
    np.testing.assert_allclose(without.theta, with_pairs.theta, rtol=1e-4, atol=1e-5)


def test_weighted_cross_products_scale_rows():
    # closed form: weights w_i enter every product as sqrt(w_i) on each row
    frame = _frame()
    design = build_design(parse_model(MODELS[1], command="mixed"), frame)
    problem = build_problem(design, False)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(design.y))
    weighted = cross_products(design.X, design.y, problem.cp.blocks, weights)
    xy = np.column_stack([design.X, design.y])
    np.testing.assert_allclose(weighted.xyxy, xy.T @ (xy * weights[:, None]), rtol=1e-12)
    assert weighted.tail is not None
