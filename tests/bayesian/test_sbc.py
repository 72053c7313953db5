"""Simulation-based calibration (Talts et al. 2018) of the Gibbs sampler.

Parameters are drawn from proper priors, data simulated from the model, the posterior sampled;
the rank of each true parameter among thinned posterior draws must be uniform (chi-square test on
10 bins, each parameter at the 0.1% level).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from designs import simple_design
from scipy import stats

from multilevel.bayesian import fit_bayes
from multilevel.spec.model_spec import RandomLevel

N_SIMS = 200
N_RANK_DRAWS = 99
THIN = 4
BINS = 10
PRIORS_SLOPE = {
    "{y:}": "normal(0,1)",
    "{U:Sigma,m}": "iwishart(2,6,I(2))",
    "{e.y:sigma2}": "igamma(4,3)",
}
PRIORS_INTERCEPT = {
    "{y:}": "normal(0,1)",
    "{U0:sigma2}": "igamma(4,3)",
    "{e.y:sigma2}": "igamma(4,3)",
}


def _frame(rng, groups: int, per_group: int) -> pd.DataFrame:
    g = np.repeat(np.arange(groups), per_group)
    return pd.DataFrame({"g": g, "x": rng.normal(size=len(g)), "y": np.zeros(len(g))})


def _simulate(rng, df: pd.DataFrame, slope: bool):
    beta = rng.normal(0, 1, 2)  # x, _cons
    groups = df["g"].nunique()
    if slope:
        sigma = stats.invwishart(6, np.eye(2)).rvs(random_state=rng)
        u = rng.multivariate_normal(np.zeros(2), sigma, groups)  # (slope, intercept)
        truth = [beta[0], beta[1], sigma[1, 1], sigma[0, 1], sigma[0, 0]]  # U0 = intercept
    else:
        s2u = 3 / rng.gamma(4)
        u = np.column_stack([np.zeros(groups), rng.normal(0, np.sqrt(s2u), groups)])
        truth = [beta[0], beta[1], s2u]
    s2 = 3 / rng.gamma(4)
    g, x = df["g"].to_numpy(), df["x"].to_numpy()
    y = beta[1] + beta[0] * x + u[g, 1] + u[g, 0] * x + rng.normal(0, np.sqrt(s2), len(df))
    return y, np.array(truth + [s2])


def _ranks(slope: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    df = _frame(rng, groups=12, per_group=6)
    level = RandomLevel(
        ("g",), ("x",) if slope else (), True, "unstructured" if slope else "independent"
    )
    priors = PRIORS_SLOPE if slope else PRIORS_INTERCEPT
    ranks = []
    for sim in range(N_SIMS):
        y, truth = _simulate(rng, df, slope)
        df["y"] = y
        fit = fit_bayes(
            simple_design(df, "y", ("x",), (level,)),
            rseed=seed + sim,
            burnin=100,
            mcmcsize=N_RANK_DRAWS * THIN,
            thinning=1,
            prior=priors,
            progress=False,
        )
        draws = fit.draws[0, ::THIN]
        ranks.append(np.sum(draws < truth, axis=0))
    return np.array(ranks)


def _uniform_p_values(ranks: np.ndarray) -> np.ndarray:
    edges = np.linspace(0, N_RANK_DRAWS + 1, BINS + 1)
    counts = np.stack([np.histogram(ranks[:, j], edges)[0] for j in range(ranks.shape[1])])
    return stats.chisquare(counts, axis=1).pvalue


@pytest.mark.slow
def test_sbc_random_intercept():
    p_values = _uniform_p_values(_ranks(slope=False, seed=1000))
    assert (p_values > 0.001).all(), p_values


@pytest.mark.slow
def test_sbc_random_slope():
    p_values = _uniform_p_values(_ranks(slope=True, seed=2000))
    assert (p_values > 0.001).all(), p_values
