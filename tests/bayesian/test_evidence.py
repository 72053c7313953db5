"""DIC and log marginal likelihood against exact values on a normal model.

Model: y_i ~ N(mu, s2), mu ~ normal(0, 10000), s2 ~ igamma(a, b). Given s2 the model is
conjugate in mu, so p(y | s2), p(s2 | y) and every posterior expectation reduce to one-dimensional
integrals over s2, computed here by adaptive quadrature (exact to ~1e-8).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from designs import simple_design
from scipy import integrate, special

from multilevel.bayesian import fit_bayes

V0 = 10000.0  # prior variance of mu (Stata's default normal(0,10000))
A, B = 2.0, 3.0  # igamma(2, 3) prior on s2 (proper, so that log(ML) is defined)


def _data(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame({"y": rng.normal(3.0, 1.5, n), "x": np.zeros(n)})


def _log_p_y_given_s2(y: np.ndarray, s2: float) -> float:
    n, ybar = len(y), y.mean()
    ss = float(np.sum((y - ybar) ** 2))
    # integrate mu ~ N(0, V0) out of prod N(y_i | mu, s2)
    prec = n / s2 + 1 / V0
    return (
        -0.5 * n * math.log(2 * math.pi * s2)
        - 0.5 * ss / s2
        - 0.5 * math.log(V0 * prec)
        - 0.5 * (n * ybar**2 / s2 - (n * ybar / s2) ** 2 / prec)
    )


def _log_prior_s2(s2: float) -> float:
    return A * math.log(B) - special.gammaln(A) - (A + 1) * math.log(s2) - B / s2


def _exact(y: np.ndarray):
    n, ybar = len(y), y.mean()
    lo, hi = 0.2, 12.0
    log_c = _log_p_y_given_s2(y, 2.25) + _log_prior_s2(2.25)

    def w(s2):
        return math.exp(_log_p_y_given_s2(y, s2) + _log_prior_s2(s2) - log_c)

    def moment(f):
        return integrate.quad(lambda s: w(s) * f(s), lo, hi, epsabs=0, epsrel=1e-10, limit=200)[0]

    z = moment(lambda s: 1.0)
    log_ml = math.log(z) + log_c

    def mu_post(s2):
        prec = n / s2 + 1 / V0
        return (n * ybar / s2) / prec, 1 / prec

    mean_s2 = moment(lambda s: s) / z
    mean_mu = moment(lambda s: mu_post(s)[0]) / z

    def expected_dev(s2):  # E[-2 log p(y | mu, s2) | s2, y] over mu
        m, v = mu_post(s2)
        return n * math.log(2 * math.pi * s2) + (np.sum((y - m) ** 2) + n * v) / s2

    mean_dev = moment(expected_dev) / z
    dev_at_mean = n * math.log(2 * math.pi * mean_s2) + np.sum((y - mean_mu) ** 2) / mean_s2
    p_d = mean_dev - dev_at_mean
    return log_ml, dev_at_mean + 2 * p_d


@pytest.fixture(scope="module")
def normal_fit():
    df = _data()
    design = simple_design(df, "y", ())
    fit = fit_bayes(
        design,
        rseed=1,
        mcmcsize=20000,
        burnin=500,
        progress=False,
        prior=[("{e.y:sigma2}", "igamma(2,3)")],
    )
    return fit, df["y"].to_numpy()


def test_dic_matches_exact_value(normal_fit):
    fit, y = normal_fit
    _, dic = _exact(y)
    assert fit.dic == pytest.approx(dic, abs=0.1)  # Monte Carlo error of DIC here is ~0.03


def test_log_marginal_likelihood_matches_exact_value(normal_fit):
    fit, y = normal_fit
    log_ml, _ = _exact(y)
    # Laplace-Metropolis on (mu, log s2): error O(1/n) with n = 40
    assert fit.log_ml == pytest.approx(log_ml, abs=0.05)


def test_bayes_factor_table(normal_fit, math_fit):
    fit, _ = normal_fit
    table = fit.ic(fit, names=["a", "b"])
    assert list(table.columns) == ["DIC", "log(ML)", "log(BF)"]
    assert table.loc["b", "log(BF)"] == pytest.approx(0.0)
    assert math.isnan(table.loc["a", "log(BF)"])


def test_log_ml_undefined_with_improper_prior():
    df = _data()
    fit = fit_bayes(
        simple_design(df, "y", ()),
        rseed=1,
        mcmcsize=200,
        burnin=50,
        progress=False,
        prior={"{e.y:sigma2}": "jeffreys"},
    )
    assert math.isnan(fit.log_ml)
