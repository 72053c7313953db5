"""Factor coding: levels, labels, base levels, interactions, value labels, auto kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.design import build_design, encode_fixed
from multilevel.errors import DataError
from multilevel.spec.model_spec import Factor, ModelSpec, Term


def c(name):
    return Factor(name, "continuous")


def i(name, base=None):
    return Factor(name, "categorical", base)


def model(*terms, constant=True, source="y", response="y"):
    return ModelSpec(
        response, tuple(Term(tuple(t)) for t in terms), constant=constant, source=source
    )


@pytest.fixture
def frame():
    """40 rows: a in {0,1}, b in {0,1,2}, s text, g floats 1.0/2.5, x and z continuous."""
    rng = np.random.default_rng(7)
    n = 40
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "a": np.tile([0, 1], 20),
            "b": np.repeat([1, 2, 3, 4], 10) % 3,
            "s": np.tile(["u", "v", "w", "w"], 10),
            "f": np.tile([1.0, 0.0], 20),
            "g": np.tile([2.5, 1.0, 1.0, 1.0], 10),
            "flag": np.tile([True, False], 20),
        }
    )


def table(design):
    return [(col.label, col.status) for col in design.fixed_columns]


def test_levels_sort_numerically_and_float_integers_lose_point_zero(frame):
    design = build_design(model([i("f")], [i("g")]), frame)
    assert table(design) == [
        ("0.f", "base"),
        ("1.f", "estimated"),
        ("1.g", "base"),
        ("2.5.g", "estimated"),
        ("_cons", "estimated"),
    ]
    np.testing.assert_array_equal(design.X[:, 0], frame["f"].to_numpy())
    np.testing.assert_array_equal(design.X[:, 1], (frame["g"] == 2.5).to_numpy(float))


@pytest.mark.parametrize(
    ("base", "expected_base"),
    [
        (None, "0.b"),
        (("first",), "0.b"),
        (("last",), "2.b"),
        (("value", 1), "1.b"),
        (("value", 1.0), "1.b"),
    ],
)
def test_base_level_choice(frame, base, expected_base):
    design = build_design(model([i("b", base)]), frame)
    bases = [col.label for col in design.fixed_columns if col.status == "base"]
    assert bases == [expected_base]
    assert design.X.shape == (40, 3)


def test_base_freq_is_the_most_frequent_level(frame):
    # s is u, v, w, w repeated: w is the most frequent level.
    design = build_design(model([i("s", ("freq",))]), frame)
    assert table(design) == [
        ("u.s", "estimated"),
        ("v.s", "estimated"),
        ("w.s", "base"),
        ("_cons", "estimated"),
    ]


def test_base_value_absent_is_an_error(frame):
    with pytest.raises(DataError, match="base level 7 of b"):
        build_design(model([i("b", ("value", 7))]), frame)


def test_ibn_with_constant_omits_the_last_level_as_collinear(frame):
    design = build_design(model([i("b", ("none",))]), frame)
    assert table(design) == [
        ("0.b", "estimated"),
        ("1.b", "estimated"),
        ("2.b", "omitted"),
        ("_cons", "estimated"),
    ]
    assert design.notes == ["note: 2.b omitted because of collinearity."]


def test_ibn_without_constant_estimates_every_level(frame):
    design = build_design(model([i("b", ("none",))], constant=False), frame)
    assert [col.status for col in design.fixed_columns] == ["estimated"] * 3
    np.testing.assert_array_equal(design.X.sum(axis=1), np.ones(40))


def test_stata_main_effect_keeps_base_without_constant(frame):
    # Stata: i.a with noconstant still has a base level (ibn. is needed to drop it).
    design = build_design(model([i("a")], constant=False, source="y i.a, noconstant"), frame)
    assert table(design) == [("0.a", "base"), ("1.a", "estimated")]


def test_formula_without_intercept_estimates_every_level(frame):
    # R: y ~ 0 + C(a) + C(b) gives a all its levels and b treatment contrasts.
    design = build_design(
        model([i("a")], [i("b")], constant=False, source="y ~ 0 + C(a) + C(b)"), frame
    )
    assert table(design) == [
        ("0.a", "estimated"),
        ("1.a", "estimated"),
        ("0.b", "base"),
        ("1.b", "estimated"),
        ("2.b", "estimated"),
    ]


def test_full_factorial_interaction(frame):
    design = build_design(model([i("a")], [i("b")], [i("a"), i("b")]), frame)
    # Stata's a##b: every cell with a factor at its base level is a base.
    assert table(design) == [
        ("0.a", "base"),
        ("1.a", "estimated"),
        ("0.b", "base"),
        ("1.b", "estimated"),
        ("2.b", "estimated"),
        ("0.a#0.b", "base"),
        ("0.a#1.b", "base"),
        ("0.a#2.b", "base"),
        ("1.a#0.b", "base"),
        ("1.a#1.b", "estimated"),
        ("1.a#2.b", "estimated"),
        ("_cons", "estimated"),
    ]
    cols = design.fixed_columns
    assert {col.group for col in cols[5:11]} == {"a#b"}
    assert cols[9].level_text == "1#1"
    expected = ((frame["a"] == 1) & (frame["b"] == 2)).to_numpy(float)
    np.testing.assert_array_equal(design.X[:, design.fixed_names.index("1.a#2.b")], expected)
    assert design.notes == []


def test_interaction_alone_has_one_base_cell(frame):
    design = build_design(model([i("a"), i("b")]), frame)
    statuses = [col.status for col in design.fixed_columns]
    assert statuses == ["base"] + ["estimated"] * 6
    assert design.X.shape == (40, 6)


def test_factor_by_continuous(frame):
    alone = build_design(model([i("a"), c("x")]), frame)
    # Without c.x in the model each level gets its own slope (nothing spans 0.a#c.x).
    assert table(alone) == [
        ("0.a#c.x", "estimated"),
        ("1.a#c.x", "estimated"),
        ("_cons", "estimated"),
    ]
    assert alone.fixed_columns[0].group == "a#c.x"
    np.testing.assert_array_equal(alone.X[:, 1], frame["x"].to_numpy() * (frame["a"] == 1))
    full = build_design(model([i("a")], [c("x")], [i("a"), c("x")]), frame)
    assert table(full) == [
        ("0.a", "base"),
        ("1.a", "estimated"),
        ("x", "estimated"),
        ("0.a#c.x", "base"),
        ("1.a#c.x", "estimated"),
        ("_cons", "estimated"),
    ]
    assert full.fixed_columns[4].level_text == "1"


def test_continuous_by_continuous(frame):
    design = build_design(model([c("x")], [c("z")], [c("x"), c("z")]), frame)
    assert design.fixed_names == ["x", "z", "c.x#c.z", "_cons"]
    assert design.fixed_columns[2].group == ""
    np.testing.assert_array_equal(design.X[:, 2], frame["x"].to_numpy() * frame["z"].to_numpy())


def test_auto_kind_follows_the_column_type(frame):
    spec = model(
        [Factor("s", "auto")],
        [Factor("x", "auto")],
        [Factor("flag", "auto")],
        source="y ~ s + x + flag",
    )
    design = build_design(spec, frame)
    assert table(design) == [
        ("u.s", "base"),
        ("v.s", "estimated"),
        ("w.s", "estimated"),
        ("x", "estimated"),
        ("0.flag", "base"),
        ("1.flag", "estimated"),
        ("_cons", "estimated"),
    ]
    assert design.fixed_columns[1].level_text == "v"


def test_pandas_categorical_keeps_category_order_and_drops_unused(frame):
    data = frame.copy()
    data["s"] = pd.Categorical(data["s"], categories=["w", "zz", "v", "u"])
    design = build_design(model([i("s")]), data)
    assert table(design) == [
        ("w.s", "base"),
        ("v.s", "estimated"),
        ("u.s", "estimated"),
        ("_cons", "estimated"),
    ]
    np.testing.assert_array_equal(encode_fixed(design.encoding, data), design.X)


def test_value_labels_from_attrs_give_level_text(frame):
    data = frame.copy()
    data.attrs["value_labels"] = {"b": {0: "none", 1: "some", 2: "many"}}
    design = build_design(model([i("a")], [i("b")], [i("a"), i("b")]), data)
    cols = {col.label: col for col in design.fixed_columns}
    assert cols["1.b"].level_text == "some"
    assert cols["1.a#2.b"].level_text == "1#many"
    coding = {cd.name: cd for cd in design.encoding.codings}["b"]
    assert coding.levels == (0, 1, 2) and coding.base == 0
    assert coding.value_labels == ("none", "some", "many")


def test_encode_fixed_round_trip_with_interactions_and_missing(frame):
    data = frame.copy()
    data.loc[3, "x"] = np.nan
    spec = model([i("a")], [i("s")], [i("a"), c("x")], [c("x"), c("z")])
    design = build_design(spec, data)
    assert design.n_dropped == 1
    again = encode_fixed(design.encoding, data)
    np.testing.assert_array_equal(np.delete(again, 3, axis=0), design.X)
    assert np.isnan(again[3]).any()


def test_encode_fixed_unseen_level_is_an_error(frame):
    design = build_design(model([i("s")]), frame)
    new = pd.DataFrame({"s": ["u", "q"]})
    with pytest.raises(DataError, match="'q'"):
        encode_fixed(design.encoding, new)
    missing = encode_fixed(design.encoding, pd.DataFrame({"s": ["v", None]}))
    np.testing.assert_array_equal(missing[0], [1.0, 0.0, 1.0])
    assert np.isnan(missing[1, :2]).all()


def test_encode_fixed_needs_the_columns(frame):
    design = build_design(model([c("x")]), frame)
    with pytest.raises(DataError, match="variable x not found"):
        encode_fixed(design.encoding, pd.DataFrame({"w": [1.0]}))
