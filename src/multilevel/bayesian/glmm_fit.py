"""``bayes:`` on a generalized linear multilevel model: priors, initial values, NUTS, the result.

The posterior is sampled by NumPyro's NUTS on the non-centred parametrisation of
:mod:`.glmm_model`. Chain ``c`` starts from its own point and key, both derived from
``numpy.random.SeedSequence(rseed).spawn(nchains)[c]``, so that the same ``rseed`` gives identical
draws. The chains run one after the other in this process with one compiled sampler (NumPyro's
parallel chains need one device per chain, which a CPU does not have).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..design.types import Design
from ..errors import EstimationError, OptionError
from ..glmm.families import ResponseData, family_for
from ..glmm.glm import fit_glm
from . import gibbs
from .glmm_layout import GlmmLayout, build_glmm_layout
from .glmm_model import GlmmData, GlmmModel, _jnp, device_arrays, glmm_data
from .glmm_nuts import compiled_chain, compiled_constrain, set_progress_bar
from .priors import build_priors, design_order
from .result import SamplingInfo
from .sampler import ChainOutput, _apply_initial, _progress_bar

MAX_KEPT_EFFECT_DRAWS = 50_000_000  # random-effect values kept (about 400 MB)
DEVIANCE_CHUNK = 512  # draws whose per-observation terms are evaluated at once


def uses_glmm_engine(design: Design) -> bool:
    """Whether ``design`` needs the generalized linear engine (any family but a linear ``mixed``)."""
    family = design.spec.family
    return family.name != "gaussian" or family.link != "identity" or design.spec.command == "meglm"


# --- initial values --------------------------------------------------------------------------
def _glm_start(design: Design, data: GlmmData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients, ancillary values (natural scale) and coefficient SEs of the model without
    random effects; zeros and the marginal cutpoints where that fit fails."""
    family = family_for(data.spec_family, data.n_categories, design.spec.response)
    response = ResponseData(data.y, data.trials, data.n_categories)
    try:
        with np.errstate(all="ignore"):  # a diverging start is caught below, not reported
            glm = fit_glm(family, data.X, data.offset, response)
        beta, anc = np.asarray(glm.beta, float), np.asarray(glm.ancillary, float)
        _, _, weight = family.derivatives(data.offset + data.X @ beta, response, anc)
        info = (data.X.T * np.maximum(weight, 1e-8)) @ data.X
        se = np.sqrt(np.clip(np.diag(np.linalg.pinv(info)), 0.0, 1.0))
        ok = np.all(np.isfinite(beta)) and np.all(np.isfinite(anc)) and np.all(np.isfinite(se))
    except (ArithmeticError, ValueError, np.linalg.LinAlgError, EstimationError):
        ok = False
    if not ok:
        beta, anc = np.zeros(data.p), np.asarray(family.ancillary_start(response), float)
        se = np.full(data.p, 0.1)
    if data.family == "gaussian":
        anc = np.exp(2 * anc)  # the engine's ancillary parameter is ln sigma
    if data.family == "nbinomial":
        anc = np.clip(anc, -5.0, 5.0)
    return beta, anc, se


def _user_initial(layout: GlmmLayout, beta, sigmas, anc, initial: dict | None):
    if not initial:
        return beta, sigmas, anc
    anc = np.array(anc, float)
    rest = {}
    for key, value in initial.items():
        name = str(key).strip().strip("{}").replace(" ", "")
        if name in layout.ancillary_names:
            anc[layout.ancillary_names.index(name)] = float(value)
        elif name == layout.resid_name:
            raise OptionError(f"initial value for unknown parameter {{{name}}}")
        else:
            rest[key] = value
    state = gibbs.State(beta, (), tuple(sigmas), 1.0)
    state = _apply_initial(state, layout, rest)
    return state.beta, list(state.sigma), anc


def _dispersed(data: GlmmData, beta, se, sigmas, anc, rng) -> tuple:
    """A start for a later chain: coefficients 2 SEs apart, variances and ancillary values moved."""
    beta = beta + rng.normal(0.0, 2.0, len(beta)) * se
    sigmas = [sig * math.exp(rng.normal(0.0, 0.5)) for sig in sigmas]
    anc = np.asarray(anc, float)
    if data.family == "gaussian":
        anc = anc * math.exp(rng.normal(0.0, 0.2))
    elif len(anc):
        anc = anc + rng.normal(0.0, 0.2)  # cutpoints move together and stay ordered
    return beta, sigmas, anc


def initial_points(
    design: Design, data: GlmmData, model: GlmmModel, seeds, initial: dict | None
) -> list[np.ndarray]:
    """One unconstrained starting point per chain.

    The first chain starts at the fit without random effects, variances 0.5 per unit of the
    effect's covariate and random effects 0; later chains start dispersed around it (their
    generator is the chain's own). Values in ``initial`` replace the named parameters in every chain.
    """
    beta, anc, se = _glm_start(design, data)
    sigmas = []
    for lev in data.levels:
        scale = np.mean(lev.Z**2, axis=0)
        sigmas.append(np.diag(0.5 / np.where(scale > 0, scale, 1.0)))
    points = []
    for chain, seq in enumerate(seeds):
        start = (beta, sigmas, anc)
        if chain > 0:
            rng = np.random.Generator(np.random.PCG64(seq))
            start = _dispersed(data, beta, se, sigmas, anc, rng)
        points.append(model.initial(*_user_initial(model.layout, *start, initial)))
    return points


