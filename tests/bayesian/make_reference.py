"""Long NUTS reference run of the seed's math model; writes data/math_reference.json.

    python tests/bayesian/make_reference.py

``bayes, rseed(317): mixed math homework i.schtype || schid: homework, covariance(unstructured)``
with Stata's default priors, sampled by NumPyro's NUTS on the non-centred parametrisation
(``sampler="nuts"``): 4 chains x 25,000 draws after 2,000 warm-up iterations (100,000 draws).
The JSON holds the posterior mean, sd, MCSE and ESS of every parameter (API labels), the
settings, and the wall time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from designs import math_design  # noqa: E402

from multilevel.bayesian import fit_bayes  # noqa: E402
from multilevel.bayesian.diagnostics import ess as ess_of  # noqa: E402

OUT = Path(__file__).resolve().parent / "data" / "math_reference.json"


def sd_mcse_of(draws):
    """MCSE of the posterior sd: delta method on the ESS of the squared deviations."""
    pooled = draws.reshape(-1, draws.shape[-1])
    sq = (draws - pooled.mean(axis=0)) ** 2
    var = sq.reshape(-1, draws.shape[-1]).mean(axis=0)
    mcse_var = sq.reshape(-1, draws.shape[-1]).std(axis=0) / (ess_of(sq) ** 0.5)
    return mcse_var / (2 * var**0.5)


def main() -> None:
    start = time.perf_counter()
    res = fit_bayes(
        math_design(),
        rseed=20240317,
        nchains=4,
        burnin=2000,
        mcmcsize=25000,
        sampler="nuts",
        progress=False,
    )
    seconds = time.perf_counter() - start
    frame = res.summary_frame()
    ess = res.ess()["ess"]
    sd_mcse = sd_mcse_of(res.label_draws)
    payload = {
        "model": "math homework i.schtype || schid: homework, covariance(unstructured)",
        "priors": "Stata defaults: normal(0,10000), iwishart(2,3,I(2)), igamma(.01,.01)",
        "sampler": "NumPyro NUTS, non-centred, target_accept 0.85",
        "chains": 4,
        "warmup": 2000,
        "draws_per_chain": 25000,
        "rseed": 20240317,
        "seconds": round(seconds, 1),
        "max_rc": float(res.grubin().max()),
        "params": {
            label: {
                "mean": float(frame.loc[label, "mean"]),
                "sd": float(frame.loc[label, "sd"]),
                "mcse": float(frame.loc[label, "mcse"]),
                "ess": float(ess[label]),
                "sd_mcse": float(sd_mcse[i]),
            }
            for i, label in enumerate(frame.index)
        },
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
