"""Stata-layout text of a BayesResult: header, results table, model summary, bayesstats tables.

This module gathers the numbers and row structure; the layout is the shared renderer's
(:mod:`multilevel.results.bayes_tables`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..results import bayes_tables as bt
from ..results.stata_format import fmt_g
from ..results.tables import GroupInfo, Row

if TYPE_CHECKING:
    from .result import BayesResult


def _level_number(label: str) -> str:
    return label.split(".", 1)[0] if "." in label else label


def structured_rows(
    res: BayesResult, frame: pd.DataFrame, melabel: bool, reffects: pd.DataFrame | None = None
) -> list[Row]:
    """Rows in Stata's order: equations, factor levels with their base, variance parameters.

    ``frame`` is indexed by the labels (``melabel``) or by Stata's names, in that order, and
    holds the columns to show; ``reffects`` (indexed by effect and group) adds the random effects.
    """
    lay = res.layout
    keys = list(frame.index)
    rows = [Row(lay.depvar, kind="equation")]
    group = ""
    for col in res.fixed_columns:
        if col.group != group:
            group = col.group
            if group:
                rows.append(Row(group, kind="factor"))
        if col.status != "estimated":
            rows.append(
                Row(
                    _level_number(col.label),
                    kind="level" if col.group else "param",
                    note=col.status,
                )
            )
            continue
        values = tuple(frame.iloc[lay.fixed_names.index(col.label)])
        label = _level_number(col.label) if col.group else col.label
        rows.append(Row(label, values, kind="level" if col.group else "param"))
    if reffects is not None:
        for effect in reffects.index.get_level_values(0).unique():
            rows += [Row(kind="separator"), Row(effect, kind="equation")]
            rows += [Row(g, tuple(v)) for (_, g), v in reffects.loc[[effect]].iterrows()]
    pos = lay.p
    for lev in lay.levels:
        rows += [Row(kind="separator"), Row(lev.label, kind="equation")]
        count = len(lev.labels()) if melabel else len(lev.params())
        for j in range(pos, pos + count):
            short = keys[j].split(": ", 1)[1] if melabel else keys[j]
            rows.append(Row(short, tuple(frame.iloc[j]), flush=melabel))
        pos += count
    rows.append(Row(kind="separator"))
    if melabel:
        rows.append(Row("var(Residual)", tuple(frame.iloc[-1]), flush=True))
    else:
        rows += [Row(f"e.{lay.depvar}", kind="equation"), Row("sigma2", tuple(frame.iloc[-1]))]
    return rows


def _groups(res: BayesResult) -> list[GroupInfo]:
    return [
        GroupInfo(lev.label, len(s), float(s.min()), float(s.mean()), float(s.max()))
        for lev, s in zip(res.layout.levels, res.group_sizes, strict=True)
    ]


def _efficiency(res: BayesResult) -> tuple[float, float, float]:
    eff = res.ess(stata_names=True)["efficiency"]
    return float(eff.min()), float(eff.mean()), float(eff.max())


def header_text(res: BayesResult, width: int = 78) -> str:
    """The block above the table: sampler, iterations, groups, efficiency, Rc, log(ML)."""
    info = res.info
    if info.sampler == "nuts":
        method = "Hamiltonian Monte Carlo (NUTS)"
    else:
        method = "Metropolis\u2013Hastings and Gibbs sampling" if info.any_mh else "Gibbs sampling"
    lml = res.log_ml
    return bt.bayes_header(
        "Bayesian multilevel regression" if res.layout.levels else "Bayesian normal regression",
        method,
        mcmc_iterations=info.burnin + info.mcmcsize * info.thinning,
        burnin=info.burnin,
        mcmc_size=info.mcmcsize,
        nobs=res.nobs,
        acceptance_rate=res.acceptance_rate,
        efficiency=_efficiency(res),
        groups=_groups(res),
        log_ml=None if math.isnan(lml) else lml,
        nchains=res.nchains,
        rc_max=float(np.nanmax(res.grubin())) if res.nchains > 1 else None,
        width=width,
    )


def results_text(
    res: BayesResult,
    melabel: bool,
    hpd: bool,
    clevel: float,
    showreffects: bool = False,
    *,
    rows_for=None,
    header_for=None,
) -> str:
    """Header and table as ``bayes`` prints them after estimation.

    ``rows_for`` and ``header_for`` default to this module's builders; a model family with its own
    table rows and header (the GLMMs) passes its own.
    """
    rows_for = rows_for or structured_rows
    header_for = header_for or header_text
    frame = res.summary_frame(hpd, clevel) if melabel else res.stata_frame(hpd, clevel)
    reffects = res.random_effects(hpd, clevel) if showreffects else None
    rows = rows_for(res, frame, melabel, reffects)
    table = bt.bayes_table(rows, hpd=hpd, level=clevel)
    return header_for(res, bt.bayes_table_width(rows)) + "\n" + table


# --- model summary ---------------------------------------------------------------------------
def _cov_prior_lines(lev, entry) -> tuple[str, list[tuple[str, str]]]:
    if lev.q > 1 and lev.structure == "unstructured":
        return (
            f"mvnormal({lev.q},{{{lev.stub}:Sigma,m}})",
            [(f"{{{lev.stub}:Sigma,m}}", str(entry[f"{lev.stub}:Sigma"]))],
        )
    if lev.q > 1 and lev.structure == "exchangeable":
        s, r = f"{lev.stub}:sigma2", f"{lev.stub}:rho"
        return (
            f"mvn0exchangeable({lev.q},{{{s}}},{{{r}}})",
            [(f"{{{s}}}", str(entry[s])), (f"{{{r}}}", str(entry[r]))],
        )
    if lev.q > 1 and lev.structure == "identity":
        s = f"{lev.stub}:sigma2"
        return f"mvn0identity({lev.q},{{{s}}})", [(f"{{{s}}}", str(entry[s]))]
    return "", [
        (f"{{{n}:sigma2}}", str(entry[f"{n}:sigma2"]))
        for n in (lev.re_names[j] for j in lev.stata_order)
    ]


def multilevel_structure(lay) -> list[tuple[str, list[str]]]:
    """Stata's "Multilevel structure" block: each level and what its random effects are."""
    structure = []
    for lev in lay.levels:
        effects = []
        for j in lev.stata_order:
            name = lev.effect_names[j]
            intercept = name == "_cons" or name.startswith("R.")
            what = "random intercepts" if intercept else f"random coefficients for {name}"
            effects.append(f"{{{lev.re_names[j]}}}: {what}")
        structure.append((lev.label, effects))
    return structure


