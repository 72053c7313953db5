"""Graph commands, drawn with matplotlib and written as PNG files.

``twoway`` (plots ``scatter``, ``line``, ``connected``, ``lfit``, ``kdensity``; written in
parentheses or separated by ``||``; ``by(var)`` draws one panel per group), ``scatter``,
``line``, ``kdensity``, ``serrbar`` (a value with a bar of ``scale()`` standard errors either side:
the caterpillar plot of ranked random effects), and ``graph export`` (writes the last graph to a
file of your naming). Every graph is saved as ``graph#.png`` in the graph folder (the working
directory unless the command line says otherwise), and the output says which file.

``lfit`` draws the least-squares line of y on x and ``kdensity`` a kernel density estimate with
Stata's defaults (Epanechnikov kernel, bandwidth ``0.9 min(sd, iqr/1.349) n^(-1/5)``, evaluated at
``min(50, N)`` points from ``min - h`` to ``max + h``): pictures of the data, as the same Stata
commands draw them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..results.stata_format import fmt_g
from . import expressions
from .errors import RC_FILE_EXISTS, CommandError, UnsupportedError
from .registry import Call, command
from .session import Session, display_path
from .syntax import (
    Option,
    option_items,
    option_table,
    parse_options,
    parse_parts,
    resolve_word,
    split_options,
    split_top,
    strip_parens,
    unquote,
    words,
)

PLOT_TYPES = {"scatter": 2, "line": 4, "connected": 3, "lfit": 4, "kdensity": 5}
_KDENSITY = (
    Option("kernel", 1, "required"),
    Option("bwidth", 1, "required"),
    Option("n", 1, "required"),
)
_PLOT_OPTIONS = {kind: {} for kind in PLOT_TYPES} | {"kdensity": option_table(*_KDENSITY)}
GRAPH_OPTIONS = option_table(
    Option("title", 2, "required"),
    Option("subtitle", 3, "required"),
    Option("xtitle", 2, "required"),
    Option("ytitle", 2, "required"),
    Option("note", 4, "required"),
    Option("legend", 3, "required"),
    Option("scheme", 3, "required"),
    Option("name", 4, "required"),
    Option("yline", 5, "required"),
    Option("xline", 5, "required"),
)
_BY_OPTIONS = option_table(
    Option("note", 4, "required"),
    Option("cols", 4, "required"),
    Option("rows", 4, "required"),
    Option("compact", 3),
    Option("legend", 3, "required"),
    Option("title", 2, "required"),
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass
class Plot:
    """One plot of a graph: its type, variables, rows and own options."""

    kind: str
    variables: list[str]
    rows: np.ndarray
    options: dict = field(default_factory=dict)


def variable_title(df: pd.DataFrame, name: str) -> str:
    """What Stata puts on an axis for a variable: its label, else its name."""
    return df.attrs.get("variable_labels", {}).get(name) or name


def parse_plot(session: Session, text: str) -> Plot:
    """``scatter math homework if tagme, ...`` -> a :class:`Plot`."""
    first, _, rest = text.strip().partition(" ")
    kind = resolve_word(first, PLOT_TYPES, "plot type")
    if kind is None:
        raise UnsupportedError(
            f"twoway plot type {first} is not supported yet ({', '.join(PLOT_TYPES)})"
        )
    parts = parse_parts(rest)
    options = parse_options(parts.options, _PLOT_OPTIONS[kind], f"twoway {kind}")
    variables = session.varlist(parts.main)
    needed = 1 if kind == "kdensity" else 2
    if len(variables) != needed:
        raise CommandError(
            f"{kind} needs {needed} variable{'s' if needed > 1 else ''}: {parts.main}"
        )
    return Plot(kind, variables, session.selection(parts), options)


def _split_graph_options(text: str | None) -> tuple[str, str]:
    """Options of the last plot written with ``||``: graph-wide ones apart from the plot's own."""
    own, graph = [], []
    lengths = {name: option.shortest for name, option in GRAPH_OPTIONS.items()} | {"by": 2}
    for name, value in option_items(text):
        written = name if value is None else f"{name}({value})"
        (graph if resolve_word(name, lengths, "option") else own).append(written)
    return " ".join(own), " ".join(graph)


