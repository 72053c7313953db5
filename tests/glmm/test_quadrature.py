"""Gauss–Hermite quadrature: it converges as points are added, and one mode-curvature point is Laplace."""

from __future__ import annotations

import numpy as np
import pytest

from multilevel.glmm.agq import QuadratureObjective
from multilevel.glmm.fit import fit_glmm
from multilevel.glmm.quadrature import hermite_grid, nested_tree

from .models import design_for, fit_model

NESTED = [
    ("y x || school: || cls:", "melogit"),
    ("y x || school: || cls: x, cov(un)", "melogit"),
    ("cnt x || school: || cls:, exposure(expo)", "mepoisson"),
    ("rating i.temp i.contact || judge:", "meologit"),
]


def _data(name, nested_df, wine_df):
    return wine_df if name.startswith("rating") else nested_df


def test_hermite_grid_integrates_normal_moments():
    # E z^2 = 1, E z^4 = 3, E z1^2 z2^2 = 1 under N(0, I) (closed form)
    nodes, log_w = hermite_grid(5, 2)
    w = np.exp(log_w)
    assert w.sum() == pytest.approx(1.0)
    assert w @ nodes[:, 0] ** 2 == pytest.approx(1.0)
    assert w @ nodes[:, 1] ** 4 == pytest.approx(3.0)
    assert w @ (nodes[:, 0] ** 2 * nodes[:, 1] ** 2) == pytest.approx(1.0)


@pytest.mark.parametrize("text, command", NESTED)
def test_laplace_is_one_point_mode_curvature_quadrature(nested_df, wine_df, text, command):
    fit = fit_model(text, command, _data(text, nested_df, wine_df), intmethod="laplace")
    tree = nested_tree(fit.objective.problem.system)
    one_point = QuadratureObjective(fit.objective, tree, "mcaghermite", 1)
    assert -0.5 * one_point.value(fit.x) == pytest.approx(fit.loglik, rel=1e-12)


@pytest.mark.parametrize("text, command", NESTED)
def test_quadrature_converges_with_more_points(nested_df, wine_df, text, command):
    # Every node placement integrates the same likelihood: with more points the adaptive rules agree
    # to 1e-7 and settle; the non-adaptive rule approaches the same value.
    fit = fit_model(text, command, _data(text, nested_df, wine_df), intmethod="laplace")
    tree = nested_tree(fit.objective.problem.system)

    def loglik(method, points):
        return -0.5 * QuadratureObjective(fit.objective, tree, method, points).value(fit.x)

    reference = loglik("mcaghermite", 15)
    assert loglik("mcaghermite", 11) == pytest.approx(reference, abs=1e-5)
    assert loglik("mvaghermite", 15) == pytest.approx(reference, abs=1e-6)
    assert loglik("mvaghermite", 11) == pytest.approx(reference, abs=1e-5)
    errors = [abs(loglik("mvaghermite", k) - reference) for k in (3, 7)]
    assert errors[1] < errors[0]
    assert loglik("ghermite", 30) == pytest.approx(reference, abs=5e-3)


def test_default_is_mvaghermite_seven_points(cbpp_df):
    fit = fit_model("incidence i.period || herd:, binomial(size)", "melogit", cbpp_df)
    assert (fit.intmethod, fit.intpoints) == ("mvaghermite", 7)
    assert fit.integration == "Integration method: mvaghermite  Integration pts. = 7"


def test_three_level_adaptive_fit_improves_on_laplace(nested_df):
    design = design_for("y x || school: || cls:", "melogit", nested_df)
    laplace = fit_glmm(design, intmethod="laplace")
    agq = fit_glmm(design, intmethod="mvaghermite", intpoints=9)
    assert agq.converged
    # the quadrature log likelihood at its own optimum is at least its value at the Laplace optimum
    tree = nested_tree(agq.objective.laplace.problem.system)
    at_laplace = -0.5 * QuadratureObjective(agq.objective.laplace, tree, "mvaghermite", 9).value(
        laplace.x
    )
    assert agq.loglik >= at_laplace - 1e-8
    assert np.all(np.isfinite(agq.se.to_numpy()))
