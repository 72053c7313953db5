"""The adaptive-quadrature deviance as a function of the work-scale parameters."""

from __future__ import annotations

import numpy as np

from .optimize import LaplaceObjective
from .params import ParameterLayout
from .quadrature import (
    ADAPT_MAX_ITERATIONS,
    ADAPT_TOLERANCE,
    Adaptation,
    NestedTree,
    Quadrature,
    QuadratureResult,
    adaptation_change,
    mean_variance,
    mode_curvature,
    nonadaptive,
)
from .system import SystemNotPositiveDefinite

_FAILED = 1e300
METHODS = ("mvaghermite", "mcaghermite", "ghermite")


class QuadratureObjective:
    """-2 log likelihood by Gauss–Hermite quadrature with ``method``'s node placement."""

    def __init__(self, laplace: LaplaceObjective, tree: NestedTree, method: str, points: int):
        if method not in METHODS:
            raise ValueError(f"unknown quadrature method {method}")
        self.laplace = laplace
        self.layout: ParameterLayout = laplace.layout
        self.tree = tree
        self.method = method
        self.points = points
        self.quadrature = Quadrature(laplace.problem, tree, points)
        self.evaluations = 0
        self._last_adaptation: Adaptation | None = None

    def result(self, x: np.ndarray, moments: bool = False) -> QuadratureResult:
        """Log likelihood (and posterior moments) at x, nodes adapted as the method says."""
        problem = self.laplace.problem
        theta, beta, anc = self.layout.split(x)
        state = self.laplace.state(x)
        A, fixed = state.A, problem.fixed_eta(beta)
        if self.method == "ghermite":
            adapt = nonadaptive(self.tree, problem.system)
            return self.quadrature.evaluate(adapt, A, fixed, anc, moments)
        if self.method == "mcaghermite":
            adapt = mode_curvature(self.tree, problem, state, anc)
            return self.quadrature.evaluate(adapt, A, fixed, anc, moments)
        start = self._last_adaptation or mode_curvature(self.tree, problem, state, anc)
        return self._mean_variance(start, A, fixed, anc)

    def _mean_variance(self, adapt: Adaptation, A, fixed, anc) -> QuadratureResult:
        """Fixed-point iteration of the nodes on the posterior means and covariances.

        It starts from the previous evaluation's nodes (the optimiser moves in small steps), and stops
        when the nodes move by less than ``ADAPT_TOLERANCE``: the log likelihood is then fixed to far
        more digits than the optimiser uses.
        """
        result = self.quadrature.evaluate(adapt, A, fixed, anc, moments=True)
        for _ in range(ADAPT_MAX_ITERATIONS):
            updated = mean_variance(self.tree, result)
            if adaptation_change(adapt, updated) < ADAPT_TOLERANCE:
                break
            adapt = updated
            result = self.quadrature.evaluate(adapt, A, fixed, anc, moments=True)
        if np.isfinite(result.loglik):
            self._last_adaptation = adapt
        return result

    def value(self, x: np.ndarray) -> float:
        self.evaluations += 1
        try:
            loglik = self.result(x).loglik
        except (SystemNotPositiveDefinite, np.linalg.LinAlgError, FloatingPointError, ValueError):
            return _FAILED
        return -2.0 * loglik if np.isfinite(loglik) else _FAILED
