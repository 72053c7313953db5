"""Random effects, predictions, ICC and the LR test after a GLMM fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import integrate, optimize, special

from multilevel.glmm.predict import icc, predict, random_effects

from .models import fit_model

CBPP = ("incidence i.period || herd:, binomial(size)", "melogit")


@pytest.fixture(scope="module")
def cbpp_fit(cbpp_df):
    return fit_model(*CBPP, cbpp_df, intmethod="mvaghermite", intpoints=15)


def _herd_posterior(fit, herd_rows, b):
    """Unnormalised posterior density of one herd's effect b (closed-form integrand)."""
    design = fit.design
    xb = design.X[herd_rows] @ fit.beta
    p = special.expit(xb + b)
    y, n = design.y[herd_rows], design.trials[herd_rows]
    var = fit.params["herd: var(_cons)"]
    return np.exp(np.sum(y * np.log(p) + (n - y) * np.log1p(-p)) - 0.5 * b * b / var)


def _posterior_moments(fit, rows) -> tuple[float, float]:
    """Posterior mean and sd of one herd's effect by adaptive 1-D numerical integration."""

    def moment(power):
        return integrate.quad(lambda b: b**power * _herd_posterior(fit, rows, b), -6, 6, epsabs=0)[
            0
        ]

    mass, first, second = moment(0), moment(1), moment(2)
    mean = first / mass
    return mean, float(np.sqrt(second / mass - mean**2))


def _posterior_mode(fit, rows) -> float:
    return optimize.minimize_scalar(
        lambda b: -np.log(_herd_posterior(fit, rows, b)),
        bounds=(-5, 5),
        method="bounded",
        options={"xatol": 1e-10},
    ).x


def test_empirical_bayes_means_are_posterior_means(cbpp_fit):
    effects = random_effects(cbpp_fit, "means")[0]
    codes = cbpp_fit.design.blocks[0].codes
    for g in (0, 4, 9):
        mean, sd = _posterior_moments(cbpp_fit, codes == g)
        assert effects.estimate[g, 0] == pytest.approx(mean, abs=1e-6)
        assert effects.se[g, 0] == pytest.approx(sd, abs=1e-6)


def test_empirical_bayes_modes_maximise_the_posterior(cbpp_fit):
    effects = random_effects(cbpp_fit, "modes")[0]
    assert effects.kind == "modes"
    codes = cbpp_fit.design.blocks[0].codes
    for g in (1, 7):
        assert effects.estimate[g, 0] == pytest.approx(
            _posterior_mode(cbpp_fit, codes == g), abs=1e-6
        )
    frame = effects.frame()
    assert list(frame.columns) == ["_cons", "se(_cons)"]
    assert len(frame) == 15


def test_predictions(cbpp_fit):
    design = cbpp_fit.design
    xb = predict(cbpp_fit, "xb")
    np.testing.assert_allclose(xb, design.X @ cbpp_fit.beta)
    eta = predict(cbpp_fit, "eta")
    means = random_effects(cbpp_fit, "means")[0].estimate[:, 0]
    np.testing.assert_allclose(eta, xb + means[design.blocks[0].codes])
    pr = predict(cbpp_fit, "pr")
    np.testing.assert_allclose(pr, special.expit(eta))
    np.testing.assert_allclose(predict(cbpp_fit, "mu"), design.trials * pr)
    np.testing.assert_allclose(predict(cbpp_fit, "pr", random=None), special.expit(xb))


def test_ordinal_category_probabilities(wine_df):
    fit = fit_model("rating i.temp i.contact || judge:", "meologit", wine_df, intmethod="laplace")
    probs = predict(fit, "pr")
    assert list(probs.columns) == ["pr(1)", "pr(2)", "pr(3)", "pr(4)", "pr(5)"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_latent_icc_of_logit_and_probit(cbpp_fit, cbpp_df):
    # Closed form: var / (var + pi^2/3) for logit, var / (var + 1) for probit.
    table = icc(cbpp_fit)
    var = cbpp_fit.params["herd: var(_cons)"]
    assert table.loc["herd", "icc"] == pytest.approx(var / (var + np.pi**2 / 3))
    assert table.loc["herd", "lower"] < table.loc["herd", "icc"] < table.loc["herd", "upper"]
    probit = fit_model("incidence i.period || herd:, binomial(size)", "meprobit", cbpp_df)
    var = probit.params["herd: var(_cons)"]
    assert icc(probit).loc["herd", "icc"] == pytest.approx(var / (var + 1))


def test_lr_test_against_the_logistic_model(cbpp_fit, cbpp_df):
    # The fixed-effects model's log likelihood: statsmodels' logit on the data expanded to 0/1 trials,
    # plus the binomial coefficients (which the expanded data do not have).
    rows = []
    for _, r in cbpp_df.iterrows():
        rows += [{"period": r.period, "y": 1}] * int(r.incidence)
        rows += [{"period": r.period, "y": 0}] * int(r["size"] - r.incidence)
    expanded = pd.DataFrame(rows)
    X = sm.add_constant(
        pd.get_dummies(expanded["period"], prefix="p", drop_first=True).astype(float)
    )
    bernoulli = sm.Logit(expanded["y"], X).fit(disp=0).llf
    coefficients = np.sum(
        special.gammaln(cbpp_df["size"] + 1)
        - special.gammaln(cbpp_df["incidence"] + 1)
        - special.gammaln(cbpp_df["size"] - cbpp_df["incidence"] + 1)
    )
    assert cbpp_fit.glm.loglik == pytest.approx(bernoulli + coefficients, rel=1e-9)
    test = cbpp_fit.lr_test
    assert test["model"] == "logistic" and test["chibar"] and test["df"] == 1
    assert test["chi2"] == pytest.approx(2 * (cbpp_fit.loglik - cbpp_fit.glm.loglik))


def test_odds_ratio_table(cbpp_fit):
    plain = cbpp_fit.table(eform=False)
    odds = cbpp_fit.table(eform=True)
    assert odds.loc["2.period", "coef"] == pytest.approx(np.exp(plain.loc["2.period", "coef"]))
    assert odds.loc["2.period", "se"] == pytest.approx(
        odds.loc["2.period", "coef"] * plain.loc["2.period", "se"]
    )
    assert odds.loc["2.period", "upper"] == pytest.approx(np.exp(plain.loc["2.period", "upper"]))
    # variance rows: log-scale interval, unchanged by eform
    assert odds.loc["herd: var(_cons)", "coef"] == plain.loc["herd: var(_cons)", "coef"]
