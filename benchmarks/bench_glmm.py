"""GLMM speed side by side: this package's engine, mixedlm (Rust-backed), and lme4/glmmTMB through R.

    python benchmarks/bench_glmm.py [--repeats N] [--output benchmarks/RESULTS_glmm.md]

Models (the data from ../shared/data):

- cbpp: ``melogit incidence i.period || herd:, binomial(size)`` -- lme4's
  ``glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), binomial)``, by Laplace and by
  25-point adaptive quadrature (and Stata's default, mvaghermite with 7 points, for this package only);
- VerbAgg: ``melogit r2 Anger i.Gender i.btype i.situ || _all: R.id || item:`` -- lme4's
  ``glmer(r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), binomial)``, 7,584 responses,
  316 persons crossed with 24 items, Laplace.

Each engine's time is the best of ``--repeats`` runs of the whole fit from the data frame (model
parsing and design included; for this package standard errors included). R runs only where ``Rscript``
is on the PATH, with lme4 and glmmTMB installed; R's times are measured inside R the same way.
"""

from __future__ import annotations

import argparse
import json
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


def _load() -> dict[str, pd.DataFrame]:
    cbpp = pd.read_csv(DATA / "cbpp.csv")
    verbagg = pd.read_csv(DATA / "VerbAgg.csv")
    verbagg["r2n"] = (verbagg["r2"] == "Y").astype(float)
    return {"cbpp": cbpp, "VerbAgg": verbagg}


def _best(run, repeats: int) -> tuple[float, float]:
    """Best wall time over repeats, and the log likelihood of the last run."""
    times, loglik = [], np.nan
    for _ in range(repeats):
        start = time.perf_counter()
        loglik = run()
        times.append(time.perf_counter() - start)
    return min(times), float(loglik)


# --- this package -------------------------------------------------------------------------------
def _ours(data, text: str, command: str, intmethod: str | None, intpoints: int | None):
    from multilevel.design import build_design
    from multilevel.glmm.fit import fit_glmm
    from multilevel.spec.stata_syntax import parse_stata

    def run():
        design = build_design(parse_stata(text, command=command), data)
        return fit_glmm(design, intmethod=intmethod, intpoints=intpoints).loglik

    return run


# --- mixedlm ---------------------------------------------------------------------------------------
def _mixedlm(data, formula: str, weights: str | None, nagq: int):
    try:
        import mixedlm
    except ImportError:
        return None

    def run():
        frame = data.copy()
        kwargs = {}
        if weights:
            frame["prop"] = frame["incidence"] / frame[weights]
            frame["period"] = frame["period"].astype(str)
            kwargs["weights"] = frame[weights].to_numpy(dtype=float)
        fit = mixedlm.glmer(
            formula, data=frame, family=mixedlm.families.Binomial(), nAGQ=nagq, **kwargs
        )
        return float(str(fit.logLik()).split()[2])

    return run


# --- R ---------------------------------------------------------------------------------------------
R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
have <- function(pkg) requireNamespace(pkg, quietly = TRUE)
if (!have("jsonlite")) stop("R package jsonlite is not installed")
reps <- as.integer(args[3])
# R >= 4 reads strings as character; glmer needs a factor (or 0/1) response.
cbpp <- read.csv(file.path(args[1], "cbpp.csv")); cbpp$period <- factor(cbpp$period)
va <- read.csv(file.path(args[1], "VerbAgg.csv"), stringsAsFactors = TRUE)
best <- function(f) { t <- Inf; for (i in seq_len(reps)) { s <- proc.time()[["elapsed"]]; v <- f();
  t <- min(t, proc.time()[["elapsed"]] - s) }; list(seconds = t, loglik = as.numeric(logLik(v))) }
