"""Fixtures of the GLMM engine tests: VerbAgg recoded, and simulated three-level data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def verbagg_df(shared_data) -> pd.DataFrame:
    """lme4's VerbAgg with the binary response r2 coded 1 for "Y"."""
    file = shared_data / "VerbAgg.csv"
    if not file.is_file():
        pytest.skip(f"reference data {file} is absent")
    frame = pd.read_csv(file)
    frame["r2n"] = (frame["r2"] == "Y").astype(float)
    return frame


@pytest.fixture(scope="session")
def nested_df() -> pd.DataFrame:
    """Simulated three-level data: pupils in classes in schools, binary, binomial and count outcomes.

    Truth (logit scale): _cons -0.3, x 0.5, school sd 0.8, class sd 0.6, class slope sd 0.4.
    """
    rng = np.random.default_rng(5)
    schools, classes, pupils = 15, 4, 8
    rows = []
    school_effects = rng.normal(0, 0.8, schools)
    for s in range(schools):
        for c in range(classes):
            class_effect, slope = rng.normal(0, 0.6), rng.normal(0, 0.4)
            for _ in range(pupils):
                x = rng.normal()
                eta = -0.3 + 0.5 * x + school_effects[s] + class_effect + slope * x
                p = 1 / (1 + np.exp(-eta))
                rows.append(
                    {
                        "school": s,
                        "cls": c,
                        "x": x,
                        "y": rng.binomial(1, p),
                        "k": rng.binomial(5, p),
                        "n": 5,
                        "cnt": rng.poisson(
                            np.exp(0.5 + 0.3 * x + school_effects[s] + class_effect)
                        ),
                        "expo": rng.uniform(0.5, 2.0),
                    }
                )
    return pd.DataFrame(rows)