# --- sampling ----------------------------------------------------------------------------------
def run_glmm_nuts(
    model: GlmmModel,
    arrays: dict,
    points: list[np.ndarray],
    seeds,
    burnin: int,
    mcmcsize: int,
    thinning: int,
    progress: bool,
    target_accept: float = 0.85,
) -> list[dict]:
    """Sample each chain with NUTS; per chain the unconstrained draws and statistics."""
    import jax

    jnp = _jnp()
    chain = compiled_chain(model, arrays, burnin, mcmcsize, thinning, target_accept, progress)
    bar = _progress_bar(len(points) * (burnin + mcmcsize * thinning), len(points), progress)
    set_progress_bar(bar)
    chains = []
    try:
        for seq, point in zip(seeds, points, strict=True):
            start = time.perf_counter()
            key = jax.random.PRNGKey(int(seq.generate_state(1)[0]))
            free, accept, diverging, energy = chain(key, jnp.asarray(point), arrays)
            if not np.isfinite(float(energy)):
                raise EstimationError(
                    "the log posterior is not finite at the initial values; give others "
                    "with initial="
                )
            chains.append(
                {
                    "free": np.asarray(free),
                    "accept": float(np.mean(accept)),
                    "divergences": int(np.sum(diverging)),
                    "seconds": time.perf_counter() - start,
                }
            )
    finally:
        set_progress_bar(None)
        bar.close()
    return chains


def constrain(model: GlmmModel, arrays: dict, free: np.ndarray, keep_u: bool) -> ChainOutput:
    """Reported parameters (Stata's order), random effects and conditional deviance of draws."""
    jnp = _jnp()
    lay = model.layout
    n_anc = len(lay.ancillary)
    mapped = compiled_constrain(model, arrays)
    pieces = [
        mapped(jnp.asarray(free[i : i + DEVIANCE_CHUNK]), arrays)
        for i in range(0, len(free), DEVIANCE_CHUNK)
    ]
    n_levels = len(lay.levels)
    sigmas = [np.concatenate([np.asarray(p[0][k]) for p in pieces]) for k in range(n_levels)]
    us = [np.concatenate([np.asarray(p[1][k]) for p in pieces]) for k in range(n_levels)]
    anc = np.concatenate([np.asarray(p[2]) for p in pieces]).reshape(len(free), -1)
    deviance = np.concatenate([np.asarray(p[3]) for p in pieces])
    parts = [free[:, : lay.p], anc[:, :n_anc]]
    parts += [lev.sigma_to_params(s) for lev, s in zip(lay.levels, sigmas, strict=True)]
    parts.append(anc[:, n_anc:])
    return ChainOutput(
        params=np.concatenate(parts, axis=1),
        u=us if keep_u else None,
        deviance=deviance,
        u_sum=[u.sum(axis=0) for u in us],
        accepted=0,
        proposed=0,
        seconds=0.0,
    )


def fit_bayes_glmm(
    design: Design,
    *,
    rseed: int | None,
    nchains: int,
    burnin: int,
    mcmcsize: int,
    thinning: int,
    priors=None,
    normalprior=None,
    igammaprior=None,
    iwishartprior=None,
    prior=None,
    initial: dict | None = None,
    progress: bool = True,
    sampler: str = "auto",
    clevel: float = 95,
    hpd: bool = False,
    melabel: bool = False,
    matrices: dict | None = None,
):
    """Sample the posterior of a generalized linear multilevel model (see :func:`fit_bayes`)."""
    from .glmm_result import GlmmBayesResult

    if sampler == "gibbs":
        raise OptionError(
            "sampler='gibbs' samples linear models only; this model is sampled by NUTS "
            "(sampler='nuts' or 'auto')"
        )
    if not design.blocks:
        raise OptionError("a multilevel model needs at least one random-effects level")
    layout = build_glmm_layout(design)
    data = glmm_data(design)
    prior_set = build_priors(
        layout, priors, normalprior, igammaprior, iwishartprior, prior, matrices
    )
    model = GlmmModel(data, layout, design_order(prior_set, layout))
    arrays = device_arrays(data)
    seeds = np.random.SeedSequence(rseed).spawn(nchains)
    points = initial_points(design, data, model, seeds, initial)
    keep_u = nchains * mcmcsize * model.n_z <= MAX_KEPT_EFFECT_DRAWS
    start = time.perf_counter()
    runs = run_glmm_nuts(model, arrays, points, seeds, burnin, mcmcsize, thinning, progress)
    outputs = [constrain(model, arrays, run["free"], keep_u) for run in runs]
    info = SamplingInfo(
        sampler="nuts",
        nchains=nchains,
        burnin=burnin,
        mcmcsize=mcmcsize,
        thinning=thinning,
        rseed=rseed,
        seconds=time.perf_counter() - start,
        acceptance=[run["accept"] for run in runs],
    )
    total = nchains * mcmcsize
    return GlmmBayesResult(
        layout=layout,
        priors=prior_set,
        priors_design=model.priors,
        data=data,
        design=design,
        draws=np.stack([o.params for o in outputs]),
        u_draws=[np.stack([o.u[k] for o in outputs]) for k in range(len(data.levels))]
        if keep_u
        else None,
        u_mean=[sum(o.u_sum[k] for o in outputs) / total for k in range(len(data.levels))],
        deviance=np.stack([o.deviance for o in outputs]),
        info=info,
        clevel=clevel,
        hpd=hpd,
        melabel=melabel,
        model=model,
        free_draws=np.stack([run["free"] for run in runs]) if keep_u else None,
        divergences=[run["divergences"] for run in runs],
    )
