"""The me commands through the public API: same pipeline, Stata's labels and layout."""

from __future__ import annotations

import pytest

import multilevel as ml


def test_melogit_binomial_agq_matches_lme4(cbpp_df, reference):
    # Source: lme4_reference.json "cbpp_agq25" (glmer, nAGQ=25)
    fit = ml.melogit("incidence i.period || herd:", data=cbpp_df, binomial="size", intpoints=25)
    entry = reference["cbpp_agq25"]
    assert fit.params["_cons"] == pytest.approx(entry["fixef"]["(Intercept)"], rel=1e-4)
    for k in (2, 3, 4):
        assert fit.params[f"{k}.period"] == pytest.approx(entry["fixef"][f"period{k}"], rel=1e-4)
        assert fit.se[f"{k}.period"] == pytest.approx(entry["se"][f"period{k}"], rel=1e-4)
    assert fit.params["herd: var(_cons)"] == pytest.approx(
        entry["varcomp"]["herd:(Intercept):"], rel=1e-4
    )
    text = str(fit)
    assert "Mixed-effects logistic regression" in text
    assert "Binomial variable: size" in text
    assert "Integration method: mvaghermite" in text and "Integration pts.  =         25" in text
    assert "LR test vs. logistic model: chibar2(01)" in text


def test_same_glmm_from_both_syntaxes(cbpp_df):
    a = ml.mepoisson("incidence i.period || herd:", data=cbpp_df, exposure="size")
    b = ml.mepoisson("incidence ~ C(period) + (1 | herd)", data=cbpp_df, exposure="size")
    assert a.loglik == b.loglik
    assert list(a.params.index) == list(b.params.index)


def test_meologit_laplace_matches_clmm(wine_df, reference):
    # Source: lme4_reference.json "wine_clmm" (ordinal::clmm, Laplace)
    fit = ml.meologit("rating i.temp i.contact || judge:", data=wine_df, intmethod="laplace")
    entry = reference["wine_clmm"]
    assert fit.loglik == pytest.approx(entry["loglik"], rel=1e-6)
    assert fit.params["warm.temp"] == pytest.approx(entry["coef"]["tempwarm"], rel=1e-4)
    assert fit.params["/cut1"] == pytest.approx(entry["coef"]["1|2"], rel=1e-4)
    assert fit.params["judge: var(_cons)"] == pytest.approx(entry["varcomp"]["judge"], rel=1e-4)


def test_glmm_postestimation_closed_forms():
    from multilevel.datasets.simulate import simulate_mixed

    df = simulate_mixed(
        60,
        20,
        {"x": 1.0, "_cons": 0.0},
        {"x": 0.5, "_cons": 1.0},
        corr=0.3,
        family="bernoulli",
        seed=2,
    )
    full = ml.melogit("y x || g: x, cov(un)", data=df, intmethod="laplace")
    sd = full.estat_sd()
    p = full.params
    assert sd.loc["g: sd(x)", "estimate"] == pytest.approx(p["g: var(x)"] ** 0.5, rel=1e-9)
    corr = p["g: cov(x,_cons)"] / (p["g: var(x)"] * p["g: var(_cons)"]) ** 0.5
    assert sd.loc["g: corr(x,_cons)", "estimate"] == pytest.approx(corr, rel=1e-9)
    wald = full.test("x = 1")
    assert wald.chi2 == pytest.approx(((p["x"] - 1) / full.se["x"]) ** 2, rel=1e-9)
    intercepts = ml.melogit("y x || g:", data=df, intmethod="laplace")
    lr = ml.lrtest(full, intercepts)
    assert lr.chi2 == pytest.approx(2 * (full.loglik - intercepts.loglik), rel=1e-12)
    assert lr.df == 2
