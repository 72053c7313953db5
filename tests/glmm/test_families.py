"""Families: log densities with their constants, and the analytic derivatives the engine relies on."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from multilevel.glmm.families import ResponseData, family_for
from multilevel.spec.model_spec import Family

RNG = np.random.default_rng(1)
N = 9
ETA = RNG.normal(size=N)
COUNTS = RNG.poisson(3, N).astype(float)
TRIALS = RNG.integers(1, 10, N).astype(float)
SUCCESSES = np.minimum(np.floor(RNG.uniform(0, 1, N) * (TRIALS + 1)), TRIALS)

CASES = [
    (Family("binomial", "logit"), ResponseData(SUCCESSES, TRIALS), np.zeros(0)),
    (Family("binomial", "probit"), ResponseData(SUCCESSES, TRIALS), np.zeros(0)),
    (Family("binomial", "cloglog"), ResponseData(SUCCESSES, TRIALS), np.zeros(0)),
    (
        Family("ordinal", "logit"),
        ResponseData(RNG.integers(0, 4, N) * 1.0, None, 4),
        np.array([-1.0, 0.3, 1.2]),
    ),
    (
        Family("ordinal", "probit"),
        ResponseData(RNG.integers(0, 4, N) * 1.0, None, 4),
        np.array([-1.0, 0.3, 1.2]),
    ),
    (
        Family("ordinal", "cloglog"),
        ResponseData(RNG.integers(0, 4, N) * 1.0, None, 4),
        np.array([-1.0, 0.3, 1.2]),
    ),
    (Family("poisson", "log"), ResponseData(COUNTS), np.zeros(0)),
    (Family("nbinomial", "log"), ResponseData(COUNTS), np.array([-0.5])),
    (Family("nbinomial", "log", dispersion="constant"), ResponseData(COUNTS), np.array([-0.5])),
    (Family("gaussian", "identity"), ResponseData(RNG.normal(size=N)), np.array([0.2])),
]


@pytest.mark.parametrize(
    "spec, data, anc",
    CASES,
    ids=lambda c: getattr(c, "name", "") + getattr(c, "link", "") if isinstance(c, Family) else "",
)
def test_derivatives_match_finite_differences(spec, data, anc):
    # Closed form: the engine's s = l', w = -l'', t = -l''' and the ancillary derivatives must be the
    # derivatives of the log density it reports.
    family = family_for(spec, data.n_categories)
    loglik, s, w, t = family.derivatives(ETA, data, anc, third=True)
    np.testing.assert_allclose(loglik, family.loglik(ETA, data, anc), rtol=1e-12)
    h = 1e-5
    up = family.derivatives(ETA + h, data, anc, third=True)
    down = family.derivatives(ETA - h, data, anc, third=True)
    np.testing.assert_allclose((up[0] - down[0]) / (2 * h), s, atol=1e-7)
    np.testing.assert_allclose(-(up[1] - down[1]) / (2 * h), w, atol=1e-7)
    np.testing.assert_allclose((up[2] - down[2]) / (2 * h), t, atol=1e-6)
    if family.n_ancillary:
        dl, ds, dw = family.ancillary_derivatives(ETA, data, anc)
        for k in range(family.n_ancillary):
            e = np.zeros(family.n_ancillary)
            e[k] = h
            up = family.derivatives(ETA, data, anc + e)
            down = family.derivatives(ETA, data, anc - e)
            np.testing.assert_allclose((up[0] - down[0]) / (2 * h), dl[:, k], atol=1e-7)
            np.testing.assert_allclose((up[1] - down[1]) / (2 * h), ds[:, k], atol=1e-7)
            np.testing.assert_allclose((up[2] - down[2]) / (2 * h), dw[:, k], atol=1e-6)


def test_binomial_density_includes_the_binomial_coefficient():
    # scipy's binomial pmf (binomial coefficient included, as Stata reports the log likelihood)
    family = family_for(Family("binomial", "logit"))
    expected = stats.binom.logpmf(SUCCESSES, TRIALS, 1 / (1 + np.exp(-ETA)))
    np.testing.assert_allclose(
        family.loglik(ETA, ResponseData(SUCCESSES, TRIALS), np.zeros(0)), expected
    )


def test_count_densities_match_scipy():
    # scipy's Poisson and negative binomial pmfs; NB2: var = mu (1 + alpha mu), size 1/alpha
    poisson = family_for(Family("poisson", "log"))
    np.testing.assert_allclose(
        poisson.loglik(ETA, ResponseData(COUNTS), np.zeros(0)),
        stats.poisson.logpmf(COUNTS, np.exp(ETA)),
    )
    alpha = np.exp(-0.5)
    nb2 = family_for(Family("nbinomial", "log"))
    expected = stats.nbinom.logpmf(COUNTS, 1 / alpha, 1 / (1 + alpha * np.exp(ETA)))
    np.testing.assert_allclose(nb2.loglik(ETA, ResponseData(COUNTS), np.array([-0.5])), expected)
    # NB1: var = mu (1 + delta), size mu / delta, success probability 1 / (1 + delta)
    delta = np.exp(-0.5)
    nb1 = family_for(Family("nbinomial", "log", dispersion="constant"))
    expected = stats.nbinom.logpmf(COUNTS, np.exp(ETA) / delta, 1 / (1 + delta))
    np.testing.assert_allclose(nb1.loglik(ETA, ResponseData(COUNTS), np.array([-0.5])), expected)


def test_negative_binomial_tends_to_poisson_without_cancellation():
    # As alpha -> 0 the NB2 density is the Poisson density (closed-form limit), to every digit.
    nb2 = family_for(Family("nbinomial", "log"))
    poisson = family_for(Family("poisson", "log"))
    big = np.array([0.0, 1.0, 7.0, 40.0])
    eta = np.log(np.array([0.5, 2.0, 6.0, 30.0]))
    limit = poisson.loglik(eta, ResponseData(big), np.zeros(0))
    np.testing.assert_allclose(
        nb2.loglik(eta, ResponseData(big), np.array([-30.0])), limit, atol=1e-9
    )


def test_ordinal_probabilities_sum_to_one_and_match_the_cumulative_link():
    family = family_for(Family("ordinal", "logit"), 4)
    cuts = np.array([-1.0, 0.3, 1.2])
    probs = family.category_probabilities(ETA, cuts)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # P(y <= 1) = F(cut_1 - eta) (the clmm / Stata ologit convention)
    np.testing.assert_allclose(probs[:, 0], 1 / (1 + np.exp(-(cuts[0] - ETA))))
    for k in range(4):
        data = ResponseData(np.full(N, float(k)), None, 4)
        np.testing.assert_allclose(np.exp(family.loglik(ETA, data, cuts)), probs[:, k])
