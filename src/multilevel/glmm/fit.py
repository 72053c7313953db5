"""Fitting a generalized linear mixed model: Design -> GlmmEstimates.

Laplace approximation (PIRLS for the modes, exact gradient, quasi-Newton) first; for nested random effects
and a quadrature method, adaptive Gauss–Hermite quadrature from the Laplace optimum. Crossed random effects
are fitted by the Laplace approximation, as Stata does.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..design.types import Design
from ..errors import DataError, EstimationError, OptionError
from ..lmm.crossprod import order_blocks
from ..lmm.fit import structure_for
from ..lmm.optimize import OptimumRecord
from .agq import QuadratureObjective
from .families import GlmFamily, ResponseData, family_for
from .glm import GlmFit, fit_glm
from .inference import (
    Covariance,
    active_parameters,
    covariance_from_hessian,
    parameter_table,
    stata_hessian_from_function,
    stata_hessian_from_work,
)
from .laplace import GlmmProblem
from .optimize import (
    LaplaceObjective,
    LaplaceOptimum,
    minimize_laplace,
    minimize_near,
    work_scales,
)
from .params import ParameterLayout
from .quadrature import nested_tree
from .system import RandomSystem

DEFAULT_INTMETHOD = "mvaghermite"
DEFAULT_INTPOINTS = 7
INTMETHODS = ("mvaghermite", "mcaghermite", "ghermite", "laplace")


@dataclass
class GlmmEstimates:
    """A fitted GLMM: estimates with Stata's labels, their covariance, and what the fit needs later."""

    design: Design
    family: GlmFamily
    layout: ParameterLayout
    x: np.ndarray  # optimum on the work scale
    loglik: float
    covariance: Covariance
    optimum: OptimumRecord
    intmethod: str
    intpoints: int
    glm: GlmFit
    notes: list[str] = field(default_factory=list)
    objective: object = field(default=None, repr=False)  # LaplaceObjective or QuadratureObjective

    # --- parameters ---------------------------------------------------------------------------
    @property
    def theta(self) -> np.ndarray:
        return self.layout.split(self.x)[0]

    @property
    def beta(self) -> np.ndarray:
        return self.layout.split(self.x)[1]

    @property
    def ancillary(self) -> np.ndarray:
        return self.layout.split(self.x)[2]

    @property
    def covariances(self) -> list[np.ndarray]:
        """Covariance matrix of the random effects of each design block (design order)."""
        return self.layout.covariances(self.theta)

    @property
    def params(self) -> pd.Series:
        """Reported parameters: coefficients, cutpoints or ``/lnalpha``, variances and covariances."""
        return pd.Series(self.covariance.reported, index=self.layout.labels, dtype=float)

    @property
    def se(self) -> pd.Series:
        return pd.Series(
            np.sqrt(np.diag(self.covariance.cov_reported)), index=self.layout.labels, dtype=float
        )

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the reported parameters (delta method for the variance parameters)."""
        labels = self.layout.labels
        return pd.DataFrame(self.covariance.cov_reported, index=labels, columns=labels)

    @property
    def stata_params(self) -> pd.Series:
        """Parameters on Stata's estimation scale (ln sd, atanh corr), as in ``e(b)``."""
        return pd.Series(self.covariance.phi, index=self.layout.stata_labels(), dtype=float)

    @property
    def stata_vcov(self) -> pd.DataFrame:
        labels = self.layout.stata_labels()
        return pd.DataFrame(self.covariance.cov_phi, index=labels, columns=labels)

    @property
    def converged(self) -> bool:
        return bool(self.optimum.converged)

    @property
    def n_variance_params(self) -> int:
        return sum(s.n_stata for s in self.layout.design_structures)

    def table(self, level: float | None = None, eform: bool | None = None) -> pd.DataFrame:
        """Stata's coefficient table: coef (or exp(coef)), se, z, p, lower, upper."""
        options = self.design.spec.options
        return parameter_table(
            self.layout,
            self.covariance,
            options.level if level is None else level,
            options.eform if eform is None else eform,
        )

    @property
    def integration(self) -> str:
        """Stata's header line on the integration method."""
        if self.intmethod == "laplace":
            return "Integration method: laplace"
        return f"Integration method: {self.intmethod}  Integration pts. = {self.intpoints}"

    @property
    def lr_test(self) -> dict:
        """LR test against the model without random effects (Stata's last line)."""
        from .predict import lr_test_vs_fixed

        return lr_test_vs_fixed(self)


