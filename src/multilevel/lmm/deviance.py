"""The profiled deviance: a pure function of theta (Bates et al. 2015, eqs. 34 and 41)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .covariance import CovarianceStructure
from .crossprod import CrossProducts
from .factor import Factorization, NotPositiveDefinite, factorize
from .gradient import profiled_gradient, structure_factor

_LOG_2PI = float(np.log(2 * np.pi))

# Dense tails of order in this range are factored with one BLAS thread (see ``blas_threads``).
SINGLE_THREAD_MIN_ORDER = 64
SINGLE_THREAD_MAX_ORDER = 2000
_CONTROLLER: list = []


@contextlib.contextmanager
def blas_threads(cp: CrossProducts) -> Iterator[None]:
    """One BLAS thread while the system's dense part is of moderate order.

    For crossed models a deviance evaluation factors a dense matrix of order up to a few thousand.
    OpenBLAS's threads gain little there on an idle machine and lose badly on a busy one (threads
    spinning against other work made InstEval's 1,142-order Cholesky 2-50x slower than on one
    thread). Below ``SINGLE_THREAD_MIN_ORDER`` LAPACK's unblocked code runs single-threaded anyway
    and the switch (~20 us) would cost more than it saves; above ``SINGLE_THREAD_MAX_ORDER`` the
    caller's setting is kept.
    """
    order = 0 if cp.tail is None else cp.tail.m
    if not SINGLE_THREAD_MIN_ORDER <= order <= SINGLE_THREAD_MAX_ORDER:
        yield
        return
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


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
        return [
            structure_factor(s, t) for s, t in zip(self.structures, self.split(theta), strict=True)
        ]

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
        with blas_threads(problem.cp):
            fac = factorize(problem.cp, problem.lambdas(theta))
    except NotPositiveDefinite:
        return np.inf
    dof = problem.dof
    dev = fac.logdet_theta() + dof * (_LOG_2PI + np.log(sigma2)) + fac.pwrss / sigma2
    if problem.reml:
        dev += fac.logdet_x()
    return float(dev)


def deviance_and_gradient(problem: LmmProblem, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """The profiled deviance and its analytic gradient (see :mod:`.gradient`); (+inf, 0) where singular."""
    thetas = problem.split(theta)
    lambdas = [structure_factor(s, t) for s, t in zip(problem.structures, thetas, strict=True)]
    try:
        fac = factorize(problem.cp, lambdas, keep_kernel=True)
    except NotPositiveDefinite:
        return np.inf, np.zeros(len(theta))
    value = deviance_from_factor(problem, fac)
    return value, profiled_gradient(fac, problem.structures, thetas, problem.reml)


def deviance_at_and_gradient(
    problem: LmmProblem, theta: np.ndarray, sigma2: float
) -> tuple[float, np.ndarray]:
    """:func:`deviance_at` and its gradient in ``(theta, sigma2)`` (the last element is d/d sigma2).

    For the observed information on another scale: central differences of this gradient need ``2k``
    factorisations for ``k`` parameters where differences of the deviance need ``O(k^2)``.
    """
    thetas = problem.split(theta)
    lambdas = [structure_factor(s, t) for s, t in zip(problem.structures, thetas, strict=True)]
    try:
        with blas_threads(problem.cp):
            fac = factorize(problem.cp, lambdas, keep_kernel=True)
            grad = profiled_gradient(fac, problem.structures, thetas, problem.reml, sigma2)
    except NotPositiveDefinite:
        return np.inf, np.zeros(len(theta) + 1)
    dof = problem.dof
    dev = fac.logdet_theta() + dof * (_LOG_2PI + np.log(sigma2)) + fac.pwrss / sigma2
    if problem.reml:
        dev += fac.logdet_x()
    d_sigma2 = dof / sigma2 - fac.pwrss / sigma2**2
    return float(dev), np.append(grad, d_sigma2)
