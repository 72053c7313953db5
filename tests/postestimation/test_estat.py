"""estat sd, estat icc and estat ic against the seed's Stata output and closed forms.

Matching Stata's printed variance-type numbers: our optimum is the exact maximum of the likelihood,
while Stata stops its Newton-Raphson at nrtolerance(1e-5), so its variance parameters sit up to about
1e-5 (relative) from the optimum (its printed point has a lower likelihood than ours). Those numbers
are compared at rel=2e-5; correlations match the printed digits.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import multilevel as ml
from multilevel.errors import OptionError
from multilevel.postestimation.estat import logit_interval
from multilevel.postestimation.frame import StataFrame

# Seed 000_*.txt, `estat sd` after the seed's mixed model: estimate, se, lower, upper.
SEED_SD = {
    "schid: sd(homework)": (4.04633, 0.7037307, 2.877543, 5.68985),
    "schid: sd(_cons)": (7.499936, 1.282715, 5.363848, 10.4867),
    "schid: corr(homework,_cons)": (-0.8565706, 0.0640156, -0.941546, -0.6691179),
    "sd(Residual)": (7.303617, 0.2376639, 6.852348, 7.784605),
}
SEED_LOGLIK = -1817.4205  # seed 000_*.txt, mixed header


def test_estat_sd_matches_seed(math_fit):
    table = math_fit.estat_sd()
    assert isinstance(table, StataFrame)
    assert list(table.index) == list(SEED_SD)
    for name, expected in SEED_SD.items():
        np.testing.assert_allclose(table.loc[name].to_numpy(), expected, rtol=2e-5, err_msg=name)
    # the correlation estimate matches Stata's printed digits
    assert f"{table.loc['schid: corr(homework,_cons)', 'estimate']:.7f}" == "-0.8565706"


def test_estat_sd_text_has_stata_layout(math_fit):
    lines = str(math_fit.estat_sd()).splitlines()
    # seed 000_*.txt (its rules and bars are lost in the slide text): header and section title
    assert (
        lines[1] == "  Random-effects parameters  |   Estimate   Std. err.     [95% conf. interval]"
    )
    assert lines[3].rstrip(" |") == "schid: Unstructured"
    labels = [line[:28].strip() for line in lines if "(" in line[:28]]
    assert labels == ["sd(homework)", "sd(_cons)", "corr(homework,_cons)", "sd(Residual)"]
    assert "-.8565706" in lines[6]


def test_icc_one_level_closed_form_and_delta_method(dyestuff_df, reference):
    fit = ml.mixed("Yield || Batch:", data=dyestuff_df)
    var_b, var_e = fit.variance_components()["estimate"].to_numpy()
    icc = var_b / (var_b + var_e)
    # closed form with lme4's estimates (lme4_reference.json dyestuff_ml), 1e-5 as its README says
    ref = reference["dyestuff_ml"]["varcomp"]
    ref_icc = ref["Batch:(Intercept):"] / (ref["Batch:(Intercept):"] + ref["Residual:NA:"])
    table = fit.estat_icc()
    assert list(table.index) == ["Batch"]
    np.testing.assert_allclose(table.loc["Batch", "icc"], icc, rtol=1e-12)
    np.testing.assert_allclose(table.loc["Batch", "icc"], ref_icc, rtol=1e-5)
    # delta method by hand: icc = e^{2a} / (e^{2a} + e^{2b}) in a = ln sd_B, b = ln sd_e, so
    # d icc / da = 2 icc (1 - icc) = -d icc / db
    cov = fit.variance.cov_phi
    se = 2 * icc * (1 - icc) * np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    np.testing.assert_allclose(table.loc["Batch", "se"], se, rtol=1e-6)
    lower, upper = logit_interval(icc, se, stats.norm.ppf(0.975))
    np.testing.assert_allclose(table.loc["Batch", ["lower", "upper"]], [lower, upper], rtol=1e-6)


def test_icc_nested_levels(pastes_fit, reference):
    var_b, var_c, var_e = pastes_fit.variance_components()["estimate"].to_numpy()
    total = var_b + var_c + var_e
    table = pastes_fit.estat_icc()
    # Stata names nested levels inner|outer; level k sums the variances of levels 1..k
    assert list(table.index) == ["batch", "cask|batch"]
    np.testing.assert_allclose(table["icc"], [var_b / total, (var_b + var_c) / total], rtol=1e-12)
    ref = reference["pastes_reml"]["varcomp"]  # lme4_reference.json, REML
    r_b, r_c, r_e = ref["batch:(Intercept):"], ref["cask:batch:(Intercept):"], ref["Residual:NA:"]
    np.testing.assert_allclose(
        table["icc"], [r_b / (r_b + r_c + r_e), (r_b + r_c) / (r_b + r_c + r_e)], rtol=1e-5
    )
    # delta method by hand in phi = (ln sd_b, ln sd_c, ln sd_e): d icc_k / d phi_j =
    # 2 v_j ([j <= k] T - S_k) / T^2
    v = np.array([var_b, var_c, var_e])
    cov = pastes_fit.variance.cov_phi
    for k in range(2):
        s_k = v[: k + 1].sum()
        grad = 2 * v * ((np.arange(3) <= k) * total - s_k) / total**2
        np.testing.assert_allclose(table["se"].iloc[k], np.sqrt(grad @ cov @ grad), rtol=1e-6)


def test_icc_interval_reproduces_stata():
    # stata.com, "Intraclass correlations for multilevel models" (productivity data):
    # region ICC .159893, std. err. .127627, 95% interval [.0287143, .5506202]
    lower, upper = logit_interval(0.159893, 0.127627, stats.norm.ppf(0.975))
    np.testing.assert_allclose([lower, upper], [0.0287143, 0.5506202], rtol=2e-5)


def test_icc_with_random_slope_is_conditional_on_zero_covariates(math_fit, math_ri_fit):
    variances = math_fit.variance_components()["estimate"]
    cons, resid = variances["schid: var(_cons)"], variances["var(Residual)"]
    table = math_fit.estat_icc()
    np.testing.assert_allclose(table.loc["schid", "icc"], cons / (cons + resid), rtol=1e-12)
    # with the seed's printed variances (000_*.txt): 56.24904 / (56.24904 + 53.34282)
    np.testing.assert_allclose(table.loc["schid", "icc"], 56.24904 / 109.59186, rtol=2e-5)
    text = str(table)
    assert text.startswith("Intraclass correlation\n\n")
    assert text.endswith("Note: ICC is conditional on zero values of random-effects covariates.")
    # a random-intercept model has no note
    assert "Note" not in str(math_ri_fit.estat_icc())


def test_icc_refuses_crossed_and_slope_only_levels(penicillin_fit, math_df):
    with pytest.raises(OptionError, match="crossed"):
        penicillin_fit.estat_icc()
    slopes_only = ml.mixed("math homework || schid: homework, noconstant", data=math_df)
    with pytest.raises(OptionError, match="random intercept"):
        slopes_only.estat_icc()


def test_estat_ic(math_fit):
    table = math_fit.estat_ic()
    row = table.loc["."]
    assert row["N"] == 519 and row["df"] == 7  # 3 coefficients, 3 random-effects, 1 residual
    assert np.isnan(row["ll_null"])
    # closed forms with the seed's log likelihood (000_*.txt): AIC = -2 ll + 2 df, BIC with ln N
    np.testing.assert_allclose(row["AIC"], -2 * SEED_LOGLIK + 14, atol=2e-4)
    np.testing.assert_allclose(row["BIC"], -2 * SEED_LOGLIK + np.log(519) * 7, atol=2e-4)
    lines = str(table).splitlines()
    assert (
        lines[3] == "       Model |          N   ll(null)  ll(model)      df        AIC        BIC"
    )
    assert lines[5].startswith("           . |        519          .  -1817.421       7   3648.841")
    assert lines[-1] == "Note: BIC uses N = number of observations. See [R] IC note."
