"""Simulation-based calibration (Talts et al. 2018) of NUTS on the random-intercept logit model.

Parameters are drawn from proper priors, Bernoulli data simulated from the model, the posterior
sampled; the rank of each true parameter among thinned posterior draws must be uniform (chi-square
test on 10 bins, each parameter at the 0.1% level). The compiled sampler is reused across the
simulated data sets (same shapes and priors), so each costs only its sampling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from multilevel.bayesian import fit_bayes
from multilevel.design import build_design
from multilevel.spec import parse_model

N_SIMS = 200
N_RANK_DRAWS = 99
THIN = 2
BINS = 10
GROUPS, PER_GROUP = 12, 8
PRIORS = {"{y:}": "normal(0,1)", "{U0:sigma2}": "igamma(4,3)"}


def _ranks(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(GROUPS), PER_GROUP)
    frame = pd.DataFrame({"g": g, "x": rng.normal(size=len(g)), "y": 0.0})
    spec = parse_model("y x || g:", command="melogit")
    ranks = []
    for sim in range(N_SIMS):
        beta = rng.normal(0.0, 1.0, 2)  # x, _cons
        s2 = 3.0 / rng.gamma(4.0)  # igamma(4,3)
        u = rng.normal(0.0, np.sqrt(s2), GROUPS)
        p = special.expit(beta[1] + beta[0] * frame["x"].to_numpy() + u[g])
        frame["y"] = (rng.uniform(size=len(g)) < p).astype(float)
        fit = fit_bayes(
            build_design(spec, frame),
            rseed=seed + sim,
            burnin=300,
            mcmcsize=N_RANK_DRAWS * THIN,
            prior=PRIORS,
            progress=False,
        )
        draws = fit.draws[0, ::THIN]
        ranks.append(np.sum(draws < np.array([beta[0], beta[1], s2]), axis=0))
    return np.array(ranks)


@pytest.mark.slow
def test_random_intercept_logit_is_calibrated():
    ranks = _ranks(seed=4242)
    for j, name in enumerate(["x", "_cons", "U0:sigma2"]):
        counts = np.bincount(ranks[:, j] * BINS // (N_RANK_DRAWS + 1), minlength=BINS)
        p_value = stats.chisquare(counts).pvalue
        assert p_value > 0.001, (name, counts, p_value)
