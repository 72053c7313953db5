"""Maximising the approximate likelihood: quasi-Newton on the Laplace deviance, Newton polish, Hessians.

The Laplace deviance comes with its exact gradient (``laplace.laplace_gradient``), so it is minimised by
L-BFGS-B over ``x = [theta, beta, ancillary]`` (theta bounded below where a scale must stay non-negative),
with the variables scaled by rough curvatures so that one quasi-Newton metric fits them all. The
Hessian that the standard errors need anyway is then taken by central differences of the gradient, and
Newton steps with it remove the optimiser's last slack.

Adaptive quadrature has no cheap exact gradient (the nodes move with the parameters); it is minimised
derivative-free (BOBYQA, ``lmm.optimize.minimize_bobyqa``) from the Laplace optimum, which is close.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nlopt
import numpy as np
from scipy.optimize import minimize

from ..lmm.optimize import OptimumRecord
from .laplace import (
    PIRLS_TOLERANCE,
    GlmmProblem,
    ModeState,
    find_modes,
    laplace_gradient,
    laplace_state,
)
from .params import ParameterLayout
from .system import SystemNotPositiveDefinite

_FAILED = 1e300


class LaplaceObjective:
    """Laplace deviance and gradient on the work scale, warm-starting PIRLS at the last modes."""

    def __init__(self, problem: GlmmProblem, layout: ParameterLayout):
        self.problem = problem
        self.layout = layout
        self.u = problem.zero_modes()
        self.evaluations = 0

    def state(self, x: np.ndarray, tolerance: float | None = None) -> ModeState:
        theta, beta, anc = self.layout.split(x)
        A = self.problem.design_A(self.problem.lambdas(theta))
        tol = PIRLS_TOLERANCE if tolerance is None else tolerance
        try:
            state = find_modes(self.problem, A, self.problem.fixed_eta(beta), anc, self.u, tol)
        except SystemNotPositiveDefinite:
            # A bad warm start (far from this point's modes) can leave the concave region; start afresh.
            state = laplace_state(self.problem, theta, beta, anc)
        if np.isfinite(state.deviance):
            self.u = state.u
        return state

    def value(self, x: np.ndarray) -> float:
        self.evaluations += 1
        try:
            value = self.state(x).deviance
        except (SystemNotPositiveDefinite, FloatingPointError, ValueError):
            return _FAILED
        return value if np.isfinite(value) else _FAILED

    def value_and_gradient(
        self, x: np.ndarray, tolerance: float | None = None
    ) -> tuple[float, np.ndarray]:
        self.evaluations += 1
        try:
            state = self.state(x, tolerance)
            theta, beta, anc = self.layout.split(x)
            g_theta, g_beta, g_anc = laplace_gradient(self.problem, state, theta, beta, anc)
        except (SystemNotPositiveDefinite, FloatingPointError, ValueError):
            return _FAILED, np.zeros_like(x)
        value = state.deviance
        if not np.isfinite(value):
            return _FAILED, np.zeros_like(x)
        return value, self.layout.work_gradient(x, g_theta, g_beta, g_anc)


@dataclass
class LaplaceOptimum:
    """Where the Laplace deviance was minimised, and its Hessian on the work scale there."""

    x: np.ndarray
    deviance: float
    gradient: np.ndarray
    hessian: np.ndarray
    record: OptimumRecord


def work_scales(
    problem: GlmmProblem, layout: ParameterLayout, glm_weights: np.ndarray
) -> np.ndarray:
    """Rough square roots of the deviance's curvature per variable, from the fixed-effects fit."""
    scale = np.ones(layout.size)
    nt, nb = layout.n_theta, layout.n_beta
    start = 0
    for block, structure in zip(problem.system.blocks, problem.structures, strict=True):
        scale[start : start + structure.n_theta] = np.sqrt(2.0 * block.n_groups)
        start += structure.n_theta
    info = np.einsum("ij,i,ij->j", problem.X, glm_weights, problem.X)
    scale[nt : nt + nb] = np.sqrt(2.0 * np.maximum(info, 1e-8))
    scale[nt + nb :] = np.sqrt(max(len(problem.data.y), 1))
    return scale


def minimize_laplace(
    objective: LaplaceObjective, x0: np.ndarray, scale: np.ndarray, max_iterations: int = 1000
) -> LaplaceOptimum:
    """L-BFGS-B on the scaled work variables, then Newton steps with a finite-difference Hessian."""
    layout = objective.layout

    def scaled(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = objective.value_and_gradient(z / scale)
        return value, grad / scale

    bounds = [
        (None if lo is None else lo * s, None if hi is None else hi * s)
        for (lo, hi), s in zip(layout.bounds(), scale, strict=True)
    ]
    result = minimize(
        scaled,
        x0 * scale,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iterations, "ftol": 1e-12, "gtol": 1e-6, "maxcor": 20},
    )
    x = np.clip(result.x / scale, *_bound_arrays(layout))
    value, grad = objective.value_and_gradient(x, tolerance=1e-13)
    hess = gradient_hessian(objective, x, scale)
    x, value, grad, steps = _newton_polish(objective, layout, x, value, grad, hess)
    converged = bool(result.success) or _small_gradient(grad, scale, layout, x)
    record = OptimumRecord(
        x=x,
        fun=float(value),
        n_evals=objective.evaluations,
        converged=converged,
        message=str(result.message) + (f"; {steps} Newton step(s)" if steps else ""),
    )
    return LaplaceOptimum(x, float(value), grad, hess, record)


