"""Nothing is silently changed: omitted columns, base levels and boundary estimates are reported."""

from __future__ import annotations

import numpy as np

from multilevel.api import mixed


def test_collinear_column_is_omitted_and_shown(math_df):
    df = math_df.copy()
    df["hw2"] = 2 * df["homework"]
    fit = mixed("math homework hw2 i.schtype || schid:", data=df)
    assert "hw2" not in fit.params.index
    text = fit.summary()
    assert "hw2 |          0  (omitted)" in text
    assert "Private  |          0  (base)" in text
    assert any("hw2 omitted because of collinearity" in n for n in fit.notes)
    # the fit equals the one without the duplicate column (closed form: same column space)
    reduced = mixed("math homework i.schtype || schid:", data=df)
    assert fit.loglik == reduced.loglik


def test_variance_at_zero_is_reported(math_df):
    df = math_df.copy()
    # pure noise has no school effect: the variance estimate sits at its boundary, zero
    df["noise"] = np.random.default_rng(1).normal(size=len(df))
    fit = mixed("noise homework || schid:", data=df)
    assert fit.boundary == ["schid: var(_cons)"]
    assert fit.params["schid: var(_cons)"] < 1e-10
    assert any("boundary" in n for n in fit.notes)
    assert "boundary" in fit.summary()
    assert fit.lr_test["chi2"] < 1e-6 and fit.lr_test["p"] == 1.0


def test_display_options_and_ignored_maximize_settings(math_df):
    fit = mixed("math homework || schid: homework, cov(un) stddev nolrtest iterate(5)", data=math_df)
    text = fit.summary()
    assert "sd(homework)" in text and "var(homework)" not in text
    assert "LR test" not in text
    assert "option(s) iterate ignored" in text
    plain = mixed("math homework || schid: homework, cov(un)", data=math_df)
    assert fit.loglik == plain.loglik
