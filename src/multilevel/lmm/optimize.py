"""Minimising the profiled deviance over theta.

Two minimisers: a bound-constrained quasi-Newton method driven by the analytic gradient (the default: a
few dozen evaluations at most), and BOBYQA, derivative-free, where no gradient is available.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nlopt
import numpy as np
from scipy.linalg import lapack
from scipy.optimize import minimize_scalar

from .deviance import LmmProblem, blas_threads, deviance_and_gradient, profiled_deviance
from .gradient import has_analytic_gradient
from .start import moment_start


@dataclass
class OptimumRecord:
    """Where the optimiser stopped and why."""

    x: np.ndarray
    fun: float
    n_evals: int
    converged: bool
    message: str
    hessian: np.ndarray | None = None  # curvature at x (quasi-Newton), to warm-start a refit


_NLOPT_MESSAGES = {
    nlopt.SUCCESS: "success",
    nlopt.STOPVAL_REACHED: "stopval reached",
    nlopt.FTOL_REACHED: "relative/absolute tolerance on the objective reached",
    nlopt.XTOL_REACHED: "tolerance on the parameters reached",
    nlopt.MAXEVAL_REACHED: "maximum number of evaluations reached",
    nlopt.MAXTIME_REACHED: "maximum time reached",
}


def minimize_bobyqa(
    objective: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    ftol_abs: float = 1e-11,
    xtol_rel: float = 1e-10,
    maxeval: int = 20000,
) -> OptimumRecord:
    """Minimise ``objective`` from ``start`` within bounds.

    BOBYQA is run twice: from the start with a trust region of 0.5 (the scale of relative standard
    deviations), then restarted at its answer with a small region. The restart costs a few dozen
    evaluations and removes the last 1e-6 of slack that a single run leaves in theta, so the estimates
    agree with the optimum to more digits than Stata prints.
    """
    n = len(start)
    start = np.clip(np.asarray(start, dtype=float), lower, upper)
    if n == 1 and lower[0] == 0.0 and not np.isfinite(upper[0]):
        return _minimize_scale(objective, float(start[0]))
    counter = _CountingObjective(objective)
    first = _run_nlopt(counter, start, lower, upper, 0.5, ftol_abs, xtol_rel, maxeval)
    second = _run_nlopt(counter, first[0], lower, upper, 0.01, ftol_abs, xtol_rel, maxeval)
    x, status = second
    fun = objective(x)
    if counter.best_f < fun:
        x, fun = counter.best_x, counter.best_f
    converged = status in (nlopt.SUCCESS, nlopt.FTOL_REACHED, nlopt.XTOL_REACHED)
    return OptimumRecord(
        x=np.asarray(x),
        fun=float(fun),
        n_evals=counter.count,
        converged=converged,
        message=_NLOPT_MESSAGES.get(status, f"nlopt status {status}"),
    )


class _CountingObjective:
    """Counts evaluations and remembers the best point (nlopt may stop on round-off)."""

    def __init__(self, objective: Callable[[np.ndarray], float]):
        self.objective = objective
        self.count = 0
        self.best_f = np.inf
        self.best_x: np.ndarray | None = None

    def __call__(self, x: np.ndarray, grad: np.ndarray) -> float:
        self.count += 1
        value = self.objective(x)
        if not np.isfinite(value):
            return 1e300
        if value < self.best_f:
            self.best_f, self.best_x = value, x.copy()
        return value


def _run_nlopt(counter, start, lower, upper, step, ftol_abs, xtol_rel, maxeval):
    n = len(start)
    opt = nlopt.opt(nlopt.LN_BOBYQA if n > 1 else nlopt.LN_SBPLX, n)
    opt.set_min_objective(counter)
    opt.set_lower_bounds(np.where(np.isfinite(lower), lower, -1e300))
    opt.set_upper_bounds(np.where(np.isfinite(upper), upper, 1e300))
    opt.set_ftol_abs(ftol_abs)
    opt.set_xtol_rel(xtol_rel)
    opt.set_maxeval(maxeval)
    opt.set_initial_step(np.full(n, step))
    try:
        return opt.optimize(start), opt.last_optimize_result()
    except nlopt.RoundoffLimited:
        return counter.best_x, nlopt.SUCCESS


def _minimize_scale(objective: Callable[[np.ndarray], float], start: float) -> OptimumRecord:
    """One non-negative scale parameter: Brent's method on |t|.

    BOBYQA needs two or more variables. With a single relative scale the deviance depends on t only
    through t**2, so minimising over |t| without bounds is exact and lets Brent's method run freely.
    """
    count = 0

    def folded(t: float) -> float:
        nonlocal count
        count += 1
        value = objective(np.array([abs(t)]))
        return value if np.isfinite(value) else 1e300

    res = minimize_scalar(
        folded, bracket=(0.0, max(start, 1e-3)), tol=1e-10, options={"maxiter": 2000}
    )
    x = np.array([abs(float(res.x))])
    return OptimumRecord(
        x=x,
        fun=float(res.fun),
        n_evals=count,
        converged=bool(res.success),
        message="success" if res.success else str(res.message),
    )


# --- quasi-Newton with the analytic gradient ------------------------------------------------------

ValueAndGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass
class _Point:
    x: np.ndarray
    f: float
    g: np.ndarray


def _free_variables(point: _Point, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Variables not held at a bound by a gradient pointing outwards."""
    at_lower = (point.x <= lower) & (point.g > 0)
    at_upper = (point.x >= upper) & (point.g < 0)
    return ~(at_lower | at_upper)


