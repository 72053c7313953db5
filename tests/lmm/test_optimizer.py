"""The quasi-Newton minimiser of the profiled deviance against BOBYQA, and its warm starts.

The reference point is the derivative-free optimum (BOBYQA run twice, the engine's earlier method and
lme4's): the quasi-Newton optimum must be as low (to round-off) and at the same theta. Refits of a new
response must agree with a fresh fit of that response.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.design import build_design
from multilevel.lmm.deviance import profiled_deviance
from multilevel.lmm.fit import build_problem, fit_lmm, refit_response
from multilevel.lmm.optimize import (
    canonical_theta,
    minimize_bobyqa,
    minimize_profiled,
    minimize_quasi_newton,
)
from multilevel.lmm.start import moment_start
from multilevel.spec import parse_model

CASES = [
    ("math ~ homework + schtype + (homework | schid)", "math_df", False),
    ("math ~ homework + schtype + (homework | schid)", "math_df", True),
    ("math homework schtype || schid: homework, cov(exchangeable)", "math_df", False),
    ("math ~ homework + schtype + (homework || schid)", "math_df", False),
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy_df", True),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin_df", True),
    ("strength ~ 1 + (1 | batch/cask)", "pastes_df", True),
    ("Yield ~ 1 + (1 | Batch)", "dyestuff_df", False),
]


def _problem(formula, frame, reml):
    return build_problem(build_design(parse_model(formula, command="mixed"), frame), reml)


def _bobyqa(problem):
    lower, upper = problem.bounds()
    return minimize_bobyqa(lambda th: profiled_deviance(problem, th), problem.start(), lower, upper)


@pytest.mark.parametrize("formula, fixture, reml", CASES)
def test_quasi_newton_reaches_the_bobyqa_optimum(formula, fixture, reml, request):
    problem = _problem(formula, request.getfixturevalue(fixture), reml)
    reference = _bobyqa(problem)
    record = minimize_profiled(problem)
    assert record.converged
    assert record.n_evals < reference.n_evals / 3
    assert record.fun <= reference.fun + 1e-9 * max(1.0, abs(reference.fun))
    np.testing.assert_allclose(record.x, reference.x, rtol=2e-5, atol=2e-5)
    lower, upper = problem.bounds()
    assert np.all(record.x >= lower) and np.all(record.x <= upper)


def test_boundary_optimum_is_found():
    # No group effect in the data (simulation truth: var(_cons) = 0 for g): the ML estimate of the
    # group variance is on the boundary, theta = 0, or very near it.
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"g": np.repeat(np.arange(30), 5), "x": rng.standard_normal(150)})
    frame["y"] = 1.0 + frame.x + rng.standard_normal(150)
    problem = _problem("y ~ x + (1 | g)", frame, False)
    reference = _bobyqa(problem)
    record = minimize_profiled(problem)
    assert record.converged
    assert record.x[0] >= 0.0
    assert record.fun <= reference.fun + 1e-8


def test_sign_free_parametrisation_is_symmetric(math_df):
    problem = _problem("math ~ homework + schtype + (homework | schid)", math_df, False)
    theta = np.array([0.5, -0.8, 0.4])
    flipped = np.array([-0.5, 0.8, 0.4])  # the first column of lam negated
    assert profiled_deviance(problem, flipped) == pytest.approx(
        profiled_deviance(problem, theta), rel=1e-13
    )
    np.testing.assert_array_equal(canonical_theta(problem, flipped), theta)


def test_moment_start_is_inside_and_off_zero(penicillin_df, math_df):
    for formula, frame in [
        ("diameter ~ 1 + (1 | plate) + (1 | sample)", penicillin_df),
        ("math ~ homework + schtype + (homework | schid)", math_df),
    ]:
        problem = _problem(formula, frame, False)
        start = moment_start(problem)
        lower, upper = problem.bounds()
        assert np.all(start >= lower) and np.all(start <= upper)
        assert np.all(start[lower == 0.0] > 0.0)


def test_quasi_newton_on_a_quadratic():
    # closed form: the minimum of (x - c)' H (x - c) within x >= 0 is at max(c, 0) for diagonal H
    hess = np.diag([1.0, 100.0, 0.01])
    centre = np.array([1.5, -0.5, 3.0])

    def fg(x):
        d = x - centre
        return float(d @ hess @ d), 2 * hess @ d

    record = minimize_quasi_newton(fg, np.ones(3), np.zeros(3), np.full(3, np.inf))
    assert record.converged
    np.testing.assert_allclose(record.x, [1.5, 0.0, 3.0], atol=1e-6)


@pytest.mark.parametrize(
    "formula, fixture, reml",
    [
        ("math ~ homework + schtype + (homework | schid)", "math_df", False),
        ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin_df", True),
    ],
)
def test_refit_response_matches_a_fresh_fit(formula, fixture, reml, request):
    frame = request.getfixturevalue(fixture)
    design = build_design(parse_model(formula, command="mixed"), frame)
    estimates = fit_lmm(design, reml=reml)
    rng = np.random.default_rng(5)
    y_new = design.y + rng.normal(0.0, np.sqrt(estimates.sigma2), len(design.y))
    refitted = refit_response(estimates, y_new, design.X)
    fresh_frame = frame.copy()
    fresh_frame[design.spec.response] = y_new
    fresh = fit_lmm(build_design(parse_model(formula, command="mixed"), fresh_frame), reml=reml)
    assert refitted.deviance == pytest.approx(fresh.deviance, rel=1e-10)
    np.testing.assert_allclose(refitted.theta, fresh.theta, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(refitted.beta, fresh.beta, rtol=1e-6)


@pytest.mark.slow
def test_insteval_crossed_fit(shared_data):
    # lme4 1.1-31 (R 4.2), lmer(y ~ service + (1|s) + (1|d) + (1|dept), REML = FALSE) on
    # ../shared/data/InstEval.csv: logLik -118860.88438794, theta (0.27645834, 0.43735507,
    # 0.06668336), fixef (3.28258096007, -0.09258854274). lme4 stops a little short of the optimum.
    from multilevel.io import read_data

    frame = read_data(shared_data / "InstEval.csv")
    design = build_design(
        parse_model("y ~ service + (1 | s) + (1 | d) + (1 | dept)", command="mixed"), frame
    )
    estimates = fit_lmm(design)
    assert estimates.optimum.converged
    assert estimates.optimum.n_evals <= 30
    assert estimates.loglik >= -118860.88438794 - 1e-9
    assert estimates.loglik == pytest.approx(-118860.88438794, rel=1e-10)
    np.testing.assert_allclose(estimates.theta, [0.27645834, 0.43735507, 0.06668336], rtol=5e-4)
    # Stata's order: service, then _cons
    np.testing.assert_allclose(estimates.beta, [-0.09258854274, 3.28258096007], rtol=1e-5)
