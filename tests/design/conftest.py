"""Fixtures of the design tests: the reference data read with pandas itself, and model helpers.

The files are read here with plain pandas (not the package's reader) so that these tests pin the
design's behaviour on the exact frames described in each fixture.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from multilevel.spec.model_spec import Factor, ModelSpec, RandomLevel, Term


@pytest.fixture(scope="session")
def math_csv(shared_data: Path) -> pd.DataFrame:
    """math.csv: math, schtype (0/1), homework, schid; 519 rows, all float."""
    return pd.read_csv(shared_data / "math.csv")


@pytest.fixture(scope="session")
def math_dta(shared_data: Path) -> pd.DataFrame:
    """math.dta as a .dta reader gives it: numeric codes, value labels in ``attrs``."""
    file = shared_data / "math.dta"
    df = pd.read_stata(file, convert_categoricals=False)
    with pd.io.stata.StataReader(file) as reader:
        labels = reader.value_labels()
    df.attrs["value_labels"] = {
        column: {int(code): text for code, text in codes.items()}
        for column, codes in labels.items()
        if column in df.columns
    }
    return df


@pytest.fixture(scope="session")
def pastes_csv(shared_data: Path) -> pd.DataFrame:
    """lme4's Pastes: strength, batch (A-J), cask (a-c within batch), 60 rows."""
    return pd.read_csv(shared_data / "Pastes.csv")


@pytest.fixture(scope="session")
def penicillin_csv(shared_data: Path) -> pd.DataFrame:
    """lme4's Penicillin: diameter, plate (24), sample (6), fully crossed, 144 rows."""
    return pd.read_csv(shared_data / "Penicillin.csv")


@pytest.fixture(scope="session")
def math_spec() -> ModelSpec:
    """``mixed math homework i.schtype || schid: homework, covariance(unstructured)`` (seed)."""
    return ModelSpec(
        response="math",
        fixed=(Term((Factor("homework"),)), Term((Factor("schtype", "categorical"),))),
        levels=(RandomLevel(("schid",), ("homework",), covariance="unstructured"),),
        source="math homework i.schtype || schid: homework, covariance(unstructured)",
    )
