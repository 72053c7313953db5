"""Simulated data with known parameters: 95% intervals cover the truth at about the nominal rate.

The truth is the simulator's (``attrs["truth"]`` of ``simulate_mixed``). With R replications the number of
intervals that cover is Binomial(R, 0.95); the bounds below are that distribution's 0.1% and 99.9% points
(widened slightly below for the variance, whose Wald interval is known to under-cover with 40 groups).
"""

from __future__ import annotations

import pytest
from scipy import stats

from multilevel.datasets.simulate import simulate_mixed

from .models import fit_model


def _coverage(replications: int, intmethod: str, seed: int) -> dict[str, float]:
    hits: dict[str, int] = {}
    for r in range(replications):
        data = simulate_mixed(
            40, 15, {"x": 0.5, "_cons": -0.3}, 0.8, family="bernoulli", seed=seed + r
        )
        truth = data.attrs["truth"]
        fit = fit_model("y x || g:", "melogit", data, intmethod=intmethod)
        table = fit.table()
        for label, value in truth.items():
            inside = table.loc[label, "lower"] <= value <= table.loc[label, "upper"]
            hits[label] = hits.get(label, 0) + int(inside)
    return {label: count / replications for label, count in hits.items()}


def _bounds(replications: int) -> tuple[float, float]:
    law = stats.binom(replications, 0.95)
    return law.ppf(0.001) / replications, law.ppf(0.999) / replications


def test_small_coverage_study_laplace():
    replications = 40
    coverage = _coverage(replications, "laplace", seed=1000)
    low, high = _bounds(replications)
    for label in ("x", "_cons"):
        assert low <= coverage[label] <= high, (label, coverage)


@pytest.mark.slow
def test_coverage_study_adaptive_quadrature():
    replications = 200
    coverage = _coverage(replications, "mvaghermite", seed=5000)
    low, high = _bounds(replications)
    for label in ("x", "_cons"):
        assert low <= coverage[label] <= high, (label, coverage)
    assert low - 0.03 <= coverage["g: var(_cons)"] <= high, coverage
