"""The public estimation commands: one pipeline, text -> ModelSpec -> Design -> engine -> Result."""

from __future__ import annotations

import pandas as pd

from .design import build_design
from .design.types import Design
from .errors import DataError, OptionError
from .glmm import fit_glmm
from .lmm.fit import fit_lmm
from .results.glmm_result import GlmmResult
from .results.mixed_result import MixedResult
from .spec import parse_model


def fit_mixed_design(design: Design) -> MixedResult:
    """Fit a linear mixed model to a built design (ML unless the spec asks for REML)."""
    if not design.blocks:
        raise DataError(
            "mixed needs at least one random-effects level, e.g. `|| schid:` or `(1 | schid)`"
        )
    if design.spec.options.dfmethod:
        raise OptionError(
            f"dfmethod({design.spec.options.dfmethod}) is not supported yet: small-sample degrees "
            "of freedom are not implemented; leave the option out for large-sample z tests"
        )
    estimates = fit_lmm(design, reml=design.spec.options.reml)
    return MixedResult(design, estimates)


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


BAYES_OPTIONS = (
    "rseed",
    "nchains",
    "burnin",
    "mcmcsize",
    "thinning",
    "priors",
    "normalprior",
    "igammaprior",
    "iwishartprior",
    "prior",
    "initial",
    "progress",
    "sampler",
    "saving",
    "clevel",
    "hpd",
    "melabel",
    "matrices",
)


def bayes(model, data: pd.DataFrame | None = None, **options):
    """Estimate a multilevel model by MCMC, as Stata's ``bayes:`` prefix.

    Parameters
    ----------
    model
        The command to prefix, with its name (``"mixed math homework || schid: homework, cov(un)"``),
        or a fitted frequentist result (``ml.bayes(fit, rseed=317)``) whose model is re-estimated.
    data
        The data (not needed when ``model`` is a fitted result).
    **options
        Bayesian options (``rseed``, ``nchains``, ``burnin``, ``mcmcsize``, ``thinning``,
        ``normalprior``, ``igammaprior``, ``iwishartprior``, ``prior``, ``initial``, ``sampler``,
        ``saving``, ``clevel``, ``hpd``, ``melabel``, ``progress``); any other keyword is an option of
        the model command (``reml`` is not, as in Stata).

    Returns
    -------
    BayesResult
        Posterior summaries in Stata's layout; ``idata`` holds the draws for ArviZ.
    """
    from .bayesian import fit_bayes  # the MCMC stack is imported only when it is used

    bayes_options = {k: options.pop(k) for k in list(options) if k in BAYES_OPTIONS}
    if isinstance(model, MixedResult | GlmmResult):
        if options:
            raise OptionError(f"options {sorted(options)} cannot change an already fitted model")
        design = model.design
    else:
        design = _design_from_command(str(model), data, options)
    return fit_bayes(design, **bayes_options)


def _design_from_command(text: str, data: pd.DataFrame | None, options: dict) -> Design:
    command, _, rest = text.strip().partition(" ")
    if command not in (
        "mixed",
        "melogit",
        "meprobit",
        "mecloglog",
        "meologit",
        "meoprobit",
        "mepoisson",
        "menbreg",
        "meglm",
    ):
        raise OptionError(
            f"bayes: expects an estimation command first (for example 'mixed y x || id:'), got {command!r}"
        )
    if data is None:
        raise DataError("bayes: needs data= when given a command")
    spec = parse_model(rest, command=command, **options)
    return build_design(spec, data)
