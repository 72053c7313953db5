"""PyMC's NUTS on the seed's math model with Stata's default priors (run by bayes_math_ess.py).

Priors: coefficients normal(0, 100^2); residual variance igamma(.01,.01); the 2x2 random-effects
covariance iwishart(3, I(2)), written on its log-Cholesky factor with the Jacobian; random effects
non-centred. Prints one JSON line: seconds (import and compilation included) and the draws.
"""

import json
import sys
import time

start = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pymc as pm  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

df = pd.read_csv(sys.argv[1])
codes, groups = pd.factorize(df["schid"])
X = np.column_stack([df["homework"], (df["schtype"] == 1).astype(float), np.ones(len(df))])
Z = np.column_stack([df["homework"], np.ones(len(df))])
with pm.Model():
    beta = pm.Normal("beta", 0.0, 100.0, shape=3)
    sigma2 = pm.InverseGamma("sigma2", 0.01, 0.01)
    free = pm.Flat("free", shape=3)  # log L11, log L22, L21
    L = pt.stack([pt.stack([pt.exp(free[0]), 0.0]), pt.stack([free[2], pt.exp(free[1])])])
    Sigma = pm.Deterministic("Sigma", L @ L.T)
    logdet = 2 * (free[0] + free[1])
    inv = pt.nlinalg.matrix_inverse(Sigma)
    pm.Potential(
        "iwishart",
        -(3 + 2 + 1) / 2 * logdet - pt.trace(inv) / 2 + 2 * np.log(2) + 3 * free[0] + 2 * free[1],
    )
    z = pm.Normal("z", 0.0, 1.0, shape=(len(groups), 2))
    u = z @ L.T
    mu = pt.dot(X, beta) + pt.sum(Z * u[codes], axis=1)
    pm.Normal("y", mu, pt.sqrt(sigma2), observed=df["math"].to_numpy())
    trace = pm.sample(
        draws=10000,
        tune=2500,
        chains=1,
        cores=1,
        random_seed=317,
        progressbar=False,
        compute_convergence_checks=False,
    )
seconds = time.perf_counter() - start
post = trace.posterior
S = post["Sigma"].values
draws = np.stack(
    [
        post["beta"].values[..., 0],
        post["beta"].values[..., 1],
        post["beta"].values[..., 2],
        S[..., 0, 0],
        S[..., 1, 1],
        S[..., 0, 1],
        post["sigma2"].values,
    ],
    axis=-1,
)
print(
    json.dumps({"sampler": "PyMC NUTS", "chains": 1, "seconds": seconds, "draws": draws.tolist()})
)
