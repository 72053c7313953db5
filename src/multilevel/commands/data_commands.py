"""Data commands: use, describe, label, summarize, generate, replace, keep, drop, sort, count.

``use name`` looks for ``name`` (then ``name.dta``, ``name.csv``) in the working directory, and
falls back to the data set of that name shipped with the package (``multilevel.datasets``), as
Stata's ``sysuse`` does; so ``use math`` runs anywhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import datasets
from ..io import describe as describe_text
from ..io import label_list, read_data
from ..results.stata_format import abbreviate, fmt_g, fmt_int
from . import expressions
from .errors import (
    RC_ALREADY_DEFINED,
    RC_DATA_CHANGED,
    RC_FILE_NOT_FOUND,
    RC_NOT_SORTED,
    RC_TYPE_MISMATCH,
    CommandError,
    ExitRequest,
    UnsupportedError,
)
from .registry import ByPrefix, Call, command
from .session import Session
from .syntax import (
    Option,
    find_top,
    option_table,
    parse_options,
    parse_parts,
    resolve_word,
    split_top,
    unquote,
    words,
)

# Stata's storage types, and the dtype a new variable of each gets.
STORAGE_TYPES = {
    "byte": "Int8",
    "int": "Int16",
    "long": "Int32",
    "float": "float32",
    "double": "float64",
}


# ---------------------------------------------------------------------------------------------
# reading data
# ---------------------------------------------------------------------------------------------


def _data_file(name: str) -> tuple[Path | None, str, bool]:
    """The file ``use name`` reads, how to show it, and whether it is a shipped data set.

    The working directory comes first; a plain name not found there falls back to the data set of
    that name shipped with the package.
    """
    given = Path(name).expanduser()
    candidates = [given] if given.suffix else [given.with_suffix(".dta"), given.with_suffix(".csv")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate, str(candidate), False
    if given.parent == Path(".") and given.stem.lower() in {n.lower() for n in datasets.names()}:
        shipped = datasets.path(given.stem)
        return shipped, shipped.name, True
    return None, str(candidates[0]), False


def load_data(session: Session, name: str, clear: bool, shipped_only: bool = False) -> None:
    """Replace the data in memory with a file (or a shipped data set)."""
    if session.data is not None and session.data_changed and not clear:
        raise CommandError("no; dataset in memory has changed since last saved", RC_DATA_CHANGED)
    if shipped_only:
        file = datasets.path(name)
        shown, shipped = file.name, True
    else:
        file, shown, shipped = _data_file(name)
    if file is None:
        raise CommandError(f"file {shown} not found", RC_FILE_NOT_FOUND)
    df = read_data(file)
    if "stata" in df.attrs:
        df.attrs["stata"]["filename"] = shown
    df.attrs["source"] = shown
    session.data = df
    session.data_changed = False
    if shipped and not shipped_only:
        session.out.line(f"(using the {file.stem} data set shipped with multilevel)")


@command("use", 1)
def use(session: Session, call: Call) -> None:
    parts = parse_parts(call.args, allowed=())
    if not parts.main:
        raise CommandError("use: filename required")
    options = parse_options(parts.options, option_table(Option("clear")), "use")
    if find_top(parts.main, " using ") >= 0 or parts.main.startswith("using"):
        raise UnsupportedError("use varlist using filename is not supported yet; use filename")
    load_data(session, unquote(parts.main), bool(options.get("clear")))


@command("sysuse", 3)
def sysuse(session: Session, call: Call) -> None:
    parts = parse_parts(call.args, allowed=())
    options = parse_options(parts.options, option_table(Option("clear")), "sysuse")
    load_data(session, unquote(parts.main), bool(options.get("clear")), shipped_only=True)


@command("import", 3)
def import_data(session: Session, call: Call) -> None:
    sub, _, rest = call.args.partition(" ")
    if resolve_word(sub, {"delimited": 3}, "subcommand") != "delimited":
        raise UnsupportedError(
            f"import {sub} is not supported yet; import delimited reads .csv files"
        )
    parts = parse_parts(rest, allowed=("using",))
    options = parse_options(parts.options, option_table(Option("clear")), "import delimited")
    name = unquote(parts.using or parts.main)
    file = Path(name)
    if not file.is_file():
        raise CommandError(f"file {name} not found", RC_FILE_NOT_FOUND)
    if session.data is not None and session.data_changed and not options.get("clear"):
        raise CommandError("no; dataset in memory has changed since last saved", RC_DATA_CHANGED)
    session.set_data(read_data(file), changed=False)
    session.data_changed = False


@command("clear")
def clear(session: Session, call: Call) -> None:
    if call.args and call.args.strip() not in ("all", "*"):
        raise UnsupportedError(f"clear {call.args} is not supported yet")
    session.data, session.data_changed = None, False
    if call.args:
        session.current, session.stored = None, {}


# ---------------------------------------------------------------------------------------------
# describing data
# ---------------------------------------------------------------------------------------------


@command("describe", 1)
def describe(session: Session, call: Call) -> None:
    parts = parse_parts(call.args, allowed=())
    parse_options(parts.options, {}, "describe")
    df = session.df
    if parts.main:
        df = df[session.varlist(parts.main)]
    session.out.block(describe_text(df).rstrip("\n"))


@command("label", 2)
def label(session: Session, call: Call) -> None:
    sub, _, rest = call.args.strip().partition(" ")
    choice = resolve_word(sub, {"list": 1, "variable": 3}, "subcommand")
    if choice == "list":
        names = words(rest) or None
        text = label_list(session.df, names)
        session.out.block(text.rstrip("\n"))
    elif choice == "variable":
        name, _, text = rest.strip().partition(" ")
        column = session.varlist([name])[0]
        session.df.attrs.setdefault("variable_labels", {})[column] = unquote(text)
    else:
        raise UnsupportedError(f"label {sub} is not supported yet (label list, label variable)")


_SUMMARY_RULE = "-" * 13 + "+" + "-" * 57


@command("summarize", 2)
def summarize(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    table = option_table(Option("separator", 3, "required"))
    options = parse_options(parts.options, table, "summarize")
    df = session.df
    names = session.varlist(parts.main) if parts.main else [str(c) for c in df.columns]
    rows = df[session.selection(parts)]
    separator = int(options.get("separator", 5))
    lines = [
        "    Variable |        Obs        Mean    Std. dev.       Min        Max",
        _SUMMARY_RULE,
    ]
    for k, name in enumerate(names):
        if k and separator and k % separator == 0:
            lines.append(_SUMMARY_RULE)
        lines.append(_summary_line(name, rows[name]))
    session.out.block("\n".join(lines))


def _summary_line(name: str, column: pd.Series) -> str:
    values = expressions.column_values(column)
    label = f"{abbreviate(name, 12):>12} |"
    if expressions.is_string(values):
        return label + f"{0:>11}"
    present = values[~np.isnan(values)]
    if not len(present):
        return label + f"{0:>11}"
    sd = float(np.std(present, ddof=1)) if len(present) > 1 else np.nan
    cells = f"{fmt_int(len(present)):>11}{fmt_g(present.mean()):>12}"
    cells += f"{fmt_g(sd) if len(present) > 1 else '.':>12}"
    return label + cells + f"{fmt_g(present.min()):>11}{fmt_g(present.max()):>11}"


@command("count", 3)
def count(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    parse_options(parts.options, {}, "count")
    if parts.main:
        raise CommandError(f"count takes no varlist: {parts.main}")
    session.out.line(f"  {int(session.selection(parts).sum()):,}")


@command("display", 2)
def display(session: Session, call: Call) -> None:
    pieces = []
    for segment, literal in _display_segments(call.args):
        if literal:
            pieces.append(segment)
            continue
        ctx = session.context()
        if ctx.df is not None and not len(ctx.df):
            ctx.df = None
        # A variable in a display expression means its first observation, as in Stata.
        value = expressions.evaluate(segment, ctx)[0]
        pieces.append(value if isinstance(value, str) else fmt_g(value, 10))
    session.out.line("".join(pieces))


def _display_segments(text: str) -> list[tuple[str, bool]]:
    """A ``display`` line as (text, is a string literal) pieces: quoted text at the top level is
    printed as it is, everything between is an expression."""
    segments: list[tuple[str, bool]] = []
    buffer, depth, i = "", 0, 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise CommandError(f"unmatched quote in: {text}", 132)
            if depth == 0:
                if buffer.strip():
                    segments.append((buffer.strip(), False))
                buffer = ""
                segments.append((text[i + 1 : end], True))
            else:
                buffer += text[i : end + 1]
            i = end + 1
            continue
        depth += char in "([{"
        depth -= char in ")]}"
        buffer += char
        i += 1
    if buffer.strip():
        segments.append((buffer.strip(), False))
    return segments


# ---------------------------------------------------------------------------------------------
# generate and replace
# ---------------------------------------------------------------------------------------------


def parse_assignment(text: str, what: str) -> tuple[str | None, str, str]:
    """``[type] name = exp`` -> (type, name, exp)."""
    position = _assignment_sign(text)
    if position < 0:
        raise CommandError(f"{what}: = exp required (e.g. {what} y = 2*x)")
    target = text[:position].split()
    if len(target) == 2:
        storage, name = target
    elif len(target) == 1:
        storage, name = None, target[0]
    else:
        raise CommandError(f"{what}: expected [type] newvar = exp, got {text[:position].strip()}")
    return storage, name, text[position + 1 :].strip()


def _assignment_sign(text: str) -> int:
    for i, char in enumerate(text):
        if (
            char == "="
            and (i + 1 >= len(text) or text[i + 1] != "=")
            and text[i - 1 : i] not in ("=", "!", "~", "<", ">")
        ):
            return i
    return -1


def by_groups(session: Session, by: ByPrefix | None) -> np.ndarray | None:
    """Group numbers of the rows under ``by`` (sorting first for ``bysort``)."""
    if by is None:
        return None
    df = session.df
    if by.sort:
        sort_data(session, list(by.variables))
        df = session.df
    keys = df[list(by.variables)]
    order = keys.sort_values(list(by.variables), kind="mergesort", na_position="last").index
    if not order.equals(df.index):
        raise CommandError("not sorted (use bysort, or sort first)", RC_NOT_SORTED)
    return keys.groupby(list(by.variables), sort=False, dropna=False).ngroup().to_numpy()


def storage_dtype(storage: str | None, values: np.ndarray) -> str:
    """The dtype of a new variable: its written type, else float (Stata's default) or a string."""
    if expressions.is_string(values):
        if storage and not storage.startswith("str"):
            raise CommandError(
                "type mismatch: a string expression for a numeric variable", RC_TYPE_MISMATCH
            )
        return "object"
    if storage is None:
        return "float32"
    if storage.startswith("str"):
        raise CommandError(
            "type mismatch: a numeric expression for a string variable", RC_TYPE_MISMATCH
        )
    if storage not in STORAGE_TYPES:
        raise CommandError(f"unknown storage type {storage}")
    return STORAGE_TYPES[storage]


def as_column(values: np.ndarray, dtype: str, index: pd.Index) -> pd.Series:
    """Values stored as a Stata type would hold them (integer types truncate)."""
    if dtype.startswith("Int"):
        return pd.Series(np.trunc(values), index=index).astype("Float64").astype(dtype)
    return pd.Series(values, index=index).astype(dtype)


def check_new_name(session: Session, name: str) -> None:
    if not name.replace("_", "a").isalnum() or name[0].isdigit() or len(name) > 32:
        raise CommandError(f"{name} invalid name")
    if name in session.df.columns:
        raise CommandError(f"variable {name} already defined", RC_ALREADY_DEFINED)


@command("generate", 1, by=True)
def generate(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    parse_options(parts.options, {}, "generate")
    storage, name, exp = parse_assignment(parts.main, "generate")
    check_new_name(session, name)
    groups = by_groups(session, call.by)
    df = session.df
    values = expressions.evaluate(exp, session.context(df, groups))
    chosen = session.selection(parts)
    dtype = storage_dtype(storage, values)
    missing = "" if dtype == "object" else np.nan
    values = np.where(chosen, values, missing)
    column = as_column(values.astype(float) if dtype != "object" else values, dtype, df.index)
    df = df.copy()
    df[name] = column
    session.set_data(df)
    n_missing = (
        int((values == "").sum())
        if dtype == "object"
        else int(np.isnan(values.astype(float)).sum())
    )
    if n_missing:
        session.out.line(f"({n_missing:,} missing value{'s' if n_missing != 1 else ''} generated)")


@command("replace", by=True)
def replace(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    parse_options(parts.options, {}, "replace")
    storage, name, exp = parse_assignment(parts.main, "replace")
    if storage is not None:
        raise CommandError("replace: a storage type is not allowed")
    groups = by_groups(session, call.by)
    df = session.df
    if name not in df.columns:
        raise CommandError(f"variable {name} not found", 111)
    new = expressions.evaluate(exp, session.context(df, groups))
    old = expressions.column_values(df[name])
    if expressions.is_string(new) != expressions.is_string(old):
        raise CommandError("type mismatch", RC_TYPE_MISMATCH)
    chosen = session.selection(parts)
    result = np.where(chosen, new, old)
    changed = _changes(old, result)
    df = df.copy()
    dtype = str(df[name].dtype)
    if dtype.startswith(("Int", "int")) and not _integral(result):
        session.out.line(f"(variable {name} was {dtype.lower()} now float)")
        dtype = "float32"
    df[name] = as_column(result, "object" if expressions.is_string(result) else dtype, df.index)
    sorted_by = df.attrs.get("stata", {}).get("sorted_by", [])
    if name in sorted_by and changed.any():
        df.attrs["stata"]["sorted_by"] = sorted_by[: sorted_by.index(name)]
    session.set_data(df)
    to_missing = int((changed & _missing(result)).sum())
    note = f", {to_missing:,} to missing" if to_missing else ""
    n = int(changed.sum())
    session.out.line(f"({n:,} real change{'s' if n != 1 else ''} made{note})")


def _missing(values: np.ndarray) -> np.ndarray:
    return values == "" if expressions.is_string(values) else np.isnan(values.astype(float))


def _changes(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    if expressions.is_string(old):
        return old != new
    both_missing = np.isnan(old) & np.isnan(new.astype(float))
    return (old != new) & ~both_missing


def _integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.trunc(finite)))


# ---------------------------------------------------------------------------------------------
# keep, drop, sort
# ---------------------------------------------------------------------------------------------


def _keep_or_drop(session: Session, call: Call, keep: bool) -> None:
    parts = parse_parts(call.args)
    parse_options(parts.options, {}, call.name)
    df = session.df
    if parts.main and (parts.if_exp or parts.in_range):
        raise CommandError(f"{call.name}: give either a varlist or if/in, not both")
    if parts.main:
        names = session.varlist(parts.main)
        kept = names if keep else [c for c in df.columns if c not in names]
        session.set_data(df[kept].copy())
        return
    if not (parts.if_exp or parts.in_range):
        raise CommandError(f"{call.name}: varlist, if or in required")
    chosen = session.selection(parts)
    rows = chosen if keep else ~chosen
    deleted = int((~rows).sum())
    session.set_data(df[rows].copy())
    session.out.line(f"({deleted:,} observation{'s' if deleted != 1 else ''} deleted)")


@command("keep")
def keep(session: Session, call: Call) -> None:
    _keep_or_drop(session, call, keep=True)


@command("drop")
def drop(session: Session, call: Call) -> None:
    _keep_or_drop(session, call, keep=False)


@command("sort")
def sort(session: Session, call: Call) -> None:
    parts = parse_parts(call.args, allowed=())
    parse_options(parts.options, option_table(Option("stable")), "sort")
    names = session.varlist(parts.main)
    if not names:
        raise CommandError("sort: varlist required")
    sort_data(session, names)


def sort_data(session: Session, names: list[str]) -> None:
    """Sort the data (missing values last, ties kept in order) and record the sort order."""
    df = session.df.sort_values(names, kind="mergesort", na_position="last")
    df.attrs.setdefault("stata", {})["sorted_by"] = list(names)
    session.set_data(df)


# ---------------------------------------------------------------------------------------------
# session housekeeping
# ---------------------------------------------------------------------------------------------


@command("version", 4)
def version(session: Session, call: Call) -> None:
    """Accepted so do-files written for Stata run; the output follows Stata 17 whatever is given."""
    head = split_top(call.args, ":")[0].strip()
    if head and not head.replace(".", "").isdigit():
        raise CommandError(f"version {head}: a version number is required")


@command("set")
def set_command(session: Session, call: Call) -> None:
    setting = words(call.args)
    if len(setting) >= 1 and setting[0] == "more":
        return
    raise UnsupportedError(f"set {call.args.strip()} is not supported yet")


@command("exit")
def exit_command(session: Session, call: Call) -> None:
    raise ExitRequest()


@command("do")
def do(session: Session, call: Call) -> None:
    name = unquote(parse_parts(call.args, allowed=()).main)
    file = Path(name)
    if not file.suffix:
        file = file.with_suffix(".do")
    if not file.is_file():
        raise CommandError(f"file {file} not found", RC_FILE_NOT_FOUND)
    session.run_source(file.read_text(encoding="utf-8"), str(file))
