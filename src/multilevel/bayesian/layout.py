"""Names and positions of a Gaussian multilevel model's parameters, as Stata's ``bayes:`` calls them.

Stata names the random effects of the first listed level ``U0`` (intercept), ``U1``, ``U2``, ...
(random coefficients, in the order written); the next level gets ``UU0``, ``UU1``, ... Variance
parameters are ``{U:Sigma_i_j}`` (unstructured, with matrix ``{U:Sigma,m}``, indices in the order
U0, U1, ...), ``{U:sigma2}`` (identity), ``{U0:sigma2}``, ``{U1:sigma2}`` (independent),
``{U:sigma2}`` and ``{U:rho}`` (exchangeable); the residual variance is ``{e.<depvar>:sigma2}``.

The same parameters also carry the frequentist labels of ``mixed`` (``schid: var(_cons)``, ...),
used by ``melabel`` and by :meth:`BayesResult.summary_frame`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..design.types import Design


@dataclass(frozen=True)
class ParamInfo:
    """One reported scalar parameter.

    Parameters
    ----------
    name
        Stata's full name without braces: ``math:homework``, ``U:Sigma_1_1``, ``e.math:sigma2``.
    equation
        Table header it sits under: ``math``, the level label (``schid``) or ``e.math``.
    short
        Row text under that header: ``homework``, ``U:Sigma_1_1``, ``sigma2``.
    kind
        ``"coef"``, ``"var"``, ``"cov"``, ``"rho"`` or ``"resid"``.
    level
        Index of the random level (block) for variance parameters, -1 otherwise.
    """

    name: str
    equation: str
    short: str
    kind: str
    level: int = -1


@dataclass(frozen=True)
class LevelLayout:
    """One random level: its effects and how Stata names them."""

    block: int
    label: str
    structure: str
    effect_names: tuple[str, ...]  # in design order (slopes, then _cons)
    re_names: tuple[str, ...]  # Stata's names per design effect (U1, U0)
    stub: str  # U, UU, UUU ...
    stata_order: tuple[int, ...]  # design indices listed in Stata's order (U0 first)
    n_groups: int
    group_values: tuple

    @property
    def q(self) -> int:
        return len(self.effect_names)

    def params(self) -> list[ParamInfo]:
        """The level's variance parameters in Stata's order."""
        stub, eq, lev = self.stub, self.label, self.block
        if self.structure == "unstructured" and self.q > 1:
            out = []
            for j in range(self.q):
                for i in range(j, self.q):
                    name = f"{stub}:Sigma_{i + 1}_{j + 1}"
                    out.append(ParamInfo(name, eq, name, "var" if i == j else "cov", lev))
            return out
        if self.structure == "identity" or (self.q == 1 and self.structure != "independent"):
            name = f"{self.re_names[0]}:sigma2" if self.q == 1 else f"{stub}:sigma2"
            return [ParamInfo(name, eq, name, "var", lev)]
        if self.structure == "exchangeable":
            return [
                ParamInfo(f"{stub}:sigma2", eq, f"{stub}:sigma2", "var", lev),
                ParamInfo(f"{stub}:rho", eq, f"{stub}:rho", "rho", lev),
            ]
        names = [f"{self.re_names[k]}:sigma2" for k in self.stata_order]
        return [ParamInfo(n, eq, n, "var", lev) for n in names]

    def sigma_to_params(self, sigma: np.ndarray) -> np.ndarray:
        """Map covariance matrices (..., q, q) in design order to the values of :meth:`params`."""
        order = list(self.stata_order)
        s = sigma[..., order, :][..., :, order]
        q = self.q
        if self.structure == "unstructured" and q > 1:
            vals = [s[..., i, j] for j in range(q) for i in range(j, q)]
            return np.stack(vals, axis=-1)
        if self.structure == "identity" or (q == 1 and self.structure != "independent"):
            return s[..., 0, 0][..., None]
        if self.structure == "exchangeable":
            return np.stack([s[..., 0, 0], s[..., 0, 1] / s[..., 0, 0]], axis=-1)
        return np.stack([s[..., k, k] for k in range(q)], axis=-1)

    def params_to_sigma(self, values: np.ndarray) -> np.ndarray:
        """Covariance matrices (..., q, q), design order, of values (..., n) of :meth:`params`."""
        q = self.q
        values = np.asarray(values, float)
        lead = values.shape[:-1]
        s = np.zeros(lead + (q, q))
        if self.structure == "unstructured" and q > 1:
            pos = 0
            for j in range(q):
                for i in range(j, q):
                    s[..., i, j] = s[..., j, i] = values[..., pos]
                    pos += 1
        elif self.structure == "identity" or (q == 1 and self.structure != "independent"):
            s[..., range(q), range(q)] = values[..., :1]
        elif self.structure == "exchangeable":
            corr = (1 - values[..., 1, None, None]) * np.eye(q) + values[..., 1, None, None]
            s = values[..., 0, None, None] * corr
        else:
            s[..., range(q), range(q)] = values
        order = list(self.stata_order)
        rows = np.empty_like(s)
        rows[..., order, :] = s
        out = np.empty_like(s)
        out[..., :, order] = rows
        return out

    def labels(self) -> list[str]:
        """Frequentist labels (``var(homework)``, ...) in ``mixed``'s order, without the level."""
        names = self.effect_names
        span = " ".join(names)
        if self.structure == "identity" and self.q > 1:
            return [f"var({span})"]
        if self.structure == "exchangeable" and self.q > 1:
            return [f"var({span})", f"cov({span})"]
        if self.structure == "unstructured" and self.q > 1:
            pairs = [(a, b) for a in range(self.q) for b in range(a + 1, self.q)]
            return [f"var({n})" for n in names] + [f"cov({names[a]},{names[b]})" for a, b in pairs]
        return [f"var({n})" for n in names]

    def sigma_to_labels(self, sigma: np.ndarray) -> np.ndarray:
        """Map covariance matrices (..., q, q) in design order to the values of :meth:`labels`."""
        q = self.q
        if self.structure in ("identity",) and q > 1:
            return sigma[..., 0, 0][..., None]
        if self.structure == "exchangeable" and q > 1:
            return np.stack([sigma[..., 0, 0], sigma[..., 0, 1]], axis=-1)
        if self.structure == "unstructured" and q > 1:
            pairs = [(a, b) for a in range(q) for b in range(a + 1, q)]
            diag = [sigma[..., k, k] for k in range(q)]
            off = [sigma[..., a, b] for a, b in pairs]
            return np.stack(diag + off, axis=-1)
        return np.stack([sigma[..., k, k] for k in range(q)], axis=-1)


