"""The parameter-expanded move of a random level (multilevel.bayesian.expansion).

Invariance is checked exactly, without reference posterior draws: with (parameters, y) drawn from
the prior and the model, the parameters are an exact posterior draw given y, so after any number
of moves that leave the posterior invariant they are still distributed as the prior.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from multilevel.bayesian import expansion, gibbs
from multilevel.bayesian.distributions import Distribution
from multilevel.bayesian.gaussian import GaussianData, LevelData, _dense_stats, _single_stats
from multilevel.bayesian.gibbs import State, residual_ss

GROUPS, PER_GROUP, MOVES, SIMS = 8, 2, 30, 1500  # few rows per group: the prior matters
PSI = np.array([[2.0, 0.6], [0.6, 1.0]])


def _data(y, X, levels) -> GaussianData:
    data = GaussianData(y=y, X=X, levels=levels, XtX=X.T @ X, Xty=X.T @ y, yty=float(y @ y))
    if len(levels) == 1:
        _single_stats(data, levels[0])
    else:
        _dense_stats(data)
    return data


def _design(rng):
    codes = np.repeat(np.arange(GROUPS), PER_GROUP)
    x = rng.normal(size=len(codes))
    X = np.column_stack([x, np.ones(len(codes))])
    Z = np.column_stack([x, np.ones(len(codes))])
    return codes, X, Z


def _draw_sigma(structure: str, prior: dict, rng) -> np.ndarray:
    if structure == "unstructured":
        return prior["U:Sigma"].sample(rng)
    if structure == "independent":
        return np.diag([prior[n].sample(rng) for n in ("U1:sigma2", "U0:sigma2")])
    s2 = prior["U:sigma2"].sample(rng)
    if structure == "exchangeable":
        rho = rng.uniform(-1, 1)
        return s2 * np.array([[1.0, rho], [rho, 1.0]])
    return s2 * np.eye(2)


PRIORS = {
    "unstructured": {"U:Sigma": Distribution("iwishart", (4.0, PSI), 2)},
    "independent": {
        "U1:sigma2": Distribution("igamma", (3.0, 2.0)),
        "U0:sigma2": Distribution("lognormal", (0.0, 0.5)),  # no conjugate form
    },
    "identity": {"U:sigma2": Distribution("igamma", (3.0, 2.0))},
    "exchangeable": {"U:sigma2": Distribution("igamma", (3.0, 2.0))},
}
NAMES = {
    "unstructured": ["U:Sigma"],
    "independent": ["U1:sigma2", "U0:sigma2"],
    "identity": ["U:sigma2"],
    "exchangeable": ["U:sigma2", "U:rho"],
}


def _moved_prior_draws(structure: str, seed: int, prior: dict | None = None, shear: bool = False):
    """States drawn from the prior (with data from the model), each moved MOVES times.

    Returns the moved covariances, the moved effects' sums of squares per effect, the same sums
    of fresh draws from the prior, and the acceptance indicators.
    """
    rng = np.random.default_rng(seed)
    codes, X, Z = _design(rng)
    prior = prior or PRIORS[structure]
    sigmas, squares, fresh, accepted = [], [], [], []
    for _ in range(SIMS):
        sigma = _draw_sigma(structure, prior, rng)
        u = rng.multivariate_normal(np.zeros(2), sigma, GROUPS)
        beta, s2 = rng.normal(0, 1, 2), 1 / rng.gamma(3.0, 1 / 2.0)
        y = X @ beta + np.sum(Z * u[codes], axis=1) + rng.normal(0, math.sqrt(s2), len(codes))
        data = _data(y, X, [LevelData(codes, Z, GROUPS)])
        state = State(beta, (u,), (sigma,), s2, residual_ss(data, beta, (u,)))
        for m in range(MOVES):
            if shear:
                pair = ((0, 1), (1, 0))[m % 2]
                state, acc = expansion.shear_level(state, data, 0, prior, ["U:Sigma"], pair, rng)
            else:
                state, acc = expansion.expand_level(
                    state, data, 0, structure, prior, NAMES[structure], rng
                )
            accepted.append(acc is not False)  # None: an exact draw
        sigmas.append(state.sigma[0])
        squares.append(np.sum(state.u[0] ** 2, axis=0))
        other = _draw_sigma(structure, prior, rng)
        fresh.append(np.sum(rng.multivariate_normal(np.zeros(2), other, GROUPS) ** 2, axis=0))
    return np.array(sigmas), np.array(squares), np.array(fresh), np.array(accepted, dtype=float)


@pytest.mark.parametrize(
    "structure, seed",
    [("unstructured", 1), ("independent", 2), ("identity", 3), ("exchangeable", 4)],
)
def test_move_keeps_prior_draws_distributed_as_the_prior(structure, seed):
    sigmas, squares, fresh, accepted = _moved_prior_draws(structure, seed)
    if structure == "unstructured":
        # closed form: the diagonal of an iwishart(df, Psi) matrix (q = 2) is
        # igamma((df - 1) / 2, Psi_jj / 2)
        laws = [stats.invgamma(1.5, scale=PSI[j, j] / 2) for j in range(2)]
    elif structure == "independent":
        laws = [stats.invgamma(3.0, scale=2.0), stats.lognorm(s=math.sqrt(0.5))]
    else:
        laws = [stats.invgamma(3.0, scale=2.0)]
    p_values = [stats.kstest(sigmas[:, j, j], law.cdf).pvalue for j, law in enumerate(laws)]
    # the effects: against fresh draws from the prior (simulation truth)
    p_values += [stats.ks_2samp(squares[:, j], fresh[:, j]).pvalue for j in range(2)]
    if structure in ("unstructured", "exchangeable"):
        corr = sigmas[:, 0, 1] / np.sqrt(sigmas[:, 0, 0] * sigmas[:, 1, 1])
        other = np.array([_draw_sigma(structure, PRIORS[structure], np.random.default_rng(i))
                          for i in range(SIMS)])  # fmt: skip
        other_corr = other[:, 0, 1] / np.sqrt(other[:, 0, 0] * other[:, 1, 1])
        p_values.append(stats.ks_2samp(corr, other_corr).pvalue)
    assert min(p_values) > 0.001, p_values
    assert np.mean(accepted) > 0.3  # the move does move


@pytest.mark.parametrize(
    "prior, laws",
    [
        # closed forms: the diagonal of iwishart(4, Psi) (q = 2) is igamma(3/2, Psi_jj / 2), the
        # diagonal of wishart(6, Psi) is gamma(6/2, scale 2 Psi_jj)
        ("iwishart", [stats.invgamma(1.5, scale=PSI[j, j] / 2) for j in range(2)]),
        ("wishart", [stats.gamma(3.0, scale=2 * PSI[j, j]) for j in range(2)]),
    ],
)
def test_shears_keep_prior_draws_distributed_as_the_prior(prior, laws):
    dist = Distribution(prior, (4.0 if prior == "iwishart" else 6.0, PSI), 2)
    sigmas, squares, fresh, accepted = _moved_prior_draws(
        "unstructured", 9, {"U:Sigma": dist}, shear=True
    )
    p_values = [stats.kstest(sigmas[:, j, j], law.cdf).pvalue for j, law in enumerate(laws)]
    p_values += [stats.ks_2samp(squares[:, j], fresh[:, j]).pvalue for j in range(2)]
    corr = sigmas[:, 0, 1] / np.sqrt(sigmas[:, 0, 0] * sigmas[:, 1, 1])
    other = np.array([dist.sample(np.random.default_rng(i)) for i in range(SIMS)])
    other_corr = other[:, 0, 1] / np.sqrt(other[:, 0, 0] * other[:, 1, 1])
    p_values.append(stats.ks_2samp(corr, other_corr).pvalue)
    assert min(p_values) > 0.001, p_values
    assert np.mean(accepted) > 0.3


def test_wrong_jacobian_is_detected(monkeypatch):
    """The invariance check has power: a Jacobian off by one power of |det D| fails it."""
    real = expansion._log_prior_ratio

    def broken(sigma, d, prior, names, kind, iw):
        # one power of |det D| too many: the Jacobian of an unstructured matrix taken as |det D|^q
        return real(sigma, d, prior, names, kind, iw) + sum(math.log(abs(x)) for x in d)

    monkeypatch.setattr(expansion, "_log_prior_ratio", broken)
    sigmas, _, _, _ = _moved_prior_draws("unstructured", 1)
    law = stats.invgamma(1.5, scale=PSI[0, 0] / 2)
    assert stats.kstest(sigmas[:, 0, 0], law.cdf).pvalue < 1e-4


def _log_h(a, sigma, prior, names, kind):
    """log p(D Sigma D) + log J - sum log|a| by its definition (module docstring)."""
    q = len(sigma)
    d = np.full(q, a[0]) if kind == "scalar" else np.asarray(a)
    new = sigma * np.outer(d, d)
    if kind == "matrix":
        return float(prior[names[0]].logpdf(new)) + q * np.sum(np.log(np.abs(d)))
    slots = [0] if kind == "scalar" else range(q)
    return sum(float(prior[names[j]].logpdf(new[j, j])) + math.log(abs(a[m]))
               for m, j in enumerate(slots))  # fmt: skip


@pytest.mark.parametrize(
    "kind, prior, names",
    [
        ("matrix", {"S": Distribution("iwishart", (5.0, PSI), 2)}, ["S"]),
        (
            "variances",
            {"a": Distribution("igamma", (2.0, 3.0)), "b": Distribution("igamma", (0.01, 0.01))},
            ["a", "b"],
        ),  # fmt: skip
        ("scalar", {"s": Distribution("igamma", (1.5, 4.0))}, ["s"]),
    ],
)
def test_prior_curvature_matches_finite_differences(kind, prior, names):
    sigma = np.array([[3.0, -0.8], [-0.8, 0.7]])
    if kind != "matrix":
        sigma = np.diag(np.diag(sigma)) if kind == "variances" else 3.0 * np.eye(2)
    iw = expansion._iw_weights(sigma, prior, names, kind)
    grad, hess = expansion.prior_curvature(sigma.diagonal().tolist(), prior, names, kind, iw)
    n, h = len(grad), 1e-4
    for m in range(n):
        e = np.zeros(n)
        e[m] = h
        up, mid, down = (_log_h(np.ones(n) + s * e, sigma, prior, names, kind) for s in (1, 0, -1))
        assert grad[m] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-6)
        assert hess[m] == pytest.approx((up - 2 * mid + down) / h**2, rel=1e-4, abs=1e-4)


def test_accepted_move_keeps_rss_and_structure():
    rng = np.random.default_rng(5)
    codes, X, Z = _design(rng)
    y = X @ np.array([0.5, 1.0]) + rng.normal(size=len(codes))
    data = _data(y, X, [LevelData(codes, Z, GROUPS)])
    sigma = 0.8 * np.array([[1.0, 0.3], [0.3, 1.0]])
    u = rng.multivariate_normal(np.zeros(2), sigma, GROUPS)
    beta = np.array([0.5, 1.0])
    state = State(beta, (u,), (sigma,), 1.0, residual_ss(data, beta, (u,)))
    prior = PRIORS["exchangeable"]
    for _ in range(20):
        state, acc = expansion.expand_level(
            state, data, 0, "exchangeable", prior, ["U:sigma2"], rng
        )
        assert state.rss == pytest.approx(residual_ss(data, state.beta, state.u), rel=1e-9)
    new = state.sigma[0]
    assert new[0, 0] == pytest.approx(new[1, 1])  # still exchangeable, same correlation
    assert new[0, 1] / new[0, 0] == pytest.approx(0.3)


def test_dense_cross_products_match_direct_computation():
    rng = np.random.default_rng(6)
    n = 60
    X = np.column_stack([rng.normal(size=n), np.ones(n)])
    outer = LevelData(np.repeat(np.arange(6), 10), np.ones((n, 1)), 6)
    inner = LevelData(rng.integers(0, 5, n), np.column_stack([X[:, 0], np.ones(n)]), 5)
    y = rng.normal(size=n)
    data = _data(y, X, [outer, inner])
    u = (rng.normal(size=(6, 1)), rng.normal(size=(5, 2)))
    state = State(rng.normal(size=2), u, (np.eye(1), np.eye(2)), 1.0)
    ZtZ, ztr = expansion.level_cross_products(state, data, 1)
    resid = y - X @ state.beta - u[0][outer.codes, 0]  # everything but level 1's effects
    for g in range(5):
        rows = inner.codes == g
        assert np.allclose(ZtZ[g], inner.Z[rows].T @ inner.Z[rows])
        assert np.allclose(ztr[g], inner.Z[rows].T @ resid[rows])


def test_inverse_wishart_draws_match_scipy():
    # draw_iwishart (Bartlett factor of the inverse) against scipy's invwishart
    rng = np.random.default_rng(7)
    scale, df = np.array([[2.0, 0.7], [0.7, 1.0]]), 12.0
    ours = np.array([gibbs.draw_iwishart(df, scale, rng) for _ in range(20000)])
    theirs = stats.invwishart(df=df, scale=scale).rvs(20000, random_state=8)
    for i, j in [(0, 0), (0, 1), (1, 1)]:
        assert stats.ks_2samp(ours[:, i, j], theirs[:, i, j]).pvalue > 0.001
    # closed form: E[Sigma] = scale / (df - q - 1)
    assert np.allclose(ours.mean(axis=0), scale / (df - 3), rtol=0.03, atol=0.003)


@pytest.mark.parametrize("pair", [(0, 1), (1, 0), (2, 0)])
def test_shear_prior_change_is_the_quadratic_the_move_draws_from(pair):
    # shear_level's closed form against the inverse-Wishart log density itself
    i, j = pair
    psi = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.3], [0.1, -0.3, 1.5]])
    sigma = np.array([[3.0, -0.8, 0.4], [-0.8, 0.7, 0.1], [0.4, 0.1, 2.0]])
    dist = Distribution("iwishart", (5.0, psi), 3)
    prec = np.linalg.inv(sigma)
    for t in (-0.7, 0.3, 1.9):
        shear = np.eye(3)
        shear[i, j] = t
        exact = dist.logpdf(shear @ sigma @ shear.T) - dist.logpdf(sigma)
        quadratic = t * psi[j] @ prec[:, i] - 0.5 * t**2 * prec[i, i] * psi[j, j]
        assert exact == pytest.approx(quadratic, rel=1e-9, abs=1e-9)


def test_shear_keeps_rss_and_effects_consistent():
    rng = np.random.default_rng(10)
    codes, X, Z = _design(rng)
    y = X @ np.array([0.5, 1.0]) + rng.normal(size=len(codes))
    data = _data(y, X, [LevelData(codes, Z, GROUPS)])
    sigma = np.array([[1.0, 0.5], [0.5, 2.0]])
    u = rng.multivariate_normal(np.zeros(2), sigma, GROUPS)
    beta = np.array([0.5, 1.0])
    state = State(beta, (u,), (sigma,), 1.0, residual_ss(data, beta, (u,)))
    prior = {"U:Sigma": Distribution("iwishart", (4.0, PSI), 2)}
    for m in range(10):
        old_u = state.u[0]
        state, _ = expansion.shear_level(
            state, data, 0, prior, ["U:Sigma"], ((0, 1), (1, 0))[m % 2], rng
        )
        assert state.rss == pytest.approx(residual_ss(data, state.beta, state.u), rel=1e-9)
        # u_gi -> u_gi + t u_gj: the other effect is untouched
        j = 1 - m % 2
        assert np.array_equal(state.u[0][:, j], old_u[:, j])
