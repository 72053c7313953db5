"""Shared fixtures: the reference data sets and lme4's reference numbers.

They live beside the repository, in ``../shared/data`` and ``../shared/reference``; tests that need
them are skipped where that folder is absent. The frames are session-scoped and shared between
tests: a test that changes one must work on a ``.copy()``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from multilevel.io import read_data

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def _shared_dir(name: str) -> Path:
    folder = SHARED / name
    if not folder.is_dir():
        pytest.skip(f"reference folder {folder} is absent")
    return folder


def _shared_csv(folder: Path, name: str) -> pd.DataFrame:
    file = folder / name
    if not file.is_file():
        pytest.skip(f"reference data {file} is absent")
    return read_data(file)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the reference data sets (``../shared/data``)."""
    return _shared_dir("data")


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """lme4's reference results, ``../shared/reference/lme4_reference.json``, parsed."""
    file = _shared_dir("reference") / "lme4_reference.json"
    if not file.is_file():
        pytest.skip(f"reference results {file} are absent")
    return json.loads(file.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def math_df(shared_data: Path) -> pd.DataFrame:
    """The seed slides' ``math`` data (519 students, 23 schools), value labels in ``attrs``."""
    file = shared_data / "math.dta"
    if not file.is_file():
        pytest.skip(f"reference data {file} is absent")
    return read_data(file)


@pytest.fixture(scope="session")
def sleepstudy_df(shared_data: Path) -> pd.DataFrame:
    """lme4's ``sleepstudy``: reaction time by days of sleep deprivation, 18 subjects."""
    return _shared_csv(shared_data, "sleepstudy.csv")


@pytest.fixture(scope="session")
def penicillin_df(shared_data: Path) -> pd.DataFrame:
    """lme4's ``Penicillin``: crossed plates and samples."""
    return _shared_csv(shared_data, "Penicillin.csv")


@pytest.fixture(scope="session")
def pastes_df(shared_data: Path) -> pd.DataFrame:
    """lme4's ``Pastes``: casks nested in batches."""
    return _shared_csv(shared_data, "Pastes.csv")


@pytest.fixture(scope="session")
def dyestuff_df(shared_data: Path) -> pd.DataFrame:
    """lme4's ``Dyestuff``: one-way random effects, six batches."""
    return _shared_csv(shared_data, "Dyestuff.csv")


@pytest.fixture(scope="session")
def cbpp_df(shared_data: Path) -> pd.DataFrame:
    """lme4's ``cbpp``: binomial incidence out of herd size, by herd and period."""
    return _shared_csv(shared_data, "cbpp.csv")


@pytest.fixture(scope="session")
def wine_df(shared_data: Path) -> pd.DataFrame:
    """ordinal's ``wine``: bitterness ratings by judges."""
    return _shared_csv(shared_data, "wine.csv")