def twoway_plots(session: Session, args: str) -> tuple[list[Plot], str | None]:
    """The plots of a ``twoway`` command and its graph options."""
    head, options = split_options(args)
    if head.startswith("("):
        texts = [strip_parens(item) for item in words(head)]
        return [parse_plot(session, t) for t in texts], options
    segments = [s.strip() for s in split_top(args, "||")]
    last_main, last_options = split_options(segments[-1])
    own, graph = _split_graph_options(last_options)
    segments[-1] = last_main + (f", {own}" if own else "")
    return [parse_plot(session, s) for s in segments], graph or None


# ---------------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------------

KERNELS = {
    "epanechnikov": lambda z: np.where(
        np.abs(z) < math.sqrt(5), 0.75 * (1 - z**2 / 5) / math.sqrt(5), 0.0
    ),
    "epan2": lambda z: np.where(np.abs(z) < 1, 0.75 * (1 - z**2), 0.0),
    "biweight": lambda z: np.where(np.abs(z) < 1, 15 / 16 * (1 - z**2) ** 2, 0.0),
    "triangle": lambda z: np.where(np.abs(z) < 1, 1 - np.abs(z), 0.0),
    "gaussian": lambda z: np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi),
    "rectangle": lambda z: np.where(np.abs(z) < 1, 0.5, 0.0),
}
_KERNEL_LENGTHS = {
    "epanechnikov": 2,
    "epan2": 5,
    "biweight": 2,
    "triangle": 3,
    "gaussian": 3,
    "rectangle": 3,
}


def _percentile(values: np.ndarray, p: float) -> float:
    """Stata's percentile (``_pctile``): the average of two order statistics when n p / 100 is whole."""
    ordered = np.sort(values)
    position = len(ordered) * p / 100
    whole = math.floor(position)
    if position == whole:
        return float((ordered[max(whole - 1, 0)] + ordered[min(whole, len(ordered) - 1)]) / 2)
    return float(ordered[whole])


def default_bandwidth(values: np.ndarray) -> float:
    """Stata's default kernel bandwidth: ``0.9 min(sd, iqr / 1.349) / n^(1/5)``."""
    spread = float(np.std(values, ddof=1))
    iqr = _percentile(values, 75) - _percentile(values, 25)
    if iqr > 0:
        spread = min(spread, iqr / 1.349)
    return 0.9 * spread / len(values) ** 0.2


def kernel_density(values: np.ndarray, options: dict) -> tuple[np.ndarray, np.ndarray, str, float]:
    """Grid, density, kernel name and bandwidth of a ``kdensity`` plot."""
    values = values[~np.isnan(values)]
    if len(values) < 2:
        raise CommandError("kdensity: fewer than two observations", 2001)
    kernel = resolve_word(options.get("kernel", "epanechnikov"), _KERNEL_LENGTHS, "kernel")
    if kernel is None:
        raise CommandError(f"kernel({options['kernel']}) is not one of {', '.join(KERNELS)}")
    width = float(options["bwidth"]) if "bwidth" in options else default_bandwidth(values)
    points = int(options.get("n", min(len(values), 50)))
    # Stata evaluates the density from min - h to max + h.
    grid = np.linspace(values.min() - width, values.max() + width, max(points, 2))
    z = (grid[:, None] - values[None, :]) / width
    density = KERNELS[kernel](z).sum(axis=1) / (len(values) * width)
    return grid, density, kernel, width


def _numbers(df: pd.DataFrame, name: str) -> np.ndarray:
    values = expressions.column_values(df[name])
    if expressions.is_string(values):
        raise CommandError(f"{name} is a string variable; graphs need numbers", 109)
    return values


def draw_plot(ax, df: pd.DataFrame, plot: Plot, rows: np.ndarray) -> str:
    """Draw one plot on ``ax`` from the chosen rows; returns its legend label."""
    if plot.kind == "kdensity":
        grid, density, _, _ = kernel_density(_numbers(df, plot.variables[0])[rows], plot.options)
        ax.plot(grid, density)
        return f"kdensity {plot.variables[0]}"
    y, x = (_numbers(df, v)[rows] for v in plot.variables)
    present = ~(np.isnan(x) | np.isnan(y))
    x, y = x[present], y[present]
    if plot.kind == "scatter":
        ax.scatter(x, y, s=8)
    elif plot.kind in ("line", "connected"):
        order = np.argsort(x, kind="mergesort")
        ax.plot(x[order], y[order], marker="o" if plot.kind == "connected" else None, ms=3)
    else:
        if len(x) >= 2 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            ends = np.array([x.min(), x.max()])
            ax.plot(ends, intercept + slope * ends)
        return "Fitted values"
    return variable_title(df, plot.variables[0])


