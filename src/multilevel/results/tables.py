"""Text tables and headers in the layout Stata prints (Stata 17 conventions).

Every builder takes plain data (numbers, strings, sequences of rows) and returns a string of
lines joined by ``"\\n"``, without a trailing newline. Nothing here computes statistics.

Rows
----
Tables of parameters take rows as :class:`Row` objects, mappings with the same keys, or tuples
``(label, value, ...)``. A row's ``kind`` says how it is drawn:

``"param"``
    A label and its numbers (``homework``, ``_cons``, ``var(_cons)``).
``"factor"``
    The name of a factor variable alone (``schtype``); the ``"level"`` rows after it belong to it.
``"level"``
    A level of the factor above (``Public``), indented one column as Stata indents levels.
``"equation"``
    An equation or random-effects level title (``math``, ``schid: Unstructured``), flush left.
``"separator"``
    A rule across the table (``----+----``), as before ``var(Residual)``.

A row with ``note`` (``"base"``, ``"omitted"``, ``"empty"``, ...) prints the note instead of its
numbers. A value that is ``None`` or NaN prints as ``.``; a string value prints as it is (``""``
leaves the cell blank, as the z and P columns of variance rows). ``flush=True`` lets the label
touch the vertical bar, as Stata prints the ``var(...)`` rows of ``me`` and ``bayes`` tables.

Blank lines
-----------
A line holding only the bar goes before a multi-line term (a factor with its levels, a split
interaction name) unless the term opens its block (the table, an equation, the part after a
rule), and after it when it shows several levels or, in coefficient tables, when it did not open
its block. So ``homework / schtype (two levels) / _cons`` gets both lines, ``AgentType (one
level) / TrialNum`` at the top of a table gets neither, and a Bayesian table's ``homework /
schtype (one level) / _cons`` only the first (all as in the seed's and public Stata logs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from multilevel.results.stata_format import (
    MISSING,
    abbreviate,
    fmt_f,
    fmt_g,
    fmt_int,
    fmt_p,
    fmt_z,
    is_missing,
)

WIDTH = 78
# Where Stata's 78-column headers put "=" and the value after it (1-based columns).
EQ_COL_78, VALUE_COL_78 = 67, 69
ROW_KINDS = ("param", "factor", "level", "equation", "separator")


# ---------------------------------------------------------------------------------------------
# Data the builders take
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of a parameter table (see the module docstring for the kinds)."""

    label: str = ""
    values: Sequence[Any] = ()
    kind: str = "param"
    note: str | None = None
    flush: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"unknown row kind {self.kind!r}; expected one of {ROW_KINDS}")


# Rows as Row objects, mappings with Row's keys, (label, *values) tuples, or a DataFrame.
RowsLike = Sequence[Row | Mapping[str, Any] | Sequence[Any]]


@dataclass(frozen=True)
class HeaderItem:
    """One entry of the right-hand block of an estimation header.

    Parameters
    ----------
    label : str
        Text at the block's column (``"Number of obs"``, ``"Obs per group:"``).
    value : str or None
        The formatted number printed right-aligned at the end of the line; ``None`` prints the
        label alone, with no ``=``.
    sub : str
        Text that ends one column before ``=`` (``"min"`` of ``Obs per group``).
    indent : int
        Columns the label is moved right of the block column (``Iterations`` per chain: 4).
    fixed : bool
        Place ``=`` and the value at Stata's 78-column positions whatever the table width, as
        Stata does for the group block of a wide Bayesian header.
    """

    label: str = ""
    value: str | None = None
    sub: str = ""
    indent: int = 0
    fixed: bool = False


@dataclass(frozen=True)
class GroupInfo:
    """Group sizes of one grouping variable, as the header reports them."""

    name: str
    n_groups: int
    min: float
    avg: float
    max: float


@dataclass(frozen=True)
class Column:
    """A numeric column: its width (including the spaces before it) and its formatter."""

    width: int
    fmt: Callable[[float], str]


