"""ModelSpec: what a multilevel model is, as plain frozen data.

Both the Stata-syntax parser and the formula parser produce a :class:`ModelSpec`; everything after
them (design, engines, results) reads only this. No arrays live here: a spec can be printed, compared,
hashed and re-applied to new data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

VariableKind = Literal["continuous", "categorical", "auto"]
CovarianceStructure = Literal["identity", "independent", "exchangeable", "unstructured"]

COVARIANCE_STRUCTURES: tuple[CovarianceStructure, ...] = (
    "identity",
    "independent",
    "exchangeable",
    "unstructured",
)


@dataclass(frozen=True)
class Factor:
    """One variable inside a fixed-effects term.

    Parameters
    ----------
    name
        Column name in the data.
    kind
        ``"categorical"`` (Stata ``i.``, formula ``C()``), ``"continuous"`` (Stata ``c.`` or a bare
        variable in Stata syntax), or ``"auto"`` (a bare formula variable: categorical when the column
        is non-numeric, continuous otherwise -- as R does).
    base
        Base level of a categorical factor: ``None`` for Stata's default (the lowest level),
        ``("value", v)`` for ``ib#.``, ``("first",)``, ``("last",)``, ``("freq",)`` for
        ``ib(first).``, ``ib(last).``, ``ib(freq).``, and ``("none",)`` for ``ibn.`` (no base).
    """

    name: str
    kind: VariableKind = "continuous"
    base: tuple | None = None


@dataclass(frozen=True)
class Term:
    """A product of factors (an interaction when there are several). The empty term is the constant."""

    factors: tuple[Factor, ...] = ()

    @property
    def is_constant(self) -> bool:
        return not self.factors


@dataclass(frozen=True)
class RandomLevel:
    """One random-effects equation (a Stata ``|| level:`` part or an lme4 ``( | )`` term).

    Parameters
    ----------
    groups
        Variables whose combined values define the groups, outermost first: ``("schid",)``;
        for a level nested in another, the full path ``("school", "class")``.
    terms
        Variables with random coefficients (continuous), in the order written.
    constant
        Whether the level has a random intercept (Stata's default; ``noconstant`` or lme4's
        ``0 +`` turns it off).
    covariance
        Covariance structure of the random effects within a group.
    crossed_factor
        For Stata's ``_all: R.var`` notation: the factor whose levels get crossed random intercepts.
        The groups are then ``(var,)`` and the level is labelled ``_all``.
    """

    groups: tuple[str, ...]
    terms: tuple[str, ...] = ()
    constant: bool = True
    covariance: CovarianceStructure = "independent"
    crossed_factor: str | None = None

    @property
    def label(self) -> str:
        """The level's name as Stata prints it: ``schid``, ``school>class`` or ``_all``."""
        if self.crossed_factor is not None:
            return "_all"
        return ">".join(self.groups)

    @property
    def effect_names(self) -> tuple[str, ...]:
        """Names of the random effects within one group, in Stata's order (slopes, then ``_cons``)."""
        if self.crossed_factor is not None:
            return (f"R.{self.crossed_factor}",)
        return self.terms + (("_cons",) if self.constant else ())


@dataclass(frozen=True)
class Family:
    """Distribution of the response given the random effects, and its link."""

    name: Literal[
        "gaussian", "bernoulli", "binomial", "ordinal", "poisson", "nbinomial"
    ] = "gaussian"
    link: Literal["identity", "logit", "probit", "cloglog", "log"] = "identity"
    trials: str | int | None = None  # binomial(varname | #)
    dispersion: Literal["mean", "constant"] = "mean"  # negative binomial


@dataclass(frozen=True)
class EstimationOptions:
    """How to estimate: options that change the computation, not the model."""

    reml: bool = False
    intmethod: str | None = None  # mvaghermite (default for me*), mcaghermite, ghermite, laplace
    intpoints: int | None = None
    dfmethod: str | None = None
    level: float = 95.0
    eform: bool = False  # or / irr
    offset: str | None = None
    exposure: str | None = None
    extra: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """A complete model: response, fixed part, random levels, family and estimation options.

    ``levels`` are listed as written (outermost first in Stata's nested notation).
    """

    response: str
    fixed: tuple[Term, ...]
    constant: bool = True
    levels: tuple[RandomLevel, ...] = ()
    family: Family = field(default_factory=Family)
    options: EstimationOptions = field(default_factory=EstimationOptions)
    command: str = "mixed"
    source: str = ""  # the text the spec was parsed from, for messages

    def with_options(self, **changes) -> ModelSpec:
        """A copy with some estimation options changed (``reml=True``, ...)."""
        return replace(self, options=replace(self.options, **changes))

    def variables(self) -> list[str]:
        """Every data column the model reads, response first, without duplicates."""
        names: list[str] = [self.response]
        for term in self.fixed:
            names.extend(f.name for f in term.factors)
        for level in self.levels:
            names.extend(level.groups)
            names.extend(level.terms)
        fam = self.family
        if isinstance(fam.trials, str):
            names.append(fam.trials)
        for extra in (self.options.offset, self.options.exposure):
            if extra:
                names.append(extra)
        return list(dict.fromkeys(names))
