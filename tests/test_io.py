"""read_data, describe and label_list."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multilevel import datasets
from multilevel.errors import DataError, OptionError
from multilevel.io import describe, label_list, read_data

# The seed's `describe` of the math data (000_*.txt, lines in Stata's order; its rules are blank
# lines 98 characters wide there, i.e. linesize 99).
SEED_DESCRIBE_TABLE = """\
Variable      Storage   Display    Value
    name         type    format    label      Variable label
{rule}
math            float   %9.0g                 Math score
schtype         float   %9.0g      public     School type
homework        float   %9.0g                 Time spent on math homework each week
schid           float   %9.0g                 School ID
{rule}"""

# The seed's `label list public` (000_*.txt), codes in ascending order as Stata lists them.
SEED_LABEL_LIST = "public:\n           0 Private\n           1 Public\n"


def _math_with_label_set_public(tmp_path: Path) -> Path:
    """The shipped math.dta with its value-label set renamed from ``schtype`` to ``public``.

    The seed's copy of the file calls the set ``public``; the shipped copy calls it ``schtype``.
    The name sits in fixed-width, NUL-padded fields: once as the variable's name (left alone),
    once in the variable's label-set entry and once in the value-label table.
    """
    raw = datasets.path("math").read_bytes()
    old, new = b"schtype\x00", b"public\x00\x00"
    assert raw.count(old) == 3
    first = raw.index(old) + len(old)
    file = tmp_path / "math.dta"
    file.write_bytes(raw[:first] + raw[first:].replace(old, new))
    return file


def _set_sort_order(file: Path, numbers: list[int]) -> None:
    """Write a sort order (1-based variable numbers) into a format-118 file written by pandas."""
    raw = bytearray(file.read_bytes())
    start = raw.index(b"<sortlist>") + len(b"<sortlist>")
    for k, number in enumerate(numbers):
        raw[start + 2 * k : start + 2 * k + 2] = int(number).to_bytes(2, "little")
    file.write_bytes(bytes(raw))


@pytest.fixture
def labelled_dta(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "grade": np.array([3, 1, 2, 1, 4], dtype=np.int8),
            "score": np.array([1.5, 2.0, np.nan, 4.0, 5.0]),
            "name": ["a", "bb", "ccc", "d", "e"],
        }
    )
    file = tmp_path / "labelled.dta"
    frame.to_stata(
        file,
        write_index=False,
        version=118,
        variable_labels={"grade": "Grade level", "score": ""},
        value_labels={"grade": {1: "low", 2: "mid", 3: "high"}},
        data_label="small test file",
    )
    return file


def test_math_keeps_codes_and_labels():
    df = read_data(datasets.path("math"))
    # Shape and codes: seed slide (`describe`: 519 observations, 4 variables; `label list`).
    assert df.shape == (519, 4)
    assert set(df["schtype"].unique()) == {0.0, 1.0}
    assert df.attrs["value_labels"] == {"schtype": {0: "Private", 1: "Public"}}
    assert df.attrs["label_names"] == {"schtype": "schtype"}
    assert df.attrs["variable_labels"] == {
        "math": "Math score",
        "schtype": "School type",
        "homework": "Time spent on math homework each week",
        "schid": "School ID",
    }
    assert df.attrs["stata"]["storage_types"] == dict.fromkeys(df.columns, "float")
    assert df["math"].dtype == np.float32


def test_label_set_name_comes_from_the_file(tmp_path):
    df = read_data(_math_with_label_set_public(tmp_path))
    assert df.attrs["label_names"] == {"schtype": "public"}
    assert df.attrs["value_labels"] == {"schtype": {0: "Private", 1: "Public"}}


def test_describe_reproduces_stata_layout(tmp_path):
    file = _math_with_label_set_public(tmp_path)
    lines = describe(read_data(file), linesize=99).splitlines()
    assert lines[0] == f"Contains data from {file}"
    assert lines[1].startswith(" Observations:           519")
    assert lines[2].startswith("    Variables:             4")
    assert lines[2][46:] == "23 Nov 2026 08:08"  # the shipped file's time stamp
    assert lines[3] == "-" * 98
    table = "\n".join(lines[4:12])
    assert table == SEED_DESCRIBE_TABLE.format(rule="-" * 98)
    assert lines[12:] == ["Sorted by:"]


def test_describe_reads_header_and_sort_order(labelled_dta):
    _set_sort_order(labelled_dta, [1, 3])
    df = read_data(labelled_dta)
    assert df.attrs["stata"]["sorted_by"] == ["grade", "name"]
    lines = describe(df).splitlines()
    assert lines[1] == " Observations:             5                  small test file"
    assert lines[3] == "-" * 79
    assert lines[7] == "grade           byte    %8.0g      grade      Grade level"
    assert lines[8] == "score           double  %10.0g"
    assert lines[9] == "name            str3    %3s"  # the format pandas wrote
    assert lines[-1] == "Sorted by: grade name"
    assert describe(df.drop(columns="name")).splitlines()[-1] == "Sorted by:"


def test_describe_plain_frame_infers_stata_types():
    df = pd.DataFrame(
        {
            "a_very_long_variable_name": np.arange(3, dtype=np.int32),
            "f32": np.zeros(3, dtype=np.float32),
            "small": np.array([1, 2, 3], dtype=np.int16),
            "big": np.array([0, 1, 2**40]),
            "flag": [True, False, True],
            "text": ["x", "yyyy", None],
            "group": pd.Categorical(["u", "v", "u"]),
        }
    )
    lines = describe(df).splitlines()
    assert lines[0] == "Contains data"
    assert lines[1] == " Observations:             3"
    assert lines[2] == "    Variables:             7"
    # Stata's abbrev(name, 15) and default formats (help format: long %12.0g, float %9.0g, ...).
    assert lines[7:14] == [
        "a_very_long_v~e long    %12.0g",
        "f32             float   %9.0g",
        "small           int     %8.0g",
        "big             double  %10.0g",
        "flag            byte    %8.0g",
        "text            str4    %9s",
        "group           long    %12.0g     group",
    ]
    assert describe(df.head(0)).splitlines()[1] == " Observations:             0"


def test_observation_count_has_thousands_separators():
    df = pd.DataFrame({"x": np.zeros(73_421)})
    assert describe(df).splitlines()[1] == " Observations:        73,421"


def test_label_list_matches_seed(tmp_path):
    df = read_data(_math_with_label_set_public(tmp_path))
    assert label_list(df) == SEED_LABEL_LIST
    assert label_list(df, "public") == SEED_LABEL_LIST
    with pytest.raises(DataError, match="'nosuch' not found.*public"):
        label_list(df, ["nosuch"])
    assert label_list(pd.DataFrame({"x": [1]})) == ""


def test_categoricals_follow_code_order(labelled_dta):
    df = read_data(labelled_dta, categoricals=True)
    grade = df["grade"]
    assert isinstance(grade.dtype, pd.CategoricalDtype) and grade.cat.ordered
    # Codes 1, 2, 3 labelled low, mid, high; code 4 has no label and keeps its number.
    assert list(grade.cat.categories) == ["low", "mid", "high", "4"]
    assert list(grade.astype(str)) == ["high", "low", "mid", "low", "4"]
    assert df.attrs["value_labels"] == {"grade": {1: "low", 2: "mid", 3: "high"}}
    assert df["score"].dtype == np.float64 and np.isnan(df["score"][2])
    codes = read_data(labelled_dta)
    assert list(codes["grade"]) == [3, 1, 2, 1, 4]
    assert codes.attrs["variable_labels"] == {"grade": "Grade level"}


def test_categoricals_keep_missing_values(tmp_path):
    file = tmp_path / "missing.dta"
    pd.DataFrame({"g": [1.0, np.nan, 0.0]}).to_stata(
        file, write_index=False, value_labels={"g": {0: "no", 1: "yes"}}
    )
    g = read_data(file, categoricals=True)["g"]
    assert list(g.cat.categories) == ["no", "yes"]
    assert g.isna().tolist() == [False, True, False]
    assert g[0] == "yes"


def test_categoricals_refuse_shared_labels(tmp_path):
    file = tmp_path / "dup.dta"
    pd.DataFrame({"g": [1, 2]}).to_stata(
        file, write_index=False, value_labels={"g": {1: "same", 2: "same"}}
    )
    with pytest.raises(DataError, match="'g'.*share a value label"):
        read_data(file, categoricals=True)
    assert list(read_data(file)["g"]) == [1, 2]


def test_csv_passes_options_and_records_source(tmp_path):
    file = tmp_path / "small.csv"
    file.write_text("a,b,c\n1,x,2.5\n3,y,4.5\n")
    df = read_data(file, usecols=["a", "c"])
    assert list(df.columns) == ["a", "c"]
    assert df["c"].tolist() == [2.5, 4.5]
    assert df.attrs["source"] == str(file)
    assert "value_labels" not in df.attrs
    assert read_data(str(file), categoricals=True)["b"].tolist() == ["x", "y"]


def test_compressed_csv(tmp_path):
    file = tmp_path / "small.csv.gz"
    pd.DataFrame({"a": [1, 2]}).to_csv(file, index=False)
    assert read_data(file)["a"].tolist() == [1, 2]


def test_parquet_roundtrip(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"y": [1.0, 2.0], "g": ["a", "b"]})
    file = tmp_path / "small.parquet"
    frame.to_parquet(file)
    df = read_data(file)
    assert df["y"].tolist() == [1.0, 2.0]
    assert df["g"].tolist() == ["a", "b"]


def test_parquet_without_engine_says_what_to_install(tmp_path, monkeypatch):
    file = tmp_path / "small.parquet"
    file.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    with pytest.raises(DataError, match=r"small\.parquet.*needs pyarrow"):
        read_data(file)


@pytest.mark.parametrize("name", ["nothere.dta", "nothere.csv", "nothere.parquet"])
def test_missing_file_names_path(tmp_path, name):
    with pytest.raises(DataError, match=f"{name}' does not exist"):
        read_data(tmp_path / name)


def test_directory_is_not_a_file(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_data(folder)


def test_unknown_extension_names_path_and_supported_types(tmp_path):
    file = tmp_path / "data.xlsx"
    file.write_text("x")
    with pytest.raises(DataError, match=r"data\.xlsx.*unknown file type.*\.dta"):
        read_data(file)


@pytest.mark.parametrize(("name", "content"), [("bad.dta", b"not stata"), ("bad.csv", b"")])
def test_unreadable_file_is_a_data_error(tmp_path, name, content):
    file = tmp_path / name
    file.write_bytes(content)
    with pytest.raises(DataError, match=f"cannot read '.*{name}'"):
        read_data(file)


@pytest.mark.parametrize("option", ["convert_categoricals", "iterator", "chunksize"])
def test_conflicting_stata_options_are_refused(option):
    with pytest.raises(OptionError, match=option):
        read_data(datasets.path("math"), **{option: True})


def test_shared_math_matches_seed(math_df):
    # Seed `describe`: 519 observations; `mixed` header: 23 groups, group sizes 5 .. 67.
    assert len(math_df) == 519
    sizes = math_df.groupby("schid").size()
    assert (len(sizes), sizes.min(), sizes.max()) == (23, 5, 67)


def test_stata_column_subset_keeps_matching_labels():
    df = read_data(datasets.path("math"), columns=["schtype", "math"])
    assert list(df.columns) == ["schtype", "math"]
    assert df.attrs["value_labels"] == {"schtype": {0: "Private", 1: "Public"}}
    assert set(df.attrs["variable_labels"]) == {"schtype", "math"}
    assert set(df.attrs["stata"]["storage_types"]) == {"schtype", "math"}
