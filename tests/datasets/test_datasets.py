"""The data sets shipped with the package."""

from __future__ import annotations

import pandas as pd
import pytest

from multilevel import datasets
from multilevel.errors import DataError

# Rows and columns: ../shared/data/README.md and the R packages' documentation
# (lme4: sleepstudy 180 x 3, Dyestuff 30 x 2, Penicillin 144 x 3, Pastes 60 x 4, cbpp 56 x 4;
# ordinal: wine 72 x 6; nlme: Orthodont 108 x 4; the seed's math: 519 x 4).
SHAPES = {
    "cbpp": (56, 4),
    "Dyestuff": (30, 2),
    "math": (519, 4),
    "Orthodont": (108, 4),
    "Pastes": (60, 4),
    "Penicillin": (144, 3),
    "sleepstudy": (180, 3),
    "wine": (72, 6),
}


def test_names_lists_every_shipped_set_in_case_blind_order():
    assert datasets.names() == sorted(SHAPES, key=str.lower)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_load_gives_the_documented_shape(name):
    assert datasets.load(name).shape == SHAPES[name]


@pytest.mark.parametrize("spelling", ["sleepstudy", "SLEEPSTUDY", "SleepStudy"])
def test_names_are_case_blind(spelling):
    df = datasets.load(spelling)
    assert list(df.columns) == ["Reaction", "Days", "Subject"]


def test_load_returns_a_fresh_frame():
    first = datasets.load("dyestuff")
    first.loc[0, "Yield"] = -1
    assert datasets.load("dyestuff").loc[0, "Yield"] != -1


def test_math_keeps_value_labels():
    df = datasets.load("math")
    # Seed `label list public`: 1 Public, 0 Private.
    assert df.attrs["value_labels"]["schtype"] == {0: "Private", 1: "Public"}
    assert df["schtype"].isin([0, 1]).all()


def test_csv_columns_keep_read_csv_types():
    # Factors with numeric labels come back as integers, text factors as text.
    assert pd.api.types.is_integer_dtype(datasets.load("sleepstudy")["Subject"])
    assert datasets.load("Dyestuff")["Batch"].tolist()[:6] == ["A"] * 5 + ["B"]
    # lme4's Dyestuff: six batches of five.
    assert datasets.load("Dyestuff").groupby("Batch").size().tolist() == [5] * 6


def test_unknown_name_lists_available():
    with pytest.raises(DataError, match=r"'nosuch'.*available: cbpp, Dyestuff, math"):
        datasets.load("nosuch")


def test_every_file_has_a_source():
    sources = (datasets.path("math").parent / "SOURCES.md").read_text(encoding="utf-8")
    for name in datasets.names():
        assert datasets.path(name).name in sources


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shipped_copy_equals_reference_copy(shared_data, name):
    packaged = datasets.path(name)
    reference = shared_data / packaged.name
    if not reference.is_file():
        pytest.skip(f"{reference} is absent")
    assert packaged.read_bytes() == reference.read_bytes()
