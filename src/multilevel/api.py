"""The public estimation commands: one pipeline, text -> ModelSpec -> Design -> engine -> Result."""

from __future__ import annotations

import pandas as pd

from .design import build_design
from .design.types import Design
from .errors import DataError
from .glmm import fit_glmm
from .lmm.fit import fit_lmm
from .lmm.inference import variance_inference
from .results.glmm_result import GlmmResult
from .results.mixed_result import MixedResult
from .spec import parse_model


def fit_mixed_design(design: Design) -> MixedResult:
    """Fit a linear mixed model to a built design (ML unless the spec asks for REML)."""
    if not design.blocks:
        raise DataError(
            "mixed needs at least one random-effects level, e.g. `|| schid:` or `(1 | schid)`"
        )
    estimates = fit_lmm(design, reml=design.spec.options.reml)
    return MixedResult(design, estimates, variance_inference(estimates))


def mixed(model: str, data: pd.DataFrame, **options) -> MixedResult:
    """Fit a linear mixed-effects model, as Stata's ``mixed`` or lme4's ``lmer``.

    Parameters
    ----------
    model
        Stata syntax (``"math homework i.schtype || schid: homework, covariance(unstructured)"``) or a
        formula (``"math ~ homework + C(schtype) + (homework | schid)"``).
    data
        The data, one row per observation.
    **options
        Options as keyword arguments, meaning the same as in the command: ``reml=True``,
        ``covariance="unstructured"``, ``level=90``.

    Returns
    -------
    MixedResult
        Estimates, standard errors and tests; ``print(fit)`` shows Stata's table.
    """
    spec = parse_model(model, command="mixed", **options)
    return fit_mixed_design(build_design(spec, data))


def fit_glmm_design(design: Design) -> GlmmResult:
    """Fit a generalized linear mixed model to a built design."""
    options = design.spec.options
    return GlmmResult(fit_glmm(design, intmethod=options.intmethod, intpoints=options.intpoints))


def _me_command(command: str):
    def fit(model: str, data: pd.DataFrame, **options) -> GlmmResult:
        spec = parse_model(model, command=command, **options)
        return fit_glmm_design(build_design(spec, data))

    fit.__name__ = command
    fit.__qualname__ = command
    fit.__doc__ = f"""Fit a multilevel model as Stata's ``{command}``.

    Parameters
    ----------
    model
        Stata syntax (``"y x1 i.a || id:"``) or a formula (``"y ~ x1 + C(a) + (1 | id)"``).
    data
        The data, one row per observation.
    **options
        Options as keyword arguments, meaning the same as in the command: ``intmethod="laplace"``,
        ``intpoints=12``, ``binomial="n"``, ``offset="x"``, ``exposure="t"``, ``or_=True``.

    Returns
    -------
    GlmmResult
        Estimates, standard errors and tests; ``print(fit)`` shows Stata's table.
    """
    return fit


melogit = _me_command("melogit")
meprobit = _me_command("meprobit")
mecloglog = _me_command("mecloglog")
meologit = _me_command("meologit")
meoprobit = _me_command("meoprobit")
mepoisson = _me_command("mepoisson")
menbreg = _me_command("menbreg")
meglm = _me_command("meglm")
