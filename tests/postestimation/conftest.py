"""Fits shared by the postestimation tests (module fixtures would refit them in every file)."""

from __future__ import annotations

import pandas as pd
import pytest

import multilevel as ml

MATH_UN = "math homework i.schtype || schid: homework, covariance(unstructured)"


@pytest.fixture(scope="session")
def math_fit(math_df):
    """The seed slides' model (ML, unstructured random slope and intercept by school)."""
    return ml.mixed(MATH_UN, data=math_df)


@pytest.fixture(scope="session")
def math_ri_fit(math_df):
    """The same fixed part with a random intercept only (ML)."""
    return ml.mixed("math homework i.schtype || schid:", data=math_df)


@pytest.fixture(scope="session")
def pastes_fit(pastes_df):
    """Casks nested in batches, REML (lme4's ``pastes_reml``)."""
    return ml.mixed("strength || batch: || cask:", data=pastes_df, reml=True)


@pytest.fixture(scope="session")
def penicillin_fit(penicillin_df):
    """Crossed plates and samples, ML."""
    return ml.mixed("diameter ~ 1 + (1 | plate) + (1 | sample)", data=penicillin_df)


@pytest.fixture(scope="session")
def stackexchange_df() -> pd.DataFrame:
    """12 subjects measured twice, from stats.stackexchange.com question 48254 (``dt.m``)."""
    first = [12, 8, 22, 10, 10, 6, 8, 4, 14, 6, 2, 22]
    second = [12, 7, 24, 14, 8, 4, 5, 6, 14, 5, 5, 16]
    return pd.DataFrame({"id": list(range(1, 13)) * 2, "g": first + second})
