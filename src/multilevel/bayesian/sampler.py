"""The Gibbs sampler's driver: initial values, sweeps, chains in parallel processes, progress.

Chain ``c`` draws from ``numpy.random.Generator(PCG64(SeedSequence(rseed).spawn(nchains)[c]))``,
so that the same ``rseed`` gives the same draws whether chains run in parallel or not.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError
from . import expansion, gibbs
from .gaussian import GaussianData
from .layout import LevelLayout, ModelLayout
from .priors import PriorSet

_COUNTER = None  # shared iteration counter of a worker process (set by _init_worker)


@dataclass
class ChainOutput:
    """What one chain returns: draws of the reported parameters and of the random effects."""

    params: np.ndarray  # (draws, parameters), Stata's order
    u: list[np.ndarray] | None  # (draws, G_k, q_k) per level
    deviance: np.ndarray  # conditional deviance of each draw
    u_sum: list[np.ndarray]  # running sums of the random effects (for DIC when u is not kept)
    accepted: int
    proposed: int
    seconds: float


def level_prior_names(lev: LevelLayout) -> list[str]:
    """Keys of a level's priors, in the order :func:`gibbs.draw_level` reads them."""
    if lev.q > 1 and lev.structure == "unstructured":
        return [f"{lev.stub}:Sigma"]
    if lev.q > 1 and lev.structure == "exchangeable":
        return [f"{lev.stub}:sigma2", f"{lev.stub}:rho"]
    if lev.q > 1 and lev.structure == "identity":
        return [f"{lev.stub}:sigma2"]
    return [f"{name}:sigma2" for name in lev.re_names]


def param_vector(state: gibbs.State, layout: ModelLayout) -> np.ndarray:
    """The reported parameters of ``state`` in Stata's order."""
    parts = [state.beta]
    for lev, sig in zip(layout.levels, state.sigma, strict=True):
        parts.append(lev.sigma_to_params(sig))
    parts.append(np.array([state.sigma2]))
    return np.concatenate(parts)


# --- initial values --------------------------------------------------------------------------
def initial_state(
    data: GaussianData, layout: ModelLayout, chain: int, rng, initial: dict | None
) -> gibbs.State:
    """OLS coefficients, zero random effects, moment-based variances; dispersed for chains > 0.

    ``initial`` maps parameter names (``{math:homework}``, ``{e.math:sigma2}``, ``{U0:sigma2}``,
    ``{U:Sigma,m}`` as a matrix in Stata's effect order) to values used by every chain.
    """
    beta, *_ = np.linalg.lstsq(data.X, data.y, rcond=None)
    resid = data.y - data.X @ beta
    s2 = float(resid @ resid) / max(data.n - data.p, 1)
    sigmas = []
    for lev in data.levels:
        scale = np.mean(lev.Z**2, axis=0)
        sigmas.append(np.diag(0.5 * s2 / np.where(scale > 0, scale, 1.0)))
    if chain > 0:
        se = np.sqrt(np.diag(np.linalg.pinv(data.XtX)) * s2)
        beta = beta + rng.normal(0.0, 3.0, data.p) * se
        s2 *= math.exp(rng.normal(0.0, 0.5))
        sigmas = [sig * math.exp(rng.normal(0.0, 0.7)) for sig in sigmas]
    u = tuple(np.zeros((lev.n_groups, lev.q)) for lev in data.levels)
    state = gibbs.State(beta=beta, u=u, sigma=tuple(sigmas), sigma2=s2)
    if initial:
        state = _apply_initial(state, layout, initial)
    return gibbs.State(
        state.beta, state.u, state.sigma, state.sigma2, gibbs.residual_ss(data, state.beta, state.u)
    )


def _apply_initial(state: gibbs.State, layout: ModelLayout, initial: dict) -> gibbs.State:
    beta, sigmas, s2 = state.beta.copy(), [s.copy() for s in state.sigma], state.sigma2
    for key, value in initial.items():
        name = str(key).strip().strip("{}").replace(" ", "")
        eq, _, short = name.rpartition(":")
        if eq == layout.depvar and short in layout.fixed_names:
            beta[layout.fixed_names.index(short)] = float(value)
            continue
        if name == layout.resid_name:
            s2 = _positive(value, key)
            continue
        for k, lev in enumerate(layout.levels):
            if name in (f"{lev.stub}:Sigma,m", f"{lev.stub}:Sigma,matrix", f"{lev.stub}:Sigma"):
                mat = np.asarray(value, float)
                if mat.shape != (lev.q, lev.q) or np.any(np.linalg.eigvalsh(mat) <= 0):
                    raise OptionError(
                        f"initial value of {{{name}}} must be a {lev.q}x{lev.q} "
                        "positive-definite matrix"
                    )
                back = np.argsort(lev.stata_order)
                sigmas[k] = mat[np.ix_(back, back)]
                break
            if name in level_prior_names(lev) and not name.endswith(":rho"):
                v = _positive(value, key)
                if lev.structure == "independent" or lev.q == 1:
                    j = lev.re_names.index(eq)
                    sigmas[k][j, j] = v
                else:
                    sigmas[k] = sigmas[k] * (v / sigmas[k][0, 0])
                break
        else:
            raise OptionError(f"initial value for unknown parameter {{{name}}}")
    return gibbs.State(beta, state.u, tuple(sigmas), s2)


def _positive(value, key) -> float:
    v = float(value)
    if not v > 0:
        raise OptionError(f"initial value of {key} must be positive")
    return v


