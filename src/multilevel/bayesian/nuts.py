"""NUTS (NumPyro) on a non-centred parametrisation of a Gaussian multilevel model.

Unconstrained coordinates: the coefficients; per level the log-Cholesky factor of an unstructured
covariance (log variances for identity/independent; log variance and a logit-scaled correlation
for exchangeable) and standard-normal effects z with u_g = L z_g; the log residual variance. The
priors are those of the Gibbs sampler (same :class:`PriorSet`), with the transformations'
Jacobians. Serves as an independent check of the Gibbs sampler and as ``sampler="nuts"``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .gaussian import GaussianData
from .layout import ModelLayout
from .priors import PriorSet
from .sampler import ChainOutput, initial_state, level_prior_names


def _jax():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    return jax, jnp


class _Model:
    """Offsets of the unconstrained vector and the maps to the model's parameters."""

    def __init__(self, data: GaussianData, layout: ModelLayout, priors: PriorSet):
        self.data, self.layout, self.priors = data, layout, priors
        self.parts = []  # (level, kind, start, n_cov, z_start)
        pos = layout.p
        for lev in layout.levels:
            n_cov = (
                lev.q * (lev.q + 1) // 2
                if lev.structure == "unstructured" and lev.q > 1
                else len(level_prior_names(lev))
            )
            self.parts.append((lev, pos, n_cov))
            pos += n_cov
        self.z_start = []
        for lev in layout.levels:
            self.z_start.append(pos)
            pos += lev.n_groups * lev.q
        self.resid = pos
        self.dim = pos + 1

    def sigma_and_prior(self, t, jnp):
        """Design-order covariance matrices and log prior (+ Jacobian) of the covariances."""
        sigmas, logp = [], 0.0
        for (lev, start, n_cov), entry in zip(self.parts, self.priors.levels, strict=True):
            names = level_prior_names(lev)
            free = t[start : start + n_cov]
            q = lev.q
            if lev.structure == "unstructured" and q > 1:
                rows, cols = np.tril_indices(q, -1)
                chol = jnp.diag(jnp.exp(free[:q])).at[rows, cols].set(free[q:])
                sigma = chol @ chol.T
                ranks = jnp.arange(q, 0, -1) + 1.0
                logp += q * math.log(2) + jnp.dot(ranks, free[:q])
                logp += entry[names[0]].logpdf(sigma, xp=jnp)
            elif lev.structure == "exchangeable" and q > 1:
                s2 = jnp.exp(free[0])
                prior_rho = entry[names[1]]
                lo, hi = -1.0 / (q - 1), 1.0
                if prior_rho.name == "uniform":
                    lo, hi = max(lo, prior_rho.args[0]), min(hi, prior_rho.args[1])
                s = 1 / (1 + jnp.exp(-free[1]))
                rho = lo + (hi - lo) * s
                sigma = s2 * ((1 - rho) * jnp.eye(q) + rho * jnp.ones((q, q)))
                logp += entry[names[0]].logpdf(s2, xp=jnp) + free[0]
                logp += prior_rho.logpdf(rho, xp=jnp) + jnp.log((hi - lo) * s * (1 - s))
            else:
                v = jnp.exp(free)
                sigma = jnp.diag(v) if len(names) > 1 else v[0] * jnp.eye(q)
                for j, nm in enumerate(names):
                    logp += entry[nm].logpdf(v[j], xp=jnp)
                logp += jnp.sum(free)
            sigmas.append(sigma)
        return sigmas, logp

    def effects(self, t, sigmas, jnp):
        us = []
        for lev, start, sigma in zip(self.layout.levels, self.z_start, sigmas, strict=True):
            z = t[start : start + lev.n_groups * lev.q].reshape(lev.n_groups, lev.q)
            us.append(z @ jnp.linalg.cholesky(sigma).T)
        return us

    def residual(self, t, us, jnp):
        d = self.data
        eta = jnp.asarray(d.X) @ t[: self.layout.p]
        for lev, u in zip(d.levels, us, strict=True):
            eta = eta + jnp.sum(jnp.asarray(lev.Z) * u[jnp.asarray(lev.codes)], axis=1)
        return jnp.asarray(d.y) - eta

    def log_density(self, t, jnp):
        sigmas, logp = self.sigma_and_prior(t, jnp)
        beta = t[: self.layout.p]
        for j, dist in self.priors.coef.items():
            logp += dist.logpdf(beta[j], xp=jnp)
        for idx, dist in self.priors.coef_groups:
            logp += dist.logpdf(beta[jnp.asarray(idx)], xp=jnp)
        us = self.effects(t, sigmas, jnp)
        z_all = t[self.z_start[0] : self.resid] if self.z_start else jnp.zeros(0)
        logp += -0.5 * jnp.sum(z_all**2)
        log_s2 = t[self.resid]
        s2 = jnp.exp(log_s2)
        logp += self.priors.resid.logpdf(s2, xp=jnp) + log_s2
        r = self.residual(t, us, jnp)
        n = self.data.n
        loglik = -0.5 * (n * (math.log(2 * math.pi) + log_s2) + jnp.sum(r**2) / s2)
        return logp + loglik

    def initial(self, state) -> np.ndarray:
        """Unconstrained vector of a Gibbs state (random effects at zero)."""
        t = np.zeros(self.dim)
        t[: self.layout.p] = state.beta
        for (lev, start, n_cov), sigma in zip(self.parts, state.sigma, strict=True):
            if lev.structure == "unstructured" and lev.q > 1:
                chol = np.linalg.cholesky(sigma)
                rows, cols = np.tril_indices(lev.q, -1)
                t[start : start + n_cov] = np.concatenate([np.log(np.diag(chol)), chol[rows, cols]])
            elif lev.structure == "exchangeable" and lev.q > 1:
                t[start] = math.log(sigma[0, 0])
            else:
                t[start : start + n_cov] = np.log(np.diag(sigma)[:n_cov])
        t[self.resid] = math.log(state.sigma2)
        return t


