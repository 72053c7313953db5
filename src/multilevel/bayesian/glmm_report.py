"""Stata-layout text of a Bayesian generalized linear multilevel fit (``bayes: melogit`` ...).

Rows follow Stata's order: the coefficients under the outcome's equation, the family's own
parameters (``cut1``, ``lnalpha``) each on its own row, each level's variance parameters, and the
variance of a Gaussian outcome under ``e.depvar``. With ``melabel`` the rows carry the ``me``
commands' labels (``/cut1``, ``var(_cons)``, ``var(e.y)``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..results import bayes_tables as bt
from ..results.tables import Row
from . import report

if TYPE_CHECKING:
    from .glmm_result import GlmmBayesResult

SAMPLER = "Hamiltonian Monte Carlo (NUTS)"


def _coefficient_rows(res: GlmmBayesResult, frame: pd.DataFrame) -> list[Row]:
    lay = res.layout
    rows = [Row(lay.depvar, kind="equation")]
    group = ""
    for col in res.fixed_columns:
        if col.group != group:
            group = col.group
            if group:
                rows.append(Row(group, kind="factor"))
        kind = "level" if col.group else "param"
        label = report._level_number(col.label) if col.group else col.label
        if col.status != "estimated":
            rows.append(Row(label, kind=kind, note=col.status))
            continue
        rows.append(Row(label, tuple(frame.iloc[lay.fixed_names.index(col.label)]), kind=kind))
    return rows


def _effect_rows(reffects: pd.DataFrame) -> list[Row]:
    rows = []
    for effect in reffects.index.get_level_values(0).unique():
        rows += [Row(kind="separator"), Row(effect, kind="equation")]
        rows += [Row(g, tuple(v)) for (_, g), v in reffects.loc[[effect]].iterrows()]
    return rows


def structured_rows(
    res: GlmmBayesResult,
    frame: pd.DataFrame,
    melabel: bool,
    reffects: pd.DataFrame | None = None,
) -> list[Row]:
    """Rows in Stata's order from ``frame``, indexed by the labels (``melabel``) or Stata's names."""
    lay = res.layout
    rows = _coefficient_rows(res, frame)
    if reffects is not None:
        rows += _effect_rows(reffects)
    names = lay.ancillary_labels if melabel else lay.ancillary_names
    plain = names[: len(lay.ancillary)]
    if plain:
        rows.append(Row(kind="separator"))
        rows += [Row(name, tuple(frame.loc[name])) for name in plain]
    for lev in lay.levels:
        rows += [Row(kind="separator"), Row(lev.label, kind="equation")]
        if melabel:
            for lab in lev.labels():
                rows.append(Row(lab, tuple(frame.loc[f"{lev.label}: {lab}"]), flush=True))
        else:
            rows += [Row(par.name, tuple(frame.loc[par.name])) for par in lev.params()]
    if lay.residual:
        rows.append(Row(kind="separator"))
        if melabel:
            rows.append(Row(names[-1], tuple(frame.loc[names[-1]]), flush=True))
        else:
            values = tuple(frame.loc[names[-1]])
            rows += [Row(f"e.{lay.depvar}", kind="equation"), Row("sigma2", values)]
    return rows


def header_text(res: GlmmBayesResult, width: int = 78) -> str:
    """The block above the table: title, sampler, iterations, groups, efficiency, Rc, log(ML)."""
    info = res.info
    lml = res.log_ml
    return bt.bayes_header(
        res.layout.title,
        SAMPLER,
        mcmc_iterations=info.burnin + info.mcmcsize * info.thinning,
        burnin=info.burnin,
        mcmc_size=info.mcmcsize,
        nobs=res.nobs,
        acceptance_rate=res.acceptance_rate,
        efficiency=report._efficiency(res),
        groups=report._groups(res),
        log_ml=None if math.isnan(lml) else lml,
        nchains=res.nchains,
        rc_max=float(np.nanmax(res.grubin())) if res.nchains > 1 else None,
        width=width,
    )


def results_text(
    res: GlmmBayesResult, melabel: bool, hpd: bool, clevel: float, showreffects: bool = False
) -> str:
    """Header and table as ``bayes`` prints them after estimation, with the GLMM rows and header."""
    return report.results_text(
        res, melabel, hpd, clevel, showreffects, rows_for=structured_rows, header_for=header_text
    )


def _prior_text(dist) -> str:
    return "1 (flat)" if dist.name == "flat" else str(dist)


def _ancillary_prior_lines(res: GlmmBayesResult) -> list[tuple[str, str]]:
    """``{cut1 cut2 cut3} ~ 1 (flat)``: consecutive parameters with one prior on one line."""
    lines: list[tuple[list[str], str]] = []
    for name in res.layout.ancillary:
        text = _prior_text(res.priors.ancillary[name])
        if lines and lines[-1][1] == text:
            lines[-1][0].append(name)
        else:
            lines.append(([name], text))
    return [("{" + " ".join(names) + "}", text) for names, text in lines]


def model_summary_text(res: GlmmBayesResult) -> str:
    """The multilevel structure and model summary blocks."""
    lay, pri = res.layout, res.priors
    structure = report.multilevel_structure(lay)
    mark = "(1)"
    priors = report._coef_prior_lines(res, mark) + _ancillary_prior_lines(res)
    hyper = []
    for lev, entry in zip(lay.levels, pri.levels, strict=True):
        joint, lines = report._cov_prior_lines(lev, entry)
        if joint:
            names = " ".join(lev.re_names[j] for j in lev.stata_order)
            priors.append((f"{{{names}}}", joint, mark))
        else:
            for j in lev.stata_order:
                n = lev.re_names[j]
                priors.append((f"{{{n}}}", f"normal(0,{{{n}:sigma2}})", mark))
        hyper += lines
    arguments = "".join(f",{{{name}}}" for name in lay.ancillary_names)
    if lay.residual:
        priors.append(
            (f"{{{lay.ancillary_names[-1]}}}", str(pri.ancillary[lay.ancillary_names[-1]]))
        )
    likelihood = [(lay.depvar, f"{lay.command}(xb_{lay.depvar}{arguments})")]
    notes = [f"(1) Parameters are elements of the linear form xb_{lay.depvar}."]
    return bt.model_summary(likelihood, priors, hyper, multilevel=structure, notes=notes)


def ess_text(res: GlmmBayesResult, melabel: bool = False) -> str:
    """``bayesstats ess``."""
    frame = res.ess(stata_names=not melabel)
    rows = structured_rows(res, frame, melabel)
    return bt.ess_table(
        rows,
        mcmc_size=res.nchains * res.mcmcsize,
        efficiency=report._efficiency(res),
        nchains=res.nchains,
    )


def grubin_text(res: GlmmBayesResult, melabel: bool = False) -> str:
    """``bayesstats grubin``."""
    rc = res.grubin(stata_names=not melabel).to_frame("Rc")
    rows = structured_rows(res, rc, melabel)
    return bt.grubin_table(
        rows, nchains=res.nchains, mcmc_size=res.mcmcsize, rc_max=float(rc["Rc"].max())
    )
