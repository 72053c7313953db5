"""Mixing per second on the seed's math model: Gibbs (this package) against NUTS samplers.

    python benchmarks/bayes_math_ess.py [--pymc PYTHON]

Model: ``bayes, rseed(317): mixed math homework i.schtype || schid: homework,
covariance(unstructured)`` with Stata's default priors, 2,500 burn-in/warm-up iterations and
10,000 kept draws per chain. Reported: wall time including any compilation, the smallest ESS over
the seven reported parameters (Stata's ESS estimator, chains added), and min ESS per second.

Samplers: the blocked Gibbs sampler (``sampler="gibbs"``), NumPyro's NUTS on the non-centred
parametrisation (``sampler="nuts"``, JIT compilation included), and optionally PyMC's NUTS on the
same model run by another Python interpreter that has PyMC (``--pymc``; compilation included).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "bayes"))

from designs import build_math_design, load_math  # noqa: E402

from multilevel.bayesian import fit_bayes  # noqa: E402
from multilevel.bayesian.diagnostics import ess  # noqa: E402


def run_ours(sampler: str, nchains: int) -> dict:
    design = build_math_design()
    start = time.perf_counter()
    res = fit_bayes(design, rseed=317, nchains=nchains, sampler=sampler, progress=False)
    seconds = time.perf_counter() - start
    n_ess = res.ess()["ess"]
    return {
        "sampler": f"multilevel {sampler}",
        "chains": nchains,
        "seconds": seconds,
        "min_ess": float(n_ess.min()),
        "min_ess_per_s": float(n_ess.min() / seconds),
        "min_efficiency": float(res.ess()["efficiency"].min()),
    }


def run_pymc(python: str, sizes: tuple[int, int] | None = None) -> dict:
    """PyMC's NUTS on the same model and priors (inverse-Wishart prior written as a potential)."""
    script = HERE / "_pymc_math.py"
    data = HERE.parent.parent / "shared" / "data" / "math.csv"
    if not data.exists():
        data = Path(load_math.__globals__["DATA_DIR"]) / "math.csv"
    out = subprocess.run(
        [python, str(script), str(data)], capture_output=True, text=True, check=True
    )
    payload = json.loads(out.stdout.strip().splitlines()[-1])
    draws = __import__("numpy").asarray(payload.pop("draws"))  # (chains, draws, params)
    n_ess = ess(draws)
    payload.update(
        min_ess=float(n_ess.min()),
        min_ess_per_s=float(n_ess.min() / payload["seconds"]),
        min_efficiency=float(n_ess.min() / (draws.shape[0] * draws.shape[1])),
    )
    return payload


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pymc", help="a Python interpreter with PyMC installed")
    parser.add_argument(
        "--pymc-sizes",
        nargs=2,
        type=int,
        metavar=("TUNE", "DRAWS"),
        help="PyMC's warm-up and draws (default 2500 10000, as the others)",
    )
    args = parser.parse_args()
    rows = [run_ours("gibbs", 1), run_ours("gibbs", 3), run_ours("nuts", 1)]
    if args.pymc:
        rows.append(run_pymc(args.pymc, args.pymc_sizes))
    best_other = max(r["min_ess_per_s"] for r in rows if "gibbs" not in r["sampler"])
    print(
        f"{'sampler':22} {'chains':>6} {'seconds':>8} {'min ESS':>9} {'min ESS/s':>10} "
        f"{'min eff.':>9} {'vs best NUTS':>12}"
    )
    for r in rows:
        print(
            f"{r['sampler']:22} {r['chains']:>6} {r['seconds']:>8.2f} {r['min_ess']:>9.0f} "
            f"{r['min_ess_per_s']:>10.1f} {r['min_efficiency']:>9.4f} "
            f"{r['min_ess_per_s'] / best_other:>11.1f}x"
        )
    (HERE / "bayes_math_ess.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
