"""Bayesian estimation of multilevel models: Stata's ``bayes: mixed``, ``bayes: melogit``, ...

:func:`fit_bayes` samples the posterior of a Gaussian multilevel model (any ``mixed`` model:
random intercepts and slopes, every covariance structure, nested and crossed levels) with Stata's
default priors, by blocked Gibbs sampling (``sampler="gibbs"``, the default) or by NUTS on a
non-centred parametrisation (``sampler="nuts"``), and returns a :class:`BayesResult`.

Generalized linear multilevel models (``melogit``, ``meprobit``, ``mecloglog``, ``meologit``,
``meoprobit``, ``mepoisson``, ``menbreg``, ``meglm``) are sampled by NUTS
(:mod:`.glmm_fit`) and give a :class:`GlmmBayesResult`.
"""

from __future__ import annotations

import time

import numpy as np

from ..design.types import Design
from ..errors import OptionError
from .distributions import Distribution
from .gaussian import gaussian_data
from .glmm_fit import fit_bayes_glmm, uses_glmm_engine
from .glmm_result import GlmmBayesResult
from .layout import build_layout
from .priors import ImproperPosteriorWarning, PriorSet, build_priors, design_order
from .result import BayesResult, SamplingInfo, information_criteria
from .sampler import run_chains

__all__ = [
    "BayesResult",
    "Distribution",
    "GlmmBayesResult",
    "ImproperPosteriorWarning",
    "PriorSet",
    "fit_bayes",
    "information_criteria",
    "load_draws",
]

MAX_KEPT_EFFECT_DRAWS = 50_000_000  # random-effect values kept (about 400 MB)


def _check_counts(nchains, burnin, mcmcsize, thinning, clevel) -> None:
    for name, value, least in (
        ("nchains", nchains, 1),
        ("burnin", burnin, 0),
        ("mcmcsize", mcmcsize, 2),
        ("thinning", thinning, 1),
    ):
        if int(value) != value or value < least:
            raise OptionError(f"{name}({value}) must be an integer of at least {least}")
    if not 10 <= clevel < 100:
        raise OptionError(f"clevel({clevel}) must lie in [10, 100)")


