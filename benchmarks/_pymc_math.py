"""PyMC's NUTS on a random intercept-and-slope model with Stata's default priors.

    python _pymc_math.py DATA.json TUNE DRAWS SEED [FAST_RUN|NUMBA]

Run by ``bayes_math_ess.py`` with an interpreter that has PyMC. ``DATA.json`` holds the arrays of
the Stan programs in ``stan/`` (N, K, J, X, Z, g, y; Z's columns are the slope variable and the
constant). Priors: coefficients normal(0, 100^2); residual variance igamma(.01,.01); the 2x2
random-effects covariance iwishart(3, I(2)), written on its log-Cholesky factor with the Jacobian;
random effects non-centred. Prints one JSON line: the seconds spent importing PyMC, building and
compiling the model, and sampling, and the draws (chains, draws, parameters) in the order
coefficients, var(slope), var(constant), cov, residual variance.
"""

import json
import sys
import time
from pathlib import Path

start = time.perf_counter()
import numpy as np  # noqa: E402
import pymc as pm  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

imported = time.perf_counter()
data = json.loads(Path(sys.argv[1]).read_text())
tune, n_draws, seed = (int(a) for a in sys.argv[2:5])
X, Z, y = (np.asarray(data[k], float) for k in ("X", "Z", "y"))
codes = np.asarray(data["g"]) - 1
with pm.Model() as model:
    beta = pm.Normal("beta", 0.0, 100.0, shape=X.shape[1])
    sigma2 = pm.InverseGamma("sigma2", 0.01, 0.01)
    free = pm.Flat("free", shape=3)  # log L11, log L22, L21
    L = pt.stack([pt.stack([pt.exp(free[0]), 0.0]), pt.stack([free[2], pt.exp(free[1])])])
    Sigma = pm.Deterministic("Sigma", L @ L.T)
    logdet = 2 * (free[0] + free[1])
    inv = pt.nlinalg.matrix_inverse(Sigma)
    # iwishart(3, I(2)) density of Sigma, plus log|d Sigma / d free| = 2 log 2 + 3 a + 2 b
    pm.Potential(
        "iwishart",
        -(3 + 2 + 1) / 2 * logdet - pt.trace(inv) / 2 + 2 * np.log(2) + 3 * free[0] + 2 * free[1],
    )
    z = pm.Normal("z", 0.0, 1.0, shape=(int(data["J"]), 2))
    u = z @ L.T
    mu = pt.dot(X, beta) + pt.sum(Z * u[codes], axis=1)
    pm.Normal("y", mu, pt.sqrt(sigma2), observed=y)
    # the backend: "FAST_RUN" (PyTensor's default, C code) or "NUMBA"; compiled here, cached for pm.sample
    mode = sys.argv[5] if len(sys.argv) > 5 else "FAST_RUN"
    model.logp_dlogp_function(ravel_inputs=True, mode=mode)
    compiled = time.perf_counter()
    trace = pm.sample(
        compile_kwargs={"mode": mode},
        draws=n_draws,
        tune=tune,
        chains=1,
        cores=1,
        random_seed=seed,
        progressbar=False,
        compute_convergence_checks=False,
    )
sampled = time.perf_counter()
post = trace.posterior
S = post["Sigma"].values
draws = np.concatenate(
    [
        post["beta"].values,
        np.stack([S[..., 0, 0], S[..., 1, 1], S[..., 0, 1], post["sigma2"].values], axis=-1),
    ],
    axis=-1,
)
print(
    json.dumps(
        {
            "load": imported - start,
            "compile": compiled - imported,
            "sample": sampled - compiled,
            "pymc": pm.__version__,
            "mode": mode,
            "mean_leapfrog": float(trace.sample_stats["n_steps"].mean()),
            "divergent": int(trace.sample_stats["diverging"].sum()),
            "draws": draws.tolist(),
        }
    )
)
