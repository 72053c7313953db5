"""Data commands run in a session: generate/replace/egen/keep/drop/sort/summarize/count/use.

The small data set of ``conftest.small`` is g = 1 1 2 2 2 3, x = 1 2 3 . 5 6; expected values are
worked out by hand from it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from multilevel.commands.errors import CommandError, UnsupportedError


def column(console, name):
    return console.df[name].to_numpy(dtype=float, na_value=np.nan).tolist()


def same(values, expected):
    return all(
        (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)
        for a, b in zip(values, expected, strict=True)
    )


def test_generate_stores_float_by_default_and_reports_missing(small):
    out = small.run("generate y = x * 2")
    assert out == "(1 missing value generated)\n"
    assert str(small.df["y"].dtype) == "float32"  # Stata's default type is float
    assert same(column(small, "y"), [2, 4, 6, math.nan, 10, 12])


def test_generate_with_a_type_and_if(small):
    out = small.run("gen double y = x / 3 if g == 2")
    assert out == "(4 missing values generated)\n"
    assert str(small.df["y"].dtype) == "float64"
    assert same(column(small, "y"), [math.nan, math.nan, 1, math.nan, 5 / 3, math.nan])
    small.run("gen byte k = x / 2")
    assert column(small, "k")[:3] == [0, 1, 1]  # integer types truncate


def test_generate_strings(small):
    small.run('gen s = name + "!"')
    assert small.df["s"].tolist() == ["a!", "b!", "c!", "!", "e!", "f!"]


def test_generate_refuses_an_existing_name(small):
    with pytest.raises(CommandError, match="variable x already defined"):
        small.run("gen x = 1")


def test_replace_counts_changes(small):
    assert small.run("replace x = 0 if x == .") == "(1 real change made)\n"
    assert small.run("replace x = . if g == 3") == "(1 real change made, 1 to missing)\n"
    assert small.run("replace x = x if g == 1") == "(0 real changes made)\n"
    assert same(column(small, "x"), [1, 2, 3, 0, 5, math.nan])


def test_by_and_bysort(small):
    small.run("bysort g: gen n = _n")
    small.run("by g: gen N = _N")
    assert column(small, "n") == [1, 2, 1, 2, 3, 1]
    assert column(small, "N") == [2, 2, 3, 3, 3, 1]
    small.run("sort x")
    with pytest.raises(CommandError, match="not sorted"):
        small.run("by g: gen m = _n")


def test_egen_tag_rank_group_and_summaries(small):
    small.run("egen t = tag(g)")
    small.run("egen r = rank(x)")
    small.run("egen m = mean(x), by(g)")
    small.run("egen tot = total(x), by(g)")
    small.run("egen c = count(x), by(g)")
    small.run("egen k = group(g)")
    assert column(small, "t") == [1, 0, 1, 0, 0, 1]
    assert str(small.df["t"].dtype) == "Int8"  # tag() makes a byte
    assert same(column(small, "r"), [1, 2, 3, math.nan, 4, 5])
    assert same(column(small, "m"), [1.5, 1.5, 4, 4, 4, 6])
    assert column(small, "tot") == [3, 3, 8, 8, 8, 6]
    assert column(small, "c") == [2, 2, 2, 2, 2, 1]
    assert column(small, "k") == [1, 1, 2, 2, 2, 3]


def test_egen_rank_if_and_ties(small):
    small.run("replace x = 2 if _n == 1")
    out = small.run("egen r = rank(x) if g < 3")
    assert out == "(2 missing values generated)\n"
    # x = 2 2 3 . 5 (6 left out): the tie shares ranks 1 and 2
    assert same(column(small, "r"), [1.5, 1.5, 3, math.nan, 4, math.nan])
    small.run("egen f = rank(x), field")
    assert same(column(small, "f"), [4, 4, 3, math.nan, 2, 1])


def test_egen_under_by_prefix(small):
    small.run("by g: egen s = sd(x)")
    assert same(column(small, "s"), [math.sqrt(0.5)] * 2 + [math.sqrt(2)] * 3 + [math.nan])


def test_unknown_egen_function_is_named(small):
    with pytest.raises(UnsupportedError, match=r"egen function median\(\)"):
        small.run("egen m = median(x)")


def test_keep_drop_and_sort(small):
    assert small.run("keep if g == 2") == "(3 observations deleted)\n"
    assert small.run("drop in 1/1") == "(1 observation deleted)\n"
    assert column(small, "x")[0] != column(small, "x")[0]  # row 2 of the old data: x missing
    small.run("sort x")
    assert column(small, "x")[0] == 5
    small.run("drop n*")
    assert list(small.df.columns) == ["g", "x"]


def test_sort_puts_missing_last(small):
    small.run("sort x")
    assert same(column(small, "x"), [1, 2, 3, 5, 6, math.nan])


def test_summarize_layout_and_numbers(small):
    out = small.run("summarize x g")
    # x: 1 2 3 5 6 -> mean 3.4, sd sqrt(17.2 / 4) = 2.073644; g: mean 11/6
    assert out.splitlines() == [
        "",
        "    Variable |        Obs        Mean    Std. dev.       Min        Max",
        "-------------+---------------------------------------------------------",
        "           x |          5         3.4    2.073644          1          6",
        "           g |          6    1.833333    .7527727          1          3",
    ]


def test_count_treats_missing_as_large(small):
    # Stata: a missing x satisfies x > 2.
    assert small.run("count if x > 2") == "  4\n"
    assert small.run("count if x > 2 & x < .") == "  3\n"


def test_display(small):
    assert small.run('display "N = " _N') == "N = 6\n"
    assert small.run("display 2/3") == ".66666667\n"
    assert small.run("display x[2] + 1") == "3\n"


def test_use_reads_a_file_and_refuses_to_lose_changes(console, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.csv").write_text("a,b\n1,2\n3,4\n")
    assert console.run("use tiny") == ""
    assert list(console.df.columns) == ["a", "b"]
    console.run("gen c = a + b")
    with pytest.raises(CommandError, match="changed since last saved") as info:
        console.run("use tiny")
    assert info.value.rc == 4
    console.run("use tiny, clear")
    assert list(console.df.columns) == ["a", "b"]
    with pytest.raises(CommandError, match="file nothere.dta not found") as info:
        console.run("use nothere, clear")
    assert info.value.rc == 601


def test_use_falls_back_to_the_shipped_data(console, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = console.run("use math")
    assert "shipped with multilevel" in out
    assert console.df.shape == (519, 4)  # 519 students, 4 variables (seed: describe)
    out = console.run("describe")
    assert "Contains data from math.dta" in out and "Observations:           519" in out
    assert "schtype:" in console.run("label list")


def test_no_data_is_a_clear_error(console):
    with pytest.raises(CommandError, match="no variables defined"):
        console.run("summarize")


def test_varlist_wildcards_ranges_and_abbreviations(small):
    small.run("gen x2 = 1")
    small.run("gen x3 = 2")
    assert small.session.varlist("x?") == ["x2", "x3"]
    assert small.session.varlist("g-name") == ["g", "x", "name"]
    assert small.session.varlist("na") == ["name"]
    with pytest.raises(CommandError, match="x ambiguous|variable"):
        small.session.varlist("x z")
