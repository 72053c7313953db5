"""The blocked engine against a brute-force dense likelihood (closed form, V = Z G Z' + s2 I).

For every covariance structure and for crossed and nested designs: the log likelihood the engine reports
equals the dense Gaussian log likelihood at the reported estimates, and those estimates are a maximum of
the dense likelihood (its gradient on Stata's scale vanishes).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from multilevel.api import mixed
from multilevel.lmm.inference import stata_parameters


def dense_loglik(fit, phi: np.ndarray, reml: bool) -> float:
    """Gaussian (restricted) log likelihood computed from dense matrices."""
    design, est = fit.design, fit.estimates
    _, slices = stata_parameters(est)
    structures = [None] * len(design.blocks)
    for block, structure in zip(est.problem.cp.blocks, est.problem.structures, strict=True):
        structures[block.source] = structure
    n = design.nobs
    V = np.eye(n) * np.exp(2 * phi[-1])
    for k, block in enumerate(design.blocks):
        sigma = structures[k].sigma_from_stata(phi[slices[k]])
        Z = np.zeros((n, block.n_groups * block.n_effects))
        for e in range(block.n_effects):
            Z[np.arange(n), block.codes * block.n_effects + e] = block.Z[:, e]
        V += Z @ np.kron(np.eye(block.n_groups), sigma) @ Z.T
    X, y = design.X, design.y
    Vinv_X = np.linalg.solve(V, X)
    beta = np.linalg.solve(X.T @ Vinv_X, Vinv_X.T @ y)
    r = y - X @ beta
    _, logdet = np.linalg.slogdet(V)
    ll = -0.5 * (logdet + r @ np.linalg.solve(V, r) + n * np.log(2 * np.pi))
    if reml:
        _, logdet_x = np.linalg.slogdet(X.T @ Vinv_X)
        ll += -0.5 * logdet_x + 0.5 * X.shape[1] * np.log(2 * np.pi)
    return float(ll)


CASES = [
    ("math homework i.schtype || schid: homework, cov(un)", "math_df", False),
    ("math homework i.schtype || schid: homework, cov(ind)", "math_df", False),
    ("math homework i.schtype || schid: homework, cov(id)", "math_df", False),
    ("math homework i.schtype || schid: homework, cov(ex)", "math_df", False),
    ("math homework || schid: homework, cov(un) reml", "math_df", True),
    ("diameter || _all: R.plate || sample:", "penicillin_df", False),
    ("strength || batch: || cask:, reml", "pastes_df", True),
    ("Reaction Days || Subject: Days, noconstant", "sleepstudy_df", False),
]


@pytest.mark.parametrize("command, fixture, reml", CASES)
def test_engine_matches_dense_likelihood(command, fixture, reml, request):
    fit = mixed(command, data=request.getfixturevalue(fixture))
    phi, _ = stata_parameters(fit.estimates)
    assert fit.loglik == pytest.approx(dense_loglik(fit, phi, reml), rel=1e-10)
    grad = approx_fprime(phi, lambda p: dense_loglik(fit, p, reml), 1e-6)
    # at an interior maximum the gradient vanishes (to finite-difference error)
    assert np.max(np.abs(grad)) < 2e-3
