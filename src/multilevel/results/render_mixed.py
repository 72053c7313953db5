"""Stata's console layout for a linear mixed-model fit: header, coefficient table, variance table."""

from __future__ import annotations

import numpy as np

from .tables import (
    GroupInfo,
    Row,
    coefficient_table,
    lr_test_line,
    mixed_header,
    random_effects_table,
)


def coefficient_rows(result) -> list[Row]:
    """Rows of the fixed-effects table: factor headers, levels (with base/omitted notes), plain terms."""
    table = result.fixed_effects
    rows: list[Row] = []
    current_group = None
    for column in result.design.fixed_columns:
        if column.group and column.group != current_group:
            rows.append(Row(label=column.group, kind="factor"))
        current_group = column.group or None
        label = column.level_text if column.group else column.label
        kind = "level" if column.group else "param"
        if column.status == "estimated":
            r = table.loc[column.label]
            values = (r["coef"], r["se"], r["z"], r["p"], r["lower"], r["upper"])
            rows.append(Row(label=label, values=values, kind=kind))
        else:
            rows.append(Row(label=label, kind=kind, note=column.status))
    return rows


def group_infos(result) -> list[GroupInfo]:
    summary = result.group_summary()
    return [
        GroupInfo(name, int(r.groups), r["min"], r.avg, r["max"]) for name, r in summary.iterrows()
    ]


def variance_sections(
    frame, structures_by_level: dict[str, tuple[str, str]]
) -> tuple[list[dict], list[tuple]]:
    """Random-effects rows grouped by level, and the residual row(s)."""
    sections: dict[str, list[tuple]] = {}
    residual: list[tuple] = []
    for label, r in frame.iterrows():
        values = (r.estimate, r.se, r.lower, r.upper)
        if not r.level:
            residual.append((label, *values))
            continue
        name = label.split(": ", 1)[1]
        sections.setdefault(r.level, []).append((name, *values))
    out = [
        {"title": "{}: {}".format(*structures_by_level[level]), "rows": rows}
        for level, rows in sections.items()
    ]
    return out, residual


def level_name(level) -> str:
    """What Stata prints for a level in its tables: the level's own variable (``class``, not the path)."""
    return "_all" if level.crossed_factor is not None else level.groups[-1]


def structure_titles(result) -> dict[str, tuple[str, str]]:
    titles = {}
    for block, structure in zip(
        result.estimates.problem.cp.blocks, result.estimates.problem.structures, strict=True
    ):
        design_block = result.design.blocks[block.source]
        title = structure.title()
        if design_block.level.crossed_factor is not None:
            title = "Identity"
        titles[design_block.label] = (level_name(design_block.level), title)
    return titles


def render_mixed(result) -> str:
    """The full ``mixed`` output as Stata prints it (honouring Stata's display options)."""
    display = dict(result.spec.options.extra)
    method = "REML" if result.reml else "ML"
    wald = result.wald
    parts = []
    if "noheader" not in display:
        header = mixed_header(
            f"Mixed-effects {method} regression",
            nobs=result.nobs,
            groups=group_infos(result),
            wald=(wald["chi2"], wald["df"], wald["p"]) if wald["df"] else None,
            loglik=result.loglik,
            loglik_label="Log restricted-likelihood" if result.reml else "Log likelihood",
        )
        parts += [header, ""]
    if "nofetable" not in display:
        rows = coefficient_rows(result)
        parts += [coefficient_table(result.spec.response, rows, level=result.level), ""]
    if "noretable" not in display:
        frame = (
            result.sd_components() if "stddeviations" in display else result.variance_components()
        )
        sections, residual = variance_sections(frame, structure_titles(result))
        parts.append(random_effects_table(sections, residual, level=result.level))
    lr = result.lr_test
    if np.isfinite(lr["chi2"]) and "nolrtest" not in display:
        parts.append(lr_test_line(lr["chi2"], lr["df"], lr["p"], lr["chibar"]))
    notes = [n if n.startswith(("note", "(")) else f"note: {n}" for n in result.notes]
    return "\n".join([*notes, *([""] if notes else []), *parts]).rstrip("\n")


def render_estat_sd(result) -> str:
    """``estat sd``: standard deviations and correlations."""
    sections, residual = variance_sections(result.sd_components(), structure_titles(result))
    return random_effects_table(sections, residual, level=result.level)
