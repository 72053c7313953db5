"""Mixing per second: this package's Gibbs sampler against Stan, PyMC and NumPyro NUTS.

    python benchmarks/bayes_math_ess.py [--models math sleepstudy] [--pymc PYTHON]
                                        [--pymc-sizes TUNE DRAWS] [--output RESULTS_bayes.md]

Models, with Stata's default priors (coefficients normal(0, 100^2), residual variance
igamma(.01,.01), the 2x2 random-effects covariance iwishart(3, I(2))):

- math: ``bayes, rseed(317): mixed math homework i.schtype || schid: homework, cov(un)``
  (519 students, 23 schools; 7 reported parameters);
- sleepstudy: ``bayes: mixed Reaction Days || Subject: Days, cov(un)`` (180 observations,
  18 subjects; 6 reported parameters).

One chain of 2,500 warm-up (burn-in) and 10,000 kept draws for every tool, as Stata's defaults
(and the Gibbs sampler also with 3 chains, run in parallel processes).
Seconds count everything a fit costs once the tool's library is loaded: model building, Stan's C++
compilation, JAX's and PyTensor's compilation, warm-up and sampling. ESS is this package's (Stata's)
estimator applied to every tool's draws alike; the figure of merit is the smallest ESS over the
reported parameters per second.

Tools: the blocked Gibbs sampler (``sampler="gibbs"``), NumPyro NUTS on the non-centred model
(``sampler="nuts"``), Stan through ``Rscript`` and rstan (programs in ``stan/``, centred and
non-centred; skipped with "not installed" when R or rstan is absent), and PyMC's NUTS
(``_pymc_math.py``) run by an interpreter with PyMC (``--pymc``; by default this one, when it has
PyMC). Bambi is not run: it has no correlated (unstructured) random effects, so it cannot state
this model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
if not DATA.exists():  # a checkout with shared/ inside it
    DATA = HERE.parent / "shared" / "data"
WARMUP, DRAWS, SEED = 2500, 10000, 317

MODELS = {
    "math": {
        "file": "math.csv",
        "command": "mixed math homework i.schtype || schid: homework, covariance(unstructured)",
        "y": "math",
        "slope": "homework",
        "group": "schid",
        "fixed": lambda df: [df["homework"], (df["schtype"] == 1).astype(float)],
    },
    "sleepstudy": {
        "file": "sleepstudy.csv",
        "command": "mixed Reaction Days || Subject: Days, covariance(unstructured)",
        "y": "Reaction",
        "slope": "Days",
        "group": "Subject",
        "fixed": lambda df: [df["Days"]],
    },
}


def stan_data(model: str) -> dict:
    """The model's arrays for the Stan and PyMC programs (columns in this package's order)."""
    spec = MODELS[model]
    df = pd.read_csv(DATA / spec["file"])
    codes, _ = pd.factorize(df[spec["group"]])
    ones = np.ones(len(df))
    X = np.column_stack([*spec["fixed"](df), ones])
    Z = np.column_stack([df[spec["slope"]].to_numpy(float), ones])
    return {
        "N": len(df),
        "K": X.shape[1],
        "J": int(codes.max() + 1),
        "X": X.tolist(),
        "Z": Z.tolist(),
        "g": (codes + 1).tolist(),
        "y": df[spec["y"]].to_numpy(float).tolist(),
    }


def summarize(tool: str, model: str, draws: np.ndarray, times: dict, **extra) -> dict:
    """ESS, efficiency and ESS per second of draws (chains, draws, parameters)."""
    from multilevel.bayesian.diagnostics import ess

    n_ess = ess(draws)
    total = (times["compile"] or 0.0) + times["sample"]
    kept = draws.shape[0] * draws.shape[1]
    return {
        "tool": tool,
        "model": model,
        "chains": draws.shape[0],
        "draws": draws.shape[1],
        **times,
        "seconds": total,
        "ess": n_ess.tolist(),
        "efficiency": (n_ess / kept).tolist(),
        "means": draws.mean(axis=(0, 1)).tolist(),
        "min_ess": float(n_ess.min()),
        "min_ess_per_s": float(n_ess.min() / total),
        "min_ess_per_s_sampling": float(n_ess.min() / times["sample"]),
        "min_efficiency": float(n_ess.min() / kept),
        **extra,
    }


# --- this package, in a fresh process per run -----------------------------------------------------
def _worker(model: str, sampler: str, nchains: int, sizes: tuple[int, int], out: str) -> None:
    """Fit once (library imports done first, as R's library(rstan)) and save labels, times, draws."""
    import multilevel as ml
    import multilevel.bayesian  # noqa: F401

    if sampler == "nuts":
        import jax  # noqa: F401
        import numpyro  # noqa: F401
    spec = MODELS[model]
    df = pd.read_csv(DATA / spec["file"])
    start = time.perf_counter()
    res = ml.bayes(spec["command"], data=df, rseed=SEED, nchains=nchains, progress=False,
                   sampler=sampler, burnin=sizes[0], mcmcsize=sizes[1])  # fmt: skip
    seconds = time.perf_counter() - start
    np.save(out, res.label_draws)
    meta = {"labels": list(res.labels), "seconds": seconds, "sampling": res.info.seconds}
    Path(out + ".json").write_text(json.dumps(meta))


def run_ours(model: str, sampler: str, nchains: int, sizes: tuple[int, int]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "draws.npy")
        args = [
            sys.executable,
            __file__,
            "--worker",
            model,
            sampler,
            str(nchains),
            *map(str, sizes),
            out,
        ]
        subprocess.run(args, check=True)
        draws = np.load(out)
        meta = json.loads(Path(out + ".json").read_text())
    # one clock for the whole call: NumPyro's JIT compilation happens inside its sampling
    times = {"compile": None, "sample": meta["seconds"]}
    name = "multilevel Gibbs" if sampler == "gibbs" else "NumPyro NUTS (fit_bayes, non-centred)"
    name += f", {nchains} chains" if nchains > 1 else ""
    return summarize(name, model, draws, times, labels=meta["labels"], warmup=sizes[0])


# --- Stan through R ----------------------------------------------------------------------------------
def stan_status() -> str | None:
    """None when Rscript and rstan are available, else why Stan cannot run."""
    if shutil.which("Rscript") is None:
        return "not installed (no Rscript on the PATH)"
    probe = 'quit(status = if (requireNamespace("rstan", quietly = TRUE)) 0 else 1)'
    if subprocess.run(["Rscript", "-e", probe], capture_output=True).returncode != 0:
        return "not installed (R has no rstan package)"
    return None


def run_stan(model: str, program: str, sizes: tuple[int, int]) -> dict:
    """Compile and sample ``stan/<program>.stan`` in R; timings are taken inside R."""
    with tempfile.TemporaryDirectory() as tmp:
        data, draws_csv, times_json = (Path(tmp) / n for n in ("d.json", "d.csv", "t.json"))
        data.write_text(json.dumps(stan_data(model)))
        args = [
            "Rscript",
            str(HERE / "stan" / "run_stan.R"),
            str(HERE / "stan" / f"{program}.stan"),
            *map(str, (data, draws_csv, times_json, 1, *sizes, SEED)),
        ]
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"Stan failed: {done.stderr[-2000:]}")
        frame = pd.read_csv(draws_csv)
        times = json.loads(times_json.read_text())
    k = sum(c.startswith("beta") for c in frame.columns)
    columns = [f"beta[{i + 1}]" for i in range(k)]
    columns += ["Sigma[1,1]", "Sigma[2,2]", "Sigma[1,2]", "sigma2"]
    draws = np.stack(
        [
            frame.loc[frame["chain"] == c, columns].to_numpy()
            for c in sorted(frame["chain"].unique())
        ]
    )
    label = "centred" if program.endswith("_centred") else "non-centred"
    return summarize(
        f"Stan NUTS ({label})",
        model,
        draws,
        {"compile": times["compile"], "sample": times["sample"]},
        warmup=sizes[0],
        divergent=times["divergent"],
        mean_leapfrog=times["mean_leapfrog"],
        versions={"R": times["R"], "rstan": times["rstan"], "Stan": times["stan"]},
    )


