"""The Laplace approximation: exact gradient, optimum, and its agreement with the model's structure."""

from __future__ import annotations

import numpy as np
import pytest

from multilevel.glmm.fit import build_problem, fit_glmm
from multilevel.glmm.optimize import LaplaceObjective
from multilevel.glmm.params import ParameterLayout

from .models import design_for

MODELS = [
    ("y x || school: || cls:", "melogit"),
    ("y x || school: || cls: x, cov(un)", "melogit"),
    ("k x || school: || cls: x, binomial(n)", "meprobit"),
    ("k x || school: x || cls:, binomial(n)", "mecloglog"),
    ("cnt x || school: || cls:, exposure(expo)", "mepoisson"),
    ("cnt x || school: || cls:", "menbreg"),
    ("cnt x || school: || cls:, dispersion(constant)", "menbreg"),
    ("y x || _all: R.cls || school: x, cov(un)", "melogit"),
    ("y x || school: x, cov(exchangeable)", "melogit"),
]


@pytest.mark.parametrize("text, command", MODELS)
def test_gradient_is_the_derivative_of_the_laplace_deviance(nested_df, text, command):
    # Closed form (envelope theorem + implicit derivative of the modes) against central differences.
    design = design_for(text, command, nested_df)
    problem = build_problem(design)
    layout = ParameterLayout.for_design(problem, design)
    objective = LaplaceObjective(problem, layout)
    ancillary = problem.family.ancillary_start(problem.data) + 0.1
    x = layout.join(layout.theta_start() * 0.7, np.full(problem.n_beta, 0.1), ancillary)
    _, grad = objective.value_and_gradient(x, tolerance=1e-13)
    h = 1e-6
    numeric = [
        (
            objective.value_and_gradient(x + h * e, 1e-13)[0]
            - objective.value_and_gradient(x - h * e, 1e-13)[0]
        )
        / (2 * h)
        for e in np.eye(len(x))
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)


def test_verbagg_crossed_laplace(verbagg_df):
    # lme4's documented fit of glmer(r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item), binomial):
    # logLik -4075.7 (lme4's VerbAgg example output, printed to one decimal).
    design = design_for(
        "r2n Anger i.Gender i.btype i.situ || _all: R.id || item:", "melogit", verbagg_df
    )
    fit = fit_glmm(design)
    assert fit.intmethod == "laplace"
    assert any("crossed random-effects model specified" in note for note in fit.notes)
    assert fit.loglik == pytest.approx(-4075.7, abs=0.05)
    assert fit.converged
    # At the optimum the exact gradient vanishes on the free parameters.
    _, grad = fit.objective.value_and_gradient(fit.x, tolerance=1e-13)
    assert np.max(np.abs(grad)) < 1e-4


def test_zero_variance_is_left_when_the_deviance_falls_off_it(nested_df):
    # The deviance is even in a scale factor, so its derivative is zero at zero: the optimiser must
    # still leave a zero it was started at when a positive variance fits better.
    design = design_for("cnt x || school: || cls:", "mepoisson", nested_df)
    start = fit_glmm(design, intmethod="laplace")
    phi = start.stata_params.to_numpy().copy()
    phi[-1] = -25.0  # class variance exp(-50): zero
    again = fit_glmm(design, intmethod="laplace", start=phi)
    assert again.loglik == pytest.approx(start.loglik, abs=1e-6)
    assert again.params["school>cls: var(_cons)"] > 0.1