# --- one chain -------------------------------------------------------------------------------
def run_chain(
    data: GaussianData,
    layout: ModelLayout,
    priors: PriorSet,
    seed: np.random.SeedSequence,
    chain: int,
    burnin: int,
    mcmcsize: int,
    thinning: int,
    initial: dict | None = None,
    keep_u: bool = True,
    report=None,
) -> ChainOutput:
    """Run one chain; ``report(n)`` is called now and then with the iterations done since."""
    rng = np.random.Generator(np.random.PCG64(seed))
    state = initial_state(data, layout, chain, rng, initial)
    cp = gibbs.compile_coef_prior(priors, data.p)
    if not data.levels:
        effects = gibbs.draw_effects_fixed_only
    elif data.single:
        effects = gibbs.draw_effects_single
    else:
        effects = gibbs.draw_effects_dense
    names = [level_prior_names(lev) for lev in layout.levels]
    structures = [lev.structure for lev in layout.levels]
    shears = [
        [(i, j) for i in range(lev.q) for j in range(lev.q) if i != j]
        if lev.structure == "unstructured"
        else []
        for lev in layout.levels
    ]
    n_par = len(layout.params())
    params = np.empty((mcmcsize, n_par))
    deviance = np.empty(mcmcsize)
    u_draws = [np.empty((mcmcsize, lev.n_groups, lev.q)) for lev in data.levels] if keep_u else None
    u_sum = [np.zeros((lev.n_groups, lev.q)) for lev in data.levels]
    accepted = proposed = 0
    start = time.perf_counter()
    total = burnin + mcmcsize * thinning
    pending = 0
    for it in range(total):
        state, acc = effects(state, data, cp, rng)
        accs = [acc]
        for k in range(len(layout.levels)):
            state, level_accs = gibbs.draw_level(
                state, k, structures[k], priors.levels[k], names[k], rng
            )
            accs.extend(level_accs)
            # parameter-expanded moves (expansion.py) against the slow mixing of centred
            # effects; they are no steps of Stata's sampler: their acceptance is not reported
            state, _ = expansion.expand_level(
                state, data, k, structures[k], priors.levels[k], names[k], rng
            )
            if shears[k]:  # one shear an iteration, the pairs in turn
                pair = shears[k][it % len(shears[k])]
                state, _ = expansion.shear_level(
                    state, data, k, priors.levels[k], names[k], pair, rng
                )
        state, acc = gibbs.draw_residual(state, data, priors.resid, rng)
        accs.append(acc)
        if it >= burnin and (it - burnin + 1) % thinning == 0:
            i = (it - burnin) // thinning
            params[i] = param_vector(state, layout)
            deviance[i] = data.n * (math.log(2 * math.pi) + math.log(state.sigma2))
            deviance[i] += state.rss / state.sigma2
            for k, uk in enumerate(state.u):
                u_sum[k] += uk
                if u_draws is not None:
                    u_draws[k][i] = uk
            tried = [a for a in accs if a is not None]
            accepted += sum(tried) + (len(accs) - len(tried))
            proposed += len(accs)
        pending += 1
        if report is not None and pending >= 250:
            report(pending)
            pending = 0
    if report is not None and pending:
        report(pending)
    return ChainOutput(
        params, u_draws, deviance, u_sum, accepted, proposed, time.perf_counter() - start
    )


# --- several chains --------------------------------------------------------------------------
def _init_worker(counter) -> None:
    global _COUNTER
    _COUNTER = counter


def _report_shared(n: int) -> None:
    with _COUNTER.get_lock():
        _COUNTER.value += n


def _worker(kwargs: dict) -> ChainOutput:
    return run_chain(**kwargs, report=_report_shared)


def run_chains(
    data: GaussianData,
    layout: ModelLayout,
    priors: PriorSet,
    rseed: int | None,
    nchains: int,
    burnin: int,
    mcmcsize: int,
    thinning: int,
    initial: dict | None = None,
    keep_u: bool = True,
    progress: bool = True,
) -> list[ChainOutput]:
    """Run ``nchains`` chains, in parallel processes when there are several chains and cores."""
    seeds = np.random.SeedSequence(rseed).spawn(nchains)
    total = nchains * (burnin + mcmcsize * thinning)
    bar = _progress_bar(total, nchains, progress)
    common = dict(
        data=data,
        layout=layout,
        priors=priors,
        burnin=burnin,
        mcmcsize=mcmcsize,
        thinning=thinning,
        initial=initial,
        keep_u=keep_u,
    )
    workers = min(nchains, os.cpu_count() or 1)
    try:
        if workers <= 1:
            return [
                run_chain(**common, seed=s, chain=c, report=bar.update) for c, s in enumerate(seeds)
            ]
        return _parallel(common, seeds, workers, bar)
    finally:
        bar.close()


def _parallel(common: dict, seeds, workers: int, bar) -> list[ChainOutput]:
    # fork is quick, but unsafe once JAX's threads exist in this process
    method = "spawn" if "jax" in sys.modules else "fork"
    ctx = mp.get_context(method)
    counter = ctx.Value("q", 0)
    stop = threading.Event()

    def poll() -> None:
        seen = 0
        while not stop.wait(0.2):
            now = counter.value
            bar.update(now - seen)
            seen = now

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(counter,)
        ) as pool:
            jobs = [dict(common, seed=s, chain=c) for c, s in enumerate(seeds)]
            results = list(pool.map(_worker, jobs))
    finally:
        stop.set()
        watcher.join()
    bar.update(max(0, bar.total - bar.n))
    return results


class _NoBar:
    total = n = 0

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, nchains: int, progress: bool):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    desc = "MCMC" if nchains == 1 else f"MCMC ({nchains} chains)"
    return tqdm(total=total, desc=desc, unit="it", leave=False, mininterval=0.3)
