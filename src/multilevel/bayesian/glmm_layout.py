"""Parameter names of a Bayesian generalized linear multilevel model (``bayes: melogit`` ...).

Stata names the coefficients ``{depvar:name}``, the cutpoints of an ordinal model ``{cut1}``,
``{cut2}``, ..., the log overdispersion of a negative binomial model ``{lnalpha}`` (mean
dispersion) or ``{lndelta}`` (constant dispersion), the random-effects variances as ``bayes: mixed``
does (``{U0:sigma2}``, ``{U:Sigma_1_1}``, ...), and the variance of a Gaussian outcome of ``meglm``
``{e.depvar:sigma2}``.

Stata's order (the draws, :meth:`GlmmLayout.names`): coefficients, cutpoints or ``lnalpha``, each
level's variance parameters, ``{e.depvar:sigma2}``. The frequentist labels (:meth:`labels`) follow
the ``me`` commands' ``params`` order: coefficients, ``/cut1`` ... or ``/lnalpha`` or ``var(e.y)``,
then ``level: var(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..design.types import Design
from .layout import ModelLayout, ParamInfo, build_layout

TITLES = {
    "melogit": "Bayesian multilevel logistic regression",
    "meprobit": "Bayesian multilevel probit regression",
    "mecloglog": "Bayesian multilevel complementary log-log regression",
    "meologit": "Bayesian multilevel ordered logistic regression",
    "meoprobit": "Bayesian multilevel ordered probit regression",
    "mepoisson": "Bayesian multilevel Poisson regression",
    "menbreg": "Bayesian multilevel negative binomial regression",
    "meglm": "Bayesian multilevel GLM",
}


@dataclass(frozen=True)
class GlmmLayout(ModelLayout):
    """Every reported parameter of a generalized linear multilevel model, in Stata's order.

    ``ancillary`` holds the Stata names of the family's own parameters other than a Gaussian
    variance (``cut1``, ..., ``lnalpha``, ``lndelta``); ``residual`` is true for a Gaussian outcome.
    """

    command: str = "meglm"
    family: str = "bernoulli"
    link: str = "logit"
    ancillary: tuple[str, ...] = ()
    residual: bool = False

    @property
    def title(self) -> str:
        return TITLES.get(self.command, TITLES["meglm"])

    @property
    def has_residual(self) -> bool:
        return False

    @property
    def ancillary_names(self) -> tuple[str, ...]:
        """Stata names of the family's parameters, ``e.depvar:sigma2`` last when there is one."""
        return self.ancillary + ((f"e.{self.depvar}:sigma2",) if self.residual else ())

    @property
    def ancillary_labels(self) -> tuple[str, ...]:
        """Frequentist labels of :attr:`ancillary_names` (``/cut1``, ``/lnalpha``, ``var(e.y)``)."""
        out = tuple(f"/{name}" for name in self.ancillary)
        return out + ((f"var(e.{self.depvar})",) if self.residual else ())

    def params(self) -> list[ParamInfo]:
        """Coefficients, ancillary parameters, each level's variance parameters, the variance."""
        dep = self.depvar
        out = [ParamInfo(f"{dep}:{n}", dep, n, "coef") for n in self.fixed_names]
        out += [ParamInfo(name, "", name, "anc") for name in self.ancillary]
        for lev in self.levels:
            out.extend(lev.params())
        if self.residual:
            out.append(ParamInfo(f"e.{dep}:sigma2", f"e.{dep}", "sigma2", "resid"))
        return out

    def labels(self) -> list[str]:
        """The ``me`` commands' labels: coefficients, ancillary parameters, ``level: var(...)``."""
        out = list(self.fixed_names) + list(self.ancillary_labels)
        for lev in self.levels:
            out.extend(f"{lev.label}: {lab}" for lab in lev.labels())
        return out

    def to_labels(self, draws: np.ndarray) -> np.ndarray:
        """Map draws (..., parameters in Stata's order) to the values of :meth:`labels`."""
        p, k = self.p, len(self.ancillary)
        parts = [draws[..., : p + k]]
        pos = p + k
        levels = []
        for lev in self.levels:
            n = len(lev.params())
            levels.append(lev.sigma_to_labels(lev.params_to_sigma(draws[..., pos : pos + n])))
            pos += n
        parts.append(draws[..., pos:])  # the Gaussian variance, or nothing
        return np.concatenate(parts + levels, axis=-1)


def _ancillary_names(design: Design) -> tuple[tuple[str, ...], bool]:
    family = design.spec.family
    if family.name == "ordinal":
        return tuple(f"cut{j}" for j in range(1, len(design.response_levels))), False
    if family.name == "nbinomial":
        return ("lndelta",) if family.dispersion == "constant" else ("lnalpha",), False
    return (), family.name == "gaussian"


def build_glmm_layout(design: Design) -> GlmmLayout:
    """The parameter layout of a generalized linear multilevel ``design``."""
    base = build_layout(design)
    family = design.spec.family
    ancillary, residual = _ancillary_names(design)
    return GlmmLayout(
        depvar=base.depvar,
        fixed_names=base.fixed_names,
        levels=base.levels,
        command=design.spec.command or "meglm",
        family=family.name,
        link=family.link,
        ancillary=ancillary,
        residual=residual,
    )
