"""The seed's model on the math data: columns, labels, groups, new-data encoding, speed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from multilevel.design import Design, build_design, encode_fixed, random_block_for
from multilevel.spec.model_spec import Factor, ModelSpec, RandomLevel, Term


def test_math_dta_columns_follow_stata(math_dta, math_spec):
    design = build_design(math_spec, math_dta)
    # Seed 000 table of `mixed math homework i.schtype || schid: homework`: rows homework,
    # schtype (Private base, Public), _cons.
    assert [c.label for c in design.fixed_columns] == [
        "homework",
        "0.schtype",
        "1.schtype",
        "_cons",
    ]
    assert [c.status for c in design.fixed_columns] == [
        "estimated",
        "base",
        "estimated",
        "estimated",
    ]
    assert [c.group for c in design.fixed_columns] == ["", "schtype", "schtype", ""]
    assert [c.level_text for c in design.fixed_columns][1:3] == ["Private", "Public"]
    assert [c.term for c in design.fixed_columns] == [0, 1, 1, -1]
    assert design.fixed_names == ["homework", "1.schtype", "_cons"]


def test_math_dta_arrays(math_dta, math_spec):
    design = build_design(math_spec, math_dta)
    assert isinstance(design, Design)
    assert design.nobs == 519  # seed: Number of obs = 519
    assert design.n_dropped == 0
    assert design.notes == []
    assert design.X.shape == (519, 3)
    assert design.X.dtype == np.float64
    # Column sums of math.dta: sum(homework) = 1023, 317 students in public schools, 519 rows.
    np.testing.assert_array_equal(design.X.sum(axis=0), [1023.0, 317.0, 519.0])
    np.testing.assert_array_equal(design.X[:, 0], math_dta["homework"].to_numpy(np.float64))
    np.testing.assert_array_equal(design.X[:, 1], (math_dta["schtype"] == 1).to_numpy(np.float64))
    np.testing.assert_array_equal(design.y, math_dta["math"].to_numpy(np.float64))
    assert design.row_index.equals(math_dta.index)
    assert design.trials is None and design.offset is None and design.response_levels == ()


def test_math_groups_match_seed(math_dta, math_spec):
    (block,) = build_design(math_spec, math_dta).blocks
    # Seed: Group variable: schid, Number of groups = 23, obs per group min 5, avg 22.6, max 67.
    assert block.label == "schid"
    assert block.n_groups == 23
    sizes = block.group_sizes()
    assert sizes.min() == 5 and sizes.max() == 67
    assert round(sizes.mean(), 1) == 22.6
    assert block.effect_names == ("homework", "_cons")
    np.testing.assert_array_equal(block.Z[:, 0], math_dta["homework"].to_numpy(np.float64))
    np.testing.assert_array_equal(block.Z[:, 1], np.ones(519))
    # Groups in sorted order of schid; codes index them.
    assert block.group_values == sorted(block.group_values)
    schid = math_dta["schid"].to_numpy()
    np.testing.assert_array_equal(np.asarray(block.group_values)[block.codes], schid)


def test_math_csv_gives_same_design_as_dta(math_csv, math_dta, math_spec):
    from_csv = build_design(math_spec, math_csv)
    from_dta = build_design(math_spec, math_dta)
    np.testing.assert_array_equal(from_csv.X, from_dta.X)
    assert from_csv.fixed_names == from_dta.fixed_names
    # Without value labels the level text is the level itself.
    assert [c.level_text for c in from_csv.fixed_columns][1:3] == ["0", "1"]


def test_encode_fixed_reproduces_training_x(math_dta, math_spec):
    design = build_design(math_spec, math_dta)
    np.testing.assert_array_equal(encode_fixed(design.encoding, math_dta), design.X)


def test_encode_fixed_on_new_rows(math_dta, math_spec):
    design = build_design(math_spec, math_dta)
    new = pd.DataFrame({"homework": [2.0, 0.0, np.nan], "schtype": [1, 0, 1]})
    X = encode_fixed(design.encoding, new)
    np.testing.assert_array_equal(X[:2], [[2.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    assert np.isnan(X[2, 0])  # a missing covariate gives a missing row


def test_random_block_for_new_data_codes_known_groups(math_dta, math_spec):
    design = build_design(math_spec, math_dta)
    block = design.blocks[0]
    known = block.group_values[4]
    new = pd.DataFrame({"schid": [known, 1.0, np.nan], "homework": [1.0, 2.0, 3.0]})
    new_block = random_block_for(block.level, new, block.group_values)
    np.testing.assert_array_equal(new_block.codes, [4, -1, -1])
    assert new_block.group_values == block.group_values
    np.testing.assert_array_equal(new_block.Z, [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])


def test_million_rows_hundred_thousand_groups():
    # Build time is measured in benchmarks/; here: the large design is built correctly.
    rng = np.random.default_rng(20240601)
    n = 1_000_000
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "a": rng.integers(0, 4, n),
            "g": rng.integers(0, 100_000, n),
        }
    )
    spec = ModelSpec(
        "y",
        (Term((Factor("x"),)), Term((Factor("a", "categorical"),))),
        levels=(RandomLevel(("g",), ("x",)),),
    )
    design = build_design(spec, data)
    assert design.blocks[0].n_groups == len(np.unique(data["g"]))
    assert design.X.shape == (n, 5)


def test_labelled_categorical_is_coded_by_its_numbers(shared_data, math_dta, math_spec):
    # A .dta read with value labels as categories is still Stata's 0/1 variable: 1.schtype.
    labelled = pd.read_stata(shared_data / "math.dta", convert_categoricals=True)
    labelled.attrs["value_labels"] = math_dta.attrs["value_labels"]
    design = build_design(math_spec, labelled)
    assert [c.label for c in design.fixed_columns] == [
        "homework",
        "0.schtype",
        "1.schtype",
        "_cons",
    ]
    assert [c.level_text for c in design.fixed_columns][1:3] == ["Private", "Public"]
    np.testing.assert_array_equal(design.X, build_design(math_spec, math_dta).X)
    new = pd.DataFrame({"homework": [1.0, 1.0], "schtype": ["Public", 0]})
    np.testing.assert_array_equal(encode_fixed(design.encoding, new), [[1, 1, 1], [1, 0, 1]])


def test_plain_text_categorical_uses_the_text_as_level(shared_data, math_spec):
    labelled = pd.read_stata(shared_data / "math.dta", convert_categoricals=True)
    design = build_design(math_spec, labelled)
    assert design.fixed_names == ["homework", "Public.schtype", "_cons"]
    assert design.fixed_columns[1].label == "Private.schtype"
