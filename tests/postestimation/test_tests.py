"""Wald tests (Stata's ``test``) and likelihood-ratio tests (``lrtest``) after mixed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import multilevel as ml
from multilevel.errors import OptionError
from multilevel.postestimation import lrtest


def _wald(fit, rows: np.ndarray, rhs: np.ndarray) -> float:
    # closed form: (R b - r)' (R V R')^{-1} (R b - r) from fit.params and fit.vcov
    names = list(fit.vcov.index)
    b = fit.params[names].to_numpy()
    gap = rows @ b - rhs
    return float(gap @ np.linalg.solve(rows @ fit.vcov.to_numpy() @ rows.T, gap))


def test_single_constraint(math_fit):
    result = math_fit.test("homework = 1")
    b, se = math_fit.params["homework"], math_fit.se["homework"]
    np.testing.assert_allclose(result.chi2, ((b - 1) / se) ** 2, rtol=1e-10)
    assert result.df == 1
    np.testing.assert_allclose(result.p, stats.chi2.sf(result.chi2, 1), rtol=1e-12)
    assert str(result).splitlines() == [
        " ( 1)  [math]homework = 1",
        "",
        f"           chi2(  1) = {result.chi2:7.2f}",
        f"         Prob > chi2 = {result.p:9.4f}",
    ]


def test_joint_zero_equals_the_header_wald_test(math_fit):
    # seed 000_*.txt, mixed header: Wald chi2(2) = 9.63, Prob > chi2 = 0.0081
    for result in (math_fit.test("homework", "1.schtype"), math_fit.test("homework 1.schtype")):
        assert result.df == 2
        assert f"{result.chi2:.2f}" == "9.63" and f"{result.p:.4f}" == "0.0081"
        assert result.constraints == ["[math]homework = 0", "[math]1.schtype = 0"]
        assert "           chi2(  2) =    9.63" in str(result)
        assert "         Prob > chi2 =    0.0081" in str(result)


def test_linear_expressions(math_fit):
    result = math_fit.test("homework = 2*1.schtype")
    expected = _wald(math_fit, np.array([[1.0, -2.0, 0.0]]), np.array([0.0]))
    np.testing.assert_allclose(result.chi2, expected, rtol=1e-10)
    assert result.constraints == ["[math]homework - 2*[math]1.schtype = 0"]
    # other spellings of constraints, each against the closed form
    cases = {
        "2*homework + 1.schtype = 3": ([2.0, 1.0, 0.0], 3.0),
        "_b[homework] - _cons = -40": ([1.0, 0.0, -1.0], -40.0),
        "[math]1.schtype = .5*homework": ([-0.5, 1.0, 0.0], 0.0),
        "homework*3 = 1e1": ([3.0, 0.0, 0.0], 10.0),
        "math:_cons - 49": ([0.0, 0.0, 1.0], 49.0),
    }
    for text, (row, rhs) in cases.items():
        got = math_fit.test(text).chi2
        want = _wald(math_fit, np.array([row]), np.array([rhs]))
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=text)


def test_parenthesised_constraints_and_dropped_duplicates(math_fit):
    result = math_fit.test("(homework = 1) (1.schtype = -4)")
    expected = _wald(math_fit, np.array([[1.0, 0, 0], [0, 1.0, 0]]), np.array([1.0, -4.0]))
    np.testing.assert_allclose(result.chi2, expected, rtol=1e-10)
    duplicated = math_fit.test("homework = 1", "2*homework = 2")
    assert duplicated.df == 1 and duplicated.dropped == [2]
    assert "       Constraint 2 dropped" in str(duplicated)
    np.testing.assert_allclose(duplicated.chi2, math_fit.test("homework = 1").chi2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("homewrk = 1", "homewrk not found"),
        ("0.schtype", "base"),
        ("homework * 1.schtype = 0", "not linear"),
        ("homework = ", "incomplete"),
        ("[other]homework = 0", "equation"),
        ("1 = 1", "no coefficient"),
    ],
)
def test_bad_hypotheses_are_clear_errors(math_fit, text, message):
    with pytest.raises(OptionError, match=message):
        math_fit.test(text)


def test_lrtest_of_nested_ml_fits(math_fit, math_ri_fit):
    result = lrtest(math_ri_fit, math_fit, names=("ri", "rc"))  # either order
    np.testing.assert_allclose(result.chi2, 2 * (math_fit.loglik - math_ri_fit.loglik))
    assert result.df == 2  # var(homework) and cov(homework,_cons)
    np.testing.assert_allclose(result.p, stats.chi2.sf(result.chi2, 2), rtol=1e-12)
    assert result.boundary_note
    lines = str(result).splitlines()
    assert lines[:3] == ["Likelihood-ratio test", "Assumption: ri nested within rc", ""]
    # Stata 17 layout: the two values right-aligned together
    assert lines[3] == f" LR chi2(2) = {result.chi2:6.2f}"
    assert lines[4] == "Prob > chi2 = 0.0000"
    assert lines[6].startswith("Note: The reported degrees of freedom assumes")
    same = math_fit.lrtest(math_ri_fit, names=("rc", "ri"))
    np.testing.assert_allclose(same.chi2, result.chi2)


def test_lrtest_of_fixed_effects_has_no_boundary_note(math_df, math_fit):
    smaller = ml.mixed("math homework || schid: homework, covariance(unstructured)", data=math_df)
    result = lrtest(math_fit, smaller)
    assert result.df == 1 and not result.boundary_note
    assert "Note" not in str(result)


def test_lrtest_refusals(math_df, math_fit, math_ri_fit):
    reml_a = ml.mixed("math homework i.schtype || schid:", data=math_df, reml=True)
    reml_b = ml.mixed("math homework || schid:", data=math_df, reml=True)
    with pytest.raises(OptionError, match="REML"):
        lrtest(reml_a, reml_b)
    with pytest.raises(OptionError, match="ML and the other by REML"):
        lrtest(math_ri_fit, reml_a)
    with pytest.raises(OptionError, match="df"):
        lrtest(math_fit, math_fit)
    fewer_rows = ml.mixed("math homework i.schtype || schid:", data=math_df.iloc[:400])
    with pytest.raises(OptionError, match="observations differ"):
        lrtest(math_fit, fewer_rows)
    # REML fits with the same fixed part are comparable
    reml_rc = ml.mixed(
        "math homework i.schtype || schid: homework, cov(un)", data=math_df, reml=True
    )
    assert lrtest(reml_a, reml_rc).df == 2
