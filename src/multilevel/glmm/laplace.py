"""Conditional modes by PIRLS and the Laplace approximation with its exact gradient.

For ``eta = offset + X beta + Z Lambda(theta) u`` with ``u ~ N(0, I)`` the Laplace deviance is

    D(theta, beta, a) = -2 sum_i l_i(eta_i*) + |u*|^2 + log |H|,    H = A'WA + I,  A = Z Lambda,

with ``u*`` the conditional mode and ``W = diag(-l'')`` at the mode (Bates et al. 2015; with the observed
rather than the expected weights, which is the Laplace approximation proper and what Stata uses for
non-canonical links). Its gradient in every parameter follows from the envelope theorem for the first two
terms and the implicit-function derivative of ``u*`` for the log-determinant:

    rho     = -2 s + h t - w (A psi),     h_i = a_i' H^{-1} a_i,   psi = H^{-1} A'(h t)
    dD/dbeta  = X' rho
    dD/da     = sum_i (-2 dl_i/da + h_i dw_i/da + (A psi)_i ds_i/da)
    dD/dtheta = sum_i z_i' dlam (rho_i u*_g + s_i psi_g + 2 w_i (H^{-1} a_i)_g)

where ``s, w, t`` are ``l', -l'', -l'''`` at the mode. One PIRLS solve and one pass over the selected
inverse of ``H`` give the deviance and its full gradient, so the outer optimisation can be quasi-Newton.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..lmm.covariance import CovarianceStructure
from .families import GlmFamily, ResponseData
from .system import RandomSystem, SystemFactor, SystemNotPositiveDefinite

PIRLS_TOLERANCE = 1e-10
PIRLS_MAX_ITERATIONS = 60


@dataclass
class GlmmProblem:
    """Everything the objective needs, random-effects blocks in factorisation order."""

    family: GlmFamily
    data: ResponseData
    X: np.ndarray
    offset: np.ndarray
    system: RandomSystem
    structures: list[CovarianceStructure]

    @property
    def n_theta(self) -> int:
        return sum(s.n_theta for s in self.structures)

    @property
    def n_beta(self) -> int:
        return self.X.shape[1]

    def split_theta(self, theta: np.ndarray) -> list[np.ndarray]:
        out, start = [], 0
        for s in self.structures:
            out.append(np.asarray(theta[start : start + s.n_theta], dtype=float))
            start += s.n_theta
        return out

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        return [s.factor(t) for s, t in zip(self.structures, self.split_theta(theta), strict=True)]

    def design_A(self, lambdas: list[np.ndarray]) -> list[np.ndarray]:
        """``A_j = Z_j lam_j`` per block."""
        return [b.Z @ lam for b, lam in zip(self.system.blocks, lambdas, strict=True)]

    def fixed_eta(self, beta: np.ndarray) -> np.ndarray:
        return self.offset + self.X @ beta

    def zero_modes(self) -> np.ndarray:
        return np.zeros(self.system.offsets[-1])


@dataclass
class ModeState:
    """The conditional modes at one parameter value and what the Laplace approximation reads there."""

    u: np.ndarray  # stacked spherical modes (factorisation order)
    eta: np.ndarray
    A: list[np.ndarray]
    loglik_terms: np.ndarray
    factor: SystemFactor
    iterations: int

    @property
    def deviance(self) -> float:
        """Laplace approximation of -2 log likelihood."""
        return float(-2.0 * self.loglik_terms.sum() + self.u @ self.u + self.factor.logdet())


def find_modes(
    problem: GlmmProblem,
    A: list[np.ndarray],
    fixed_eta: np.ndarray,
    anc: np.ndarray,
    u_start: np.ndarray,
    tolerance: float = PIRLS_TOLERANCE,
) -> ModeState:
    """Newton iterations (PIRLS with observed weights) for the modes of ``u`` given all parameters.

    Each step solves ``H delta = A's - u``. The penalised deviance at the new point comes with the
    derivatives computed there anyway; where it rose, the step is halved before going on. Iterations stop
    when the next step would be smaller than ``tolerance``, so the returned factor is the one at the
    returned ``u`` and the state is consistent for the gradient.
    """
    system, family, data = problem.system, problem.family, problem.data

    def predictor(u):
        return fixed_eta + system.linear_predictor(A, system.unstack(u))

    u = np.array(u_start, dtype=float)
    eta = predictor(u)
    accepted: tuple | None = None  # (u, penalised deviance, step) of the last accepted point
    for iteration in range(1, PIRLS_MAX_ITERATIONS + 1):
        loglik, score, weight = family.derivatives(eta, data, anc)
        value = float(-2.0 * loglik.sum() + u @ u)
        if accepted is not None and not value <= accepted[1] + 1e-12 * abs(accepted[1]):
            u_old, value_old, step = accepted
            step = 0.5 * step
            if np.max(np.abs(step)) < tolerance:
                u, eta = u_old, predictor(u_old)  # no decrease left: the last point is the mode
                loglik, _, weight = family.derivatives(eta, data, anc)
                return ModeState(u, eta, A, loglik, system.factor(A, weight), iteration)
            accepted = (u_old, value_old, step)
            u = u_old + step
            eta = predictor(u)
            continue
        exact = True
        try:
            factor = system.factor(A, weight)
        except SystemNotPositiveDefinite:
            # Far from the mode a log density that is not concave (NB1, gaussian with log link) can
            # give negative weights; |w| still gives a descent direction for the line search.
            factor, exact = system.factor(A, np.abs(weight)), False
        gradient = system.stack(
            [system.group_sums(j, A[j] * score[:, None]) for j in range(system.n_blocks)]
        )
        delta = factor.solve(gradient - u)
        if not np.all(np.isfinite(delta)):
            raise SystemNotPositiveDefinite
        if np.max(np.abs(delta), initial=0.0) < tolerance:
            if not exact:
                factor = system.factor(A, weight)  # at a mode H must be positive definite
            return ModeState(u, eta, A, loglik, factor, iteration)
        accepted = (u, value, delta)
        u = u + delta
        eta = predictor(u)
    loglik, _, weight = family.derivatives(eta, data, anc)
    return ModeState(u, eta, A, loglik, system.factor(A, weight), PIRLS_MAX_ITERATIONS)


def laplace_state(
    problem: GlmmProblem,
    theta: np.ndarray,
    beta: np.ndarray,
    anc: np.ndarray,
    u_start: np.ndarray | None = None,
) -> ModeState:
    """Conditional modes and factor at (theta, beta, ancillary)."""
    A = problem.design_A(problem.lambdas(theta))
    start = problem.zero_modes() if u_start is None else u_start
    return find_modes(problem, A, problem.fixed_eta(beta), anc, start)


def factor_derivatives(structure: CovarianceStructure, theta: np.ndarray) -> list[np.ndarray]:
    """``d lam / d theta_k`` for each theta of one block."""
    q = structure.q
    if structure.kind == "identity":
        return [np.eye(q)]
    if structure.kind == "independent":
        return [np.diag(np.eye(q)[k]) for k in range(q)]
    if structure.kind == "unstructured":
        cols, rows = np.triu_indices(q)
        out = []
        for r, c in zip(rows, cols, strict=True):
            d = np.zeros((q, q))
            d[r, c] = 1.0
            out.append(d)
        return out
    step = 1e-6
    out = []
    for k in range(structure.n_theta):
        e = np.zeros(structure.n_theta)
        e[k] = step
        out.append((structure.factor(theta + e) - structure.factor(theta - e)) / (2 * step))
    return out


def laplace_gradient(
    problem: GlmmProblem, state: ModeState, theta: np.ndarray, beta: np.ndarray, anc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of the Laplace deviance in (theta, beta, ancillary) at a converged state."""
    system, family, data = problem.system, problem.family, problem.data
    A = state.A
    _, s, w, t = family.derivatives(state.eta, data, anc, third=True)
    local = state.factor.selected_inverse().times_local(A)
    h = sum(np.einsum("nq,nq->n", a, c) for a, c in zip(A, local, strict=True))
    ht = h * t
    psi = state.factor.solve(
        system.stack([system.group_sums(j, A[j] * ht[:, None]) for j in range(system.n_blocks)])
    )
    psi_parts = system.unstack(psi)
    a_psi = system.linear_predictor(A, psi_parts)
    rho = -2.0 * s + ht - w * a_psi
    g_beta = problem.X.T @ rho
    if family.n_ancillary:
        dl, ds, dw = family.ancillary_derivatives(state.eta, data, anc)
        g_anc = -2.0 * dl.sum(0) + h @ dw + a_psi @ ds
    else:
        g_anc = np.zeros(0)
    u_parts = system.unstack(state.u)
    g_theta = []
    for j, (block, structure, th) in enumerate(
        zip(system.blocks, problem.structures, problem.split_theta(theta), strict=True)
    ):
        codes = block.codes
        v = (
            rho[:, None] * u_parts[j][codes]
            + s[:, None] * psi_parts[j][codes]
            + 2.0 * w[:, None] * local[j]
        )
        m = block.Z.T @ v
        g_theta.extend(float(np.sum(d * m)) for d in factor_derivatives(structure, th))
    return np.array(g_theta), g_beta, np.asarray(g_anc, dtype=float)