def fit_bayes(
    design: Design,
    *,
    rseed: int | None = None,
    nchains: int = 1,
    burnin: int = 2500,
    mcmcsize: int = 10000,
    thinning: int = 1,
    priors: PriorSet | None = None,
    normalprior: float | None = None,
    igammaprior=None,
    iwishartprior=None,
    prior=None,
    initial: dict | None = None,
    progress: bool = True,
    sampler: str = "auto",
    saving=None,
    clevel: float = 95,
    hpd: bool = False,
    melabel: bool = False,
    matrices: dict | None = None,
) -> BayesResult:
    """Sample the posterior of a multilevel model.

    Linear models (``mixed``) are sampled by Gibbs or NUTS; generalized linear ones (the ``me``
    commands, the family in ``design.spec.family``) by NUTS, with Stata's default priors for
    their own parameters too: flat priors on cutpoints, ``normal(0,10000)`` on ``lnalpha``.

    Parameters
    ----------
    design
        The model applied to the data (``multilevel.design.build_design``).
    rseed
        Random-number seed; the same seed gives identical draws.
    nchains, burnin, mcmcsize, thinning
        Chains (run in parallel processes), burn-in iterations, draws kept per chain, and the
        thinning interval, as Stata's options of the same names.
    priors
        A complete :class:`PriorSet` replacing the defaults.
    normalprior, igammaprior, iwishartprior
        Stata's options: the sd of the default normal priors (100), the shape and scale of the
        default inverse-gamma priors (``(0.01, 0.01)``), the degrees of freedom and optionally
        the scale matrix of the default inverse-Wishart priors (``d + 1``, ``I(d)``).
    prior
        Priors of single parameters: ``[("{e.math:sigma2}", "jeffreys"), ...]`` or a dict.
    initial
        Initial values by parameter name (``{"{math:homework}": 1.0}``).
    progress
        Show a progress bar.
    sampler
        ``"gibbs"`` (blocked Gibbs), ``"nuts"`` (NumPyro NUTS), or ``"auto"`` (Gibbs for linear
        models, NUTS for the others).
    saving
        Path of a netCDF file to write the draws to (ArviZ ``from_netcdf`` reads it).
    clevel, hpd, melabel
        Credible level, HPD instead of equal-tailed intervals, frequentist labels in tables.
    matrices
        Named matrices that prior texts refer to (``iwishart(2,10,S)``).

    Returns
    -------
    BayesResult
        A :class:`GlmmBayesResult` for a generalized linear model.
    """
    _check_counts(nchains, burnin, mcmcsize, thinning, clevel)
    if sampler not in ("auto", "gibbs", "nuts"):
        raise OptionError(f"sampler={sampler!r}: choose 'auto', 'gibbs' or 'nuts'")
    if uses_glmm_engine(design):
        return _fit_glmm(
            design,
            saving,
            rseed=rseed,
            nchains=nchains,
            burnin=burnin,
            mcmcsize=mcmcsize,
            thinning=thinning,
            priors=priors,
            normalprior=normalprior,
            igammaprior=igammaprior,
            iwishartprior=iwishartprior,
            prior=prior,
            initial=initial,
            progress=progress,
            sampler=sampler,
            clevel=clevel,
            hpd=hpd,
            melabel=melabel,
            matrices=matrices,
        )
    layout = build_layout(design)
    data = gaussian_data(design)
    prior_set = build_priors(
        layout, priors, normalprior, igammaprior, iwishartprior, prior, matrices
    )
    computing = design_order(prior_set, layout)
    keep_u = nchains * mcmcsize * sum(lv.n_groups * lv.q for lv in data.levels)
    keep_u = keep_u <= MAX_KEPT_EFFECT_DRAWS
    start = time.perf_counter()
    if sampler == "nuts":
        from .nuts import run_nuts

        chains = run_nuts(
            data, layout, computing, rseed, nchains, burnin, mcmcsize, thinning, initial, progress
        )
    else:
        chains = run_chains(
            data,
            layout,
            computing,
            rseed,
            nchains,
            burnin,
            mcmcsize,
            thinning,
            initial,
            keep_u,
            progress,
        )
    seconds = time.perf_counter() - start
    info = SamplingInfo(
        sampler="nuts" if sampler == "nuts" else "gibbs",
        nchains=nchains,
        burnin=burnin,
        mcmcsize=mcmcsize,
        thinning=thinning,
        rseed=rseed,
        seconds=seconds,
        acceptance=[c.accepted / max(c.proposed, 1) for c in chains],
        any_mh=any(c.accepted < c.proposed for c in chains),
    )
    u_draws = None
    if chains[0].u is not None:
        u_draws = [np.stack([c.u[k] for c in chains]) for k in range(len(data.levels))]
    total = nchains * mcmcsize
    u_mean = [sum(c.u_sum[k] for c in chains) / total for k in range(len(data.levels))]
    result = BayesResult(
        layout=layout,
        priors=prior_set,
        priors_design=computing,
        data=data,
        design=design,
        draws=np.stack([c.params for c in chains]),
        u_draws=u_draws,
        u_mean=u_mean,
        deviance=np.stack([c.deviance for c in chains]),
        info=info,
        clevel=clevel,
        hpd=hpd,
        melabel=melabel,
    )
    if saving is not None:
        result.save(saving)
    return result


def _fit_glmm(design: Design, saving, **options) -> GlmmBayesResult:
    result = fit_bayes_glmm(design, **options)
    if saving is not None:
        result.save(saving)
    return result


def load_draws(path):
    """Read draws written by ``saving=`` (an ArviZ InferenceData)."""
    import arviz as az

    return az.from_netcdf(str(path))
