"""The observed information on Stata's scale: analytic-gradient differences against deviance differences."""

from __future__ import annotations

import numpy as np
import pytest

from multilevel.api import mixed
from multilevel.lmm.inference import (
    deviance_on_stata_scale,
    hessian,
    stata_parameters,
    variance_inference,
)

CASES = [
    ("math homework i.schtype || schid: homework, covariance(unstructured)", "math_df"),
    ("math homework || schid: homework, cov(ex)", "math_df"),
    ("strength || batch: || cask:, reml", "pastes_df"),
    ("diameter || _all: R.plate || sample:", "penicillin_df"),
]


@pytest.mark.parametrize("command, fixture", CASES)
def test_information_from_gradient_matches_deviance_hessian(command, fixture, request):
    fit = mixed(command, data=request.getfixturevalue(fixture))
    phi, slices = stata_parameters(fit.estimates)
    # independent route: fourth-order differences of the deviance itself (no gradient code)
    reference = np.linalg.inv(0.5 * hessian(deviance_on_stata_scale(fit.estimates, slices), phi))
    ours = variance_inference(fit.estimates).cov_phi
    np.testing.assert_allclose(np.sqrt(np.diag(ours)), np.sqrt(np.diag(reference)), rtol=1e-5)