def _apply_look(fig, ax, options: dict, df: pd.DataFrame, titles: tuple[str, str]) -> None:
    ytitle, xtitle = titles
    ax.set_ylabel(unquote(options.get("ytitle", ytitle)))
    ax.set_xlabel(unquote(options.get("xtitle", xtitle)))
    for line in words(options.get("yline", "")):
        ax.axhline(float(line), color="0.5", lw=0.8)
    for line in words(options.get("xline", "")):
        ax.axvline(float(line), color="0.5", lw=0.8)
    if "title" in options:
        fig.suptitle(unquote(options["title"]))
    if "note" in options:
        fig.text(0.01, 0.01, unquote(options["note"]), fontsize=8)


def _axis_titles(df: pd.DataFrame, plots: list[Plot]) -> tuple[str, str]:
    first = plots[0]
    if first.kind == "kdensity":
        return "Density", variable_title(df, first.variables[0])
    ys = {variable_title(df, p.variables[0]) for p in plots if p.kind != "lfit"}
    ytitle = ys.pop() if len(ys) == 1 else ""
    return ytitle, variable_title(df, first.variables[-1])


def _group_title(df: pd.DataFrame, variable: str, value) -> str:
    labels = df.attrs.get("value_labels", {}).get(variable, {})
    if isinstance(value, float) and value.is_integer() and int(value) in labels:
        return labels[int(value)]
    return value if isinstance(value, str) else fmt_g(value)


def draw_twoway(session: Session, plots: list[Plot], options: dict):
    """A twoway graph (one panel, or one per group with ``by()``)."""
    plt = _pyplot()
    df = session.df
    titles = _axis_titles(df, plots)
    legend = unquote(options.get("legend", "")) != "off" and len(plots) > 1
    if "by" not in options:
        fig, ax = plt.subplots(figsize=(7, 5))
        labels = [draw_plot(ax, df, p, p.rows) for p in plots]
        if legend:
            ax.legend(labels, fontsize=8)
        _apply_look(fig, ax, options, df, titles)
        fig.tight_layout()
        return fig
    return _draw_by(session, plots, options, titles, legend)


def _draw_by(session: Session, plots: list[Plot], options: dict, titles, legend: bool):
    plt = _pyplot()
    df = session.df
    by_text, by_options_text = split_options(options["by"])
    variables = session.varlist(by_text)
    if len(variables) != 1:
        raise UnsupportedError("by() with several variables is not supported yet")
    by_options = parse_options(by_options_text, _BY_OPTIONS, "by()")
    variable = variables[0]
    used = np.logical_or.reduce([p.rows for p in plots])
    values = df[variable][used].dropna().unique()
    values = sorted(values.tolist())
    if not values:
        raise CommandError("no observations", 2000)
    cols = int(by_options.get("cols", math.ceil(math.sqrt(len(values)))))
    rows = int(by_options.get("rows", math.ceil(len(values) / cols)))
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(2.2 * cols + 1, 1.9 * rows + 1),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    group = df[variable].to_numpy()
    labels: list[str] = []
    for ax, value in zip(axes.flat, values, strict=False):
        labels = [draw_plot(ax, df, p, p.rows & (group == value)) for p in plots]
        ax.set_title(_group_title(df, variable, value), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(values) :]:
        ax.set_visible(False)
    ytitle, xtitle = titles
    fig.supylabel(unquote(options.get("ytitle", ytitle)))
    fig.supxlabel(unquote(options.get("xtitle", xtitle)))
    if legend and labels and unquote(by_options.get("legend", "")) != "off":
        fig.legend(labels, loc="lower right", fontsize=8)
    note = by_options.get("note", f'"Graphs by {variable_title(df, variable)}"')
    fig.text(0.01, 0.005, unquote(note), fontsize=8)
    if "title" in options:
        fig.suptitle(unquote(options["title"]))
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------


