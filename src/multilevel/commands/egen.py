"""``egen``: new variables from functions of groups of observations.

``egen newvar = fcn(arguments) [if] [in] [, options]``, also under ``by varlist:`` or with the
``by(varlist)`` option. Functions: ``tag(varlist)``, ``rank(exp)`` (options ``field``, ``track``,
``unique``), ``group(varlist)``, and the group summaries ``mean``, ``total``, ``count``, ``min``,
``max``, ``sd`` of an expression. Observations left out by ``if``/``in`` get missing (``tag``: 0),
as in Stata.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from . import expressions
from .data_commands import as_column, by_groups, check_new_name, parse_assignment, storage_dtype
from .errors import RC_TYPE_MISMATCH, CommandError, UnsupportedError
from .registry import Call, command
from .session import Session
from .syntax import Option, option_table, parse_options, parse_parts

_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*", re.DOTALL)
_BY = Option("by", 2, "required")
_MISSING = Option("missing", 1)


def _numbers(session: Session, exp: str, groups) -> np.ndarray:
    values = expressions.evaluate(exp, session.context(None, groups))
    if expressions.is_string(values):
        raise CommandError("type mismatch: egen needs a numeric expression", RC_TYPE_MISMATCH)
    return values


def _tag(session, argument, chosen, groups, options) -> np.ndarray:
    df = session.df
    names = session.varlist(argument)
    keys = df[names].reset_index(drop=True)
    eligible = chosen.copy()
    if "missing" not in options:
        eligible &= ~keys.isna().any(axis=1).to_numpy()
    if groups is not None:
        keys.insert(0, "__group", groups)
    first = ~keys[eligible].duplicated().to_numpy()
    tags = np.zeros(len(df))
    tags[np.flatnonzero(eligible)[first]] = 1.0
    return tags


def _rank(session, argument, chosen, groups, options) -> np.ndarray:
    values = _numbers(session, argument, groups)
    eligible = chosen & ~np.isnan(values)
    series = pd.Series(values[eligible])
    codes = pd.Series(np.zeros(len(values), int) if groups is None else groups)[eligible]
    grouped = series.groupby(codes.to_numpy())
    if "field" in options:
        ranks = grouped.rank(method="min", ascending=False)
    elif "track" in options:
        ranks = grouped.rank(method="min")
    elif "unique" in options:
        ranks = grouped.rank(method="first")
    else:
        ranks = grouped.rank(method="average")
    out = np.full(len(values), np.nan)
    out[eligible] = ranks.to_numpy()
    return out


def _group(session, argument, chosen, groups, options) -> np.ndarray:
    if groups is not None:
        raise CommandError("egen group() may not be combined with by")
    names = session.varlist(argument)
    keys = session.df[names].reset_index(drop=True)
    eligible = chosen.copy()
    if "missing" not in options:
        eligible &= ~keys.isna().any(axis=1).to_numpy()
    numbers = keys[eligible].groupby(names, sort=True, dropna=False).ngroup().to_numpy() + 1
    out = np.full(len(keys), np.nan)
    out[eligible] = numbers
    return out


def _summary(how: str) -> Callable:
    def body(session, argument, chosen, groups, options) -> np.ndarray:
        values = _numbers(session, argument, groups)
        codes = np.zeros(len(values), int) if groups is None else groups
        frame = pd.DataFrame({"g": codes[chosen], "x": values[chosen]})
        grouped = frame.groupby("g")["x"]
        if how == "sd":
            stat = grouped.std(ddof=1)
        elif how == "total":
            stat = grouped.sum(min_count=0)
        else:
            stat = getattr(grouped, how)()
        out = np.full(len(values), np.nan)
        out[chosen] = stat.reindex(codes[chosen]).to_numpy(dtype=float)
        return out

    return body


# function -> (body, options it takes, storage type of its result)
_FUNCTIONS: dict[str, tuple[Callable, tuple[Option, ...], str]] = {
    "tag": (_tag, (_MISSING,), "byte"),
    "rank": (_rank, (Option("field"), Option("track"), Option("unique")), "float"),
    "group": (_group, (_MISSING, Option("label")), "float"),
    "mean": (_summary("mean"), (), "float"),
    "total": (_summary("total"), (), "float"),
    "count": (_summary("count"), (), "float"),
    "min": (_summary("min"), (), "float"),
    "max": (_summary("max"), (), "float"),
    "sd": (_summary("sd"), (), "float"),
}


@command("egen", by=True)
def egen(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    storage, name, rhs = parse_assignment(parts.main, "egen")
    match = _CALL.fullmatch(rhs)
    if match is None:
        raise CommandError(f"egen: expected newvar = function(arguments), got {rhs}")
    function, argument = match.group(1), match.group(2).strip()
    if function not in _FUNCTIONS:
        known = ", ".join(f"{f}()" for f in _FUNCTIONS)
        raise UnsupportedError(f"egen function {function}() is not supported yet ({known})")
    body, allowed, default_type = _FUNCTIONS[function]
    options = parse_options(parts.options, option_table(*allowed, _BY), f"egen {function}()")
    if "label" in options:
        raise UnsupportedError("egen group(), label is not supported yet")
    check_new_name(session, name)
    groups = _groups(session, call, options)
    chosen = session.selection(parts)
    values = body(session, argument, chosen, groups, options)
    if function == "tag":
        values = np.where(chosen, values, 0.0)
    dtype = storage_dtype(storage or default_type, values)
    df = session.df.copy()
    df[name] = as_column(values, dtype, df.index)
    session.set_data(df)
    n_missing = int(np.isnan(values).sum())
    if n_missing:
        session.out.line(f"({n_missing:,} missing value{'s' if n_missing != 1 else ''} generated)")


def _groups(session: Session, call: Call, options: dict) -> np.ndarray | None:
    if call.by is not None and "by" in options:
        raise CommandError("egen: give by: or by(), not both")
    if call.by is not None:
        return by_groups(session, call.by)
    if "by" in options:
        names = session.varlist(options["by"])
        keys = session.df[names]
        return keys.groupby(names, sort=True, dropna=False).ngroup().to_numpy()
    return None
