"""The profiled deviance: a pure function of theta (Bates et al. 2015, eqs. 34 and 41)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .covariance import CovarianceStructure
from .crossprod import CrossProducts
from .factor import Factorization, NotPositiveDefinite, factorize

_LOG_2PI = float(np.log(2 * np.pi))


@dataclass
class LmmProblem:
    """What the objective needs: the cross-products and one covariance structure per block (cp order)."""

    cp: CrossProducts
    structures: list[CovarianceStructure]
    reml: bool = False

    @property
    def n_theta(self) -> int:
        return sum(s.n_theta for s in self.structures)

    def split(self, theta: np.ndarray) -> list[np.ndarray]:
        """Theta cut into the pieces of each block."""
        out, start = [], 0
        for s in self.structures:
            out.append(np.asarray(theta[start : start + s.n_theta], dtype=float))
            start += s.n_theta
        return out

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        return [s.factor(t) for s, t in zip(self.structures, self.split(theta), strict=True)]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = zip(*(s.theta_bounds() for s in self.structures), strict=True)
        return np.concatenate(lo), np.concatenate(hi)

    def start(self) -> np.ndarray:
        return np.concatenate([s.theta_start() for s in self.structures])

    @property
    def dof(self) -> int:
        """Residual degrees of freedom used to profile sigma2: n (ML) or n - p (REML)."""
        return self.cp.n - self.cp.p if self.reml else self.cp.n


def deviance_from_factor(problem: LmmProblem, fac: Factorization) -> float:
    """-2 log (restricted) likelihood, with beta and sigma2 profiled out."""
    dof = problem.dof
    dev = fac.logdet_theta() + dof * (1.0 + _LOG_2PI + np.log(fac.pwrss / dof))
    if problem.reml:
        dev += fac.logdet_x()
    return float(dev)


def profiled_deviance(problem: LmmProblem, theta: np.ndarray) -> float:
    """The objective minimised over theta; +inf where the system is singular."""
    try:
        fac = factorize(problem.cp, problem.lambdas(theta))
    except NotPositiveDefinite:
        return np.inf
    return deviance_from_factor(problem, fac)


def deviance_at(problem: LmmProblem, theta: np.ndarray, sigma2: float) -> float:
    """-2 log (restricted) likelihood at theta and a given sigma2 (beta still at its conditional estimate).

    Used for the observed information of the variance parameters on Stata's scale, where sigma2 is a
    parameter rather than profiled out.
    """
    try:
        fac = factorize(problem.cp, problem.lambdas(theta))
    except NotPositiveDefinite:
        return np.inf
    dof = problem.dof
    dev = fac.logdet_theta() + dof * (_LOG_2PI + np.log(sigma2)) + fac.pwrss / sigma2
    if problem.reml:
        dev += fac.logdet_x()
    return float(dev)