# glmer's nAGQ > 1 log likelihood is measured from the saturated model (deviance residuals):
# adding the saturated binomial log likelihood puts it on the same scale as the others.
p_sat <- cbpp$incidence / cbpp$size
sat <- sum(dbinom(cbpp$incidence, cbpp$size, p_sat, log = TRUE))
f_cbpp <- cbind(incidence, size - incidence) ~ period + (1 | herd)
f_va <- r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)
out <- list(versions = list(R = paste(R.version$major, R.version$minor, sep = ".")))
if (have("lme4")) {
  suppressMessages(library(lme4))
  out$versions$lme4 <- as.character(packageVersion("lme4"))
  out$cbpp_laplace_glmer <- best(function() glmer(f_cbpp, data = cbpp, family = binomial))
  agq <- best(function() glmer(f_cbpp, data = cbpp, family = binomial, nAGQ = 25))
  agq$loglik_reported <- agq$loglik
  agq$loglik <- agq$loglik + sat
  out$cbpp_agq25_glmer <- agq
  out$VerbAgg_laplace_glmer <- best(function() glmer(f_va, data = va, family = binomial))
}
if (have("glmmTMB")) {
  suppressMessages(library(glmmTMB))
  out$versions$glmmTMB <- as.character(packageVersion("glmmTMB"))
  out$cbpp_laplace_glmmTMB <- best(function() glmmTMB(f_cbpp, data = cbpp, family = binomial))
  out$VerbAgg_laplace_glmmTMB <- best(function() glmmTMB(f_va, data = va, family = binomial))
}
jsonlite::write_json(out, args[2], auto_unbox = TRUE, digits = NA)
"""


def _r_results(repeats: int) -> tuple[dict, str | None]:
    """R's timings and versions, or an empty dict and the reason R was not run."""
    if shutil.which("Rscript") is None:
        return {}, "not installed (no Rscript on the PATH)"
    with tempfile.TemporaryDirectory() as tmp:
        script, output = Path(tmp) / "bench.R", Path(tmp) / "out.json"
        script.write_text(R_SCRIPT)
        done = subprocess.run(
            ["Rscript", str(script), str(DATA), str(output), str(repeats)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not output.is_file():
            print("R benchmark failed:", done.stderr[-2000:], file=sys.stderr)
            return {}, "failed: " + done.stderr.strip().splitlines()[
                -1
            ] if done.stderr else "failed"
        return json.loads(output.read_text()), None


# --- the table -------------------------------------------------------------------------------------
def _python_rows(data: dict[str, pd.DataFrame], repeats: int) -> list[dict]:
    cbpp_text = ("incidence i.period || herd:, binomial(size)", "melogit")
    verbagg_text = ("r2n Anger i.Gender i.btype i.situ || _all: R.id || item:", "melogit")
    cbpp_formula = "prop ~ period + (1 | herd)"
    verbagg_formula = "r2n ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)"
    cases = [
        ("cbpp", "laplace", "multilevel", _ours(data["cbpp"], *cbpp_text, "laplace", None)),
        ("cbpp", "laplace", "mixedlm", _mixedlm(data["cbpp"], cbpp_formula, "size", 1)),
        ("cbpp", "agq25", "multilevel", _ours(data["cbpp"], *cbpp_text, "mcaghermite", 25)),
        ("cbpp", "agq25", "mixedlm", _mixedlm(data["cbpp"], cbpp_formula, "size", 25)),
        ("cbpp", "mvaghermite7", "multilevel", _ours(data["cbpp"], *cbpp_text, None, None)),
        ("VerbAgg", "laplace", "multilevel", _ours(data["VerbAgg"], *verbagg_text, None, None)),
        ("VerbAgg", "laplace", "mixedlm", _mixedlm(data["VerbAgg"], verbagg_formula, None, 1)),
    ]
    rows = []
    for model, method, engine, run in cases:
        if run is None:
            continue
        run()  # warm-up: imports and first-call caches are not what is compared
        seconds, loglik = _best(run, repeats)
        rows.append(
            {
                "model": model,
                "method": method,
                "engine": engine,
                "seconds": seconds,
                "loglik": loglik,
            }
        )
    return rows


def run_benchmarks(repeats: int) -> tuple[list[dict], dict]:
    """Time every engine; return the rows and what was run (versions, R's status)."""
    rows = _python_rows(_load(), repeats)
    r_out, r_status = _r_results(repeats)
    versions = r_out.pop("versions", {})
    for key, value in r_out.items():
        model, method, engine = key.split("_")
        rows.append(
            {
                "model": model,
                "method": method,
                "engine": engine,
                "seconds": value["seconds"],
                "loglik": value["loglik"],
                "loglik_reported": value.get("loglik_reported"),
            }
        )
    ours = {(r["model"], r["method"]): r for r in rows if r["engine"] == "multilevel"}
    for row in rows:
        base = ours.get((row["model"], row["method"]))
        row["ratio"] = row["seconds"] / base["seconds"] if base else np.nan
        row["dloglik"] = row["loglik"] - base["loglik"] if base else np.nan
    order = {key: i for i, key in enumerate(dict.fromkeys((r["model"], r["method"]) for r in rows))}
    rows.sort(key=lambda r: order[(r["model"], r["method"])])  # stable: engines keep their order
    for engine in ("glmer", "glmmTMB"):
        if not any(r["engine"] == engine for r in rows):
            versions.setdefault(engine, r_status or "not installed (R package missing)")
    return rows, versions


def _machine() -> str:
    import os
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} " + (
        platform.python_version()
    )


def markdown(rows: list[dict], repeats: int, versions: dict) -> str:
    """The results as a Markdown table with a short preamble."""
    lines = [
        "## GLMM engine (melogit) against mixedlm, lme4 and glmmTMB",
        "",
        f"Best of {repeats} runs of the whole fit (data frame to estimates) on this machine "
        f"({_machine()}), R in one Rscript run timed inside R. `ratio` is the engine's time over "
        "this package's for the same model and method (above 1: this package is faster); "
        "`Δ loglik` is the engine's log likelihood minus this package's. Log likelihoods include "
        "the binomial coefficients; glmer's nAGQ > 1 value, which is measured from the saturated "
        "model, has the saturated log likelihood added back (its raw value is in brackets). "
        "glmmTMB has no adaptive quadrature. The machine was shared with other work while this "
        "ran: compare ratios, not absolute times.",
        "",
        "| model | method | engine | seconds | log likelihood | Δ loglik | ratio |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ll = f"{r['loglik']:.4f}"
        if r.get("loglik_reported") is not None:
            ll += f" ({r['loglik_reported']:.4f})"
        lines.append(
            f"| {r['model']} | {r['method']} | {r['engine']} | {r['seconds']:.4f} | {ll} | "
            f"{r['dloglik']:.1e} | {r['ratio']:.2f} |"
        )
    lines += ["", "Versions: " + "; ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    return "\n".join(lines) + "\n"


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS_glmm.md")
    args = parser.parse_args(argv)
    rows, versions = run_benchmarks(args.repeats)
    versions = {"multilevel": _version("multilevel"), "mixedlm": _version("mixedlm"), **versions}
    table = markdown(rows, args.repeats, versions)
    print(table)
    args.output.write_text(table)


if __name__ == "__main__":
    main()
