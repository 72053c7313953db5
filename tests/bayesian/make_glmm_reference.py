"""MCMC-free reference posterior of the cbpp model; writes data/cbpp_reference.json.

    python tests/bayesian/make_glmm_reference.py

``bayes: melogit incidence i.period || herd:, binomial(size)`` with Stata's default priors
(normal(0,10000) on the coefficients, igamma(.01,.01) on {U0:sigma2}): 200,000 importance draws
from a t(4) approximation of the posterior, the likelihood integrated over each herd's random
intercept by adaptive Gauss-Hermite quadrature (glmm_reference.py). The JSON holds the posterior
mean and sd of each parameter (API labels) with their importance-sampling standard errors, the
importance sampler's effective sample size, and the log likelihood at the ML estimates next to the
frequentist engine's (30 quadrature points), which checks the quadrature.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from designs import DATA_DIR  # noqa: E402
from glmm_reference import group_loglik, importance_posterior  # noqa: E402

import multilevel as ml  # noqa: E402

OUT = Path(__file__).resolve().parent / "data" / "cbpp_reference.json"
MODEL = "incidence i.period || herd:"
DRAWS = 200_000
SEED = 20240404


def main() -> None:
    start = time.perf_counter()
    fit = ml.melogit(MODEL, data=pd.read_csv(DATA_DIR / "cbpp.csv"), binomial="size", intpoints=30)
    design = fit.design
    args = (
        np.asarray(design.X, float),
        np.asarray(design.y, float),
        np.asarray(design.trials, float),
        design.blocks[0].codes,
        design.blocks[0].n_groups,
    )
    p = design.X.shape[1]
    at_ml = float(
        group_loglik(*args, fit.params.values[None, :p], np.log([fit.params.values[p]]))[0]
    )
    post = importance_posterior(*args, draws=DRAWS, seed=SEED)
    labels = list(fit.params.index)
    payload = {
        "model": f"melogit {MODEL}, binomial(size)",
        "priors": "Stata defaults: normal(0,10000), igamma(.01,.01)",
        "method": "importance sampling, t(4) proposal at the posterior mode, AGQ likelihood",
        "draws": DRAWS,
        "seed": SEED,
        "importance_ess": post["ess"],
        "loglik_at_ml": {"reference_quadrature": at_ml, "melogit_intpoints_30": fit.loglik},
        "seconds": round(time.perf_counter() - start, 1),
        "params": {
            label: {
                "mean": float(post["mean"][j]),
                "sd": float(post["sd"][j]),
                "se_mean": float(post["se_mean"][j]),
                "se_sd": float(post["se_sd"][j]),
            }
            for j, label in enumerate(labels)
        },
    }
    OUT.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