# --- building the problem --------------------------------------------------------------------------
def build_problem(design: Design) -> GlmmProblem:
    """Family, response, fixed part and random-effects system of a design."""
    if not design.blocks:
        raise OptionError("a multilevel model needs at least one random-effects level")
    spec = design.spec
    k = len(design.response_levels)
    family = family_for(spec.family, k, spec.response)
    y = np.asarray(design.y, dtype=float)
    _check_response(family, y, design, k)
    blocks = order_blocks(
        [b.codes for b in design.blocks],
        [np.asarray(b.Z, dtype=float) for b in design.blocks],
        [b.n_groups for b in design.blocks],
    )
    structures = [
        structure_for(
            design.blocks[b.source].level.covariance, design.blocks[b.source].effect_names
        )
        for b in blocks
    ]
    trials = None if design.trials is None else np.asarray(design.trials, dtype=float)
    offset = np.zeros(len(y)) if design.offset is None else np.asarray(design.offset, dtype=float)
    return GlmmProblem(
        family=family,
        data=ResponseData(y, trials, k),
        X=np.asarray(design.X, dtype=float),
        offset=offset,
        system=RandomSystem(blocks),
        structures=structures,
    )


def _check_response(family: GlmFamily, y: np.ndarray, design: Design, k: int) -> None:
    """The outcome suits the family (the design checks data; these guard hand-built designs too)."""
    name = design.spec.response
    if family.name == "bernoulli" and not np.all((y == 0) | (y == 1)):
        raise DataError(f"outcome {name} must be 0 or 1 for a Bernoulli model")
    if family.name == "binomial":
        trials = np.ones_like(y) if design.trials is None else np.asarray(design.trials)
        if np.any(y < 0) or np.any(y > trials):
            raise DataError(f"outcome {name} must lie between 0 and the number of trials")
    if family.name in ("poisson", "nbinomial") and np.any(y < 0):
        raise DataError(f"outcome {name} has negative values; a count model needs counts >= 0")
    if family.is_ordinal:
        if k < 2:
            raise DataError(f"outcome {name} needs at least 2 ordered categories for cutpoints")
        if np.any((y < 0) | (y >= k) | (y != np.round(y))):
            raise DataError(f"outcome {name} must be coded 0 .. {k - 1} by its ordered categories")


def resolve_integration(
    design: Design, system: RandomSystem, intmethod: str | None, intpoints: int | None
) -> tuple[str, int, list[str]]:
    """The integration method and points actually used, and the notes Stata prints about them."""
    notes: list[str] = []
    method = intmethod or design.spec.options.intmethod
    points = intpoints if intpoints is not None else design.spec.options.intpoints
    if method is not None and method not in INTMETHODS:
        raise OptionError(f"intmethod({method}) is not one of {', '.join(INTMETHODS)}")
    if points is not None and (int(points) != points or points < 1 or points > 128):
        raise OptionError("intpoints() must be an integer from 1 to 128")
    crossed = any(b.level.crossed_factor is not None for b in design.blocks)
    if crossed or nested_tree(system) is None:
        if method not in (None, "laplace"):
            notes.append(
                f"note: intmethod({method}) is not available for crossed random effects; "
                "intmethod(laplace) used."
            )
        else:
            notes.append(
                "note: crossed random-effects model specified; option intmethod(laplace) implied."
            )
        return "laplace", 1, notes
    method = method or DEFAULT_INTMETHOD
    if method == "laplace":
        return "laplace", 1, notes
    points = int(points) if points is not None else DEFAULT_INTPOINTS
    if method == "mvaghermite" and points == 1:
        method = "mcaghermite"  # one node has no posterior spread to adapt to: mode and curvature
    return method, points, notes