def model_summary_text(res: BayesResult) -> str:
    """The multilevel structure and model summary blocks."""
    lay, pri = res.layout, res.priors
    structure = multilevel_structure(lay)
    mark = "(1)"
    priors = _coef_prior_lines(res, mark)
    hyper = []
    for lev, entry in zip(lay.levels, pri.levels, strict=True):
        joint, lines = _cov_prior_lines(lev, entry)
        if joint:
            names = " ".join(lev.re_names[j] for j in lev.stata_order)
            priors.append((f"{{{names}}}", joint, mark))
        else:
            for j in lev.stata_order:
                n = lev.re_names[j]
                priors.append((f"{{{n}}}", f"normal(0,{{{n}:sigma2}})", mark))
        hyper += lines
    priors.append((f"{{{lay.resid_name}}}", str(pri.resid)))
    likelihood = [(lay.depvar, f"normal(xb_{lay.depvar},{{{lay.resid_name}}})")]
    notes = [f"(1) Parameters are elements of the linear form xb_{lay.depvar}."]
    return bt.model_summary(likelihood, priors, hyper, multilevel=structure, notes=notes)


def _coef_prior_lines(res: BayesResult, mark: str) -> list[tuple[str, str, str]]:
    lay, pri = res.layout, res.priors
    groups: dict[str, list[str]] = {}
    for j, dist in sorted(pri.coef.items()):
        groups.setdefault(str(dist), []).append(lay.fixed_names[j])
    lines = [(f"{{{lay.depvar}:{' '.join(names)}}}", text, mark) for text, names in groups.items()]
    for idx, dist in pri.coef_groups:
        names = " ".join(lay.fixed_names[j] for j in idx)
        lines.append((f"{{{lay.depvar}:{names}}}", str(dist), mark))
    return lines


# --- bayesstats tables -----------------------------------------------------------------------
def interval_text(spec: str, lower, upper) -> str:
    """``{math:1.schtype} < 0``, ``0 < {x} < 1``."""
    text = spec.strip()
    if lower is not None and upper is not None:
        return f"{fmt_g(lower)} < {text} < {fmt_g(upper)}"
    if upper is not None:
        return f"{text} < {fmt_g(upper)}"
    return f"{text} > {fmt_g(lower)}"


def ess_text(res: BayesResult, melabel: bool = False) -> str:
    """``bayesstats ess``."""
    frame = res.ess(stata_names=not melabel)
    rows = structured_rows(res, frame, melabel)
    return bt.ess_table(
        rows, mcmc_size=res.nchains * res.mcmcsize, efficiency=_efficiency(res), nchains=res.nchains
    )


def grubin_text(res: BayesResult, melabel: bool = False) -> str:
    """``bayesstats grubin``."""
    rc = res.grubin(stata_names=not melabel).to_frame("Rc")
    rows = structured_rows(res, rc, melabel)
    return bt.grubin_table(
        rows, nchains=res.nchains, mcmc_size=res.mcmcsize, rc_max=float(rc["Rc"].max())
    )


def summary_text(
    res: BayesResult,
    frame: pd.DataFrame,
    hpd: bool = False,
    clevel: float = 95,
    expressions: dict | None = None,
) -> str:
    """``bayesstats summary`` of a frame from :meth:`BayesResult.summary`."""
    rows = [Row(str(i), tuple(v)) for i, v in frame.iterrows()]
    return bt.posterior_summary(
        rows,
        mcmc_size=res.nchains * res.mcmcsize,
        expressions=list((expressions or {}).items()),
        hpd=hpd,
        level=clevel,
    )


def interval_table_text(res: BayesResult, frame: pd.DataFrame) -> str:
    """``bayestest interval`` of a frame from :meth:`BayesResult.test_interval`."""
    rows = [Row(str(i), (v["mean"], v["sd"], v["mcse"])) for i, v in frame.iterrows()]
    return bt.interval_test_table(
        rows, mcmc_size=res.nchains * res.mcmcsize, tests=list(frame["test"].items())
    )


def ic_text(frame: pd.DataFrame, diconly: bool = False) -> str:
    """``bayesstats ic`` of a frame from :func:`information_criteria`."""
    rows = [Row(str(i), (v["DIC"], v["log(ML)"], v["log(BF)"])) for i, v in frame.iterrows()]
    return bt.ic_table(rows, diconly=diconly)
