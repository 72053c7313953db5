"""Negative binomial (mean dispersion) against glmmTMB on lme4's grouseticks data.

Reference: glmmTMB 1.1.5 (R 4.2.2), ``glmmTMB(TICKS ~ YEAR + (1|LOCATION), family=nbinom2)``
(Laplace), run on ../shared/data/grouseticks.csv with YEAR and LOCATION as factors:
logLik -921.263299328, (Intercept) 0.552464017, YEAR96 1.184041482, YEAR97 -1.132190963,
dispersion theta = 1/alpha = 2.042564446, var(LOCATION) 1.475823282.
glmmTMB's estimates carry its optimiser's tolerance (~1e-4 relative); its log likelihood is exact.
"""

from __future__ import annotations

import numpy as np
import pytest

import multilevel as ml


@pytest.fixture(scope="module")
def grouseticks(shared_data):
    return ml.read_data(shared_data / "grouseticks.csv")


def test_menbreg_laplace_matches_glmmtmb(grouseticks):
    fit = ml.menbreg("TICKS i.YEAR || LOCATION:", data=grouseticks, intmethod="laplace")
    assert fit.loglik == pytest.approx(-921.263299328, rel=1e-9)
    assert fit.params["_cons"] == pytest.approx(0.552464017, rel=1e-4)
    assert fit.params["96.YEAR"] == pytest.approx(1.184041482, rel=1e-4)
    assert fit.params["97.YEAR"] == pytest.approx(-1.132190963, rel=1e-4)
    assert 1 / np.exp(fit.params["/lnalpha"]) == pytest.approx(2.042564446, rel=1e-4)
    assert fit.params["LOCATION: var(_cons)"] == pytest.approx(1.475823282, rel=1e-4)


def test_menbreg_start_survives_a_diverging_glm_step(grouseticks):
    # The fixed-effects-only start once overflowed alpha = exp(lnalpha) on this data.
    fit = ml.menbreg("TICKS i.YEAR || LOCATION:", data=grouseticks)
    assert fit.converged
    assert np.isfinite(fit.loglik)
