"""Prior parsing, defaults, validation, and the log densities against scipy.stats."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from multilevel.bayesian import ImproperPosteriorWarning, fit_bayes
from multilevel.bayesian.layout import build_layout
from multilevel.bayesian.priors import build_priors, parse_distribution
from multilevel.errors import OptionError


@pytest.mark.parametrize(
    "text, frozen, x",
    [
        ("normal(1,4)", stats.norm(1, 2), 0.3),
        ("t(1,4,5)", stats.t(5, 1, 2), 0.3),
        ("lognormal(0.5,0.25)", stats.lognorm(0.5, scale=np.exp(0.5)), 1.7),
        ("uniform(-1,3)", stats.uniform(-1, 4), 0.3),
        ("gamma(2,3)", stats.gamma(2, scale=3), 1.7),
        ("igamma(2,3)", stats.invgamma(2, scale=3), 1.7),
        ("exponential(2)", stats.expon(scale=2), 1.7),
        ("beta(2,3)", stats.beta(2, 3), 0.3),
        ("laplace(1,2)", stats.laplace(1, 2), 0.3),
        ("cauchy(1,2)", stats.cauchy(1, 2), 0.3),
        ("chi2(3)", stats.chi2(3), 1.7),
        ("pareto(3,1)", stats.pareto(3, scale=1), 1.7),
    ],
)
def test_scalar_log_densities_match_scipy(text, frozen, x):
    # Stata's parametrisations (bayesmh manual): normal(mu,var), gamma(shape,scale), ...
    assert parse_distribution(text).logpdf(x) == pytest.approx(frozen.logpdf(x), rel=1e-10)


def test_matrix_log_densities_match_scipy():
    sigma = np.array([[2.0, 0.3], [0.3, 1.0]])
    scale = np.array([[1.0, 0.2], [0.2, 2.0]])
    iw = parse_distribution("iwishart(2,5,S)", {"S": scale})
    assert iw.logpdf(sigma) == pytest.approx(stats.invwishart(5, scale).logpdf(sigma))
    w = parse_distribution("wishart(2,5,S)", {"S": scale})
    assert w.logpdf(sigma) == pytest.approx(stats.wishart(5, scale).logpdf(sigma))
    mvn = parse_distribution("mvnormal(2,1,2,S)", {"S": scale})
    ref = stats.multivariate_normal([1, 2], scale).logpdf([0.5, 0.5])
    assert mvn.logpdf(np.array([0.5, 0.5])) == pytest.approx(ref)


def test_defaults_as_stata(math_dsn):
    layout = build_layout(math_dsn)
    priors = build_priors(layout)
    # Seed model summary: normal(0,10000), iwishart(2,3,I(2)), igamma(.01,.01)
    assert {str(d) for d in priors.coef.values()} == {"normal(0,10000)"}
    assert str(priors.levels[0]["U:Sigma"]) == "iwishart(2,3,I(2))"
    assert str(priors.resid) == "igamma(.01,.01)"
    changed = build_priors(layout, normalprior=5, igammaprior=(1, 2), iwishartprior=10)
    assert str(changed.coef[0]) == "normal(0,25)"
    assert str(changed.resid) == "igamma(1,2)"
    assert str(changed.levels[0]["U:Sigma"]) == "iwishart(2,10,I(2))"


def test_other_structures_default_priors():
    from designs import build_math_design

    for cov, keys in [
        ("identity", {"U:sigma2"}),
        ("independent", {"U0:sigma2", "U1:sigma2"}),
        ("exchangeable", {"U:sigma2", "U:rho"}),
    ]:
        priors = build_priors(build_layout(build_math_design(cov)))
        assert set(priors.levels[0]) == keys
    priors = build_priors(build_layout(build_math_design("exchangeable")))
    assert str(priors.levels[0]["U:rho"]) == "uniform(-1,1)"


@pytest.mark.parametrize(
    "param, dist, message",
    [
        ("{math:homework}", "normal(0,-1)", "impossible prior"),
        ("{e.math:sigma2}", "igamma(-1,1)", "impossible prior"),
        ("{U:Sigma,m}", "iwishart(3,5,I(3))", "dimension 3"),
        ("{U:Sigma,m}", "iwishart(2,5,I(3))", "3x3, not 2x2"),
        ("{math:nosuch}", "normal(0,1)", "unknown parameter {math:nosuch}"),
        ("{U:Sigma_1_1}", "igamma(1,1)", "whole matrix"),
        ("{e.math:sigma2}", "uniform(-5,-1)", "no positive values"),
        ("{math:homework}", "frobnicate(1)", "unknown or unsupported prior"),
        ("{math:homework}", "normal(0)", "takes 2 arguments"),
        ("{e.math:sigma2}", "iwishart(2,3,I(2))", "matrix prior for a scalar"),
    ],
)
def test_impossible_priors_are_named(math_dsn, param, dist, message):
    with pytest.raises(
        OptionError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("{", r"\{")
        .replace("}", r"\}"),
    ):
        fit_bayes(math_dsn, prior=[(param, dist)], mcmcsize=10, burnin=0, progress=False)


def test_improper_posterior_is_warned(math_dsn):
    with pytest.warns(ImproperPosteriorWarning, match="U:Sigma,m"):
        build_priors(build_layout(math_dsn), prior=[("{U:Sigma,m}", "jeffreys(2)")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # a Jeffreys prior on the residual variance leaves the posterior proper (seed model m4)
        build_priors(build_layout(math_dsn), prior=[("{e.math:sigma2}", "jeffreys")])


def test_mvnormal_prior_on_coefficients(math_dsn):
    layout = build_layout(math_dsn)
    priors = build_priors(layout, prior=[("{math:homework _cons}", "mvnormal(2,0,0,I(2))")])
    assert priors.coef_groups[0][0] == (0, 2)
    assert set(priors.coef) == {1}
