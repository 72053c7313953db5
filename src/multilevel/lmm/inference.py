"""Standard errors of the variance components as Stata reports them.

Stata estimates the variance parameters on the log-standard-deviation / atanh-correlation scale and takes
their standard errors from the observed information matrix there; reported variances and covariances get
theirs by the delta method, and their confidence intervals are built on the transformed scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .deviance import deviance_at, deviance_at_and_gradient
from .fit import LmmEstimates


@dataclass
class VarianceInference:
    """Variance parameters on Stata's scale with their covariance, per design block then residual."""

    phi: np.ndarray  # stata-scale estimates: blocks (design order) then ln(sigma_e)
    cov_phi: np.ndarray  # inverse observed information
    slices: list[slice]  # where each design block's parameters sit in phi
    boundary: bool  # information singular or a parameter at its boundary

    @property
    def residual_index(self) -> int:
        return len(self.phi) - 1


def stata_parameters(est: LmmEstimates) -> tuple[np.ndarray, list[slice]]:
    """phi = (ln sd, atanh corr) for each design block, then ln(sigma_e)."""
    structures = _structures_by_design_block(est)
    pieces, slices, start = [], [], 0
    for structure, sigma in zip(structures, est.covariances, strict=True):
        piece = structure.stata_from_sigma(sigma)
        pieces.append(piece)
        slices.append(slice(start, start + len(piece)))
        start += len(piece)
    pieces.append(np.array([0.5 * np.log(est.sigma2)]))
    return np.concatenate(pieces), slices


def _structures_by_design_block(est: LmmEstimates):
    out = [None] * len(est.problem.structures)
    for block, structure in zip(est.problem.cp.blocks, est.problem.structures, strict=True):
        out[block.source] = structure
    return out


def deviance_on_stata_scale(
    est: LmmEstimates, slices: list[slice]
) -> Callable[[np.ndarray], float]:
    """-2 log likelihood (beta at its conditional estimate) as a function of phi."""
    problem = est.problem
    structures = _structures_by_design_block(est)
    order = [b.source for b in problem.cp.blocks]

    def deviance(phi: np.ndarray) -> float:
        sigma2 = float(np.exp(2 * phi[-1]))
        thetas = []
        for source in order:
            structure = structures[source]
            rel = structure.sigma_from_stata(phi[slices[source]]) / sigma2
            thetas.append(structure.theta_from_relative(rel))
        return deviance_at(problem, np.concatenate(thetas), sigma2)

    return deviance


def hessian(fun: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Fourth-order central-difference Hessian (error O(h^4)), adequate for 7 printed digits."""
    n = len(x)
    h = np.full(n, step)
    f0 = fun(x)
    hess = np.empty((n, n))
    weights = {1: 8.0, 2: -1.0}

    def at(di: int, si: int, dj: int = 0, sj: int = 0) -> float:
        z = x.copy()
        z[di] += si * h[di]
        if sj:
            z[dj] += sj * h[dj]
        return fun(z)

    for i in range(n):
        fp1, fm1, fp2, fm2 = at(i, 1), at(i, -1), at(i, 2), at(i, -2)
        hess[i, i] = (-fp2 + 16 * fp1 - 30 * f0 + 16 * fm1 - fm2) / (12 * h[i] ** 2)
        for j in range(i):
            total = 0.0
            for a, wa in weights.items():
                for b, wb in weights.items():
                    total += (
                        wa
                        * wb
                        * (at(i, a, j, b) - at(i, a, j, -b) - at(i, -a, j, b) + at(i, -a, j, -b))
                    )
            hess[i, j] = hess[j, i] = total / (144 * h[i] * h[j])
    return hess


def _theta_sigma2_map(est: LmmEstimates, slices: list[slice]) -> Callable[[np.ndarray], np.ndarray]:
    """phi (Stata's scale) -> (theta, sigma2), the engine's parameters."""
    problem = est.problem
    structures = _structures_by_design_block(est)
    order = [b.source for b in problem.cp.blocks]

    def to_engine(phi: np.ndarray) -> np.ndarray:
        sigma2 = float(np.exp(2 * phi[-1]))
        thetas = [
            structures[s].theta_from_relative(
                structures[s].sigma_from_stata(phi[slices[s]]) / sigma2
            )
            for s in order
        ]
        return np.concatenate([*thetas, [sigma2]])

    return to_engine


def gradient_on_stata_scale(
    est: LmmEstimates, slices: list[slice]
) -> Callable[[np.ndarray], np.ndarray]:
    """Gradient of -2 log likelihood in phi: the engine's analytic gradient through the chain rule."""
    to_engine = _theta_sigma2_map(est, slices)
    problem = est.problem

    def gradient(phi: np.ndarray) -> np.ndarray:
        engine = to_engine(phi)
        _, grad = deviance_at_and_gradient(problem, engine[:-1], float(engine[-1]))
        # the map phi -> (theta, sigma2) is cheap (no factorisation): differentiate it numerically
        jac = np.empty((len(engine), len(phi)))
        step = 1e-6
        for i in range(len(phi)):
            e = np.zeros(len(phi))
            e[i] = step
            jac[:, i] = (to_engine(phi + e) - to_engine(phi - e)) / (2 * step)
        return jac.T @ grad

    return gradient


def hessian_from_gradient(
    gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = 1e-3
) -> np.ndarray:
    """Fourth-order central differences of an analytic gradient: 4k gradients for k parameters."""
    n = len(x)
    hess = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = step
        hess[:, i] = (
            -gradient(x + 2 * e) + 8 * gradient(x + e) - 8 * gradient(x - e) + gradient(x - 2 * e)
        ) / (12 * step)
    return 0.5 * (hess + hess.T)


def variance_inference(est: LmmEstimates) -> VarianceInference:
    """Observed information of the variance parameters on Stata's scale, and its inverse."""
    phi, slices = stata_parameters(est)
    info = 0.5 * hessian_from_gradient(gradient_on_stata_scale(est, slices), phi)
    cov, boundary = invert_information(info)
    return VarianceInference(phi=phi, cov_phi=cov, slices=slices, boundary=boundary)


def invert_information(info: np.ndarray) -> tuple[np.ndarray, bool]:
    """Inverse of an observed information matrix, and whether it was singular.

    A singular (or not positive definite) information, as at a boundary estimate, falls back to the
    pseudo-inverse, and the caller reports the standard errors as unreliable.
    """
    try:
        cov = np.linalg.inv(info)
        if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0):
            return cov, False
    except np.linalg.LinAlgError:
        pass
    return np.linalg.pinv(info), True