def _constrain(model: _Model, samples: np.ndarray) -> ChainOutput:
    jax, jnp = _jax()

    def one(t):
        sigmas, _ = model.sigma_and_prior(t, jnp)
        us = model.effects(t, sigmas, jnp)
        r = model.residual(t, us, jnp)
        s2 = jnp.exp(t[model.resid])
        dev = model.data.n * (math.log(2 * math.pi) + t[model.resid]) + jnp.sum(r**2) / s2
        return sigmas, us, s2, dev

    sigmas, us, s2, dev = jax.jit(jax.vmap(one))(jnp.asarray(samples))
    lay = model.layout
    parts = [np.asarray(samples[:, : lay.p])]
    parts += [lev.sigma_to_params(np.asarray(s)) for lev, s in zip(lay.levels, sigmas, strict=True)]
    parts.append(np.asarray(s2)[:, None])
    u = [np.asarray(x) for x in us]
    return ChainOutput(
        np.concatenate(parts, axis=1), u, np.asarray(dev), [x.sum(axis=0) for x in u], 0, 0, 0.0
    )


def run_nuts(
    data: GaussianData,
    layout: ModelLayout,
    priors: PriorSet,
    rseed,
    nchains: int,
    burnin: int,
    mcmcsize: int,
    thinning: int,
    initial=None,
    progress: bool = True,
    target_accept: float = 0.85,
) -> list[ChainOutput]:
    """Sample with NumPyro's NUTS; one :class:`ChainOutput` per chain."""
    jax, jnp = _jax()
    from numpyro.infer import MCMC, NUTS

    model = _Model(data, layout, priors)
    seeds = np.random.SeedSequence(rseed).spawn(nchains)
    outputs = []
    for c, seq in enumerate(seeds):
        rng = np.random.Generator(np.random.PCG64(seq))
        init = model.initial(initial_state(data, layout, c, rng, initial))
        kernel = NUTS(
            potential_fn=lambda t: -model.log_density(t, jnp), target_accept_prob=target_accept
        )
        mcmc = MCMC(
            kernel,
            num_warmup=burnin,
            num_samples=mcmcsize * thinning,
            thinning=thinning,
            num_chains=1,
            progress_bar=progress,
        )
        start = time.perf_counter()
        key = jax.random.PRNGKey(int(seq.generate_state(1)[0]))
        mcmc.run(key, init_params=jnp.asarray(init), extra_fields=("accept_prob", "diverging"))
        samples = np.asarray(mcmc.get_samples())
        out = _constrain(model, samples)
        extra = mcmc.get_extra_fields()
        out.accepted = int(round(float(np.mean(extra["accept_prob"])) * mcmcsize))
        out.proposed = mcmcsize
        out.seconds = time.perf_counter() - start
        out.divergences = int(np.sum(extra["diverging"]))
        outputs.append(out)
    return outputs
