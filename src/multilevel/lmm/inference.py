"""Standard errors of the variance components as Stata reports them.

Stata estimates the variance parameters on the log-standard-deviation / atanh-correlation scale and takes
their standard errors from the observed information matrix there; reported variances and covariances get
theirs by the delta method, and their confidence intervals are built on the transformed scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .deviance import deviance_at
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


def variance_inference(est: LmmEstimates) -> VarianceInference:
    """Observed information of the variance parameters on Stata's scale, and its inverse."""
    phi, slices = stata_parameters(est)
    deviance = deviance_on_stata_scale(est, slices)
    info = 0.5 * hessian(deviance, phi)
    boundary = False
    try:
        cov = np.linalg.inv(info)
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(info)
        boundary = True
    return VarianceInference(phi=phi, cov_phi=cov, slices=slices, boundary=boundary)
