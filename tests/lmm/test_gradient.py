"""The analytic gradient of the profiled deviance against finite differences of the deviance itself.

Expected values are closed-form derivatives checked numerically: a fourth-order central difference of
``profiled_deviance`` (error O(h^4)) at random interior points, for every covariance structure, for one
block and for crossed and nested designs (block 0 with one and with two effects, tail blocks with one
and two effects), by ML and REML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.design import build_design
from multilevel.lmm.deviance import deviance_and_gradient, profiled_deviance
from multilevel.lmm.fit import build_problem
from multilevel.lmm.gradient import factor_basis, factor_derivatives, structure_factor
from multilevel.spec import parse_model


def _crossed_frame(seed: int = 3, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 25, n),
            "b": rng.integers(0, 9, n),
            "x": rng.standard_normal(n),
            "w": rng.standard_normal(n),
        }
    )
    frame["y"] = (
        frame.x
        + rng.standard_normal(25)[frame.a] * (1 + 0.5 * frame.x)
        + rng.standard_normal(9)[frame.b] * (1 + frame.w)
        + rng.standard_normal(n)
    )
    return frame


def _numeric_gradient(problem, theta: np.ndarray, h: float = 1e-4) -> np.ndarray:
    out = np.empty_like(theta)
    for k in range(len(theta)):
        step = np.zeros_like(theta)
        step[k] = h
        f = [profiled_deviance(problem, theta + m * step) for m in (2, 1, -1, -2)]
        out[k] = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h)
    return out


SIMULATED = [
    "y ~ x + (x | a) + (w | b)",  # two effects in block 0 and in the tail
    "y ~ x + (1 | a) + (w | b)",  # scalar block 0, two-effect tail
    "y ~ x + (x | a) + (1 | b)",  # two-effect block 0, scalar tail
    "y ~ x + w + (1 | a) + (1 | b)",  # scalar crossed
    "y ~ x + (x || a)",  # independent, one block
    "y x || a: x, cov(exchangeable)",  # exchangeable (differentiated numerically)
    "y x || a: x, cov(identity) || b: w, cov(unstructured)",
]


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("model", SIMULATED)
def test_gradient_matches_differences(model, reml):
    frame = _crossed_frame()
    design = build_design(parse_model(model, command="mixed"), frame)
    problem = build_problem(design, reml)
    rng = np.random.default_rng(7)
    theta = problem.start() * 0.6 + 0.2 * rng.random(problem.n_theta)
    value, grad = deviance_and_gradient(problem, theta)
    assert value == pytest.approx(profiled_deviance(problem, theta), rel=1e-12)
    numeric = _numeric_gradient(problem, theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


@pytest.mark.parametrize(
    "formula, fixture",
    [
        ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin_df"),
        ("strength ~ 1 + (1 | batch/cask)", "pastes_df"),
        ("Reaction ~ Days + (Days | Subject)", "sleepstudy_df"),
    ],
)
def test_gradient_on_reference_data(formula, fixture, request):
    design = build_design(parse_model(formula, command="mixed"), request.getfixturevalue(fixture))
    for reml in (False, True):
        problem = build_problem(design, reml)
        theta = problem.start() * 0.8 + 0.1
        _, grad = deviance_and_gradient(problem, theta)
        numeric = _numeric_gradient(problem, theta)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_gradient_vanishes_at_zero_scale():
    # theta = 0 of a scalar block is a stationary point: the deviance is even in that scale
    # (closed form: d/dtheta log|theta^2 A + I| = 0 at theta = 0, and u_k = 0 there).
    design = build_design(
        parse_model("y ~ x + (1 | a) + (1 | b)", command="mixed"), _crossed_frame()
    )
    problem = build_problem(design, False)
    value, grad = deviance_and_gradient(problem, np.array([0.7, 0.0]))
    assert grad[1] == pytest.approx(0.0, abs=1e-9)
    mirrored = profiled_deviance(problem, np.array([0.7, -0.3]))
    assert mirrored == pytest.approx(profiled_deviance(problem, np.array([0.7, 0.3])), rel=1e-12)
    assert np.isfinite(value)


@pytest.mark.parametrize("kind", ["identity", "independent", "unstructured", "exchangeable"])
def test_structure_factor_matches_covariance(kind):
    from multilevel.lmm.covariance import CovarianceStructure

    structure = CovarianceStructure(kind, ("x", "w", "_cons"))
    theta = np.linspace(0.3, 0.9, structure.n_theta)
    if kind == "exchangeable":
        theta[1] = 0.25
    np.testing.assert_array_equal(structure_factor(structure, theta), structure.factor(theta))
    derivative = factor_derivatives(structure, theta)
    assert derivative.shape == (structure.n_theta, 3, 3)
    assert (factor_basis(structure) is None) == (kind == "exchangeable")


@pytest.mark.parametrize("reml", [False, True])
def test_gradient_at_fixed_sigma2(reml, penicillin_df):
    from multilevel.lmm.deviance import deviance_at, deviance_at_and_gradient

    design = build_design(
        parse_model("diameter ~ 1 + (1 | plate) + (1 | sample)", command="mixed"), penicillin_df
    )
    problem = build_problem(design, reml)
    point = np.array([1.3, 3.0, 0.35])  # theta, then sigma2

    def value(z):
        return deviance_at(problem, z[:-1], z[-1])

    dev, grad = deviance_at_and_gradient(problem, point[:-1], point[-1])
    assert dev == pytest.approx(value(point), rel=1e-12)
    h = 1e-4
    numeric = np.empty(3)
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        numeric[k] = (
            -value(point + 2 * e)
            + 8 * value(point + e)
            - 8 * value(point - e)
            + value(point - 2 * e)
        ) / (12 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-7, atol=1e-7 * np.abs(numeric).max())