_g9 = partial(fmt_g, width=9)
COEF_COLUMNS = (
    Column(11, _g9),
    Column(11, _g9),
    Column(9, fmt_z),
    Column(8, fmt_p),
    Column(13, _g9),
    Column(12, _g9),
)
RE_COLUMNS = (Column(11, _g9), Column(11, _g9), Column(14, _g9), Column(12, _g9))


def as_row(obj: Row | Mapping[str, Any] | Sequence[Any]) -> Row:
    """Turn a row given as a :class:`Row`, a mapping or a ``(label, *values)`` tuple into a Row.

    Parameters
    ----------
    obj : Row, mapping or sequence
        A mapping takes the keys of :class:`Row`; a sequence is ``(label, value, ...)``.

    Returns
    -------
    Row
    """
    if isinstance(obj, Row):
        return obj
    if isinstance(obj, Mapping):
        return Row(**obj)
    label, *values = obj
    return Row(label=str(label), values=tuple(values))


def as_rows(rows: RowsLike) -> list[Row]:
    """Rows of a table from a sequence of rows (see :func:`as_row`) or a pandas DataFrame.

    A DataFrame gives one ``"param"`` row per index label, its columns in order as the values
    (so ``fit.summary_frame()`` can be passed as it is).

    Parameters
    ----------
    rows : sequence or DataFrame
        The rows.

    Returns
    -------
    list of Row
    """
    if hasattr(rows, "itertuples") and hasattr(rows, "columns"):
        return [Row(str(label), tuple(values)) for label, *values in rows.itertuples()]
    return [as_row(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Layout primitives
# ---------------------------------------------------------------------------------------------


def place(segments: Iterable[tuple[int, str]]) -> str:
    """Write texts at 1-based columns the way Stata's ``_col()`` does.

    Each text starts at its column, or straight after the text before it when the line has
    already passed that column (Stata never overwrites).

    Parameters
    ----------
    segments : iterable of (int, str)
        Column and text pairs, in order.

    Returns
    -------
    str
    """
    line = ""
    for column, text in segments:
        if len(line) < column - 1:
            line += " " * (column - 1 - len(line))
        line += text
    return line


def rule(width: int, bar: int | None = None) -> str:
    """A line of dashes, with ``+`` at 1-based column ``bar`` when given."""
    if bar is None:
        return "-" * width
    return "-" * (bar - 1) + "+" + "-" * (width - bar)


def _cell(value: Any, column: Column) -> str:
    if isinstance(value, str):
        text = value
    elif is_missing(value):
        text = MISSING
    else:
        text = column.fmt(value)
    return text.rjust(column.width)


def _cells(values: Sequence[Any], columns: Sequence[Column]) -> str:
    return "".join(_cell(v, c) for v, c in zip(values, columns, strict=False))


def _fit(label: str, width: int) -> str:
    """``label`` shortened to ``width`` as Stata does, inside ``var(...)``-like labels too."""
    if len(label) <= width:
        return label
    head, paren, rest = label.partition("(")
    if paren and rest.endswith(")") and head:
        names = rest[:-1].split(",")
        room = width - len(head) - 2 - (len(names) - 1)
        share = max(room // len(names), 5)
        inner = ",".join(abbreviate(n, share) for n in names)
        if len(head) + len(inner) + 2 <= width:
            return f"{head}({inner})"
    return abbreviate(label, width)


def _split_term(label: str, width: int) -> list[str]:
    """An interaction name too long for the label column, split after each ``#``."""
    if len(label) <= width or "#" not in label:
        return [_fit(label, width)]
    pieces = label.split("#")
    return [_fit(p + "#", width + 1) for p in pieces[:-1]] + [_fit(pieces[-1], width)]


# ---------------------------------------------------------------------------------------------
# Table bodies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Geometry of one table: label width, the bar's column, the numeric columns."""

    label_width: int
    columns: Sequence[Column]
    # Stata draws estimation tables with two engines that differ in small ways: its coefficient
    # tables print "0  (base)" and a blank line after any factor group not opening its block;
    # its matrix tables (every Bayesian table) print "(base)" alone and a blank line only after
    # a factor group showing several levels.
    matrix: bool = False

    @property
    def bar(self) -> int:
        return self.label_width + 2

    @property
    def width(self) -> int:
        return self.bar + sum(c.width for c in self.columns)


def _label_line(text: str, layout: Layout, flush: bool = False, indent: int = 0) -> str:
    lw = layout.label_width
    if flush:
        return text.rjust(lw + 1) + "|"
    return text.rjust(lw - indent) + " " * indent + " |"


def _row_lines(row: Row, layout: Layout) -> list[str]:
    """The lines that draw one row (several when a long interaction name is split)."""
    lw = layout.label_width
    if row.kind == "equation":
        return [_fit(row.label, lw + 1).ljust(lw + 1) + "|"]
    indent = 1 if row.kind == "level" else 0
    room = lw + 1 if row.flush else lw - indent
    names = _split_term(row.label, room) if row.kind in ("factor", "param") else [row.label]
    lines = [
        _label_line(n, layout, flush=True) if n.endswith("#") else _label_line(n, layout)
        for n in names[:-1]
    ]
    last = _label_line(_fit(names[-1], room), layout, row.flush, indent)
    if row.kind == "factor":
        return [*lines, last]
    if row.note is not None:
        first = row.values[0] if len(row.values) else 0
        value = "" if layout.matrix else _cell(first, layout.columns[0])
        return [*lines, f"{last}{value}  ({row.note})"]
    return [*lines, last + _cells(row.values, layout.columns)]


def _terms(rows: Sequence[Row]) -> list[list[Row]]:
    """Group rows into terms: a factor with its levels, or any other single row."""
    terms: list[list[Row]] = []
    for row in rows:
        if row.kind == "level" and terms and terms[-1][0].kind == "factor":
            terms[-1].append(row)
        else:
            terms.append([row])
    return terms


def _body(rows: Sequence[Row], layout: Layout) -> list[str]:
    """Body lines between the header rule and the bottom rule."""
    lines: list[str] = []
    blank = " " * (layout.bar - 1) + "|"
    separator = rule(layout.width, layout.bar)
    opens_block, gap_after = True, False
    for term in _terms(rows):
        head = term[0]
        if head.kind in ("separator", "equation"):
            if head.kind == "separator" or (lines and lines[-1] != separator):
                lines.append(separator)
            if head.kind == "equation":
                lines.extend(_row_lines(head, layout))
            opens_block, gap_after = True, False
            continue
        drawn = [line for row in term for line in _row_lines(row, layout)]
        multi = len(drawn) > 1
        if not opens_block and (multi or gap_after):
            lines.append(blank)
        lines.extend(drawn)
        several_levels = len(term) > 2
        gap_after = multi and (several_levels or (not layout.matrix and not opens_block))
        opens_block = False
    return lines


def table_lines(header: Sequence[str], rows: Sequence[Row], layout: Layout) -> list[str]:
    """Top rule, header lines, header rule, body, bottom rule."""
    return [
        rule(layout.width),
        *header,
        rule(layout.width, layout.bar),
        *_body(rows, layout),
        rule(layout.width),
    ]


def label_width_for(rows: Sequence[Row], minimum: int = 12, maximum: int = 32) -> int:
    """The label column Stata's matrix tables use: wide enough for the longest label."""
    longest = minimum
    for row in rows:
        extra = 1 if row.kind == "level" else 0
        longest = max(longest, len(row.label) + extra - (1 if row.kind == "equation" else 0))
    return min(longest, maximum)


def interval_title(level: float, word: str) -> str:
    """``[95% conf. interval]`` or ``[95% cred. interval]`` for ``word`` ``"conf."``/``"cred."``."""
    return f"[{level:g}% {word} interval]"


# ---------------------------------------------------------------------------------------------
# Frequentist tables
# ---------------------------------------------------------------------------------------------


def coefficient_table(
    depvar: str,
    rows: RowsLike,
    *,
    level: float = 95,
    stat: str = "z",
    coef_title: str = "Coefficient",
    vce_title: str | None = None,
) -> str:
    """The fixed-effects table of ``mixed``, ``melogit``, ... (78 columns).

    Parameters
    ----------
    depvar : str
        The dependent variable, shown right-aligned above the labels (abbreviated to 12).
    rows : sequence of Row, mapping or tuple
        Values in the order coefficient, std. err., z, P>|z|, lower, upper. A ``"base"``,
        ``"omitted"`` or ``"empty"`` note prints ``0  (base)``.
    level : float, default 95
        Confidence level shown in the interval's title.
    stat : str, default "z"
        ``"z"`` or ``"t"``: the statistic's column title and ``P>|z|`` / ``P>|t|``.
    coef_title : str, default "Coefficient"
        ``"Odds ratio"``, ``"IRR"``, ... for exponentiated coefficients.
    vce_title : str, optional
        A line above the standard errors, such as ``"Robust"`` (the title then reads
        ``std. err.`` as Stata 17 writes it under ``Robust``).

    Returns
    -------
    str
    """
    layout = Layout(12, COEF_COLUMNS)
    se_title = "std. err." if vce_title else "Std. err."
    titles = place(
        [
            (1, _fit(depvar, 12).rjust(12) + " |"),
            (max(26 - len(coef_title), 16), coef_title),
            (29, se_title),
            (44, stat),
            (49, f"P>|{stat}|"),
            (WIDTH + 1 - len(interval_title(level, "conf.")), interval_title(level, "conf.")),
        ]
    )
    header = [titles]
    if vce_title:
        header.insert(0, place([(14, "|"), (36 - len(vce_title), vce_title)]))
    return "\n".join(table_lines(header, as_rows(rows), layout))


def random_effects_table(
    sections: Sequence[Mapping[str, Any]],
    residual_rows: RowsLike = (),
    *,
    level: float = 95,
    title: str = "Random-effects parameters",
) -> str:
    """The random-effects table of ``mixed`` and of ``estat sd`` (78 columns).

    Parameters
    ----------
    sections : sequence of mapping
        One per random-effects level: ``{"title": "schid: Unstructured", "rows": [...]}`` with
        rows ``(label, estimate, std. err., lower, upper)`` such as
        ``("var(homework)", 16.37, 5.70, 8.28, 32.37)``. Missing values print ``.``.
    residual_rows : sequence, optional
        Rows below the last rule (``var(Residual)``, or ``sd(Residual)`` for ``estat sd``).
    level : float, default 95
        Confidence level shown in the interval's title.
    title : str, default "Random-effects parameters"
        The label column's title.

    Returns
    -------
    str
    """
    layout = Layout(28, RE_COLUMNS)
    rows: list[Row] = []
    for section in sections:
        rows.append(Row(label=str(section["title"]), kind="equation"))
        rows.extend(as_rows(section["rows"]))
    if len(residual_rows):
        rows.append(Row(kind="separator"))
        rows.extend(as_rows(residual_rows))
    ci = interval_title(level, "conf.")
    header = [
        place(
            [(3, title), (30, "|"), (34, "Estimate"), (45, "Std. err."), (WIDTH + 1 - len(ci), ci)]
        )
    ]
    return "\n".join(table_lines(header, rows, layout))


def icc_table(
    rows: RowsLike,
    *,
    level: float = 95,
    title: str = "Intraclass correlation",
) -> str:
    """The ``estat icc`` output: a title line, a blank line and the table.

    Parameters
    ----------
    rows : sequence
        ``(level, icc, std. err., lower, upper)`` per level, such as ``("schid", .51, .06, .40,
        .63)``; nested levels as Stata names them (``class|school``).
    level : float, default 95
        Confidence level shown in the interval's title.
    title : str, default "Intraclass correlation"
        The line above the table (``"Residual intraclass correlation"`` after ``melogit``).

    Returns
    -------
    str
    """
    layout = Layout(28, RE_COLUMNS)
    ci = interval_title(level, "conf.")
    header = [
        place(
            [
                (1, "Level".rjust(28) + " |"),
                (39, "ICC"),
                (45, "Std. err."),
                (WIDTH + 1 - len(ci), ci),
            ]
        )
    ]
    return "\n".join([title, "", *table_lines(header, as_rows(rows), layout)])


def lr_test_line(
    chi2: float,
    df: int,
    p: float,
    chibar: bool | None = None,
    *,
    versus: str = "linear model",
) -> str:
    """The likelihood-ratio test line under a ``mixed`` or ``me`` table.

    Parameters
    ----------
    chi2 : float
        The test statistic.
    df : int
        Degrees of freedom (the number of variance parameters tested).
    p : float
        Its p-value.
    chibar : bool, optional
        Print the boundary mixture form ``chibar2(01)`` with ``Prob >= chibar2``. By default, it
        is used when one parameter is tested (``df == 1``), as Stata does.
    versus : str, default "linear model"
        The comparison model (``"logistic model"``, ``"Poisson model"``).

    Returns
    -------
    str
        One line, right-aligned to 78 columns; the ``chi2(k)`` form adds a blank line and
        Stata's note that the test is conservative.
    """
    use_chibar = df == 1 if chibar is None else chibar
    if use_chibar:
        left = f"LR test vs. {versus}: chibar2(01) = {fmt_f(chi2, 2, 8)}"
        right = f"Prob >= chibar2 = {fmt_f(p, 4, 6)}"
    else:
        left = f"LR test vs. {versus}: chi2({df}) = {fmt_f(chi2, 2, 8)}"
        right = f"Prob > chi2 = {fmt_f(p, 4, 6)}"
    line = left + right.rjust(max(WIDTH - len(left), len(right) + 1))
    if use_chibar:
        return line
    return line + "\n\nNote: LR test is conservative and provided only for reference."


# ---------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------


def estimation_header(
    left_lines: Sequence[str],
    right_items: Sequence[HeaderItem | tuple[str, str | None] | None],
    *,
    width: int = WIDTH,
    label_col: int = 49,
    eq_col: int | None = None,
    left_bottom: Sequence[str] = (),
) -> str:
    """Stata's two-column header: titles on the left, ``label = value`` pairs on the right.

    Parameters
    ----------
    left_lines : sequence of str
        Left texts from the first line down (``"Mixed-effects ML regression"``,
        ``"Group variable: schid"``); ``""`` leaves a line's left side empty.
    right_items : sequence of HeaderItem, (label, value) or None
        Right entries from the first line down; ``None`` is an empty line; a tuple is
        ``HeaderItem(label, value)``.
    width : int, default 78
        The line width; values end at this column.
    label_col : int, default 49
        1-based column where right-hand labels start.
    eq_col : int, optional
        Column of ``=``; ``width - 11`` by default.
    left_bottom : sequence of str
        Left texts aligned with the last lines (``"Log likelihood = -1817.4205"``).

    Returns
    -------
    str
    """
    items = [HeaderItem(*i) if isinstance(i, tuple) else i for i in right_items]
    n_lines = max(len(left_lines) + len(left_bottom), len(items))
    left = list(left_lines) + [""] * (n_lines - len(left_lines) - len(left_bottom))
    left += list(left_bottom)
    items += [None] * (n_lines - len(items))
    eq = width - 11 if eq_col is None else eq_col
    return "\n".join(
        _header_line(text, item, width, label_col, eq).rstrip()
        for text, item in zip(left, items, strict=True)
    )


def _header_line(left: str, item: HeaderItem | None, width: int, label_col: int, eq: int) -> str:
    segments = [(1, left)]
    if item is not None:
        eq_here, value_col = (EQ_COL_78, VALUE_COL_78) if item.fixed else (eq, width - 9)
        if item.label:
            segments.append((label_col + item.indent, item.label))
        if item.sub:
            segments.append((eq_here - 1 - len(item.sub), item.sub))
        if item.value is not None:
            segments += [(eq_here, "="), (value_col, item.value.rjust(10))]
    return place(segments)


def obs_per_group_items(group: GroupInfo, *, fixed: bool = False) -> list[HeaderItem]:
    """The ``Obs per group:`` entry and its ``min``, ``avg``, ``max`` lines."""
    return [
        HeaderItem("Obs per group:", fixed=fixed),
        HeaderItem(sub="min", value=fmt_int(group.min), fixed=fixed),
        HeaderItem(sub="avg", value=fmt_f(group.avg, 1, comma=True), fixed=fixed),
        HeaderItem(sub="max", value=fmt_int(group.max), fixed=fixed),
    ]


def group_table(groups: Sequence[GroupInfo]) -> str:
    """The group-size table Stata prints in the header of a model with several levels."""
    lines = [
        rule(61),
        place([(17, "|"), (23, "No. of"), (36, "Observations per group")]),
        place([(2, "Group variable"), (17, "|"), (23, "groups"), (33, "Minimum")])
        + "    Average    Maximum",
        rule(61, 17),
    ]
    for g in groups:
        lines.append(
            abbreviate(g.name, 12).rjust(15)
            + " |"
            + fmt_int(g.n_groups).rjust(11)
            + fmt_int(g.min).rjust(11)
            + fmt_f(g.avg, 1, comma=True).rjust(11)
            + fmt_int(g.max).rjust(11)
        )
    lines.append(rule(61))
    return "\n".join(lines)


def mixed_header(
    title: str,
    *,
    nobs: int,
    groups: Sequence[GroupInfo] = (),
    wald: tuple[float, int, float] | None = None,
    loglik: float | None = None,
    loglik_label: str = "Log likelihood",
    integration: tuple[str, int] | None = None,
    me_layout: bool = False,
) -> str:
    """The header above a ``mixed`` or ``me`` coefficient table.

    Parameters
    ----------
    title : str
        ``"Mixed-effects ML regression"``, ``"Mixed-effects logistic regression"``, ...
    nobs : int
        Number of observations.
    groups : sequence of GroupInfo
        One grouping variable prints inline; several print Stata's group table.
    wald : (chi2, df, p), optional
        The model Wald test; NaN values print ``.``.
    loglik : float, optional
        The log likelihood, shown on the last line (``%10.0g``).
    loglik_label : str, default "Log likelihood"
        ``"Log restricted-likelihood"`` under REML, ``"Log pseudolikelihood"`` with weights.
    integration : (method, points), optional
        ``("mvaghermite", 7)`` prints the integration line of the ``me`` commands.
    me_layout : bool, default False
        The blank lines the ``me`` commands put around ``Obs per group`` and the integration line.

    Returns
    -------
    str
    """
    blocks = [_group_lines(title, nobs, groups, me_layout)]
    if len(groups) > 1:
        blocks.append(group_table(groups).splitlines())
    if integration is not None:
        item = HeaderItem("Integration pts.", fmt_int(integration[1]))
        blocks.append(_pairs([(f"Integration method: {integration[0]}", item)]))
    test: list[tuple[str, HeaderItem | None]] = []
    if wald is not None:
        chi2, df, p = wald
        test.append(("", HeaderItem(f"Wald chi2({df})", fmt_f(chi2, 2, 10))))
        test.append(("", HeaderItem("Prob > chi2", fmt_f(p, 4, 10))))
    if loglik is not None:
        text = f"{loglik_label} = {fmt_g(loglik, 10).rjust(10)}"
        test = test or [("", None)]
        test[-1] = (text, test[-1][1])
    if test:
        blocks.append(_pairs(test))
    # `mixed` prints its whole header as one block; `me` commands and group tables add gaps
    if me_layout or len(groups) > 1:
        return "\n\n".join("\n".join(block) for block in blocks)
    return "\n".join(line for block in blocks for line in block)


def _group_lines(title: str, nobs: int, groups: Sequence[GroupInfo], me_layout: bool) -> list[str]:
    """Title, number of observations and, for one grouping variable, its group sizes."""
    lines: list[tuple[str, HeaderItem | None]] = [
        (title, HeaderItem("Number of obs", fmt_int(nobs)))
    ]
    if len(groups) == 1:
        group = groups[0]
        item = HeaderItem("Number of groups", fmt_int(group.n_groups))
        lines.append((f"Group variable: {abbreviate(group.name, 14)}", item))
        if me_layout:
            lines.append(("", None))
        lines += [("", item) for item in obs_per_group_items(group)]
    return _pairs(lines)


def _pairs(lines: Sequence[tuple[str, HeaderItem | None]]) -> list[str]:
    """Lines of (left text, right item) pairs laid out by :func:`estimation_header`."""
    return estimation_header([t for t, _ in lines], [i for _, i in lines]).splitlines()
