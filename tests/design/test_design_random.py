"""Random-effects blocks: one level, nested paths, crossed factors, new data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.design import build_design, random_block_for
from multilevel.errors import DataError, OptionError
from multilevel.spec.model_spec import Factor, ModelSpec, RandomLevel, Term


def intercept_only(response, *levels):
    return ModelSpec(response, (), levels=tuple(levels))


def test_pastes_nested_casks_in_batches(pastes_csv):
    # lme4 Pastes (strength ~ 1 + (1 | batch/cask)): 10 batches, 3 casks each, 2 samples per cask.
    spec = intercept_only("strength", RandomLevel(("batch",)), RandomLevel(("batch", "cask")))
    design = build_design(spec, pastes_csv)
    batch, cask = design.blocks
    assert batch.label == "batch" and cask.label == "batch>cask"
    assert batch.n_groups == 10 and cask.n_groups == 30
    np.testing.assert_array_equal(batch.group_sizes(), np.full(10, 6))
    np.testing.assert_array_equal(cask.group_sizes(), np.full(30, 2))
    assert batch.group_values == list("ABCDEFGHIJ")
    assert cask.group_values[:4] == [("A", "a"), ("A", "b"), ("A", "c"), ("B", "a")]
    assert cask.group_values == sorted(cask.group_values)
    # The path of each row is its own batch and cask; `sample` spells the same path "A:a".
    paths = [f"{b}:{c}" for b, c in cask.group_values]
    np.testing.assert_array_equal(np.asarray(paths)[cask.codes], pastes_csv["sample"].to_numpy())
    np.testing.assert_array_equal(design.X, np.ones((60, 1)))
    assert design.fixed_names == ["_cons"]
    np.testing.assert_array_equal(cask.Z, np.ones((60, 1)))


def test_nested_path_sorts_by_outer_value_first():
    data = pd.DataFrame(
        {"y": np.arange(6.0), "school": [2, 1, 2, 1, 10, 2], "cls": ["b", "z", "a", "a", "a", "b"]}
    )
    spec = intercept_only("y", RandomLevel(("school", "cls")))
    (block,) = build_design(spec, data).blocks
    assert block.group_values == [(1, "a"), (1, "z"), (2, "a"), (2, "b"), (10, "a")]
    np.testing.assert_array_equal(block.codes, [3, 1, 2, 0, 4, 3])


def test_penicillin_crossed_levels(penicillin_csv):
    # lme4 Penicillin: 24 plates crossed with 6 samples, one observation per cell (144 rows).
    spec = intercept_only("diameter", RandomLevel(("plate",)), RandomLevel(("sample",)))
    plate, sample = build_design(spec, penicillin_csv).blocks
    assert plate.n_groups == 24 and sample.n_groups == 6
    np.testing.assert_array_equal(plate.group_sizes(), np.full(24, 6))
    np.testing.assert_array_equal(sample.group_sizes(), np.full(6, 24))
    assert sample.group_values == list("ABCDEF")
    cells = plate.codes * 6 + sample.codes
    assert len(np.unique(cells)) == 144


def test_all_notation_crossed_factor(penicillin_csv):
    level = RandomLevel(("plate",), crossed_factor="plate")
    (block,) = build_design(intercept_only("diameter", level), penicillin_csv).blocks
    assert block.label == "_all"
    assert block.effect_names == ("R.plate",)
    assert block.n_groups == 24
    np.testing.assert_array_equal(block.Z, np.ones((144, 1)))


def test_slopes_first_then_constant(math_dta):
    level = RandomLevel(("schid",), ("homework", "schtype"), constant=True)
    (block,) = build_design(ModelSpec("math", (), levels=(level,)), math_dta).blocks
    assert block.effect_names == ("homework", "schtype", "_cons")
    np.testing.assert_array_equal(
        block.Z, np.column_stack([math_dta["homework"], math_dta["schtype"], np.ones(519)])
    )
    no_cons = RandomLevel(("schid",), ("homework",), constant=False)
    (block,) = build_design(ModelSpec("math", (), levels=(no_cons,)), math_dta).blocks
    assert block.Z.shape == (519, 1)


def test_level_without_effects_is_an_error(math_dta):
    level = RandomLevel(("schid",), (), constant=False)
    with pytest.raises(OptionError, match="no random effects"):
        build_design(ModelSpec("math", (), levels=(level,)), math_dta)


def test_singleton_groups_are_noted():
    data = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "id": [1, 2, 3, 4]})
    design = build_design(intercept_only("y", RandomLevel(("id",))), data)
    assert design.blocks[0].n_groups == 4
    assert any("single observation" in note for note in design.notes)
    two = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "id": [1, 1, 3, 4]})
    assert build_design(intercept_only("y", RandomLevel(("id",))), two).notes == []


def test_string_and_numeric_grouping_variables():
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0], "g": ["b", "a", "b"], "h": [2.5, 1.0, 2.5]})
    spec = intercept_only("y", RandomLevel(("g",)), RandomLevel(("h",)))
    g, h = build_design(spec, data).blocks
    assert g.group_values == ["a", "b"] and h.group_values == [1.0, 2.5]
    np.testing.assert_array_equal(g.codes, [1, 0, 1])
    np.testing.assert_array_equal(h.codes, [1, 0, 1])


def test_grouping_values_that_cannot_be_sorted_are_an_error():
    data = pd.DataFrame({"y": [1.0, 2.0], "g": pd.Series([[1], [2]], dtype=object)})
    with pytest.raises(DataError, match="grouping variable g holds values that cannot be sorted"):
        build_design(intercept_only("y", RandomLevel(("g",))), data)


def test_random_block_for_nested_new_data(pastes_csv):
    level = RandomLevel(("batch", "cask"))
    fitted = random_block_for(level, pastes_csv)
    new = pd.DataFrame({"batch": ["B", "K", "A", None], "cask": ["c", "a", "z", "a"]})
    block = random_block_for(level, new, fitted.group_values)
    # ("B", "c") is the 6th group; batch K, cask z and a missing batch are unseen.
    np.testing.assert_array_equal(block.codes, [5, -1, -1, -1])
    assert block.group_values is fitted.group_values


def test_random_block_for_integer_values_find_float_groups(math_dta):
    level = RandomLevel(("schid",))
    fitted = random_block_for(level, math_dta)
    new = pd.DataFrame({"schid": np.array([int(fitted.group_values[2]), 99], dtype=np.int64)})
    np.testing.assert_array_equal(random_block_for(level, new, fitted.group_values).codes, [2, -1])


def test_fixed_factor_and_grouping_share_a_column(math_dta):
    spec = ModelSpec(
        "math",
        (Term((Factor("schtype", "categorical"),)),),
        levels=(RandomLevel(("schtype",)),),
    )
    design = build_design(spec, math_dta)
    assert design.blocks[0].group_values == [0.0, 1.0]