def _difference_hessian(
    fg: ValueAndGradient, point: _Point, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Forward-difference Hessian of the analytic gradient (n gradients), symmetrised.

    Steps go inwards at an upper bound. Only the starting curvature comes from here; BFGS updates
    refine it, so a relative accuracy of ~1e-5 is plenty.
    """
    n = len(point.x)
    hess = np.empty((n, n))
    for k in range(n):
        step = 1e-5 * max(1.0, abs(point.x[k]))
        if point.x[k] + step > upper[k]:
            step = -step
        x = point.x.copy()
        x[k] += step
        _, g = fg(x)
        hess[:, k] = (g - point.g) / step
    return 0.5 * (hess + hess.T)


def _positive_definite(hess: np.ndarray) -> np.ndarray:
    """The Hessian with its eigenvalues made positive (absolute values, floored), for a descent step."""
    vals, vecs = np.linalg.eigh(hess)
    scale = max(float(np.max(np.abs(vals))), 1e-12)
    vals = np.maximum(np.abs(vals), 1e-8 * scale)
    return (vecs * vals) @ vecs.T


def _newton_direction(point: _Point, hess: np.ndarray, free: np.ndarray) -> np.ndarray:
    direction = np.zeros_like(point.x)
    if np.any(free):
        sub = hess if free.all() else hess[np.ix_(free, free)]
        # hess is positive definite (see _positive_definite and _bfgs_update): a Cholesky solve
        _, solution, info = lapack.dposv(sub, -point.g[free], lower=1)
        direction[free] = solution if info == 0 else -point.g[free]
    if direction @ point.g >= 0:  # not a descent direction: fall back to steepest descent
        direction = np.where(free, -point.g, 0.0)
    return direction


def _bfgs_update(hess: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Direct BFGS update of the Hessian; skipped when the curvature condition fails."""
    sy = float(s @ y)
    hs = hess @ s
    shs = float(s @ hs)
    if sy <= 1e-12 * np.sqrt(float(s @ s) * float(y @ y)) or shs <= 0:
        return hess
    return hess + np.outer(y, y) / sy - np.outer(hs, hs) / shs


def _line_search(fg, point, direction, lower, upper, max_step, noise):
    """Backtracking (Armijo) along the projected path; None when no decrease can be found.

    Backtracking stops once the decrease still on offer is below the objective's round-off ``noise``:
    there is nothing left to gain, and the comparisons would be decided by round-off.
    """
    longest = float(np.max(np.abs(direction)))
    t = min(1.0, max_step / longest) if longest > 0 else 1.0
    offered = -float(point.g @ direction)
    while t * offered > noise:
        x = np.clip(point.x + t * direction, lower, upper)
        f, g = fg(x)
        decrease = point.g @ (x - point.x)
        if np.isfinite(f) and f <= point.f + 1e-4 * decrease:
            return _Point(x, f, g)
        t *= 0.25 if not np.isfinite(f) else 0.5
    return None


def _decrement(point: _Point, hess: np.ndarray, lower, upper) -> tuple[np.ndarray, float]:
    """The quasi-Newton direction and the predicted decrease ``-g'd`` along it."""
    direction = _newton_direction(point, hess, _free_variables(point, lower, upper))
    return direction, -float(direction @ point.g)


def _polish(fg, point, hess, lower, upper, xtol=3e-9, max_steps=8):
    """Full quasi-Newton steps on the gradient alone, once values can no longer rank the points.

    Near the minimum the deviance moves by less than its round-off (1e-12 relative or more: the
    penalised residual sum of squares is a difference of large cross-products) while the gradient
    still points the way; a flat direction such as a correlation can be 1e-7 off when the deviance is
    within 1e-11 of its minimum. Steps continue while the predicted decrease shrinks, the value only
    guarding against a real increase; the last point that improved it is kept.
    """
    direction, decrement = _decrement(point, hess, lower, upper)
    for _ in range(max_steps):
        if np.max(np.abs(direction)) <= xtol * max(1.0, float(np.max(np.abs(point.x)))):
            break
        x = np.clip(point.x + direction, lower, upper)
        f, g = fg(x)
        if not np.isfinite(f) or f > point.f + 1e-9 * max(1.0, abs(point.f)):
            break
        new_hess = _bfgs_update(hess, x - point.x, g - point.g)
        new = _Point(x, f, g)
        new_direction, new_decrement = _decrement(new, new_hess, lower, upper)
        if new_decrement >= decrement:
            break
        point, hess, direction, decrement = new, new_hess, new_direction, new_decrement
    return point, hess


def minimize_quasi_newton(
    fg: ValueAndGradient,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    decrement_tol: float = 1e-11,
    relative_noise: float = 1e-14,
    max_iter: int = 200,
    max_step: float = 1.0,
    hessian: np.ndarray | None = None,
) -> OptimumRecord:
    """Minimise a smooth objective within bounds from its value and gradient.

    A projected quasi-Newton method: the curvature starts from a difference Hessian of the gradient
    (so the first steps are Newton steps, not steepest descent) and is refined by BFGS updates;
    variables at a bound whose gradient points outwards are held there. Steps are line-searched until
    the predicted decrease ``-g'd`` falls below ``decrement_tol`` or the objective's round-off
    (``relative_noise * |f|``); then a few full steps on the gradient alone polish theta to ~1e-9
    (:func:`_polish`). If a step finds no decrease, the curvature is rebuilt from differences once
    before giving up. A ``hessian`` given (the curvature of a previous fit of the same design)
    replaces the starting difference Hessian.
    """
    counted = _CountingGradient(fg)
    x0 = np.clip(np.asarray(start, dtype=float), lower, upper)
    point = _Point(x0, *counted(x0))
    if not np.isfinite(point.f):
        raise ArithmeticError("objective is not finite at the start")
    given = None if hessian is None else np.asarray(hessian, dtype=float)
    hess = _positive_definite(
        _difference_hessian(counted, point, lower, upper) if given is None else given
    )
    fresh = given is None  # hess is a difference Hessian at point, not an update or a guess
    message, converged = "maximum number of iterations reached", False
    for _ in range(max_iter):
        noise = max(decrement_tol, relative_noise * abs(point.f))
        direction, decrement = _decrement(point, hess, lower, upper)
        if decrement <= noise:
            message, converged = "predicted decrease below tolerance", True
            break
        new = _line_search(counted, point, direction, lower, upper, max_step, noise)
        if new is None and not fresh:
            hess = _positive_definite(_difference_hessian(counted, point, lower, upper))
            fresh = True
            continue
        if new is None:
            message = "no further decrease (round-off)"
            break
        hess = _bfgs_update(hess, new.x - point.x, new.g - point.g)
        fresh = False
        point = new
    if converged or message.startswith("no further"):
        point, hess = _polish(counted, point, hess, lower, upper)
        converged = converged or _decrement(point, hess, lower, upper)[1] <= 1e3 * noise
    return OptimumRecord(point.x, float(point.f), counted.count, converged, message, hess)


class _CountingGradient:
    def __init__(self, fg: ValueAndGradient):
        self.fg = fg
        self.count = 0

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.count += 1
        f, g = self.fg(x)
        return float(f), np.asarray(g, dtype=float)


# --- the profiled deviance ---------------------------------------------------------------------


def _sign_free_bounds(problem: LmmProblem) -> tuple[np.ndarray, np.ndarray]:
    """Bounds with the non-negativity of scale parameters dropped.

    The deviance is even in each scale (flipping the sign of a column of ``lam`` leaves ``lam lam'``
    unchanged), so the bound only picks one of two mirror images. Without it the minimiser never sits
    on theta = 0, where the gradient of a scale vanishes and a gradient method could stall.
    """
    lower, upper = problem.bounds()
    return np.where(lower == 0.0, -np.inf, lower), upper


def canonical_signs(problem: LmmProblem, theta: np.ndarray) -> np.ndarray:
    """Signs (+1/-1 per element) that map theta to its mirror image with non-negative scales.

    Identity, independent and exchangeable scales flip alone; an unstructured factor flips a whole
    column of ``lam`` (its diagonal element and those below it) with its diagonal.
    """
    out = []
    for structure, piece in zip(problem.structures, problem.split(theta), strict=True):
        lower, _ = structure.theta_bounds()
        if structure.kind == "unstructured" and structure.q > 1:
            cols, rows = np.triu_indices(structure.q)  # column-major lower triangle of lam
            column_signs = np.where(piece[rows == cols] < 0, -1.0, 1.0)
            out.append(column_signs[cols])
        else:
            out.append(np.where((lower == 0.0) & (piece < 0), -1.0, 1.0))
    return np.concatenate(out)


def canonical_theta(problem: LmmProblem, theta: np.ndarray) -> np.ndarray:
    """The mirror image of theta with non-negative scales (lme4's convention)."""
    return theta * canonical_signs(problem, theta)


def minimize_profiled(
    problem: LmmProblem, start: np.ndarray | None = None, hessian: np.ndarray | None = None
) -> OptimumRecord:
    """Minimise the profiled deviance: quasi-Newton on the analytic gradient, BOBYQA as the fallback.

    Parameters
    ----------
    problem
        The objective's ingredients.
    start
        Starting theta; moment estimates (:func:`.start.moment_start`) by default.
    hessian
        Starting curvature (``OptimumRecord.hessian`` of an earlier fit of the same design, e.g. when
        refitting a new response); a difference Hessian at the start by default.

    Returns
    -------
    OptimumRecord
        The minimiser in lme4's convention (non-negative scales).
    """
    with blas_threads(problem.cp):
        return _minimize_profiled(problem, start, hessian)


def _minimize_profiled(
    problem: LmmProblem, start: np.ndarray | None, hessian: np.ndarray | None
) -> OptimumRecord:
    lower, upper = problem.bounds()
    start = moment_start(problem) if start is None else np.asarray(start, dtype=float)
    used = 0
    if has_analytic_gradient(problem.cp):
        free_lower, free_upper = _sign_free_bounds(problem)
        try:
            record = minimize_quasi_newton(
                lambda th: deviance_and_gradient(problem, th),
                start,
                free_lower,
                free_upper,
                hessian=hessian,
            )
        except (ArithmeticError, np.linalg.LinAlgError):
            record = None
        if record is not None and record.converged:
            signs = canonical_signs(problem, record.x)
            record.x = record.x * signs
            record.hessian = record.hessian * np.outer(signs, signs)
            return record
        used = 0 if record is None else record.n_evals
    record = minimize_bobyqa(lambda th: profiled_deviance(problem, th), start, lower, upper)
    record.n_evals += used
    return record
