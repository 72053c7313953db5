"""Fitting a linear mixed model: Design -> LmmEstimates (lme4's mkLmerDevfun -> optimizeLmer steps)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from ..design.types import Design
from .covariance import CovarianceStructure
from .crossprod import CrossProducts, cross_products, order_blocks, with_response
from .deviance import LmmProblem, deviance_from_factor
from .factor import Factorization, factorize, fixed_effects, random_effects, spherical_effects
from .optimize import OptimumRecord, minimize_profiled


@dataclass
class LmmEstimates:
    """Point estimates of a linear mixed model and the factorisation at the optimum.

    Covariance matrices and random effects are listed in ``Design.blocks`` order.
    """

    problem: LmmProblem
    theta: np.ndarray
    beta: np.ndarray
    sigma2: float
    covariances: list[np.ndarray]
    random_effects: list[np.ndarray]  # (groups, effects) per design block
    deviance: float
    optimum: OptimumRecord
    factor: Factorization = field(repr=False)

    @property
    def loglik(self) -> float:
        return -0.5 * self.deviance

    @property
    def reml(self) -> bool:
        return self.problem.reml

    def block_order(self) -> list[int]:
        """Design-block index of each factorisation block."""
        return [b.source for b in self.problem.cp.blocks]


def structure_for(level_covariance: str, effect_names: tuple[str, ...]) -> CovarianceStructure:
    """The covariance structure of a level; a single effect needs one scale whatever was asked."""
    kind = level_covariance if len(effect_names) > 1 else "identity"
    return CovarianceStructure(kind, tuple(effect_names))


def build_problem(design: Design, reml: bool, weights: np.ndarray | None = None) -> LmmProblem:
    """The objective's ingredients for a design (lme4's ``mkLmerDevfun``)."""
    blocks = order_blocks(
        [b.codes for b in design.blocks],
        [np.asarray(b.Z, dtype=float) for b in design.blocks],
        [b.n_groups for b in design.blocks],
    )
    cp = cross_products(design.X, np.asarray(design.y, dtype=float), blocks, weights)
    structures = [
        structure_for(
            design.blocks[b.source].level.covariance, design.blocks[b.source].effect_names
        )
        for b in blocks
    ]
    return LmmProblem(cp, structures, reml)


def optimize_problem(
    problem: LmmProblem, start: np.ndarray | None = None, hessian: np.ndarray | None = None
) -> OptimumRecord:
    """Minimise the profiled deviance (lme4's ``optimizeLmer``)."""
    return minimize_profiled(problem, start, hessian)


def estimates_at(problem: LmmProblem, theta: np.ndarray, optimum: OptimumRecord) -> LmmEstimates:
    """Everything that follows from theta: beta, sigma2, covariances, random effects."""
    fac = factorize(problem.cp, problem.lambdas(theta))
    beta = fixed_effects(fac)
    sigma2 = fac.pwrss / problem.dof
    u_fac_order = random_effects(fac, spherical_effects(fac, beta))
    n_blocks = len(problem.cp.blocks)
    covariances: list[np.ndarray | None] = [None] * n_blocks
    u_design: list[np.ndarray | None] = [None] * n_blocks
    for k, (block, lam) in enumerate(zip(problem.cp.blocks, fac.lambdas, strict=True)):
        covariances[block.source] = sigma2 * lam @ lam.T
        u_design[block.source] = u_fac_order[k]
    return LmmEstimates(
        problem=problem,
        theta=np.asarray(theta, dtype=float),
        beta=beta,
        sigma2=float(sigma2),
        covariances=covariances,
        random_effects=u_design,
        deviance=deviance_from_factor(problem, fac),
        optimum=optimum,
        factor=fac,
    )


def fit_lmm(design: Design, reml: bool = False, start: np.ndarray | None = None) -> LmmEstimates:
    """Fit a linear mixed model by ML or REML over the profiled deviance."""
    problem = build_problem(design, reml)
    optimum = optimize_problem(problem, start)
    return estimates_at(problem, optimum.x, optimum)


def refit_response(estimates: LmmEstimates, y: np.ndarray, X: np.ndarray) -> LmmEstimates:
    """Refit the same design to a new response, reusing every cross-product that does not involve y.

    This is the inner loop of parametric bootstrap, simulation and power analysis; it starts from the
    previous optimum, which is close for responses drawn from the fitted model.
    """
    problem = estimates.problem
    cp: CrossProducts = with_response(problem.cp, X, np.asarray(y, dtype=float))
    new_problem = LmmProblem(cp, problem.structures, problem.reml)
    optimum = optimize_problem(new_problem, estimates.theta, estimates.optimum.hessian)
    return estimates_at(new_problem, optimum.x, optimum)


def fixed_covariance(estimates: LmmEstimates) -> np.ndarray:
    """Covariance of the fixed effects given the variance parameters: ``sigma2 (R_X' R_X)^{-1}``."""
    p = len(estimates.beta)
    lx = estimates.factor.xyxy[:p, :p]
    inv_lx = sla.solve_triangular(lx, np.eye(p), lower=True, check_finite=False)
    return estimates.sigma2 * inv_lx.T @ inv_lx
