"""The same model reached from Stata syntax and from a formula gives identical results."""

from __future__ import annotations

import pandas as pd
import pytest

from multilevel.api import mixed

PAIRS = [
    (
        "math homework i.schtype || schid: homework, covariance(unstructured)",
        "math ~ homework + C(schtype) + (homework | schid)",
        "math_df",
        {},
    ),
    (
        "math homework i.schtype || schid: homework",
        "math ~ homework + C(schtype) + (homework || schid)",
        "math_df",
        {},
    ),
    ("math homework || schid:, reml", "math ~ homework + (1 | schid)", "math_df", {"reml": True}),
    ("strength || batch: || cask:", "strength ~ 1 + (1 | batch/cask)", "pastes_df", {"reml": True}),
    (
        "Reaction Days || Subject: Days, cov(un) mle",
        "Reaction ~ Days + (Days | Subject)",
        "sleepstudy_df",
        {},
    ),
]


@pytest.mark.parametrize("stata, formula, fixture, formula_options", PAIRS)
def test_both_syntaxes_give_identical_fits(stata, formula, fixture, formula_options, request):
    data = request.getfixturevalue(fixture)
    from_stata = mixed(
        stata,
        data=data,
        **({"reml": True} if formula_options.get("reml") and "reml" not in stata else {}),
    )
    from_formula = mixed(formula, data=data, **formula_options)
    pd.testing.assert_index_equal(from_stata.params.index, from_formula.params.index)
    assert from_stata.loglik == from_formula.loglik
    pd.testing.assert_series_equal(from_stata.params, from_formula.params, rtol=0, atol=0)
    pd.testing.assert_series_equal(from_stata.se, from_formula.se, rtol=1e-12)


def test_seed_labels(math_df):
    fit = mixed("math ~ homework + C(schtype) + (homework | schid)", data=math_df)
    assert list(fit.params.index) == [
        "homework",
        "1.schtype",
        "_cons",
        "schid: var(homework)",
        "schid: var(_cons)",
        "schid: cov(homework,_cons)",
        "var(Residual)",
    ]


def test_nested_labels(pastes_df):
    fit = mixed("strength || batch: || cask:", data=pastes_df, reml=True)
    assert list(fit.params.index) == [
        "_cons",
        "batch: var(_cons)",
        "batch>cask: var(_cons)",
        "var(Residual)",
    ]
