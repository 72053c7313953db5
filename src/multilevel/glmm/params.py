"""The parameter vector of a GLMM on its three scales, and Stata's labels.

- work scale ``x`` (the optimiser's): ``[theta (factorisation order), beta, ancillary]``, with ordinal
  cutpoints as the first cutpoint and the logs of the gaps, so that every point keeps them ordered;
- Stata's estimation scale ``phi``: ``[beta, ancillary, (ln sd, atanh corr) of each level]`` -- the order
  of Stata's ``e(b)`` -- on which the observed information is taken;
- the reported scale: ``[beta, ancillary, variances and covariances]`` as Stata's table shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..design.types import Design
from ..lmm.covariance import CovarianceStructure
from .laplace import GlmmProblem


@dataclass
class ParameterLayout:
    """Index bookkeeping between the work, Stata and reported scales."""

    problem: GlmmProblem
    design_structures: list[CovarianceStructure]  # design-block order
    fact_source: list[int]  # design block of each factorisation block
    labels_fixed: list[str]
    labels_ancillary: list[str]
    labels_random: list[str]
    block_labels: list[str]

    @classmethod
    def for_design(cls, problem: GlmmProblem, design: Design) -> ParameterLayout:
        sources = [b.source for b in problem.system.blocks]
        structures: list = [None] * len(sources)
        for source, structure in zip(sources, problem.structures, strict=True):
            structures[source] = structure
        random = []
        for block, structure in zip(design.blocks, structures, strict=True):
            random.extend(f"{block.label}: {lab}" for lab in structure.variance_labels())
        return cls(
            problem=problem,
            design_structures=structures,
            fact_source=sources,
            labels_fixed=list(design.fixed_names),
            labels_ancillary=list(problem.family.ancillary_names),
            labels_random=random,
            block_labels=[block.label for block in design.blocks],
        )

    # --- sizes ------------------------------------------------------------------------------------
    @property
    def n_theta(self) -> int:
        return self.problem.n_theta

    @property
    def n_beta(self) -> int:
        return self.problem.n_beta

    @property
    def n_ancillary(self) -> int:
        return self.problem.family.n_ancillary

    @property
    def size(self) -> int:
        return self.n_theta + self.n_beta + self.n_ancillary

    @property
    def labels(self) -> list[str]:
        """Stata's labels of the reported parameters, in ``e(b)`` order."""
        return self.labels_fixed + self.labels_ancillary + self.labels_random

    @property
    def ordinal(self) -> bool:
        return self.problem.family.is_ordinal

    # --- work scale ----------------------------------------------------------------------------
    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """theta, beta and the ancillary parameters on their natural scale."""
        nt, nb = self.n_theta, self.n_beta
        return x[:nt], x[nt : nt + nb], self.ancillary_from_work(x[nt + nb :])

    def join(self, theta: np.ndarray, beta: np.ndarray, anc: np.ndarray) -> np.ndarray:
        return np.concatenate([theta, beta, self.work_from_ancillary(anc)])

    def ancillary_from_work(self, work: np.ndarray) -> np.ndarray:
        if not self.ordinal or len(work) < 2:
            return np.asarray(work, dtype=float)
        return np.cumsum(np.concatenate([work[:1], np.exp(work[1:])]))

    def work_from_ancillary(self, anc: np.ndarray) -> np.ndarray:
        if not self.ordinal or len(anc) < 2:
            return np.asarray(anc, dtype=float)
        gaps = np.maximum(np.diff(anc), 1e-8)
        return np.concatenate([anc[:1], np.log(gaps)])

    def ancillary_jacobian(self, work: np.ndarray) -> np.ndarray:
        """d ancillary / d work (lower triangular for cutpoints, identity otherwise)."""
        k = len(work)
        if not self.ordinal or k < 2:
            return np.eye(k)
        jac = np.zeros((k, k))
        jac[:, 0] = 1.0
        for i in range(1, k):
            jac[i:, i] = np.exp(work[i])
        return jac

    def work_gradient(
        self, x: np.ndarray, g_theta: np.ndarray, g_beta: np.ndarray, g_anc: np.ndarray
    ) -> np.ndarray:
        """The gradient on the work scale from the gradient on the natural scale."""
        work_anc = x[self.n_theta + self.n_beta :]
        return np.concatenate([g_theta, g_beta, self.ancillary_jacobian(work_anc).T @ g_anc])

    def bounds(self) -> list[tuple[float | None, float | None]]:
        out = []
        for structure in self.problem.structures:
            lower, upper = structure.theta_bounds()
            out.extend(
                (lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
                for lo, hi in zip(lower, upper, strict=True)
            )
        out.extend([(None, None)] * self.n_beta)
        if self.problem.family.name == "nbinomial":
            # ln alpha (ln delta) below -20 is a Poisson model to every digit; the bound keeps the
            # optimiser from wandering off along that flat ridge.
            out.extend([(-20.0, 20.0)] * self.n_ancillary)
        else:
            out.extend([(None, None)] * self.n_ancillary)
        return out

    def theta_start(self) -> np.ndarray:
        return np.concatenate([s.theta_start() for s in self.problem.structures])

    # --- covariances ---------------------------------------------------------------------------
    def covariances(self, theta: np.ndarray) -> list[np.ndarray]:
        """Covariance matrix of the random effects of each design block."""
        out: list = [None] * len(self.fact_source)
        for source, lam in zip(self.fact_source, self.problem.lambdas(theta), strict=True):
            out[source] = lam @ lam.T
        return out

    # --- Stata scale -----------------------------------------------------------------------------
    def stata_from_work(self, x: np.ndarray) -> np.ndarray:
        theta, beta, anc = self.split(x)
        pieces = [beta, anc]
        for structure, sigma in zip(self.design_structures, self.covariances(theta), strict=True):
            pieces.append(structure.stata_from_sigma(sigma))
        return np.concatenate(pieces)

    def work_from_stata(self, phi: np.ndarray) -> np.ndarray:
        nb, na = self.n_beta, self.n_ancillary
        beta, anc = phi[:nb], phi[nb : nb + na]
        sigmas = self._sigmas_from_stata(phi)
        thetas = [
            structure.theta_from_relative(sigmas[source])
            for source, structure in zip(self.fact_source, self.problem.structures, strict=True)
        ]
        return self.join(np.concatenate(thetas), beta, anc)

    def _sigmas_from_stata(self, phi: np.ndarray) -> list[np.ndarray]:
        start = self.n_beta + self.n_ancillary
        out = []
        for structure in self.design_structures:
            out.append(structure.sigma_from_stata(phi[start : start + structure.n_stata]))
            start += structure.n_stata
        return out

    def stata_jacobian(self, phi: np.ndarray, step: float = 1e-6) -> np.ndarray:
        """d x / d phi by central differences of the (analytic, cheap) map."""
        cols = [
            (self.work_from_stata(phi + step * e) - self.work_from_stata(phi - step * e))
            / (2 * step)
            for e in np.eye(len(phi))
        ]
        return np.array(cols).T

    # --- reported scale --------------------------------------------------------------------------
    def reported_from_stata(self, phi: np.ndarray) -> np.ndarray:
        nb, na = self.n_beta, self.n_ancillary
        pieces = [phi[:nb], self._reported_ancillary(phi[nb : nb + na])]
        for structure, sigma in zip(
            self.design_structures, self._sigmas_from_stata(phi), strict=True
        ):
            pieces.append(structure.reported_values(sigma))
        return np.concatenate(pieces)

    def _reported_ancillary(self, anc: np.ndarray) -> np.ndarray:
        # Stata shows /cut# and /lnalpha (/lndelta) as estimated; a Gaussian variance as var(e.y).
        if self.problem.family.name == "gaussian":
            return np.exp(2 * anc)
        return anc

    def stata_labels(self) -> list[str]:
        """Labels of the estimation-scale parameters (Stata's ``/lnsd``-type names)."""
        out = list(self.labels_fixed)
        if self.problem.family.name == "gaussian":
            out.append(f"/lnsd(e.{self.labels_ancillary[0][6:-1]})")
        else:
            out.extend(self.labels_ancillary)
        for block_label, structure in zip(self.block_labels, self.design_structures, strict=True):
            out.extend(f"{block_label}: {name}" for name in _stata_scale_names(structure))
        return out


def _stata_scale_names(structure: CovarianceStructure) -> list[str]:
    names = structure.names
    q = structure.q
    if structure.kind == "identity":
        return [f"lnsd({' '.join(names)})"]
    if structure.kind == "independent":
        return [f"lnsd({n})" for n in names]
    if structure.kind == "exchangeable":
        if q == 1:
            return [f"lnsd({names[0]})"]
        return [f"lnsd({' '.join(names)})", f"atanh(corr({' '.join(names)}))"]
    rows, cols = np.tril_indices(q, -1)
    return [f"lnsd({n})" for n in names] + [
        f"atanh(corr({names[c]},{names[r]}))" for r, c in zip(rows, cols, strict=True)
    ]