@contextlib.contextmanager
def _blas_threads(problem: GlmmProblem):
    """One BLAS thread while the dense part is small: thread start-up costs more than it saves."""
    if problem.system.size_rest > 1000:
        yield
        return
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        yield
        return
    with _controller(ThreadpoolController).limit(limits=1, user_api="blas"):
        yield


_CONTROLLERS: dict = {}


def _controller(kind):
    if "blas" not in _CONTROLLERS:
        _CONTROLLERS["blas"] = kind()
    return _CONTROLLERS["blas"]


# --- the fit -------------------------------------------------------------------------------------
def fit_glmm(
    design: Design,
    *,
    intmethod: str | None = None,
    intpoints: int | None = None,
    start: np.ndarray | None = None,
) -> GlmmEstimates:
    """Fit a generalized linear mixed model by maximum likelihood.

    Parameters
    ----------
    design
        The model applied to data (family, link, trials, offset from ``design.spec``).
    intmethod
        ``"mvaghermite"`` (default, Stata's), ``"mcaghermite"``, ``"ghermite"`` or ``"laplace"``;
        ``None`` takes the spec's option. Crossed random effects always use ``"laplace"``.
    intpoints
        Quadrature points per random effect (default 7).
    start
        Starting values on Stata's estimation scale, in the order of ``stata_params``.

    Returns
    -------
    GlmmEstimates
        Estimates, covariance on the estimation and reported scales, log likelihood with all
        normalising constants (binomial coefficients included, as Stata reports it).

    Raises
    ------
    DataError
        The outcome does not suit the family.
    OptionError
        An unknown integration method or an impossible number of points.
    EstimationError
        The likelihood cannot be evaluated at any starting value.
    """
    problem = build_problem(design)
    layout = ParameterLayout.for_design(problem, design)
    method, points, notes = resolve_integration(design, problem.system, intmethod, intpoints)
    glm = fit_glm(problem.family, problem.X, problem.offset, problem.data)
    with _blas_threads(problem):
        laplace = LaplaceObjective(problem, layout)
        optimum = _laplace_optimum(laplace, glm, start)
        if method == "laplace":
            x, deviance, record, objective = optimum.x, optimum.deviance, optimum.record, laplace
            phi = layout.stata_from_work(x)
            active = active_parameters(layout, phi)
            hess_phi = stata_hessian_from_work(layout, phi, optimum.hessian)
        else:
            objective = QuadratureObjective(laplace, nested_tree(problem.system), method, points)
            x, deviance, record = _optimize_quadrature(objective, optimum.x)
            phi = layout.stata_from_work(x)
            active = active_parameters(layout, phi)
            hess_phi = stata_hessian_from_function(
                lambda p: objective.value(layout.work_from_stata(p)), phi, active
            )
        covariance = covariance_from_hessian(layout, phi, hess_phi, active)
    notes.extend(_fit_notes(record, covariance))
    return GlmmEstimates(
        design=design,
        family=problem.family,
        layout=layout,
        x=x,
        loglik=-0.5 * deviance,
        covariance=covariance,
        optimum=record,
        intmethod=method,
        intpoints=points,
        glm=glm,
        notes=notes,
        objective=objective,
    )


def _laplace_optimum(laplace: LaplaceObjective, glm: GlmFit, start) -> LaplaceOptimum:
    """Minimise the Laplace deviance; leave a zero variance only where the deviance rises off it."""
    problem, layout = laplace.problem, laplace.layout
    x0 = _start(layout, glm, start)
    if start is None and problem.family.name == "nbinomial":
        x0 = _count_start(problem, layout, glm)
    _, _, weights = problem.family.derivatives(
        problem.fixed_eta(glm.beta), problem.data, glm.ancillary
    )
    if laplace.value(x0) >= 1e299:
        raise EstimationError("the likelihood cannot be evaluated at the starting values")
    scale = work_scales(problem, layout, weights)
    optimum = minimize_laplace(laplace, x0, scale)
    for _ in range(3):
        escape = _off_boundary(laplace, optimum)
        if escape is None:
            break
        optimum = minimize_laplace(laplace, escape, scale)
    return optimum


