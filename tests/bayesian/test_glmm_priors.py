"""Priors of ``bayes:`` on GLMMs: Stata's defaults, the options that change them, ``prior()``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from designs import DATA_DIR

import multilevel as ml
from multilevel.bayesian.glmm_layout import build_glmm_layout
from multilevel.bayesian.priors import build_priors
from multilevel.design import build_design
from multilevel.errors import OptionError
from multilevel.spec import parse_model


def _layout(command: str, model: str, data: str, **options):
    frame = pd.read_csv(DATA_DIR / f"{data}.csv")
    return build_glmm_layout(build_design(parse_model(model, command=command, **options), frame))


WINE = ("meologit", "rating i.temp i.contact || judge:", "wine")
TICKS = ("menbreg", "TICKS cHEIGHT || LOCATION:", "grouseticks")


def test_statas_defaults_for_ordinal_models():
    # Stata's bayes: ordinal models: normal(0,10000) coefficients, flat cutpoints, igamma(.01,.01)
    layout = _layout(*WINE)
    priors = build_priors(layout)
    assert {str(d) for d in priors.coef.values()} == {"normal(0,10000)"}
    assert {k: d.name for k, d in priors.ancillary.items()} == dict.fromkeys(
        ["cut1", "cut2", "cut3", "cut4"], "flat"
    )
    assert str(priors.levels[0]["U0:sigma2"]) == "igamma(.01,.01)"
    assert layout.labels()[2:] == ["/cut1", "/cut2", "/cut3", "/cut4", "judge: var(_cons)"]


def test_lnalpha_gets_the_default_normal_prior_and_normalprior():
    priors = build_priors(_layout(*TICKS))
    assert str(priors.ancillary["lnalpha"]) == "normal(0,10000)"
    priors = build_priors(_layout(*TICKS), normalprior=10, igammaprior="2 1")
    assert str(priors.ancillary["lnalpha"]) == "normal(0,100)"
    assert str(priors.coef[0]) == "normal(0,100)"
    assert str(priors.levels[0]["U0:sigma2"]) == "igamma(2,1)"
    constant = build_priors(_layout(*TICKS, dispersion="constant"))
    assert set(constant.ancillary) == {"lndelta"}


def test_prior_option_reaches_family_parameters():
    layout = _layout(*WINE)
    priors = build_priors(
        layout,
        prior=[
            ("{cut1 cut2}", "normal(0,25)"),
            ("{cut4}", "uniform(3,12)"),
            ("{rating:}", "t(0,1,3)"),
        ],
    )
    assert str(priors.ancillary["cut1"]) == str(priors.ancillary["cut2"]) == "normal(0,25)"
    assert (
        str(priors.ancillary["cut4"]) == "uniform(3,12)"
    )  # a cutpoint may have no positive values
    assert priors.ancillary["cut3"].name == "flat"
    assert {str(d) for d in priors.coef.values()} == {"t(0,1,3)"}
    with pytest.raises(OptionError, match=r"unknown parameter \{lnalpha\}.*\{cut1\}"):
        build_priors(layout, prior={"{lnalpha}": "normal(0,1)"})
    with pytest.raises(OptionError, match="matrix prior"):
        build_priors(layout, prior={"{cut1}": "iwishart(2,3,I(2))"})


def test_gaussian_variance_of_meglm():
    frame = pd.DataFrame(
        {"y": np.arange(1.0, 21.0), "x": np.tile([0.0, 1.0], 10), "g": np.repeat(range(5), 4)}
    )
    spec = parse_model("y x || g:", command="meglm", family="gaussian", link="log")
    layout = build_glmm_layout(build_design(spec, frame))
    priors = build_priors(layout, prior={"{e.y:sigma2}": "jeffreys"})
    assert priors.ancillary["e.y:sigma2"].name == "jeffreys"
    with pytest.raises(OptionError, match="no positive values"):
        build_priors(layout, prior={"{e.y:sigma2}": "uniform(-2,-1)"})


def test_priors_change_the_posterior():
    # a near-point prior pins the parameter: the posterior mean equals the prior mean to within
    # a few prior sds (prior sd 0.01, the likelihood's sd about 0.3)
    wine = pd.read_csv(DATA_DIR / "wine.csv")
    fit = ml.bayes(
        "meologit rating i.temp i.contact || judge:",
        data=wine,
        prior=[("{cut1}", "normal(-3,0.0001)"), ("{rating:warm.temp}", "normal(2,0.0001)")],
        rseed=8,
        burnin=300,
        mcmcsize=500,
        progress=False,
    )
    means = fit.stata_frame()["mean"]
    assert means["cut1"] == pytest.approx(-3, abs=0.03)
    assert means["rating:warm.temp"] == pytest.approx(2, abs=0.03)
    assert "{cut1} ~ normal(-3,.0001)" in fit.model_summary()
    assert "{cut2 cut3 cut4} ~ 1 (flat)" in fit.model_summary()
