"""Covariance structures, several levels and non-default priors: Gibbs against NUTS and Stata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from designs import build_math_design, simple_design

from multilevel.bayesian import fit_bayes
from multilevel.spec.model_spec import RandomLevel


def _agree(a, b, bound: float = 4.0) -> None:
    fa, fb = a.summary_frame(), b.summary_frame()
    z = (fa["mean"] - fb["mean"]).abs() / np.hypot(fa["mcse"], fb["mcse"])
    assert (z < bound).all(), pd.DataFrame({"gibbs": fa["mean"], "nuts": fb["mean"], "z": z})


@pytest.mark.parametrize(
    "cov, names",
    [
        ("identity", ["schid: var(homework _cons)"]),
        ("independent", ["schid: var(homework)", "schid: var(_cons)"]),
        ("exchangeable", ["schid: var(homework _cons)", "schid: cov(homework _cons)"]),
    ],
)
def test_structure_labels_and_names(cov, names):
    fit = fit_bayes(build_math_design(cov), rseed=3, burnin=200, mcmcsize=500, progress=False)
    assert fit.labels[3:-1] == names
    stata = {
        "identity": ["U:sigma2"],
        "independent": ["U0:sigma2", "U1:sigma2"],
        "exchangeable": ["U:sigma2", "U:rho"],
    }[cov]
    assert fit.param_names[3:-1] == stata
    assert all(f"{{{n}}}" in fit.model_summary() for n in stata)


@pytest.mark.slow
@pytest.mark.parametrize("cov", ["identity", "independent", "exchangeable"])
def test_structures_match_nuts(cov):
    design = build_math_design(cov)
    gibbs = fit_bayes(design, rseed=7, mcmcsize=10000, progress=False)
    nuts = fit_bayes(design, rseed=7, burnin=1000, mcmcsize=4000, sampler="nuts", progress=False)
    _agree(gibbs, nuts)
    if cov == "exchangeable":
        rho = gibbs.param("U:rho")
        assert (rho > -1).all() and (rho < 1).all()


def _nested_frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    school = np.repeat(np.arange(8), 24)
    klass = np.repeat(np.arange(32), 6)
    x = rng.normal(size=len(school))
    y = (
        1
        + 0.5 * x
        + rng.normal(0, 1.0, 8)[school]
        + rng.normal(0, 0.7, 32)[klass]
        + rng.normal(0, 1, len(school))
    )
    return pd.DataFrame(
        {"school": school, "klass": klass, "x": x, "y": y, "rater": rng.integers(0, 6, len(school))}
    )


@pytest.mark.slow
def test_nested_and_crossed_levels_match_nuts():
    df = _nested_frame()
    levels = (
        RandomLevel(("school",)),
        RandomLevel(("school", "klass")),
        RandomLevel(("rater",), crossed_factor="rater"),
    )
    design = simple_design(df, "y", ("x",), levels)
    gibbs = fit_bayes(design, rseed=2, mcmcsize=8000, progress=False, igammaprior=(1, 1))
    nuts = fit_bayes(
        design,
        rseed=2,
        burnin=1000,
        mcmcsize=4000,
        sampler="nuts",
        progress=False,
        igammaprior=(1, 1),
    )
    assert gibbs.param_names[2:5] == ["U0:sigma2", "UU0:sigma2", "UUU0:sigma2"]
    _agree(gibbs, nuts)
    assert "No. of" in gibbs.table()


@pytest.mark.parametrize(
    "kwargs, dic",
    [
        (dict(normalprior=5), 3582.73),
        (dict(iwishartprior=10), 3584.731),
        (dict(prior=[("{e.math:sigma2}", "jeffreys")]), 3582.641),
    ],
)
def test_seed_prior_variants_dic(math_dsn, kwargs, dic):
    # Seed `bayesstats ic m*, diconly`: m2 normalprior(5), m3 iwishartprior(10), m4 jeffreys.
    fit = fit_bayes(math_dsn, rseed=317, progress=False, **kwargs)
    assert fit.dic == pytest.approx(dic, abs=2.0)


@pytest.mark.slow
def test_non_conjugate_priors_match_nuts(math_dsn):
    prior = [
        ("{math:homework}", "t(0,1,3)"),
        ("{e.math:sigma2}", "uniform(0,1000)"),
        ("{U:Sigma,m}", "wishart(2,30,I(2))"),
    ]
    gibbs = fit_bayes(math_dsn, rseed=11, mcmcsize=10000, prior=prior, progress=False)
    nuts = fit_bayes(
        math_dsn, rseed=11, burnin=1000, mcmcsize=4000, prior=prior, sampler="nuts", progress=False
    )
    assert gibbs.info.any_mh and 0.2 < gibbs.acceptance_rate < 1
    _agree(gibbs, nuts)


def test_initial_values(math_dsn):
    init = {
        "{math:homework}": 50.0,
        "{e.math:sigma2}": 5.0,
        "{U:Sigma,m}": np.array([[40.0, -5.0], [-5.0, 10.0]]),
    }
    fit = fit_bayes(math_dsn, rseed=1, burnin=0, mcmcsize=3, initial=init, progress=False)
    assert fit.draws.shape == (1, 3, 7)
    with pytest.raises(Exception, match="unknown parameter"):
        fit_bayes(math_dsn, initial={"{math:nosuch}": 1.0}, mcmcsize=3, progress=False)