@dataclass(frozen=True)
class ModelLayout:
    """Every reported parameter of a Gaussian multilevel model, in Stata's order."""

    depvar: str
    fixed_names: tuple[str, ...]
    levels: tuple[LevelLayout, ...]

    @property
    def p(self) -> int:
        return len(self.fixed_names)

    @property
    def resid_name(self) -> str:
        return f"e.{self.depvar}:sigma2"

    @property
    def has_residual(self) -> bool:
        """Whether the last parameter is the residual variance (a linear model)."""
        return True

    @property
    def ancillary_names(self) -> tuple[str, ...]:
        """Names of a family's own parameters (cutpoints, ``lnalpha``); none in a linear model."""
        return ()

    def params(self) -> list[ParamInfo]:
        """Fixed effects, each level's variance parameters, the residual variance."""
        out = [ParamInfo(f"{self.depvar}:{n}", self.depvar, n, "coef") for n in self.fixed_names]
        for lev in self.levels:
            out.extend(lev.params())
        out.append(ParamInfo(self.resid_name, f"e.{self.depvar}", "sigma2", "resid"))
        return out

    def names(self) -> list[str]:
        return [p.name for p in self.params()]

    def labels(self) -> list[str]:
        """API labels: fixed names, ``level: var(...)`` in mixed's order, ``var(Residual)``."""
        out = list(self.fixed_names)
        for lev in self.levels:
            out.extend(f"{lev.label}: {lab}" for lab in lev.labels())
        out.append("var(Residual)")
        return out

    def to_labels(self, draws: np.ndarray) -> np.ndarray:
        """Map draws (..., parameters in Stata's order) to the values of :meth:`labels`."""
        parts = [draws[..., : self.p]]
        pos = self.p
        for lev in self.levels:
            n = len(lev.params())
            sigma = lev.params_to_sigma(draws[..., pos : pos + n])
            parts.append(lev.sigma_to_labels(sigma))
            pos += n
        parts.append(draws[..., -1:])
        return np.concatenate(parts, axis=-1)


def _stub(index: int) -> str:
    return "U" * (index + 1)


def build_layout(design: Design) -> ModelLayout:
    """The parameter layout of a Gaussian multilevel ``design``."""
    levels = []
    for k, block in enumerate(design.blocks):
        names = tuple(block.effect_names)
        stub = _stub(k)
        crossed = block.level.crossed_factor is not None  # _all: R.x -- intercepts by level of x
        cons = [i for i, n in enumerate(names) if n == "_cons" or crossed]
        slopes = [i for i in range(len(names)) if i not in cons]
        re_names = [""] * len(names)
        for i in cons:
            re_names[i] = f"{stub}0"
        for rank, i in enumerate(slopes, start=1):
            re_names[i] = f"{stub}{rank}"
        levels.append(
            LevelLayout(
                block=k,
                label=block.label,
                structure=block.level.covariance,
                effect_names=names,
                re_names=tuple(re_names),
                stub=stub,
                stata_order=tuple(cons + slopes),
                n_groups=block.n_groups,
                group_values=tuple(block.group_values),
            )
        )
    return ModelLayout(
        depvar=design.spec.response, fixed_names=tuple(design.fixed_names), levels=tuple(levels)
    )
