"""Bad input tried as a new user would: each gets a clear error naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from multilevel.api import mixed
from multilevel.errors import DataError, OptionError, SpecSyntaxError

SEED_MODEL = "math homework i.schtype || schid: homework, covariance(unstructured)"


def test_misspelled_variable_is_named(math_df):
    with pytest.raises(DataError, match="homewrk") as info:
        mixed("math homewrk i.schtype || schid:", data=math_df)
    assert "homework" in str(info.value)  # the close match is suggested


def test_string_response_is_refused(math_df):
    df = math_df.copy()
    df["grade"] = np.where(df["math"] > 50, "high", "low")
    with pytest.raises(DataError, match="grade"):
        mixed("grade homework || schid:", data=df)


def test_level_with_no_groups(math_df):
    df = math_df.copy()
    df["empty"] = np.nan
    with pytest.raises(DataError, match="empty"):
        mixed("math homework || empty:", data=df)


def test_unbalanced_parenthesis_shows_caret(math_df):
    with pytest.raises(SpecSyntaxError) as info:
        mixed("math ~ homework + (homework | schid", data=math_df)
    text = str(info.value)
    assert "parenthes" in text
    assert "^" in text.splitlines()[-1]


def test_unknown_option(math_df):
    with pytest.raises((OptionError, SpecSyntaxError), match="covarance"):
        mixed("math homework || schid: homework, covarance(un)", data=math_df)
    with pytest.raises(OptionError, match="bogus"):
        mixed(SEED_MODEL, data=math_df, bogus=True)


def test_all_missing_column(math_df):
    df = math_df.copy()
    df["homework"] = np.nan
    with pytest.raises(DataError, match="homework"):
        mixed("math homework || schid:", data=df)


def test_no_random_level_is_refused(math_df):
    with pytest.raises(DataError, match="random-effects level"):
        mixed("math homework", data=math_df)


def test_missing_rows_are_dropped_and_counted(math_df):
    df = math_df.copy()
    df.loc[df.index[:7], "homework"] = np.nan
    fit = mixed("math homework || schid:", data=df)
    assert fit.nobs == len(df) - 7
    assert any("7 observations" in note for note in fit.notes)


def test_small_sample_dof_is_refused_not_ignored(math_df):
    with pytest.raises(OptionError, match="dfmethod"):
        mixed("math homework || schid:, reml dfmethod(kroger)", data=math_df)
