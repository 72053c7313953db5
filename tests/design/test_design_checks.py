"""Bad input gives a DataError naming the problem; missing rows are dropped and reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.design import build_design
from multilevel.errors import DataError
from multilevel.spec.model_spec import Factor, ModelSpec, RandomLevel, Term


def spec_with(*names, response="y", levels=(), kind="continuous"):
    fixed = tuple(Term((Factor(n, kind),)) for n in names)
    return ModelSpec(response, fixed, levels=levels)


@pytest.fixture
def frame():
    """12 rows with y, x, z numeric, w text, grp groups of 3 (4 groups)."""
    return pd.DataFrame(
        {
            "y": np.arange(12, dtype=float),
            "x": np.linspace(0.0, 1.0, 12) ** 2,
            "z": np.cos(np.arange(12.0)),
            "w": list("abcabcabcabc"),
            "grp": np.repeat([10, 20, 30, 40], 3),
        }
    )


def test_unknown_variable_suggests_close_match(math_dta, math_spec):
    spec = ModelSpec("math", (Term((Factor("homewrk"),)),), levels=math_spec.levels)
    with pytest.raises(DataError, match=r"variable homewrk not found; did you mean homework\?"):
        build_design(spec, math_dta)


def test_unknown_grouping_variable(frame):
    with pytest.raises(DataError, match="variable school not found"):
        build_design(spec_with("x", levels=(RandomLevel(("school",)),)), frame)


def test_non_numeric_covariate_names_column_and_value(frame):
    with pytest.raises(DataError, match=r"covariate w must be numeric.*'a'"):
        build_design(spec_with("w"), frame)


def test_numbers_stored_as_text_are_not_silently_converted(frame):
    data = frame.assign(x=frame["x"].astype(str))
    with pytest.raises(DataError, match="covariate x must be numeric"):
        build_design(spec_with("x"), data)


def test_string_response_is_an_error(frame):
    with pytest.raises(DataError, match=r"response w must be numeric.*'a'"):
        build_design(spec_with("x", response="w"), frame)


def test_categorical_response_is_an_error(frame):
    data = frame.assign(y=pd.Categorical(frame["w"]))
    with pytest.raises(DataError, match="response y must be numeric"):
        build_design(spec_with("x"), data)


def test_random_slope_must_be_numeric(frame):
    level = RandomLevel(("grp",), ("w",))
    with pytest.raises(DataError, match="random-slope variable w must be numeric"):
        build_design(spec_with("x", levels=(level,)), frame)


def test_missing_rows_dropped_listwise_and_counted(frame):
    data = frame.copy()
    data.loc[[1, 4], "x"] = np.nan
    data.loc[4, "y"] = np.nan  # same row twice counts once
    data.loc[7, "grp"] = np.nan
    data.loc[9, "w"] = None
    spec = spec_with("x", "w", kind="auto", levels=(RandomLevel(("grp",)),))
    design = build_design(spec, data)
    assert design.n_dropped == 4
    assert design.notes[0] == "(4 observations dropped because of missing values)"
    assert list(design.row_index) == [0, 2, 3, 5, 6, 8, 10, 11]
    np.testing.assert_array_equal(design.y, [0, 2, 3, 5, 6, 8, 10, 11])
    np.testing.assert_array_equal(design.blocks[0].group_sizes(), [2, 2, 2, 2])


def test_empty_string_counts_as_missing_in_text_columns(frame):
    data = frame.copy()
    data.loc[0, "w"] = ""
    design = build_design(spec_with("w", kind="categorical"), data)
    assert design.n_dropped == 1
    assert design.notes == ["(1 observation dropped because of missing values)"]


def test_variable_not_in_the_model_does_not_drop_rows(frame):
    data = frame.assign(z=np.nan)
    assert build_design(spec_with("x"), data).n_dropped == 0


def test_all_missing_column_is_an_error(frame):
    data = frame.assign(z=np.nan)
    with pytest.raises(DataError, match="variable z has only missing values"):
        build_design(spec_with("x", "z"), data)


def test_no_rows_left_is_an_error(frame):
    data = frame.copy()
    data.loc[::2, "x"] = np.nan
    data.loc[1::2, "z"] = np.nan
    with pytest.raises(DataError, match="no observations"):
        build_design(spec_with("x", "z"), data)


def test_empty_frame_is_an_error(frame):
    with pytest.raises(DataError, match="no observations"):
        build_design(spec_with("x"), frame.iloc[:0])


def test_infinite_value_is_an_error(frame):
    data = frame.copy()
    data.loc[5, "x"] = np.inf
    with pytest.raises(DataError, match="variable x holds an infinite value"):
        build_design(spec_with("x"), data)


def test_dict_of_columns_is_accepted(frame):
    design = build_design(spec_with("x"), {k: frame[k].to_numpy() for k in ("y", "x")})
    assert design.nobs == 12


def test_non_frame_data_is_an_error():
    with pytest.raises(DataError, match="DataFrame"):
        build_design(spec_with("x"), [[1.0, 2.0]])


def test_nullable_pandas_dtypes():
    data = pd.DataFrame(
        {
            "y": pd.array([1, 2, None, 4, 5, 7], dtype="Int64"),
            "x": pd.array([1.0, 2.0, 3.0, None, 5.0, 1.0], dtype="Float64"),
            "b": pd.array([True, False, True, True, None, False], dtype="boolean"),
            "g": pd.array(["a", "b", "a", "b", "a", "c"], dtype="string"),
        }
    )
    spec = ModelSpec(
        "y",
        (Term((Factor("x"),)), Term((Factor("b", "auto"),))),
        levels=(RandomLevel(("g",), ("b",)),),
    )
    design = build_design(spec, data)
    assert design.n_dropped == 3
    assert [c.label for c in design.fixed_columns] == ["x", "0.b", "1.b", "_cons"]
    np.testing.assert_array_equal(design.X, [[1, 1, 1], [2, 0, 1], [1, 0, 1]])
    np.testing.assert_array_equal(design.y, [1, 2, 7])
    assert design.blocks[0].group_values == ["a", "b", "c"]
    np.testing.assert_array_equal(design.blocks[0].Z, [[1, 1], [0, 1], [0, 1]])