def _off_boundary(laplace: LaplaceObjective, optimum: LaplaceOptimum) -> np.ndarray | None:
    """A better point with a zero scale made positive, if there is one.

    The deviance is even in each scale of an identity or diagonal factor, so its derivative there is
    zero at zero and a bounded quasi-Newton method cannot leave zero by itself.
    """
    start = 0
    best, best_value = None, optimum.deviance - 1e-6
    for structure in laplace.problem.structures:
        positions = _diagonal_positions(structure)
        for k in positions:
            index = start + k
            if optimum.x[index] > 1e-6:
                continue
            for trial_value in (0.5, 0.1):
                trial = optimum.x.copy()
                trial[index] = trial_value
                value = laplace.value(trial)
                if value < best_value:
                    best, best_value = trial, value
        start += structure.n_theta
    return best


def _diagonal_positions(structure) -> list[int]:
    if structure.kind == "unstructured":
        q = structure.q
        return [sum(q - i for i in range(j)) for j in range(q)]
    if structure.kind == "independent":
        return list(range(structure.n_theta))
    return [0]


def _count_start(problem: GlmmProblem, layout: ParameterLayout, glm: GlmFit) -> np.ndarray:
    """Negative binomial: start from the Poisson mixed model, with little overdispersion left.

    Started from the fixed-effects negative binomial fit, the dispersion has already absorbed the
    between-group variation, and the optimiser can settle with a variance at zero.
    """
    from .families import Poisson

    poisson = GlmmProblem(
        Poisson("poisson", "log"),
        problem.data,
        problem.X,
        problem.offset,
        problem.system,
        problem.structures,
    )
    poisson_layout = ParameterLayout(
        poisson,
        layout.design_structures,
        layout.fact_source,
        layout.labels_fixed,
        [],
        layout.labels_random,
        layout.block_labels,
    )
    poisson_glm = fit_glm(poisson.family, poisson.X, poisson.offset, poisson.data)
    objective = LaplaceObjective(poisson, poisson_layout)
    x0 = poisson_layout.join(poisson_layout.theta_start(), poisson_glm.beta, np.zeros(0))
    _, _, weights = poisson.family.derivatives(
        poisson.fixed_eta(poisson_glm.beta), poisson.data, np.zeros(0)
    )
    fitted = minimize_laplace(objective, x0, work_scales(poisson, poisson_layout, weights))
    theta, beta, _ = poisson_layout.split(fitted.x)
    return layout.join(theta, beta, np.array([-2.0]))


def _start(layout: ParameterLayout, glm: GlmFit, start) -> np.ndarray:
    if start is not None:
        start = np.asarray(start, dtype=float)
        if start.shape != (layout.size,):
            raise OptionError(f"start must hold {layout.size} values (Stata's e(b) order)")
        return layout.work_from_stata(start)
    return layout.join(layout.theta_start(), glm.beta, glm.ancillary)


def _optimize_quadrature(objective: QuadratureObjective, x0: np.ndarray):
    """BOBYQA on the quadrature deviance from the Laplace optimum (close: a small trust region)."""
    layout = objective.layout
    lower = np.array([-np.inf if b[0] is None else b[0] for b in layout.bounds()])
    upper = np.array([np.inf if b[1] is None else b[1] for b in layout.bounds()])
    record = minimize_near(objective.value, x0, lower, upper)
    return record.x, record.fun, record


def _fit_notes(record: OptimumRecord, covariance: Covariance) -> list[str]:
    notes = []
    if not record.converged:
        notes.append(f"convergence not achieved ({record.message})")
    if not np.all(covariance.active):
        notes.append(
            "a variance component is estimated at its boundary; its standard error is missing"
        )
    if covariance.singular:
        notes.append(
            "the observed information matrix is singular; standard errors may be unreliable"
        )
    return notes
