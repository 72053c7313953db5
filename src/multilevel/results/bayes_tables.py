"""Bayesian output in Stata's layout: ``bayes:`` / ``bayesmh`` tables and ``bayesstats``.

Builders take plain data and return text, like those of :mod:`multilevel.results.tables`, whose
row model (:class:`~multilevel.results.tables.Row`) and layout primitives they share. Bayesian
tables widen their label column to the longest label (85 columns with ``melabel``'s
``cov(homework,_cons)``) where frequentist tables abbreviate labels to 12 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from multilevel.results.stata_format import (
    abbreviate,
    fmt_f,
    fmt_g,
    fmt_int,
    is_missing,
    is_number,
)
from multilevel.results.tables import (
    WIDTH,
    Column,
    GroupInfo,
    HeaderItem,
    Layout,
    Row,
    RowsLike,
    as_rows,
    estimation_header,
    group_table,
    interval_title,
    label_width_for,
    obs_per_group_items,
    place,
    rule,
    table_lines,
)

_g9 = partial(fmt_g, width=9)
_g8 = partial(fmt_g, width=8)
BAYES_COLUMNS = (
    Column(10, _g9),
    Column(11, _g9),
    Column(10, _g8),
    Column(11, _g9),
    Column(11, _g9),
    Column(11, _g9),
)
ESS_COLUMNS = (
    Column(11, lambda x: fmt_f(x, 2, 10)),
    Column(13, lambda x: fmt_f(x, 2, 11)),
    Column(14, lambda x: fmt_f(x, 4, 12)),
)
INTERVAL_COLUMNS = (Column(10, _g9), Column(12, lambda x: fmt_f(x, 5, 10)), Column(11, _g9))
IC_COLUMNS = (Column(10, _g9), Column(11, _g9), Column(11, _g9))
GRUBIN_COLUMNS = (Column(10, _g9),)

# Stata prints a line holding one space between a Bayesian header and its table.
SPACER = " "
GELMAN_RUBIN = "Gelman\u2013Rubin"


def _g4(x: float | None) -> str:
    return fmt_g(x, 10, 4)


def _bayes_layout(
    rows: Sequence[Row], columns: Sequence[Column], label_width: int | None
) -> Layout:
    lw = label_width_for(rows) if label_width is None else label_width
    return Layout(lw, columns, matrix=True)


def bayes_table_width(rows: RowsLike) -> int:
    """Width of :func:`bayes_table` for these rows: 78, wider when a label needs it (85 with
    ``melabel``'s ``cov(homework,_cons)``). Pass it to :func:`bayes_header` as ``width``."""
    return _bayes_layout(as_rows(rows), BAYES_COLUMNS, None).width


def bayes_table(
    rows: RowsLike,
    *,
    hpd: bool = False,
    level: float = 95,
    header_label: str = "",
    label_width: int | None = None,
) -> str:
    """The posterior summary table of ``bayes:``, ``bayesmh`` and ``bayesstats summary``.

    Parameters
    ----------
    rows : sequence
        Values in the order mean, std. dev., MCSE, median, lower, upper. Equation rows
        (``math``, ``schid``, ``e.math``) print flush left with a rule between equations; a
        ``"base"`` note prints ``(base)``; ``flush=True`` suits ``var(...)`` labels.
    hpd : bool, default False
        Title the interval ``HPD`` instead of ``Equal-tailed``.
    level : float, default 95
        Credible level shown in the interval's title.
    header_label : str, optional
        Text right-aligned above the labels when every row shares it (``U0[schid]``).
    label_width : int, optional
        Width of the label column; by default the longest label's (at least 12).

    Returns
    -------
    str
        The table, starting with the one-space line Stata prints before it.
    """
    body_rows = as_rows(rows)
    layout = _bayes_layout(body_rows, BAYES_COLUMNS, label_width)
    lw = layout.label_width
    kind = "HPD" if hpd else "Equal-tailed"
    ci = interval_title(level, "cred.")
    if len(ci) > 20:
        ci = f"[{level:g}% cred. int.]"
    label = header_label if len(header_label) <= lw else header_label[: lw - 1] + "~"
    header = [
        place([(lw + 2, "|"), (lw + 57 - len(kind) // 2, kind)]),
        place(
            [
                (1, label.rjust(lw) + " |"),
                (lw + 9, "Mean"),
                (lw + 16, "Std. dev."),
                (lw + 30, "MCSE"),
                (lw + 39, "Median"),
                (lw + 57 - len(ci) // 2, ci),
            ]
        ),
    ]
    return "\n".join([SPACER, *table_lines(header, body_rows, layout)])


def _matrix_titles(layout: Layout, titles: Sequence[str]) -> str:
    """Column titles right-aligned to the end of their columns, as Stata's matrix tables."""
    segments = [(layout.bar, "|")]
    end = layout.bar
    for title, column in zip(titles, layout.columns, strict=True):
        end += column.width
        segments.append((end + 1 - len(title), title))
    return place(segments)


def _summary_header(title_lines: Sequence[str], items: Sequence[HeaderItem], width: int) -> str:
    """Header of ``bayesstats``-style output: labels at ``width - 27``, ``=`` at ``width - 10``."""
    return estimation_header(
        title_lines, items, width=width, label_col=width - 27, eq_col=width - 10
    )


def _efficiency_items(
    efficiency: Sequence[float] | float | None, label: str = "Efficiency:"
) -> list[HeaderItem]:
    """Efficiency lines: ``min``/``avg``/``max`` of a summary, or one line for one parameter."""
    if efficiency is None:
        return []
    if is_number(efficiency):
        return [HeaderItem(label.rstrip(":"), _g4(efficiency))]
    low, mean, high = efficiency
    return [
        HeaderItem(label, _g4(low), sub="min"),
        HeaderItem(value=_g4(mean), sub="avg"),
        HeaderItem(value=_g4(high), sub="max"),
    ]


def ess_table(
    rows: RowsLike,
    *,
    mcmc_size: int,
    efficiency: Sequence[float] | None = None,
    nchains: int = 1,
) -> str:
    """The ``bayesstats ess`` output: header, then ESS, correlation time and efficiency.

    Parameters
    ----------
    rows : sequence
        Values ``(ess, corr_time, efficiency)``; equation, factor and ``"base"`` rows as in
        :func:`bayes_table`.
    mcmc_size : int
        MCMC sample size (all chains together).
    efficiency : (min, avg, max), optional
        Efficiency summary shown in the header.
    nchains : int, default 1
        With several chains the header also gives their number.

    Returns
    -------
    str
    """
    body_rows = as_rows(rows)
    layout = _bayes_layout(body_rows, ESS_COLUMNS, None)
    lw = layout.label_width
    items = [HeaderItem("MCMC sample size", fmt_int(mcmc_size))]
    if nchains > 1:
        items.insert(0, HeaderItem("Number of chains", fmt_int(nchains)))
    items += _efficiency_items(efficiency)
    header = _summary_header(["Efficiency summaries"], items, layout.width)
    titles = place(
        [(lw + 2, "|"), (lw + 11, "ESS"), (lw + 17, "Corr. time"), (lw + 31, "Efficiency")]
    )
    return "\n".join([header, SPACER, *table_lines([titles], body_rows, layout)])


def posterior_summary(
    rows: RowsLike,
    *,
    mcmc_size: int,
    expressions: Sequence[tuple[str, str]] = (),
    hpd: bool = False,
    level: float = 95,
    header_label: str = "",
) -> str:
    """The ``bayesstats summary`` output: header, expression legend, then :func:`bayes_table`.

    Parameters
    ----------
    rows : sequence
        As for :func:`bayes_table`.
    mcmc_size : int
        MCMC sample size.
    expressions : sequence of (name, expression)
        Legend of summarised expressions, e.g. ``("corr", "{U:Sigma_2_1}/sqrt(...)")``.
    hpd, level, header_label
        As for :func:`bayes_table`.

    Returns
    -------
    str
    """
    table = bayes_table(rows, hpd=hpd, level=level, header_label=header_label)
    width = len(table.splitlines()[1])
    header = _summary_header(
        ["Posterior summary statistics"],
        [HeaderItem("MCMC sample size", fmt_int(mcmc_size))],
        width,
    )
    legend = [f"{name:>12} : {expr}" for name, expr in expressions]
    parts = [header, "", *legend] if legend else [header]
    return "\n".join([*parts, table])


def interval_test_table(
    rows: RowsLike,
    *,
    mcmc_size: int,
    tests: Sequence[tuple[str, str]],
) -> str:
    """The ``bayestest interval`` output.

    Parameters
    ----------
    rows : sequence
        ``(name, mean, std. dev., mcse)`` per test, such as ``("prob1", .9764, .15181, .0081)``.
    mcmc_size : int
        MCMC sample size.
    tests : sequence of (name, condition)
        The legend, e.g. ``("prob1", "{math:1.schtype} < 0")``.

    Returns
    -------
    str
    """
    body_rows = as_rows(rows)
    layout = _bayes_layout(body_rows, INTERVAL_COLUMNS, None)
    lw = layout.label_width
    header = _summary_header(
        ["Interval tests"], [HeaderItem("MCMC sample size", fmt_int(mcmc_size))], layout.width
    )
    legend = [f"{name:>12} : {condition}" for name, condition in tests]
    titles = place([(lw + 2, "|"), (lw + 9, "Mean"), (lw + 17, "Std. dev."), (lw + 32, "MCSE")])
    return "\n".join([header, "", *legend, SPACER, *table_lines([titles], body_rows, layout)])


def grubin_table(
    rows: RowsLike,
    *,
    nchains: int,
    mcmc_size: int,
    rc_max: float,
) -> str:
    """The ``bayesstats grubin`` output: summary lines, the Rc table and the convergence rule.

    Parameters
    ----------
    rows : sequence
        ``(label, Rc)`` rows, with equation, factor and ``"base"`` rows as in :func:`bayes_table`.
    nchains : int
        Number of chains.
    mcmc_size : int
        MCMC sample size per chain.
    rc_max : float
        The largest Rc.

    Returns
    -------
    str
    """
    body_rows = as_rows(rows)
    layout = _bayes_layout(body_rows, GRUBIN_COLUMNS, None)
    summary = [
        f"{GELMAN_RUBIN} convergence diagnostic",
        "",
        place([(1, "Number of chains     = "), (26, fmt_g(nchains, 10).rjust(10))]),
        place([(1, "MCMC size, per chain = "), (26, fmt_int(mcmc_size).rjust(10))]),
        place([(1, f"Max {GELMAN_RUBIN} Rc  = "), (26, fmt_g(rc_max, 10, 7).rjust(10))]),
        "",
    ]
    table = table_lines([_matrix_titles(layout, ["Rc"])], body_rows, layout)
    return "\n".join([*summary, *table, "Convergence rule: Rc < 1.1"])


def ic_table(
    rows: RowsLike,
    *,
    diconly: bool = False,
) -> str:
    """The ``bayesstats ic`` output.

    Parameters
    ----------
    rows : sequence
        ``(model, DIC, log(ML), log(BF))`` per model; ``log(BF)`` of the base model is missing.
        With ``diconly`` only ``(model, DIC)`` is needed.
    diconly : bool, default False
        Only the deviance information criterion, as ``bayesstats ic, diconly``.

    Returns
    -------
    str
    """
    n_values = 1 if diconly else 3
    body_rows = [Row(r.label, tuple(r.values[:n_values])) for r in as_rows(rows)]
    layout = _bayes_layout(body_rows, IC_COLUMNS[:n_values], None)
    titles = _matrix_titles(layout, ["DIC", "log(ML)", "log(BF)"][:n_values])
    table = table_lines([titles], body_rows, layout)
    if diconly:
        return "\n".join(["Deviance information criterion", "", *table])
    note = [
        "Note: Marginal likelihood (ML) is computed using",
        "      Laplace\u2013Metropolis approximation.",
    ]
    return "\n".join(["Bayesian information criteria", "", *table, *note])


def bayes_header(
    title: str,
    sampler: str,
    *,
    mcmc_iterations: int,
    burnin: int,
    mcmc_size: int,
    nobs: int | None = None,
    acceptance_rate: float | None = None,
    efficiency: Sequence[float] | float | None = None,
    groups: Sequence[GroupInfo] = (),
    log_ml: float | None = None,
    nchains: int = 1,
    rc_max: float | None = None,
    width: int = WIDTH,
) -> str:
    """The header of a Bayesian fit (``bayes:`` or ``bayesmh``).

    Parameters
    ----------
    title : str
        ``"Bayesian multilevel regression"``, ``"Bayesian normal regression"``, ...
    sampler : str
        ``"Metropolis\u2013Hastings and Gibbs sampling"``, ``"Gibbs sampling"``, ...
    mcmc_iterations, burnin, mcmc_size : int
        Iterations, burn-in and kept draws; per chain when ``nchains > 1``.
    nobs : int, optional
        Number of observations.
    acceptance_rate : float, optional
        Acceptance rate (average over chains when ``nchains > 1``).
    efficiency : (min, avg, max) or float, optional
        Sampling efficiency summary (averages over chains when ``nchains > 1``).
    groups : sequence of GroupInfo
        One grouping variable prints inline at Stata's fixed columns; several print the group
        table after the sampling lines.
    log_ml : float, optional
        Log marginal-likelihood; missing (multilevel models) prints the label alone.
    nchains : int, default 1
        Number of chains; several give Stata's multichain layout.
    rc_max : float, optional
        Maximum Gelman-Rubin Rc (multichain).
    width : int, default 78
        The table's width (see :func:`bayes_table_width`).

    Returns
    -------
    str
    """
    multi = nchains > 1
    sampling = _sampling_items(mcmc_iterations, burnin, mcmc_size, nchains)
    left = [title, sampler] + [""] * (len(sampling) - 2)
    rest: list[HeaderItem] = []
    if len(groups) == 1:
        g = groups[0]
        left.append(f"Group variable: {abbreviate(g.name, 14)}")
        rest.append(HeaderItem("Number of groups", fmt_g(g.n_groups, 10, comma=True), fixed=True))
        rest += [HeaderItem("Obs per group:")] + obs_per_group_items(g, fixed=True)[1:]
    if nobs is not None:
        rest.append(HeaderItem("Number of obs", fmt_int(nobs)))
    if acceptance_rate is not None:
        rest.append(
            HeaderItem("Avg acceptance rate" if multi else "Acceptance rate", _g4(acceptance_rate))
        )
    rest += _efficiency_items(efficiency, "Avg efficiency:" if multi else "Efficiency:")
    if multi and rc_max is not None:
        rest.append(HeaderItem(f"Max {GELMAN_RUBIN} Rc", _g4(rc_max)))
    lml = "Log marginal-likelihood"
    if not is_missing(log_ml):
        lml += f" = {fmt_g(log_ml, 10).rjust(10)}"
    layout = {"width": width, "label_col": width - (31 if multi else 28)}
    if len(groups) > 1:
        first = estimation_header(left, sampling, **layout)
        second = estimation_header([], rest, left_bottom=[lml], **layout)
        return "\n\n".join([first, group_table(groups), second])
    return estimation_header(left, sampling + rest, left_bottom=[lml], **layout)


def _sampling_items(iterations: int, burnin: int, size: int, nchains: int) -> list[HeaderItem]:
    """The MCMC lines of a Bayesian header; per chain, indented, when there are several."""
    if nchains > 1:
        return [
            HeaderItem("Number of chains", fmt_int(nchains)),
            HeaderItem("Per MCMC chain:"),
            HeaderItem("Iterations", fmt_int(iterations), indent=4),
            HeaderItem("Burn-in", fmt_int(burnin), indent=4),
            HeaderItem("Sample size", fmt_int(size), indent=4),
        ]
    return [
        HeaderItem("MCMC iterations", fmt_int(iterations)),
        HeaderItem("Burn-in", fmt_int(burnin)),
        HeaderItem("MCMC sample size", fmt_int(size)),
    ]


def _prior_lines(entries: Sequence[Sequence[str]], width: int) -> list[str]:
    """``lhs ~ rhs`` lines with the ``~`` aligned and a note mark such as ``(1)`` at the right."""
    n = max((len(e[0]) for e in entries), default=0)
    lines = []
    for lhs, rhs, *mark in entries:
        line = f"  {lhs:>{n}} ~ {rhs}"
        if mark and mark[0]:
            line = line.ljust(width - len(mark[0])) + mark[0]
        lines.append(line)
    return lines


def model_summary(
    likelihood: Sequence[Sequence[str]],
    priors: Sequence[Sequence[str]],
    hyperpriors: Sequence[Sequence[str]] = (),
    *,
    multilevel: Sequence[tuple[str, Sequence[str]]] = (),
    notes: Sequence[str] = (),
    width: int = WIDTH,
) -> str:
    """The model summary Stata prints before a Bayesian fit.

    Parameters
    ----------
    likelihood, priors, hyperpriors : sequence of (lhs, rhs) or (lhs, rhs, mark)
        Lines such as ``("math", "normal(xb_math,{e.math:sigma2})")`` or
        ``("{U0 U1}", "mvnormal(2,{U:Sigma,m})", "(1)")``.
    multilevel : sequence of (level, descriptions)
        The ``Multilevel structure`` block, e.g. ``("schid", ["{U0}: random intercepts"])``.
    notes : sequence of str
        Lines after the closing rule (``"(1) Parameters are elements of the linear form
        xb_math."``).
    width : int, default 78
        Width of the rules.

    Returns
    -------
    str
    """
    lines: list[str] = []
    if multilevel:
        lines += ["Multilevel structure", rule(width)]
        for level, descriptions in multilevel:
            lines += [level, *(f"    {d}" for d in descriptions)]
        lines += [rule(width), ""]
    lines += ["Model summary", rule(width), "Likelihood: ", *_prior_lines(likelihood, width)]
    sections = [("Prior: " if len(priors) == 1 else "Priors: ", priors)]
    if hyperpriors:
        sections.append(("Hyperprior: " if len(hyperpriors) == 1 else "Hyperpriors: ", hyperpriors))
    for title, entries in sections:
        lines += ["", title, *_prior_lines(entries, width)]
    lines += [rule(width), *notes]
    return "\n".join(lines)