def _bound_arrays(layout: ParameterLayout) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([-np.inf if b[0] is None else b[0] for b in layout.bounds()])
    hi = np.array([np.inf if b[1] is None else b[1] for b in layout.bounds()])
    return lo, hi


def _at_bound(layout: ParameterLayout, x: np.ndarray) -> np.ndarray:
    lo, hi = _bound_arrays(layout)
    return (x <= lo + 1e-8) | (x >= hi - 1e-8)


def _small_gradient(grad, scale, layout, x) -> bool:
    free = ~_at_bound(layout, x)
    return bool(np.all(np.abs(grad[free] / scale[free]) < 1e-4))


def _newton_polish(objective, layout, x, value, grad, hess, max_steps: int = 3):
    """Newton steps on the free variables while they lower the deviance."""
    steps = 0
    for _ in range(max_steps):
        free = ~_at_bound(layout, x)
        if not np.any(free):
            break
        try:
            step = np.zeros_like(x)
            step[free] = -np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or np.max(np.abs(step)) < 1e-12:
            break
        lo, hi = _bound_arrays(layout)
        trial = np.clip(x + step, lo, hi)
        new_value, new_grad = objective.value_and_gradient(trial, tolerance=1e-13)
        if not new_value < value:
            break
        x, value, grad = trial, new_value, new_grad
        steps += 1
    return x, value, grad, steps


def gradient_hessian(
    objective: LaplaceObjective, x: np.ndarray, scale: np.ndarray, relative_step: float = 1e-4
) -> np.ndarray:
    """Hessian of the deviance on the work scale: central differences of the exact gradient."""
    n = len(x)
    hess = np.empty((n, n))
    steps = relative_step / scale * np.sqrt(2.0)  # a step of about 1e-4 in units of curvature
    lo, hi = _bound_arrays(objective.layout)
    for k in range(n):
        h = steps[k]
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        if down[k] < lo[k]:  # one-sided at a bound
            down[k] = x[k]
        if up[k] > hi[k]:
            up[k] = x[k]
        g_up = objective.value_and_gradient(up, tolerance=1e-13)[1]
        g_down = objective.value_and_gradient(down, tolerance=1e-13)[1]
        hess[:, k] = (g_up - g_down) / (up[k] - down[k])
    return 0.5 * (hess + hess.T)


def function_hessian(
    fun: Callable[[np.ndarray], float], x: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """Central-difference Hessian of a function value alone (four evaluations per pair)."""
    n = len(x)
    f0 = fun(x)
    hess = np.empty((n, n))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = steps[i]
        hess[i, i] = (fun(x + ei) - 2 * f0 + fun(x - ei)) / steps[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = steps[j]
            value = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (
                4 * steps[i] * steps[j]
            )
            hess[i, j] = hess[j, i] = value
    return hess


def minimize_near(
    fun: Callable[[np.ndarray], float],
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    step: float = 0.02,
    max_evaluations: int = 5000,
) -> OptimumRecord:
    """Derivative-free minimisation (BOBYQA) from a start known to be close to the optimum.

    The trust region starts small (``step``), which saves most of the evaluations a generic start
    spends on finding the scale of the problem.
    """
    n = len(x0)
    best = {"x": np.array(x0, dtype=float), "f": np.inf, "count": 0}

    def objective(x, grad):
        best["count"] += 1
        value = fun(x)
        if value < best["f"]:
            best["x"], best["f"] = x.copy(), value
        return value if np.isfinite(value) else _FAILED

    opt = nlopt.opt(nlopt.LN_BOBYQA if n > 1 else nlopt.LN_SBPLX, n)
    opt.set_min_objective(objective)
    opt.set_lower_bounds(np.where(np.isfinite(lower), lower, -1e300))
    opt.set_upper_bounds(np.where(np.isfinite(upper), upper, 1e300))
    opt.set_ftol_abs(1e-10)
    opt.set_xtol_rel(1e-9)
    opt.set_maxeval(max_evaluations)
    opt.set_initial_step(np.full(n, step))
    start = np.clip(np.asarray(x0, dtype=float), lower, upper)
    try:
        opt.optimize(start)
        status = opt.last_optimize_result()
    except nlopt.RoundoffLimited:
        status = nlopt.SUCCESS
    converged = status in (nlopt.SUCCESS, nlopt.FTOL_REACHED, nlopt.XTOL_REACHED)
    return OptimumRecord(
        x=best["x"],
        fun=float(best["f"]),
        n_evals=best["count"],
        converged=converged,
        message="tolerance reached" if converged else f"nlopt status {status}",
    )
