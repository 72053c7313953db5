"""``bayes: melogit incidence i.period || herd:, binomial(size)`` on cbpp.

The posterior is checked against an MCMC-free reference (data/cbpp_reference.json, written by
make_glmm_reference.py: importance sampling with the random effects integrated by adaptive
quadrature, 200,000 draws). Tolerance for a posterior mean: 4 * sqrt(MCSE^2 + se_ref^2) + 0.05 sd.
If the MCSE were exact, 4 standard errors would fail with probability 6e-5 per parameter; the
0.05 sd term covers the error of the MCSE itself (Stata's ESS estimator from 4,000 draws is off
by 20-30% often enough, and 0.3 x 4 MCSE is at most 0.05 sd at the ESS these chains reach). A
wrong prior, Jacobian or likelihood moves {U0:sigma2} or _cons by far more (a missing Jacobian of
the log variance shifts the variance's mean by about a third).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from designs import DATA_DIR
from scipy import special, stats

import multilevel as ml
from multilevel.bayesian import GlmmBayesResult
from multilevel.bayesian.diagnostics import mcse_sd
from multilevel.errors import OptionError

REFERENCE = json.loads((Path(__file__).parent / "data" / "cbpp_reference.json").read_text())
MODEL = "incidence i.period || herd:"
SETTINGS = dict(rseed=1701, nchains=2, burnin=1000, mcmcsize=2000, progress=False)


@pytest.fixture(scope="module")
def cbpp():
    return pd.read_csv(DATA_DIR / "cbpp.csv")


@pytest.fixture(scope="module")
def ml_fit(cbpp):
    return ml.melogit(MODEL, data=cbpp, binomial="size")


@pytest.fixture(scope="module")
def fit(cbpp):
    return ml.bayes(f"melogit {MODEL}", data=cbpp, binomial="size", **SETTINGS)


def test_agrees_with_the_importance_sampling_reference(fit):
    frame = fit.summary_frame()
    sd_mcse = pd.Series(mcse_sd(fit.label_draws), index=fit.labels)
    for label, ref in REFERENCE["params"].items():
        row = frame.loc[label]
        tol = 4 * np.hypot(row["mcse"], ref["se_mean"]) + 0.05 * ref["sd"]
        assert abs(row["mean"] - ref["mean"]) < tol, (label, row["mean"], ref["mean"], tol)
        tol_sd = 4 * np.hypot(sd_mcse[label], ref["se_sd"]) + 0.05 * ref["sd"]
        assert abs(row["sd"] - ref["sd"]) < tol_sd, (label, row["sd"], ref["sd"], tol_sd)


def test_reference_quadrature_matches_the_frequentist_engine():
    # data/cbpp_reference.json: the reference's likelihood at the ML estimates equals melogit's
    # log likelihood with 30 quadrature points, so the reference integrates the same model
    values = REFERENCE["loglik_at_ml"]
    assert values["reference_quadrature"] == pytest.approx(values["melogit_intpoints_30"], abs=1e-6)


def test_names_labels_and_result_type(fit, ml_fit):
    assert isinstance(fit, GlmmBayesResult)
    assert fit.param_names == [
        "incidence:2.period",
        "incidence:3.period",
        "incidence:4.period",
        "incidence:_cons",
        "U0:sigma2",
    ]
    assert list(fit.summary_frame().index) == list(ml_fit.params.index)
    assert list(fit.ess().index) == list(ml_fit.params.index)
    assert fit.draws.shape == (2, 2000, 5)
    assert fit.u_draws[0].shape == (2, 2000, 15, 1)


def test_output_in_statas_layout(fit):
    text = fit.table()
    assert text.startswith("Bayesian multilevel logistic regression")
    assert "Hamiltonian Monte Carlo (NUTS)" in text
    assert "Number of chains    =          2" in text
    assert "U0:sigma2 |" in text
    assert "var(_cons)|" in fit.table(melabel=True)
    summary = fit.model_summary()
    for line in (
        "incidence ~ melogit(xb_incidence)",
        "{incidence:2.period 3.period 4.period _cons} ~ normal(0,10000)",
        "{U0} ~ normal(0,{U0:sigma2})",
        "{U0:sigma2} ~ igamma(.01,.01)",
    ):
        assert line in summary, line
    assert "Rc" in fit.grubin_text() and "ESS" in fit.ess_text()


def test_deviance_and_dic_are_conditional_on_the_random_effects(fit, cbpp):
    design = fit_design(cbpp)
    X, y, n = np.asarray(design.X), np.asarray(design.y), np.asarray(design.trials)
    codes = design.blocks[0].codes

    def deviance(beta, u):
        p = special.expit(X @ beta + u[codes])
        return -2 * stats.binom.logpmf(y, n, p).sum()

    for k in (0, 777, 1999):
        beta, u = fit.draws[1, k, :4], fit.u_draws[0][1, k, :, 0]
        assert fit.deviance[1, k] == pytest.approx(deviance(beta, u), rel=1e-10)
    beta_bar = fit.draws[..., :4].reshape(-1, 4).mean(axis=0)
    d_bar = deviance(beta_bar, fit.u_mean[0][:, 0])
    assert fit.pd == pytest.approx(fit.deviance.mean() - d_bar, rel=1e-10)
    assert fit.dic == pytest.approx(d_bar + 2 * fit.pd, rel=1e-10)
    assert 5 < fit.pd < 20  # 4 coefficients and 15 partially pooled herd effects


def fit_design(cbpp):
    return ml.melogit(MODEL, data=cbpp, binomial="size").design


def test_same_seed_same_draws_from_command_or_fitted_model(fit, ml_fit):
    again = ml.bayes(ml_fit, **SETTINGS)
    np.testing.assert_array_equal(again.draws, fit.draws)
    np.testing.assert_array_equal(again.u_draws[0], fit.u_draws[0])
    other = ml.bayes(ml_fit, **{**SETTINGS, "rseed": 1702})
    assert not np.allclose(other.draws, fit.draws)


def test_postestimation(fit):
    assert fit.grubin().max() < 1.1
    # P(2.period < 0): the reference posterior is about N(-1.0, 0.31^2), so the probability is
    # above 0.999
    prob = fit.test_interval("{incidence:2.period}", upper=0)
    assert prob["mean"].iloc[0] > 0.995
    row = fit.summary("{U0:sigma2}")
    assert row["mean"].iloc[0] == pytest.approx(fit.stata_frame().loc["U0:sigma2", "mean"])
    odds = fit.summary("or2: exp({incidence:2.period})")
    assert odds["mean"].iloc[0] == pytest.approx(np.exp(fit.param("2.period")).mean())
    effects = fit.random_effects()
    assert len(effects) == 15 and effects.index[0][0] == "U0[herd]"
    idata = fit.idata
    assert "U0" in idata.posterior and "deviance" in idata.sample_stats
    assert np.isfinite(fit.log_ml) and np.isfinite(fit.dic)


def test_thinning_initial_values_and_saving(ml_fit, tmp_path):
    run = ml.bayes(
        ml_fit,
        rseed=3,
        burnin=200,
        mcmcsize=300,
        thinning=2,
        initial={"{incidence:_cons}": -1.5, "{U0:sigma2}": 0.3},
        saving=tmp_path / "draws",
        progress=False,
    )
    assert run.draws.shape == (1, 300, 5)
    assert run.info.thinning == 2 and run.info.burnin == 200
    from multilevel.bayesian import load_draws

    back = load_draws(tmp_path / "draws.nc")
    np.testing.assert_array_equal(back.posterior["U0:sigma2"].values, run.param("U0:sigma2"))


def test_bad_options_are_clear_errors(ml_fit):
    with pytest.raises(OptionError, match="unknown parameter"):
        ml.bayes(ml_fit, initial={"{lnalpha}": 0.0}, mcmcsize=10, burnin=0, progress=False)
    with pytest.raises(OptionError, match="Gibbs|gibbs"):
        ml.bayes(ml_fit, sampler="gibbs", progress=False)
    with pytest.raises(OptionError, match="unknown parameter"):
        ml.bayes(ml_fit, prior={"{cut1}": "normal(0,1)"}, progress=False)
