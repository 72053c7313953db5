"""Fits of simulated data with known parameters recover the truth (multilevel.datasets.simulate)."""

from __future__ import annotations

import numpy as np
import pytest

from multilevel.api import mixed
from multilevel.datasets.simulate import simulate_mixed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_slope_model_recovers_truth(seed):
    df = simulate_mixed(
        n_groups=300,
        group_size=(5, 25),
        fixed={"x": 1.5, "_cons": 10.0},
        random_sd={"x": 0.7, "_cons": 2.0},
        corr=-0.4,
        residual_sd=1.5,
        seed=seed,
    )
    fit = mixed("y x || g: x, covariance(unstructured)", data=df)
    truth = df.attrs["truth"]
    for label, value in truth.items():
        z = (fit.params[label] - value) / fit.se[label]
        # each estimate within 4 of its standard errors of the truth
        assert abs(z) < 4, (label, fit.params[label], value, fit.se[label])


def test_interval_coverage_of_fixed_slope():
    """95% intervals for the slope cover the truth at close to the nominal rate (40 replicates)."""
    covered = 0
    reps = 40
    for seed in range(reps):
        df = simulate_mixed(
            n_groups=40,
            group_size=8,
            fixed={"x": 0.5, "_cons": 1.0},
            random_sd={"_cons": 1.0},
            residual_sd=1.0,
            seed=1000 + seed,
        )
        table = mixed("y x || g:", data=df).fixed_effects
        covered += table.loc["x", "lower"] <= 0.5 <= table.loc["x", "upper"]
    # Binomial(40, 0.95): P(covered <= 33) is about 1.4%
    assert covered >= 34
    assert np.isfinite(covered)