def _graph_options(text: str | None, extra: dict | None = None) -> dict:
    table = dict(GRAPH_OPTIONS) | (extra or {})
    return parse_options(text, table, "twoway")


@command("twoway", 2)
def twoway(session: Session, call: Call) -> None:
    plots, options_text = twoway_plots(session, call.args)
    options = _graph_options(options_text, {"by": Option("by", 2, "required")})
    session.save_graph(draw_twoway(session, plots, options))


def _single_plot(session: Session, call: Call, kind: str) -> None:
    head, options_text = split_options(call.args)
    own, graph = _split_graph_options(options_text)
    plot = parse_plot(session, f"{kind} {head}" + (f", {own}" if own else ""))
    options = _graph_options(graph or None, {"by": Option("by", 2, "required")})
    session.save_graph(draw_twoway(session, [plot], options))


@command("scatter", 2)
def scatter(session: Session, call: Call) -> None:
    _single_plot(session, call, "scatter")


@command("line", 4)
def line(session: Session, call: Call) -> None:
    _single_plot(session, call, "line")


@command("kdensity", 5)
def kdensity(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    table = option_table(*_KDENSITY, Option("normal", 4), *GRAPH_OPTIONS.values())
    options = parse_options(parts.options, table, "kdensity")
    names = session.varlist(parts.main)
    if len(names) != 1:
        raise CommandError("kdensity needs one variable")
    df = session.df
    values = _numbers(df, names[0])[session.selection(parts)]
    grid, density, kernel, width = kernel_density(values, options)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(grid, density, label="Kernel density estimate")
    if "normal" in options:
        present = values[~np.isnan(values)]
        mean, sd = present.mean(), present.std(ddof=1)
        ax.plot(
            grid,
            np.exp(-(((grid - mean) / sd) ** 2) / 2) / (sd * math.sqrt(2 * math.pi)),
            label="Normal density",
        )
        ax.legend(fontsize=8)
    options.setdefault("title", '"Kernel density estimate"')
    options.setdefault("note", f'"kernel = {kernel}, bandwidth = {width:.4f}"')
    _apply_look(fig, ax, options, df, ("Density", variable_title(df, names[0])))
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    session.save_graph(fig)


@command("serrbar", 4)
def serrbar(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    table = option_table(Option("scale", 2, "required"), *GRAPH_OPTIONS.values())
    options = parse_options(parts.options, table, "serrbar")
    names = session.varlist(parts.main)
    if len(names) != 3:
        raise CommandError("serrbar needs three variables: mean, standard error, x")
    df = session.df
    rows = session.selection(parts)
    mean, se, x = (_numbers(df, n)[rows] for n in names)
    present = ~(np.isnan(mean) | np.isnan(se) | np.isnan(x))
    scale = float(options.get("scale", 1))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.errorbar(
        x[present], mean[present], yerr=scale * se[present], fmt="o", ms=3, capsize=3, lw=0.8
    )
    _apply_look(fig, ax, options, df, (variable_title(df, names[0]), variable_title(df, names[2])))
    fig.tight_layout()
    session.save_graph(fig)


@command("graph", 2)
def graph(session: Session, call: Call) -> None:
    sub, _, rest = call.args.strip().partition(" ")
    name = resolve_word(sub, {"export": 3, "twoway": 2}, "subcommand")
    if name == "twoway":
        twoway(session, Call("twoway", rest))
        return
    if name != "export":
        raise UnsupportedError(f"graph {sub} is not supported yet (graph export, graph twoway)")
    head, options_text = split_options(rest)
    table = option_table(
        Option("replace"), Option("width", 5, "required"), Option("name", 4, "required")
    )
    options = parse_options(options_text, table, "graph export")
    if session.last_figure is None:
        raise CommandError("no graph to export; draw one first", 693)
    target = Path(unquote(head))
    if target.exists() and "replace" not in options:
        raise CommandError(f"file {target} already exists", RC_FILE_EXISTS)
    dpi = 100
    if "width" in options:
        dpi = float(options["width"]) / session.last_figure.get_figwidth()
    session.last_figure.savefig(target, dpi=dpi)
    session.out.line(
        f"(file {display_path(target)} written in {target.suffix.lstrip('.').upper() or 'PNG'} format)"
    )
