"""Tables, InferenceData, saved draws, graphs and option errors."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from multilevel.bayesian import fit_bayes, load_draws
from multilevel.errors import OptionError


def test_printed_output_has_stata_blocks(math_fit):
    text = str(math_fit)
    for piece in [
        "Multilevel structure",
        "{U0}: random intercepts",
        "{U1}: random coefficients for homework",
        "{math:homework 1.schtype _cons} ~ normal(0,10000)",
        "{U0 U1} ~ mvnormal(2,{U:Sigma,m})",
        "{U:Sigma,m} ~ iwishart(2,3,I(2))",
        "{e.math:sigma2} ~ igamma(.01,.01)",
        "MCMC iterations  =     12,500",
        "Number of groups =         23",
        "Log marginal-likelihood",
        "U:Sigma_2_1",
        "Equal-tailed",
        "(base)",
    ]:
        assert piece in text, piece
    melabel = math_fit.table(melabel=True, hpd=True)
    assert "cov(homework,_cons)" in melabel and "HPD" in melabel and "var(Residual)" in melabel


def test_multichain_header(math_fit3):
    text = math_fit3.table()
    assert "Number of chains    =          3" in text
    assert "Max Gelman\u2013Rubin Rc" in text
    assert "Convergence rule: Rc < 1.1" in math_fit3.grubin_text()


def test_bayesstats_texts(math_fit):
    assert "Efficiency summaries" in math_fit.ess_text()
    text = math_fit.summary_text("corr:{U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2})")
    assert "corr : {U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2})" in text
    assert "{math:1.schtype} < 0" in math_fit.test_interval_text("{math:1.schtype}", upper=0)
    assert "Deviance information criterion" in math_fit.ic_text(diconly=True)


def test_summary_of_parameters_and_random_effects(math_fit):
    frame = math_fit.summary("{math:homework}", "{U0}")
    assert frame.index[0] == "math:homework"
    assert len(frame) == 1 + 23
    np.testing.assert_allclose(frame.iloc[0]["mean"], math_fit.params["homework"])
    with pytest.raises(OptionError, match="unknown parameter"):
        math_fit.summary("x: {math:nosuch} + 1")
    with pytest.raises(OptionError, match="unknown function"):
        math_fit.summary("x: frob({math:homework})")


def test_idata_and_saving_round_trip(math_dsn, tmp_path):
    fit = fit_bayes(
        math_dsn, rseed=2, burnin=20, mcmcsize=50, nchains=2, saving=tmp_path / "m1", progress=False
    )
    idata = fit.idata
    assert idata.posterior.sizes["chain"] == 2 and idata.posterior.sizes["draw"] == 50
    back = load_draws(tmp_path / "m1.nc")
    np.testing.assert_array_equal(
        back.posterior["math:homework"].values, fit.param("math:homework")
    )
    again = az.from_netcdf(str(tmp_path / "m1.nc"))
    assert "U0" in again.posterior and "deviance" in again.sample_stats


def test_diagnostic_graphs_written(math_fit, tmp_path):
    figs = math_fit.graph_diagnostics("{math:homework}", path=tmp_path / "hw.png")
    assert len(figs) == 1 and (tmp_path / "hw.png").stat().st_size > 10_000
    figs = math_fit.graph_diagnostics(path=tmp_path / "all.png")
    assert len(figs) == 7
    assert (tmp_path / "all_U_Sigma_2_1.png").exists()
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(mcmcsize=0), "mcmcsize"),
        (dict(nchains=0), "nchains"),
        (dict(thinning=0), "thinning"),
        (dict(clevel=120), "clevel"),
        (dict(sampler="hmc"), "sampler"),
        (dict(normalprior=-1), "normalprior"),
        (dict(igammaprior=(1,)), "igammaprior"),
    ],
)
def test_bad_options_are_named(math_dsn, kwargs, message):
    with pytest.raises(OptionError, match=message):
        fit_bayes(math_dsn, progress=False, **kwargs)


def test_thinning_keeps_every_kth_draw(math_dsn):
    thin = fit_bayes(math_dsn, rseed=4, burnin=10, mcmcsize=20, thinning=3, progress=False)
    assert thin.draws.shape == (1, 20, 7)
    assert "MCMC iterations  =         70" in thin.table()
