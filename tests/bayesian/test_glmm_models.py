"""``bayes:`` on every GLMM family against the frequentist fit of the same model.

With weak priors and data that identify the parameters, the posterior mean of a coefficient sits
within a fraction of a posterior sd of the ML estimate (they differ by O(1/n) relative to the sd);
a variance's posterior is right-skewed, so its mean sits above the ML estimate and the check is
that the ML estimate lies inside the 95% credible interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from designs import DATA_DIR

import multilevel as ml
from multilevel.datasets.simulate import simulate_mixed


def _compare(bayes, freq) -> pd.DataFrame:
    frame = bayes.summary_frame()
    assert list(frame.index) == list(freq.params.index)
    frame["ml"] = freq.params
    frame["z"] = (frame["mean"] - frame["ml"]) / frame["sd"]
    return frame


def _variances(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.index.str.contains(": var(", regex=False)]


def test_large_simulated_logit_recovers_ml_and_truth():
    # simulate_mixed's truth: x 1.0, _cons -0.5, var(_cons) 0.64; 200 groups x 25 observations
    data = simulate_mixed(200, 25, {"x": 1.0, "_cons": -0.5}, 0.8, family="bernoulli", seed=11)
    freq = ml.melogit("y x || g:", data=data)
    bayes = ml.bayes(freq, rseed=7, burnin=400, mcmcsize=600, progress=False)
    frame = _compare(bayes, freq)
    # near-flat priors and n = 5000: posterior mean and ML estimate differ by O(1/n) relative to
    # the sd; 0.25 sd + 4 MCSE allows for the variance's skew (about 0.05 sd here)
    assert np.all(np.abs(frame["mean"] - frame["ml"]) < 0.25 * frame["sd"] + 4 * frame["mcse"])
    truth = pd.Series(data.attrs["truth"])
    assert np.all(np.abs(frame["mean"] - truth[frame.index]) < 4 * frame["sd"])


@pytest.fixture(scope="module")
def wine():
    return pd.read_csv(DATA_DIR / "wine.csv")


def test_ordered_logit_on_wine(wine):
    freq = ml.meologit("rating i.temp i.contact || judge:", data=wine)
    bayes = ml.bayes(freq, rseed=11, burnin=1000, mcmcsize=2000, progress=False)
    frame = _compare(bayes, freq)
    fixed = frame.loc[["warm.temp", "yes.contact", "/cut1", "/cut2", "/cut3", "/cut4"]]
    # 72 ratings by 9 judges: the posterior is wider and a little skewed; ML within 1 sd
    assert np.all(fixed["z"].abs() < 1.0), fixed
    var = frame.loc["judge: var(_cons)"]
    assert var["lower"] < var["ml"] < var["upper"]
    cuts = bayes.draws[..., 2:6]
    assert np.all(np.diff(cuts, axis=-1) > 0)  # every draw keeps the cutpoints ordered
    assert bayes.param_names[2:7] == ["cut1", "cut2", "cut3", "cut4", "U0:sigma2"]
    assert bayes.table().startswith("Bayesian multilevel ordered logistic regression")
    summary = bayes.model_summary()
    assert "rating ~ meologit(xb_rating,{cut1},{cut2},{cut3},{cut4})" in summary
    assert "{cut1 cut2 cut3 cut4} ~ 1 (flat)" in summary
    assert np.isnan(bayes.log_ml)  # flat priors on the cutpoints: no marginal likelihood
    assert np.isfinite(bayes.dic)


def _exposure_counts() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    groups, size = 40, 10
    g = np.repeat(np.arange(groups), size)
    x = rng.normal(size=groups * size)
    t = rng.uniform(0.5, 4.0, groups * size)
    u = rng.normal(0.0, 0.6, groups)  # truth: _cons 0.5, x 0.3, var(_cons) 0.36
    y = rng.poisson(t * np.exp(0.5 + 0.3 * x + u[g]))
    return pd.DataFrame({"y": y, "x": x, "t": t, "g": g})


def test_poisson_with_exposure():
    data = _exposure_counts()
    freq = ml.mepoisson("y x || g:", data=data, exposure="t")
    bayes = ml.bayes(freq, rseed=5, burnin=500, mcmcsize=1000, progress=False)
    frame = _compare(bayes, freq)
    assert np.all(frame.loc[["x", "_cons"], "z"].abs() < 0.5)
    var = frame.loc["g: var(_cons)"]
    assert var["lower"] < var["ml"] < var["upper"]
    assert bayes.table().startswith("Bayesian multilevel Poisson regression")
    # without the exposure the intercept absorbs log(t) (mean log t is about 0.6)
    plain = ml.mepoisson("y x || g:", data=data).params["_cons"]
    assert abs(frame.loc["_cons", "mean"] - plain) > 5 * frame.loc["_cons", "sd"]


@pytest.mark.slow
@pytest.mark.parametrize("dispersion", ["mean", "constant"])
def test_negative_binomial_on_grouseticks(dispersion):
    data = pd.read_csv(DATA_DIR / "grouseticks.csv")
    freq = ml.menbreg("TICKS cHEIGHT || LOCATION:", data=data, dispersion=dispersion)
    bayes = ml.bayes(freq, rseed=9, burnin=500, mcmcsize=1000, progress=False)
    frame = _compare(bayes, freq)
    name = "/lnalpha" if dispersion == "mean" else "/lndelta"
    assert np.all(frame.loc[["cHEIGHT", "_cons", name], "z"].abs() < 0.5)
    var = _variances(frame).iloc[0]
    assert var["lower"] < var["ml"] < var["upper"]
    assert f"{{{name[1:]}}} ~ normal(0,10000)" in bayes.model_summary()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "options"),
    [("meoprobit", {}), ("mecloglog", {"binomial": "size"}), ("meprobit", {"binomial": "size"})],
)
def test_other_links(command, options, wine):
    data = wine if command == "meoprobit" else pd.read_csv(DATA_DIR / "cbpp.csv")
    model = (
        "rating i.temp i.contact || judge:"
        if command == "meoprobit"
        else ("incidence i.period || herd:")
    )
    freq = getattr(ml, command)(model, data=data, **options)
    bayes = ml.bayes(freq, rseed=2, burnin=500, mcmcsize=1000, progress=False)
    frame = _compare(bayes, freq)
    assert np.all(frame.drop(_variances(frame).index)["z"].abs() < 1.0)
    var = _variances(frame).iloc[0]
    assert var["lower"] < var["ml"] < var["upper"]


def test_meglm_gaussian_log_link():
    data = simulate_mixed(30, 10, {"x": 0.3, "_cons": 1.0}, 0.3, residual_sd=0.5, seed=4)
    data["y"] = np.exp(data["y"])
    freq = ml.meglm("y x || g:", data=data, family="gaussian", link="log")
    bayes = ml.bayes(freq, rseed=4, burnin=500, mcmcsize=1000, progress=False)
    frame = _compare(bayes, freq)
    assert list(frame.index) == ["x", "_cons", "var(e.y)", "g: var(_cons)"]
    assert np.all(frame.loc[["x", "_cons"], "z"].abs() < 0.5)
    for name in ("var(e.y)", "g: var(_cons)"):
        assert frame.loc[name, "lower"] < frame.loc[name, "ml"] < frame.loc[name, "upper"]
    assert bayes.param_names[-1] == "e.y:sigma2"
    assert "y ~ meglm(xb_y,{e.y:sigma2})" in bayes.model_summary()
    assert bayes.table().startswith("Bayesian multilevel GLM")


def _slopes_data() -> pd.DataFrame:
    return simulate_mixed(
        40,
        15,
        {"x": 1.0, "_cons": -0.5},
        {"_cons": 0.8, "x": 0.5},
        corr=0.3,
        family="bernoulli",
        seed=12,
    )


def test_random_slopes_with_unstructured_covariance():
    freq = ml.melogit("y x || g: x, covariance(unstructured)", data=_slopes_data())
    bayes = ml.bayes(freq, rseed=3, burnin=400, mcmcsize=600, progress=False)
    assert bayes.param_names == ["y:x", "y:_cons", "U:Sigma_1_1", "U:Sigma_2_1", "U:Sigma_2_2"]
    frame = _compare(bayes, freq)
    assert np.all(frame.loc[["x", "_cons"], "z"].abs() < 1.0)
    for name in _variances(frame).index:
        assert frame.loc[name, "lower"] < frame.loc[name, "ml"] < frame.loc[name, "upper"]
    assert "{U:Sigma,m} ~ iwishart(2,3,I(2))" in bayes.model_summary()


def test_nested_levels():
    data = _slopes_data()
    data["h"] = data["g"] % 6
    nested = ml.bayes(
        "melogit y x || h: || g:", data=data, rseed=3, burnin=300, mcmcsize=300, progress=False
    )
    assert nested.param_names == ["y:x", "y:_cons", "U0:sigma2", "UU0:sigma2"]
    labels = ["x", "_cons", "h: var(_cons)", "h>g: var(_cons)"]
    assert list(nested.summary_frame().index) == labels
    assert nested.u_draws[1].shape == (1, 300, 40, 1)