# --- PyMC in its own interpreter --------------------------------------------------------------------
def pymc_status(python: str) -> str | None:
    probe = [python, "-c", "import pymc"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        return f"not installed (no PyMC importable by {python})"
    return None


def run_pymc(python: str, model: str, tune: int, n_draws: int, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.json"
        data.write_text(json.dumps(stan_data(model)))
        env = dict(os.environ)
        # a fresh compilation cache: the first fit's compilation is counted, as Stan's
        env["PYTENSOR_FLAGS"] = f"compiledir={tmp}/pytensor," + env.get("PYTENSOR_FLAGS", "")
        args = [python, str(HERE / "_pymc_math.py"), str(data), str(tune), str(n_draws)]
        done = subprocess.run(
            [*args, str(SEED), mode], capture_output=True, text=True, env=env, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"PyMC failed: {done.stderr[-2000:]}")
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    draws = np.asarray(payload.pop("draws"))
    return summarize(
        f"PyMC NUTS ({mode}, non-centred)",
        model,
        draws,
        {"compile": payload["compile"], "sample": payload["sample"]},
        warmup=tune,
        divergent=payload["divergent"],
        mean_leapfrog=payload["mean_leapfrog"],
        versions={"PyMC": payload["pymc"]},
    )


# --- the report ----------------------------------------------------------------------------------------
def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("multilevel", "numpy", "jax", "numpyro"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


def _fmt(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _model_section(model: str, rows: list[dict], labels: list[str]) -> list[str]:
    ours = next(r for r in rows if r["tool"] == "multilevel Gibbs" and r["chains"] == 1)
    lines = [
        f"### {model}: `bayes: {MODELS[model]['command']}`",
        "",
        "| tool | warm-up + draws | compile s | sampling s | total s | min ESS | min ESS/s "
        "| min ESS/s, sampling only | min efficiency | Gibbs's min ESS/s over this |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['tool']} | {r.get('warmup', WARMUP):,} + {r['draws']:,} "
            f"| {_fmt(r['compile'])} | {_fmt(r['sample'])} | {_fmt(r['seconds'])} "
            f"| {r['min_ess']:.0f} | {r['min_ess_per_s']:.1f} | {r['min_ess_per_s_sampling']:.1f} "
            f"| {r['min_efficiency']:.4f} | {ours['min_ess_per_s'] / r['min_ess_per_s']:.1f}x |"
        )
    for title, key, digits in (
        ("Efficiency (ESS / draws)", "efficiency", 3),
        ("Posterior mean", "means", 2),
    ):
        lines += ["", f"{title} of each reported parameter:", ""]
        lines.append("| parameter | " + " | ".join(r["tool"] for r in rows) + " |")
        lines.append("| --- |" + " ---: |" * len(rows))
        for i, label in enumerate(labels):
            cells = " | ".join(f"{r[key][i]:.{digits}f}" for r in rows)
            lines.append(f"| {label} | {cells} |")
    notes = [
        f"{r['tool']}: {r['divergent']} divergent transitions, "
        f"{r['mean_leapfrog']:.0f} leapfrog steps per draw on average"
        for r in rows
        if "divergent" in r
    ]
    if notes:
        lines += ["", "; ".join(notes) + "."]
    return lines + [""]


def _verdict(by_model: dict[str, list[dict]]) -> list[str]:
    lines = ["### Targets", ""]
    for model, rows in by_model.items():
        ours = next(r for r in rows if r["tool"] == "multilevel Gibbs" and r["chains"] == 1)
        stan = [r for r in rows if r["tool"].startswith("Stan")]
        if stan:
            best = max(stan, key=lambda r: r["min_ess_per_s"])
            ratio = ours["min_ess_per_s"] / best["min_ess_per_s"]
            ratio_s = ours["min_ess_per_s"] / max(r["min_ess_per_s_sampling"] for r in stan)
            lines.append(
                f"- {model}: Gibbs {ratio:.1f}x the best Stan run ({best['tool']}) in min ESS per "
                f"second, compilation included ({'met' if ratio >= 10 else 'NOT met'}: target 10x); "
                f"{ratio_s:.1f}x Stan's sampling alone."
            )
        else:
            lines.append(f"- {model}: Stan not run, so the 10x target is not measured.")
        eff = ours["min_efficiency"]
        lines.append(
            f"- {model}: Gibbs's smallest efficiency {eff:.4f} "
            f"({'met' if eff >= 0.10 else 'NOT met'}: target 0.10 for every parameter)."
        )
    return lines + [""]


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read_lines("/proc/cpuinfo")
            if "model name" in line
        ),
        platform.processor() or "cpu",
    )
    return (
        f"{platform.machine()} ({cpu}), {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def markdown(payload: dict) -> str:
    """The report of ``collect``'s payload as Markdown."""
    head = "Models," + __doc__.split("\nModels,", 1)[1].split("\n\nTools:")[0]
    lines = [
        "## Bayesian multilevel models: min ESS per second against Stan, PyMC and NumPyro",
        "",
        head.strip(),
        "",
        "`min ESS/s` divides the smallest ESS by the total seconds (compilation included); "
        "`sampling only` leaves compilation out (this package's rows have one clock: NumPyro's JIT "
        "is inside its sampling time; so is Numba's for PyMC, whose `compile` column is model "
        "building and graph compilation). The ESS estimator is Stata's (autocorrelations summed "
        "up to the first below 0.01), so antithetic NUTS draws can give ESS above the number of "
        "draws. Stan's runs with many divergent transitions are not to be trusted; the targets "
        "compare with Stan's best parametrisation per model.",
        "",
        f"Machine: {payload['machine']}; shared with other work while this ran.",
        "",
    ]
    for model, rows in payload["models"].items():
        lines += _model_section(model, rows, payload["labels"][model])
    lines += _verdict(payload["models"])
    lines += ["### Tools: not run, not comparable, or run elsewhere", ""]
    lines += [f"- {tool}: {why}" for tool, why in payload["status"].items()] or ["- none"]
    versions = payload["versions"]
    lines += ["", "Versions: " + "; ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    return "\n".join(lines) + "\n"


def collect(args: argparse.Namespace) -> dict:
    """Run every tool on every model; the rows, labels, statuses, versions and machine."""
    programs = args.stan_programs
    if programs is None:
        programs = ["mixed_ri_slope_centred", "mixed_ri_slope_noncentred"]
    status = {"Bambi": "not comparable: no correlated (unstructured) random effects"}
    why_stan, why_pymc = stan_status(), pymc_status(args.pymc)
    status.update({"Stan": why_stan} if why_stan else {})
    status.update({"PyMC": why_pymc} if why_pymc else {})
    if not why_pymc and Path(args.pymc).resolve() != Path(sys.executable).resolve():
        status["PyMC"] = f"run by another interpreter, {args.pymc}"
    by_model, labels, versions = {}, {}, _versions()
    sizes = tuple(args.sizes)
    for model in args.models:
        rows = [run_ours(model, s, n, sizes) for s, n in (("gibbs", 1), ("gibbs", 3), ("nuts", 1))]
        labels[model] = rows[0]["labels"]
        if not why_stan:
            rows += [run_stan(model, program, sizes) for program in programs]
        if not why_pymc:
            rows.append(run_pymc(args.pymc, model, *args.pymc_sizes, args.pymc_mode))
        for r in rows:
            r.pop("labels", None)
            versions.update(r.pop("versions", {}))
            print(
                f"{model:10} {r['tool']:40} {r['seconds']:8.1f} s  min ESS/s {r['min_ess_per_s']:9.1f}"
            )
        by_model[model] = rows
    return {"models": by_model, "labels": labels, "status": status, "versions": versions,
            "machine": _machine()}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--pymc", default=sys.executable, help="an interpreter with PyMC")
    parser.add_argument("--pymc-sizes", nargs=2, type=int, default=(WARMUP, DRAWS),
                        metavar=("TUNE", "DRAWS"), help="PyMC's warm-up and draws")  # fmt: skip
    parser.add_argument("--pymc-mode", default="NUMBA", help="PyTensor backend: NUMBA or FAST_RUN")
    parser.add_argument("--stan-programs", nargs="*", default=None,
                        help="programs in stan/ (default: centred and non-centred)")  # fmt: skip
    parser.add_argument("--sizes", nargs=2, type=int, default=(WARMUP, DRAWS), metavar=("WARMUP", "DRAWS"),
                        help="warm-up and draws for this package and Stan")  # fmt: skip
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS_bayes.md")
    parser.add_argument("--json", type=Path, default=HERE / "bayes_math_ess.json",
                        help="where the raw numbers go")  # fmt: skip
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the Markdown from --json without running anything")  # fmt: skip
    args = parser.parse_args(argv)
    if args.report_only:
        payload = json.loads(args.json.read_text())
    else:
        payload = collect(args)
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
    text = markdown(payload)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(*sys.argv[2:4], int(sys.argv[4]), (int(sys.argv[5]), int(sys.argv[6])), sys.argv[7])
    else:
        main()
