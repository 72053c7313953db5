"""Covariance structures of one random level, as maps between three parameter scales.

- ``theta``: the optimiser's scale, the relative covariance factor of lme4 (``Sigma = sigma2 * lam @ lam.T``
  with ``lam`` lower triangular), bounded below where a diagonal element must stay non-negative.
- ``Sigma``: the covariance matrix of the random effects within one group (absolute scale).
- ``stata``: Stata's estimation scale, ``ln(sd)`` of each distinct variance and ``atanh(corr)`` of each distinct
  correlation, on which the observed information (and so the standard errors) is computed.

Each structure also names its parameters as Stata prints them (``var(x)``, ``cov(x,_cons)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_TINY = 1e-10


@dataclass(frozen=True)
class CovarianceStructure:
    """A covariance structure for ``q`` random effects named ``names``."""

    kind: str
    names: tuple[str, ...]

    @property
    def q(self) -> int:
        return len(self.names)

    # --- theta (optimiser) scale -------------------------------------------------------------
    @property
    def n_theta(self) -> int:
        q = self.q
        return {"identity": 1, "independent": q, "exchangeable": 2 if q > 1 else 1}.get(
            self.kind, q * (q + 1) // 2
        )

    def theta_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of theta (non-negative scale factors; correlations inside (-1, 1))."""
        lower = np.full(self.n_theta, -np.inf)
        upper = np.full(self.n_theta, np.inf)
        if self.kind == "unstructured":
            lower[self._diagonal_positions()] = 0.0
        elif self.kind == "exchangeable" and self.q > 1:
            lower[0] = 0.0
            lower[1] = -1.0 / (self.q - 1) + 1e-8
            upper[1] = 1.0 - 1e-8
        else:
            lower[:] = 0.0
        return lower, upper

    def theta_start(self) -> np.ndarray:
        """lme4's starting point: identity relative covariance."""
        if self.kind == "unstructured":
            theta = np.zeros(self.n_theta)
            theta[self._diagonal_positions()] = 1.0
            return theta
        if self.kind == "exchangeable" and self.q > 1:
            return np.array([1.0, 0.0])
        return np.ones(self.n_theta)

    def _diagonal_positions(self) -> np.ndarray:
        # Column-major lower triangle, as lme4 orders theta.
        q = self.q
        pos, k = [], 0
        for j in range(q):
            pos.append(k)
            k += q - j
        return np.array(pos, dtype=int)

    def factor(self, theta: np.ndarray) -> np.ndarray:
        """The lower-triangular relative factor ``lam`` for this theta."""
        q = self.q
        if self.kind == "identity":
            return np.eye(q) * theta[0]
        if self.kind == "independent":
            return np.diag(np.asarray(theta, dtype=float))
        if self.kind == "exchangeable":
            if q == 1:
                return np.array([[theta[0]]])
            scale, rho = theta[0], theta[1]
            corr = np.full((q, q), rho) + np.eye(q) * (1.0 - rho)
            return scale * np.linalg.cholesky(corr)
        lam = np.zeros((q, q))
        rows, cols = _column_major_lower(q)
        lam[rows, cols] = theta
        return lam

    def theta_from_relative(self, rel: np.ndarray) -> np.ndarray:
        """Theta whose factor reproduces the relative covariance ``rel = Sigma / sigma2``."""
        q = self.q
        if self.kind == "identity":
            return np.array([np.sqrt(max(np.mean(np.diag(rel)), 0.0))])
        if self.kind == "independent":
            return np.sqrt(np.clip(np.diag(rel), 0.0, None))
        if self.kind == "exchangeable":
            var = float(np.mean(np.diag(rel)))
            if q == 1:
                return np.array([np.sqrt(max(var, 0.0))])
            off = rel[~np.eye(q, dtype=bool)]
            rho = float(np.mean(off)) / var if var > 0 else 0.0
            return np.array([np.sqrt(max(var, 0.0)), rho])
        lam = _safe_cholesky(rel)
        rows, cols = _column_major_lower(q)
        return lam[rows, cols]

    # --- Stata scale ---------------------------------------------------------------------
    @property
    def n_stata(self) -> int:
        return self.n_theta

    def stata_from_sigma(self, sigma: np.ndarray) -> np.ndarray:
        """ln(sd) of the distinct variances, then atanh(corr) of the distinct correlations."""
        q = self.q
        sd = np.sqrt(np.clip(np.diag(sigma), _TINY**2, None))
        if self.kind == "identity":
            return np.array([np.log(np.sqrt(max(np.mean(np.diag(sigma)), _TINY**2)))])
        if self.kind == "independent":
            return np.log(sd)
        if self.kind == "exchangeable":
            var = max(float(np.mean(np.diag(sigma))), _TINY**2)
            if q == 1:
                return np.array([0.5 * np.log(var)])
            cov = float(np.mean(sigma[~np.eye(q, dtype=bool)]))
            rho = np.clip(cov / var, -1 + _TINY, 1 - _TINY)
            return np.array([0.5 * np.log(var), np.arctanh(rho)])
        corr = sigma / np.outer(sd, sd)
        rows, cols = np.tril_indices(q, -1)
        rho = np.clip(corr[rows, cols], -1 + _TINY, 1 - _TINY)
        return np.concatenate([np.log(sd), np.arctanh(rho)])

    def sigma_from_stata(self, phi: np.ndarray) -> np.ndarray:
        """The covariance matrix for Stata-scale parameters ``phi``."""
        q = self.q
        if self.kind == "identity":
            return np.eye(q) * np.exp(2 * phi[0])
        if self.kind == "independent":
            return np.diag(np.exp(2 * np.asarray(phi)))
        if self.kind == "exchangeable":
            var = np.exp(2 * phi[0])
            if q == 1:
                return np.array([[var]])
            rho = np.tanh(phi[1])
            return var * (np.full((q, q), rho) + np.eye(q) * (1 - rho))
        sd = np.exp(phi[:q])
        corr = np.eye(q)
        rows, cols = np.tril_indices(q, -1)
        corr[rows, cols] = np.tanh(phi[q:])
        corr[cols, rows] = corr[rows, cols]
        return corr * np.outer(sd, sd)

    # --- labels and reported values -------------------------------------------------------
    def variance_labels(self) -> list[str]:
        """Stata's labels of the reported variance parameters, in Stata's order."""
        names = self.names
        if self.kind == "identity":
            return [f"var({_span(names)})"]
        if self.kind == "independent":
            return [f"var({n})" for n in names]
        if self.kind == "exchangeable":
            if len(names) == 1:
                return [f"var({names[0]})"]
            return [f"var({_span(names)})", f"cov({_span(names)})"]
        rows, cols = np.tril_indices(len(names), -1)
        pairs = sorted(zip(cols, rows, strict=True))
        return [f"var({n})" for n in names] + [f"cov({names[a]},{names[b]})" for a, b in pairs]

    def reported_values(self, sigma: np.ndarray) -> np.ndarray:
        """The variances/covariances in the order of :meth:`variance_labels`."""
        q = self.q
        if self.kind == "identity":
            return np.array([float(np.mean(np.diag(sigma)))])
        if self.kind == "independent":
            return np.diag(sigma).copy()
        if self.kind == "exchangeable":
            if q == 1:
                return np.array([sigma[0, 0]])
            return np.array(
                [float(np.mean(np.diag(sigma))), float(np.mean(sigma[~np.eye(q, dtype=bool)]))]
            )
        rows, cols = np.tril_indices(q, -1)
        pairs = sorted(zip(cols, rows, strict=True))
        return np.concatenate([np.diag(sigma), [sigma[b, a] for a, b in pairs]])

    def stata_order(self) -> np.ndarray:
        """Permutation taking the Stata-scale vector to the order of :meth:`variance_labels`."""
        q = self.q
        if self.kind != "unstructured":
            return np.arange(self.n_stata)
        rows, cols = np.tril_indices(q, -1)
        pairs = list(zip(cols, rows, strict=True))
        order = sorted(range(len(pairs)), key=lambda i: pairs[i])
        return np.concatenate([np.arange(q), q + np.array(order, dtype=int)])

    def title(self) -> str:
        return {
            "identity": "Identity",
            "independent": "Independent",
            "exchangeable": "Exchangeable",
            "unstructured": "Unstructured",
        }[self.kind]


def _span(names: tuple[str, ...]) -> str:
    return " ".join(names)


def _column_major_lower(q: int) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.triu_indices(q)  # column-major lower triangle == row-major upper, transposed
    return rows, cols


def _safe_cholesky(mat: np.ndarray) -> np.ndarray:
    mat = 0.5 * (mat + mat.T)
    try:
        return np.linalg.cholesky(mat)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(mat)
        fixed = (vecs * np.clip(vals, 1e-12, None)) @ vecs.T
        return np.linalg.cholesky(fixed)
