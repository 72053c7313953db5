"""One compiled NUTS chain: NumPyro's kernel driven by a single jitted warm-up and sampling loop.

The chain is a function of (key, starting point, data arrays) compiled once per model structure
(family, levels, priors, chain lengths) and kept in a small cache, so that further chains and data
sets of the same shape (simulation-based calibration, several chains) run without compiling again.
Adaptation is NumPyro's: dual averaging of the step size and a diagonal mass matrix over windows of
the warm-up.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .glmm_model import GlmmModel, _jnp

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8
_BAR = None  # the progress bar that compiled chains report to (a module global, not traced)
PROGRESS_EVERY = 50  # iterations between progress reports


def _report(count) -> None:
    if _BAR is not None:
        _BAR.update(int(count))


def _signature(model: GlmmModel, arrays: dict, settings: tuple) -> tuple:
    """What the compiled chain depends on besides the values of the data arrays."""
    data, lay = model.data, model.layout
    levels = tuple((lev.structure, lev.q, lev.n_groups, lev.re_names) for lev in lay.levels)
    shapes = tuple(np.shape(a) for a in (arrays["y"], arrays["X"]))
    kind = (data.family, data.link, data.dispersion, data.n_categories)
    return (kind, lay.p, lay.ancillary, lay.residual, levels, shapes, repr(model.priors), settings)


def _build(model: GlmmModel, burnin: int, mcmcsize: int, thinning: int, target, progress):
    import jax
    from jax import lax
    from numpyro.infer.hmc import hmc

    jnp = _jnp()

    def potential_gen(arrays):
        return lambda t: -model.log_density(t, arrays, jnp)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def tick(i):
        if progress:
            lax.cond(
                (i + 1) % PROGRESS_EVERY == 0,
                lambda: jax.debug.callback(_report, PROGRESS_EVERY),
                lambda: None,
            )

    def chain(key, start, arrays):
        args = (arrays,)
        state = init_kernel(start, burnin, target_accept_prob=target, model_args=args, rng_key=key)
        first_energy = state.potential_energy

        def warm(i, s):
            tick(i)
            return sample_kernel(s, model_args=args)

        state = lax.fori_loop(0, burnin, warm, state)

        def draw(s, i):
            s = lax.fori_loop(0, thinning, lambda _, x: sample_kernel(x, model_args=args), s)
            tick(burnin + i)
            return s, (s.z, s.accept_prob, s.diverging)

        _, (z, accept, diverging) = lax.scan(draw, state, jnp.arange(mcmcsize))
        return z, accept, diverging, first_energy

    return jax.jit(chain)


def _cached(key: tuple, build):
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    fn = build()
    _CACHE[key] = fn
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return fn


def compiled_constrain(model: GlmmModel, arrays: dict):
    """The jitted map from a batch of unconstrained draws to (covariances, random effects,
    family parameters, conditional deviance)."""
    import jax

    jnp = _jnp()

    def one(t, arrays):
        sigmas, _ = model.sigma_and_prior(t, jnp)
        loglik, us = model.loglik(t, arrays, jnp)
        anc, _ = model.ancillary(t, jnp)
        return sigmas, us, anc, -2.0 * loglik

    key = _signature(model, arrays, ("constrain",))
    return _cached(key, lambda: jax.jit(jax.vmap(one, in_axes=(0, None))))


def compiled_chain(
    model: GlmmModel,
    arrays: dict,
    burnin: int,
    mcmcsize: int,
    thinning: int,
    target_accept: float,
    progress: bool,
):
    """The jitted ``chain(key, start, arrays) -> (draws, accept_prob, diverging, -log p(start))``."""
    settings = (burnin, mcmcsize, thinning, target_accept, progress)
    key = _signature(model, arrays, settings)
    return _cached(key, lambda: _build(model, burnin, mcmcsize, thinning, target_accept, progress))


def set_progress_bar(bar) -> None:
    """Send the compiled chains' progress reports to ``bar`` (``None``: nowhere)."""
    global _BAR
    _BAR = bar
