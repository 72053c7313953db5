"""Stata expressions: precedence, missing values, strings, functions, _n/_N and subscripts.

Expected values follow Stata's rules ([U] 13 Functions and expressions), computed by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from multilevel.commands.errors import CommandError
from multilevel.commands.expressions import Context, condition, evaluate

NAN = math.nan

SCALAR_CASES = [
    ("2+3*4", 14),
    ("(2+3)*4", 20),
    ("-2^2", -4),  # ^ binds tighter than unary minus
    ("2^3^2", 64),  # ^ associates to the left in Stata
    ("2^-1", 0.5),
    ("10/4", 2.5),
    ("7-2-1", 4),
    ("!0", 1),
    ("!5", 0),
    ("!0 == 1", 1),  # ! binds tighter than ==
    ("~(1 == 2)", 1),
    ("1 < 2 & 3 > 2", 1),
    ("1 > 2 | 3 > 2", 1),
    ("1 == 1 | 0 & 0", 1),  # & before |
    ("3 ~= 3", 0),
    ("3 != 4", 1),
    ("2 >= 2", 1),
    ("2 <= 1", 0),
    # missing values: larger than every number, true in logic, absorbing in arithmetic
    (". > 5", 1),
    (". < 5", 0),
    (". == .", 1),
    (". > 1e300", 1),
    (".a > 5", 1),
    ("!.", 0),
    (". & 1", 1),
    (". | 0", 1),
    (". + 1", NAN),
    ("1/0", NAN),
    ("0/0", NAN),
    ("ln(-1)", NAN),
    ("sqrt(-4)", NAN),
    ("(-8)^(1/3)", NAN),
    # functions
    ("ln(exp(2))", 2),
    ("log10(1000)", 3),
    ("abs(-3.5)", 3.5),
    ("round(2.5)", 3),
    ("round(-2.5)", -2),  # halves round up: floor(x + .5)
    ("round(3.14159, .01)", 3.14),
    ("floor(-1.5)", -2),
    ("ceil(-1.5)", -1),
    ("int(-1.7)", -1),
    ("missing(.)", 1),
    ("missing(1, 2)", 0),
    ("mi(1, .)", 1),
    ("min(3, ., 1)", 1),
    ("max(3, ., 1)", 3),
    ("max(., .)", NAN),
    ("cond(1, 2, 3)", 2),
    ("cond(0, 2, 3)", 3),
    ("cond(., 2, 3, 4)", 4),
    ("inlist(2, 1, 2, 3)", 1),
    ("inlist(5, 1, 2, 3)", 0),
    ("inrange(5, 1, .)", 1),
    ("inrange(., 1, 10)", 0),
    ("normal(0)", 0.5),
    ("invnormal(0.975)", 1.959963984540054),
    ('strlen("abc")', 3),
    ('"a" == "a"', 1),
    ('"a" < "b"', 1),
    ('real("12.5")', 12.5),
    ("_pi", math.pi),
    ("1e3 + .5", 1000.5),
]


@pytest.mark.parametrize("text, expected", SCALAR_CASES)
def test_scalar_expressions(text, expected):
    (value,) = evaluate(text, Context())
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('"a" + "b"', "ab"),
        ('upper("ab")', "AB"),
        ('substr("hello", 2, 3)', "ell"),
        ("string(1.5)", "1.5"),
    ],
)
def test_string_expressions(text, expected):
    assert evaluate(text, Context())[0] == expected


@pytest.fixture
def ctx():
    df = pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0, 4.0],
            "homework": [0.0, 1.0, 2.0, 3.0],
            "home_town": ["a", "b", "", "d"],
            "g": [1, 1, 2, 2],
        }
    )
    return Context(df=df)


def test_missing_rows_satisfy_greater_than(ctx):
    # Stata: `x > 2` holds where x is missing; `x < .` picks the non-missing rows.
    assert condition("x > 2", ctx).tolist() == [False, True, True, True]
    assert condition("x < .", ctx).tolist() == [True, False, True, True]
    assert condition("!missing(x)", ctx).tolist() == [True, False, True, True]


def test_arithmetic_with_a_missing_row_is_missing(ctx):
    values = evaluate("x * 2 + homework", ctx)
    assert np.isnan(values[1]) and values.tolist()[::2] == [2.0, 8.0]


def test_observation_numbers_and_subscripts(ctx):
    assert evaluate("_n", ctx).tolist() == [1, 2, 3, 4]
    assert evaluate("_N", ctx).tolist() == [4, 4, 4, 4]
    lagged = evaluate("homework[_n-1]", ctx)
    assert np.isnan(lagged[0]) and lagged[1:].tolist() == [0, 1, 2]
    assert evaluate("homework[_N]", ctx).tolist() == [3, 3, 3, 3]


def test_by_groups_restart_observation_numbers(ctx):
    ctx.groups = np.array([0, 0, 1, 1])
    assert evaluate("_n", ctx).tolist() == [1, 2, 1, 2]
    assert evaluate("_N", ctx).tolist() == [2, 2, 2, 2]
    lagged = evaluate("homework[_n-1]", ctx)
    assert np.isnan(lagged[0]) and np.isnan(lagged[2])
    assert lagged[[1, 3]].tolist() == [0, 2]


def test_variable_abbreviations(ctx):
    assert evaluate("homew + 1", ctx).tolist() == [1, 2, 3, 4]
    with pytest.raises(CommandError, match="home ambiguous abbreviation"):
        evaluate("home", ctx)


def test_string_missing_is_empty(ctx):
    assert condition('home_town == ""', ctx).tolist() == [False, False, True, False]
    assert evaluate("missing(home_town)", ctx).tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("x = 1", "use == to compare"),
        ("nothere + 1", "variable nothere not found"),
        ("x + ", "unexpected the end"),
        ("(x + 1", r"expected '\)'"),
        ('x + "a"', "type mismatch"),
        ("home_town > 1", "type mismatch"),
        ("foo(1)", r"unknown function foo\(\)"),
        ("round(1, 2, 3)", "wrong number of arguments"),
        ("x $ 2", "cannot read"),
        ("", "expression required"),
    ],
)
def test_bad_expressions_are_clear_errors(ctx, text, message):
    with pytest.raises(CommandError, match=message):
        evaluate(text, ctx)


def test_no_python_evaluation():
    # Python syntax and names mean nothing here: attributes and dunder names are refused.
    for text in ("__import__('os')", "x.__class__", "open('f')"):
        with pytest.raises(CommandError):
            evaluate(text, Context(df=pd.DataFrame({"x": [1.0]})))


def test_coefficients_come_from_the_estimates():
    ctx = Context(
        coefficient=lambda which, name: {"b": 2.0, "se": 0.5}[which] if name == "x" else 0
    )
    assert evaluate("_b[x] / _se[x]", ctx)[0] == 4.0
