"""Collinear fixed-effects columns: later columns are omitted, with Stata's note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.design import build_design, encode_fixed
from multilevel.design.fixed import independent_columns
from multilevel.spec.model_spec import Factor, ModelSpec, Term


def spec_with(*names, constant=True):
    return ModelSpec("y", tuple(Term((Factor(n),)) for n in names), constant=constant)


@pytest.fixture
def frame():
    rng = np.random.default_rng(11)
    n = 30
    x1, x3 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x1": x1,
            "x2": 3.0 * x1 - 2.0,  # exactly collinear with x1 and _cons
            "x3": x3,
            # x3 plus noise of relative size 1e-6 (kept) and 1e-10 (rounding-level: collinear)
            "near": 1e3 * x3 + 1e-3 * rng.normal(size=n),
            "nearer": 1e6 * x3 + 1e-4 * rng.normal(size=n),
            "k": np.full(n, 4.0),  # constant: collinear with _cons
            "a": np.repeat([0, 1, 2], 10),
        }
    )


def test_later_collinear_column_is_omitted_with_note(frame):
    design = build_design(spec_with("x1", "x2", "x3"), frame)
    assert [(c.label, c.status) for c in design.fixed_columns] == [
        ("x1", "estimated"),
        ("x2", "omitted"),
        ("x3", "estimated"),
        ("_cons", "estimated"),
    ]
    assert design.notes == ["note: x2 omitted because of collinearity."]
    assert design.fixed_names == ["x1", "x3", "_cons"]
    np.testing.assert_array_equal(design.X[:, 1], frame["x3"].to_numpy())


def test_order_written_decides_which_is_omitted(frame):
    design = build_design(spec_with("x2", "x1"), frame)
    assert [c.status for c in design.fixed_columns] == ["estimated", "omitted", "estimated"]


def test_constant_covariate_is_omitted_not_the_constant(frame):
    design = build_design(spec_with("k", "x1"), frame)
    assert design.fixed_names == ["x1", "_cons"]
    assert design.notes == ["note: k omitted because of collinearity."]


def test_nearly_collinear_column_is_kept(frame):
    design = build_design(spec_with("x3", "near"), frame)
    assert design.fixed_names == ["x3", "near", "_cons"]


def test_column_within_rounding_of_collinear_is_omitted(frame):
    # Tolerance 1e-7 relative (lme4's and R's lm): a residual of 1e-10 of the column is collinear.
    design = build_design(spec_with("x3", "nearer"), frame)
    assert design.fixed_names == ["x3", "_cons"]


def test_covariate_equal_to_a_factor_level_is_omitted(frame):
    data = frame.assign(d=(frame["a"] == 2).astype(float))
    spec = ModelSpec("y", (Term((Factor("a", "categorical"),)), Term((Factor("d"),))))
    design = build_design(spec, data)
    assert [(c.label, c.status) for c in design.fixed_columns] == [
        ("0.a", "base"),
        ("1.a", "estimated"),
        ("2.a", "estimated"),
        ("d", "omitted"),
        ("_cons", "estimated"),
    ]
    np.testing.assert_array_equal(encode_fixed(design.encoding, data), design.X)


def test_empty_interaction_cell_is_reported(frame):
    data = frame.assign(b=np.where(frame["a"] == 2, 0, np.tile([0, 1], 15)))
    a, b = Factor("a", "categorical"), Factor("b", "categorical")
    spec = ModelSpec("y", (Term((a,)), Term((b,)), Term((a, b))))
    design = build_design(spec, data)
    status = {c.label: c.status for c in design.fixed_columns}
    assert status["2.a#1.b"] == "omitted"
    assert status["1.a#1.b"] == "estimated"
    assert design.notes == ["note: 2.a#1.b identifies no observations in the sample."]


def test_independent_columns_keeps_earliest_in_given_order():
    rng = np.random.default_rng(3)
    u, v, w = rng.normal(size=50), rng.normal(size=50), rng.normal(size=50)
    # u, v, u + v, a tiny multiple of v (collinear whatever its scale), zeros, a tiny new direction
    matrix = np.column_stack([u, v, u + v, 1e-9 * v, np.zeros(50), 1e-9 * w])
    np.testing.assert_array_equal(
        independent_columns(matrix, range(6)), [True, True, False, False, False, True]
    )
    # Only the listed columns are tried, in the order given.
    np.testing.assert_array_equal(
        independent_columns(matrix, [2, 1, 0]), [False, True, True, False, False, False]
    )
