"""The JAX conditional log likelihoods of the Bayesian GLMM engine against the frequentist families.

glmm/families.py (NumPy, with its own tail-safe formulas) is the independent implementation: the
two must agree to rounding error at ordinary and extreme linear predictors, with every normalising
constant, and the JAX gradients must stay finite where the sampler can wander.
"""

from __future__ import annotations

import numpy as np
import pytest

from multilevel.bayesian.glmm_model import GlmmData, _data_constant, _jnp, loglik_terms
from multilevel.glmm.families import ResponseData, family_for
from multilevel.spec.model_spec import Family

jnp = _jnp()
RNG = np.random.default_rng(20240601)
N = 40


def _data(name: str, link: str, dispersion: str = "mean", categories: int = 0) -> GlmmData:
    if name in ("bernoulli", "binomial"):
        trials = RNG.integers(1, 30, N).astype(float) if name == "binomial" else np.ones(N)
        y = np.floor(RNG.uniform(0, 1, N) * (trials + 1))
    elif name == "ordinal":
        trials, y = np.ones(N), RNG.integers(0, categories, N).astype(float)
    elif name == "gaussian":
        trials, y = np.ones(N), RNG.normal(2.0, 1.5, N)
    else:
        trials, y = np.ones(N), RNG.poisson(4.0, N).astype(float)
    spec = Family(name=name, link=link, dispersion=dispersion)
    data = GlmmData(
        name,
        link,
        dispersion,
        y,
        np.ones((N, 1)),
        np.zeros(N),
        trials,
        [],
        categories,
        spec_family=spec,
    )
    data.constant = float(np.sum(_data_constant(data)))
    return data


def _jax_loglik(data: GlmmData, eta: np.ndarray, anc: np.ndarray) -> float:
    terms = loglik_terms(
        data, jnp.asarray(data.y), jnp.asarray(data.trials), jnp.asarray(eta), jnp.asarray(anc), jnp
    )
    return float(jnp.sum(terms)) + data.constant


CASES = [
    ("bernoulli", "logit", "mean", 0, ()),
    ("binomial", "logit", "mean", 0, ()),
    ("binomial", "probit", "mean", 0, ()),
    ("binomial", "cloglog", "mean", 0, ()),
    ("ordinal", "logit", "mean", 5, (-1.6, 1.5, 4.2, 6.1)),
    ("ordinal", "probit", "mean", 4, (-0.9, 0.2, 2.5)),
    ("ordinal", "cloglog", "mean", 3, (-0.5, 1.0)),
    ("poisson", "log", "mean", 0, ()),
    ("nbinomial", "log", "mean", 0, (0.7,)),
    ("nbinomial", "log", "mean", 0, (-25.0,)),
    ("nbinomial", "log", "constant", 0, (1.3,)),
    ("nbinomial", "log", "constant", 0, (-25.0,)),
    ("gaussian", "identity", "mean", 0, (2.5,)),
    ("gaussian", "log", "mean", 0, (0.8,)),
]


@pytest.mark.parametrize(("name", "link", "dispersion", "categories", "anc"), CASES)
@pytest.mark.parametrize("scale", [0.5, 3.0, 12.0])
def test_agrees_with_frequentist_families(name, link, dispersion, categories, anc, scale):
    data = _data(name, link, dispersion, categories)
    eta = RNG.normal(0.0, scale, N)
    if name in ("poisson", "nbinomial") or link == "log":
        eta = np.clip(eta, -8, 4)  # counts: plausible log means
    jax_value = _jax_loglik(data, eta, np.asarray(anc, float))
    family = family_for(data.spec_family, categories)
    engine_anc = np.asarray(anc, float)
    if name == "gaussian":
        engine_anc = 0.5 * np.log(engine_anc)  # the engine's ancillary parameter is ln sigma
    response = ResponseData(data.y, data.trials, categories)
    numpy_value = float(np.sum(family.loglik(eta, response, engine_anc)))
    assert np.isfinite(jax_value)
    assert jax_value == pytest.approx(numpy_value, rel=1e-10, abs=1e-8)


def test_negative_binomial_tends_to_poisson():
    # closed form: as alpha -> 0 the NB2 and NB1 likelihoods become the Poisson likelihood
    poisson = _data("poisson", "log")
    eta = RNG.normal(1.0, 0.5, N)
    target = _jax_loglik(poisson, eta, np.zeros(0))
    for dispersion in ("mean", "constant"):
        nb = _data("nbinomial", "log", dispersion)
        nb.y, nb.constant = poisson.y, poisson.constant
        assert _jax_loglik(nb, eta, np.array([-28.0])) == pytest.approx(target, abs=1e-8)


@pytest.mark.parametrize(
    ("name", "link", "categories", "anc"),
    [
        ("binomial", "logit", 0, ()),
        ("binomial", "probit", 0, ()),
        ("binomial", "cloglog", 0, ()),
        ("ordinal", "logit", 4, (-1.0, 0.5, 2.0)),
        ("ordinal", "probit", 4, (-1.0, 0.5, 2.0)),
        ("ordinal", "cloglog", 4, (-1.0, 0.5, 2.0)),
        ("nbinomial", "log", 0, (-60.0,)),
        ("nbinomial", "log", 0, (6.0,)),
    ],
)
def test_gradients_stay_finite_at_extremes(name, link, categories, anc):
    import jax

    data = _data(name, link, categories=categories)
    eta = np.concatenate([np.full(N // 2, -80.0), np.full(N - N // 2, 80.0)])
    if name == "nbinomial":
        eta = eta / 20

    def total(eta, anc):
        y, n = jnp.asarray(data.y), jnp.asarray(data.trials)
        return jnp.sum(loglik_terms(data, y, n, eta, anc, jnp))

    g_eta, g_anc = jax.grad(total, argnums=(0, 1))(jnp.asarray(eta), jnp.asarray(anc, float))
    assert np.all(np.isfinite(np.asarray(g_eta)))
    assert np.all(np.isfinite(np.asarray(g_anc)))
