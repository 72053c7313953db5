"""Sufficient statistics of a Gaussian multilevel model, and its likelihoods.

A single random level is kept as per-group cross-products (Z_g'Z_g, Z_g'X_g, Z_g'y_g), so that a
sweep of the sampler costs O(G q^3 + p^3) whatever the number of observations. Several levels
(nested or crossed) are kept as the dense cross-product of W = [X, Z_1, ..., Z_K], every group's
effects in one vector (fine up to a few thousand random effects).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..design.types import Design
from ..errors import DataError, EstimationError

LOG2PI = math.log(2 * math.pi)
MAX_DENSE_EFFECTS = 6000


@dataclass
class LevelData:
    """One random level: group codes and covariates (design order)."""

    codes: np.ndarray
    Z: np.ndarray
    n_groups: int

    @property
    def q(self) -> int:
        return self.Z.shape[1]


@dataclass
class GaussianData:
    """The arrays and cross-products every sampler sweep reads."""

    y: np.ndarray
    X: np.ndarray
    levels: list[LevelData]
    XtX: np.ndarray
    Xty: np.ndarray
    yty: float
    # one level: per-group cross-products
    ZtZ: np.ndarray | None = None
    ZtX: np.ndarray | None = None
    Zty: np.ndarray | None = None
    # several levels: dense cross-products of W = [X, Z_1, ..., Z_K]
    WtW: np.ndarray | None = None
    Wty: np.ndarray | None = None
    offsets: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def single(self) -> bool:
        return self.ZtZ is not None


def _expanded(level: LevelData) -> sparse.csr_matrix:
    """The n x (G q) matrix of one level's random-effect covariates, group-major."""
    n, q = level.Z.shape
    rows = np.repeat(np.arange(n), q)
    cols = (level.codes[:, None] * q + np.arange(q)[None, :]).ravel()
    shape = (n, level.n_groups * q)
    return sparse.csr_matrix((level.Z.ravel(), (rows, cols)), shape=shape)


def gaussian_data(design: Design) -> GaussianData:
    """Cross-products of a Gaussian ``design``, checked for what the sampler needs."""
    y = np.asarray(design.y, float)
    X = np.asarray(design.X, float)
    if design.spec.family.name != "gaussian":
        raise EstimationError(
            f"the Bayesian engine fits Gaussian models; this model's family is "
            f"{design.spec.family.name}"
        )
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)):
        raise DataError("the response and covariates must be finite (drop missing rows first)")
    if X.shape[1] and np.linalg.matrix_rank(X) < X.shape[1]:
        raise DataError("the fixed-effects design is collinear; omit collinear columns first")
    levels = [
        LevelData(np.asarray(b.codes, np.int64), np.asarray(b.Z, float), b.n_groups)
        for b in design.blocks
    ]
    data = GaussianData(y=y, X=X, levels=levels, XtX=X.T @ X, Xty=X.T @ y, yty=float(y @ y))
    if len(levels) == 1:
        _single_stats(data, levels[0])
    elif len(levels) > 1:
        _dense_stats(data)
    return data


def _single_stats(data: GaussianData, level: LevelData) -> None:
    G, q, p = level.n_groups, level.q, data.p
    Z, X, y, codes = level.Z, data.X, data.y, level.codes
    ZtZ = np.zeros((G, q, q))
    np.add.at(ZtZ, codes, Z[:, :, None] * Z[:, None, :])
    ZtX = np.zeros((G, q, p))
    np.add.at(ZtX, codes, Z[:, :, None] * X[:, None, :])
    Zty = np.zeros((G, q))
    np.add.at(Zty, codes, Z * y[:, None])
    data.ZtZ, data.ZtX, data.Zty = ZtZ, ZtX, Zty


def _dense_stats(data: GaussianData) -> None:
    total = sum(lev.n_groups * lev.q for lev in data.levels)
    if total > MAX_DENSE_EFFECTS:
        raise EstimationError(
            f"the model has {total} random effects over several levels; the Gibbs sampler "
            f"handles up to {MAX_DENSE_EFFECTS} (use sampler='nuts')"
        )
    W = sparse.hstack([sparse.csr_matrix(data.X)] + [_expanded(lev) for lev in data.levels])
    W = W.tocsr()
    data.WtW = np.asarray((W.T @ W).todense())
    data.Wty = np.asarray(W.T @ data.y).ravel()
    offsets = [data.p]
    for lev in data.levels:
        offsets.append(offsets[-1] + lev.n_groups * lev.q)
    data.offsets = tuple(offsets)


def linear_predictor(data: GaussianData, beta: np.ndarray, u: list[np.ndarray]) -> np.ndarray:
    """X beta + sum_k Z_k u_k[codes_k]."""
    eta = data.X @ beta
    for lev, uk in zip(data.levels, u, strict=True):
        eta = eta + np.einsum("nq,nq->n", lev.Z, uk[lev.codes])
    return eta


def conditional_deviance(
    data: GaussianData, beta: np.ndarray, u: list[np.ndarray], sigma2: float
) -> float:
    """-2 log p(y | beta, u, sigma2): the deviance DIC uses, as Stata's ``bayes: mixed``."""
    resid = data.y - linear_predictor(data, beta, u)
    return data.n * (LOG2PI + math.log(sigma2)) + float(resid @ resid) / sigma2


def marginal_loglik(
    data: GaussianData, beta: np.ndarray, sigmas: list[np.ndarray], sigma2: float
) -> float:
    """log p(y | beta, Sigma_k, sigma2) with the random effects integrated out.

    Uses log|V| = n log s2 + log|Sigma_u| + log|Z'Z/s2 + Sigma_u^-1| and
    r'V^-1 r = r'r/s2 - b' A^-1 b with A = Z'Z/s2 + Sigma_u^-1, b = Z'r/s2.
    """
    r = data.y - data.X @ beta
    if not data.levels:
        return -0.5 * (data.n * (LOG2PI + math.log(sigma2)) + float(r @ r) / sigma2)
    Z = sparse.hstack([_expanded(lev) for lev in data.levels]).tocsr()
    A = np.asarray((Z.T @ Z).todense()) / sigma2
    logdet_sigma_u = 0.0
    start = 0
    for lev, sig in zip(data.levels, sigmas, strict=True):
        prec = np.linalg.inv(sig)
        G, q = lev.n_groups, lev.q
        for g in range(G):
            sl = slice(start + g * q, start + (g + 1) * q)
            A[sl, sl] += prec
        logdet_sigma_u += G * np.linalg.slogdet(sig)[1]
        start += G * q
    chol = np.linalg.cholesky(A)
    b = np.asarray(Z.T @ r).ravel() / sigma2
    w = np.linalg.solve(chol, b)
    logdet_a = 2 * np.sum(np.log(np.diag(chol)))
    quad = float(r @ r) / sigma2 - float(w @ w)
    logdet_v = data.n * math.log(sigma2) + logdet_sigma_u + logdet_a
    return -0.5 * (data.n * LOG2PI + logdet_v + quad)
