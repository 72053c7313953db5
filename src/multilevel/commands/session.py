"""The interpreter: a session holding the data, the estimates and the output, running commands.

A :class:`Session` runs one command line at a time (:meth:`Session.execute`) or a whole do-file
(:meth:`Session.run_source`). Prefixes are handled here -- ``capture``, ``quietly``, ``noisily``,
``by``/``bysort`` -- and the command itself by the handler registered for its name (see
:mod:`multilevel.commands.registry`). A do-file stops at the first error, keeping what was printed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ..errors import MultilevelError
from . import expressions
from .errors import (
    RC_NO_DATA,
    RC_NO_ESTIMATES,
    RC_NOT_FOUND,
    CommandError,
    ExitRequest,
    return_code,
)
from .registry import ByPrefix, Call, check_by, lookup
from .syntax import Parts, Statement, find_top, resolve_word, statements, words

_WORD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")


class Output:
    """Where results go: standard output and, optionally, a log file.

    ``block`` prints a table or a paragraph after a blank line, as Stata separates its output from
    the command; ``line`` prints a short note (``(5 missing values generated)``) right below it.
    """

    def __init__(self, streams: list[TextIO] | None = None):
        self.streams = streams if streams is not None else [sys.stdout]
        self.quiet = False

    def _write(self, text: str, force: bool = False) -> None:
        if self.quiet and not force:
            return
        for stream in self.streams:
            stream.write(text)
            stream.flush()

    def line(self, text: str = "") -> None:
        self._write(text.rstrip("\n") + "\n")

    def block(self, text: str) -> None:
        self._write("\n" + str(text).rstrip("\n") + "\n")

    def echo(self, text: str) -> None:
        """A command as typed (shown even under ``quietly``, as in a Stata log)."""
        self._write(text + "\n", force=True)

    def error(self, text: str) -> None:
        self._write(text.rstrip("\n") + "\n", force=True)

    @contextlib.contextmanager
    def quietly(self, quiet: bool = True) -> Iterator[None]:
        before = self.quiet
        self.quiet = quiet
        try:
            yield
        finally:
            self.quiet = before


@dataclass
class Estimates:
    """A fitted model as the session keeps it: the result and how it was made."""

    result: Any
    command: str
    line: str
    sample: pd.Index | None = None


@dataclass
class Session:
    """State of one interactive or do-file session.

    Parameters
    ----------
    out
        Where output goes.
    graph_dir
        Folder the graphs are written to (``graph1.png``, ``graph2.png``, ...).
    """

    out: Output = field(default_factory=Output)
    graph_dir: Path = field(default_factory=Path.cwd)
    data: pd.DataFrame | None = None
    data_changed: bool = False
    current: Estimates | None = None
    stored: dict[str, Estimates] = field(default_factory=dict)
    graph_count: int = 0
    last_figure: Any = None
    rc: int = 0
    progress: bool = False
    traceback: bool = False

    # --- data ------------------------------------------------------------------------------
    @property
    def df(self) -> pd.DataFrame:
        if self.data is None or self.data.shape[1] == 0:
            raise CommandError("no variables defined", RC_NOT_FOUND)
        return self.data

    def set_data(self, df: pd.DataFrame, changed: bool = True) -> None:
        attrs = dict(self.data.attrs) if self.data is not None and not df.attrs else None
        self.data = df
        if attrs is not None:
            df.attrs.update(attrs)
        self.data_changed = self.data_changed or changed

    def context(self, df: pd.DataFrame | None = None, groups=None) -> expressions.Context:
        """What expressions are evaluated against: the data, ``_b[]`` of the estimates, ``_rc``."""
        data = self.data if df is None else df
        return expressions.Context(
            df=data, groups=groups, coefficient=self._coefficient, scalars={"_rc": self.rc}
        )

    def _coefficient(self, which: str, label: str) -> float:
        fit = self.estimates().result
        table = fit.params if which == "b" else getattr(fit, "se", None)
        if table is None or label not in table.index:
            raise CommandError(f"[{label}] not found", RC_NOT_FOUND)
        return float(table[label])

    def selection(self, parts: Parts, df: pd.DataFrame | None = None) -> np.ndarray:
        """Rows chosen by the ``if`` and ``in`` parts (all rows when neither is given)."""
        data = self.df if df is None else df
        mask = np.ones(len(data), dtype=bool)
        if parts.in_range:
            mask &= in_range_mask(parts.in_range, len(data))
        if parts.if_exp:
            mask &= expressions.condition(parts.if_exp, self.context(data))
        return mask

    def varlist(self, text: str | list[str], df: pd.DataFrame | None = None) -> list[str]:
        """Expand a varlist: abbreviations, wildcards (``u*``, ``s?``), ranges (``a-c``), ``_all``."""
        columns = [str(c) for c in (self.df if df is None else df).columns]
        items = words(text) if isinstance(text, str) else list(text)
        names: list[str] = []
        for item in items:
            for name in expand_name(item, columns):
                if name not in names:
                    names.append(name)
        return names

    # --- estimates -------------------------------------------------------------------------
    def estimates(self) -> Estimates:
        if self.current is None:
            raise CommandError("last estimates not found", RC_NO_ESTIMATES)
        return self.current

    # --- graphs ----------------------------------------------------------------------------
    def save_graph(self, figure, what: str = "") -> Path:
        """Write a figure as the next ``graph#.png`` and say where it went."""
        import matplotlib.pyplot as plt

        self.graph_count += 1
        self.graph_dir.mkdir(parents=True, exist_ok=True)
        path = self.graph_dir / f"graph{self.graph_count}.png"
        figure.savefig(path, dpi=100)
        if self.last_figure is not None and self.last_figure is not figure:
            plt.close(self.last_figure)
        self.last_figure = figure
        self.out.line(f"(graph saved as {display_path(path)}{': ' + what if what else ''})")
        return path

    # --- running commands ------------------------------------------------------------------
    def execute(self, text: str, by: ByPrefix | None = None) -> None:
        """Run one command line (prefixes included)."""
        match = _WORD.match(text)
        if match is None:
            if text.strip():
                raise CommandError(f"invalid command: {text.strip()}")
            return
        word, rest = match.group(1), text[match.end() :]
        prefix = resolve_word(word, _PREFIX_LENGTHS, "prefix")
        if prefix is not None:
            run_prefix = _PREFIXES[prefix]
            run_prefix(self, rest if prefix in ("by", "bysort") else rest.lstrip(": "), prefix)
            return
        entry = lookup(word)
        check_by(entry, by)
        with _package_warnings(self.out):
            entry.handler(self, Call(entry.name, rest.strip(), by))

    def run_statement(self, statement: Statement, echo: bool = True) -> None:
        if echo:
            for k, raw in enumerate(statement.lines):
                self.out.echo((". " if k == 0 else "> ") + raw.rstrip())
        if not statement.is_comment:
            self.execute(statement.text)
        if echo:
            self.out.echo("")

    def run_source(self, source: str, name: str = "do-file", echo: bool = True) -> None:
        """Run a do-file's text, echoing each command as a Stata log does.

        Raises
        ------
        StoppedError
            A command failed: its message and ``r(#);`` are printed, and the run stops there.
        """
        for statement in statements(source):
            try:
                self.run_statement(statement, echo)
            except ExitRequest:
                return
            except StoppedError:
                raise
            except MultilevelError as error:
                rc = self.report(error)
                self._stop(statement, name)
                raise StoppedError(rc, statement.number, name, error) from error
            except Exception as error:
                # A failure that is not a user error: say where, and keep it distinguishable.
                self.out.error(internal_error_text(error, statement.number, name, self.traceback))
                self._stop(statement, name)
                raise StoppedError(RC_INTERNAL, statement.number, name, error) from error

    def _stop(self, statement: Statement, name: str) -> None:
        self.out.error(f"\nend of do-file (stopped at line {statement.number} of {name})")

    def report(self, error: BaseException) -> int:
        """Print an error as Stata does (message, then ``r(#);``) and return its code."""
        rc = return_code(error)
        if not getattr(error, "reported", False):
            self.out.error(str(error))
            self.out.error(f"r({rc});")
        self.rc = rc
        return rc


RC_INTERNAL = 9999  # not a Stata code: a failure inside the package, not in the command


class StoppedError(Exception):
    """A do-file stopped by an error: its return code, line and file."""

    def __init__(self, rc: int, line: int, name: str, error: BaseException):
        super().__init__(f"error on line {line} of {name}: {str(error).splitlines()[0]}")
        self.rc, self.line, self.name, self.error = rc, line, name, error


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def _package_warnings(out: Output) -> Iterator[None]:
    """Show this package's warnings as notes in the output; keep library noise out of it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        if _from_package(warning):
            out.line(f"note: {warning.message}")


def _from_package(warning: warnings.WarningMessage) -> bool:
    return getattr(warning.category, "__module__", "").startswith("multilevel")


# ---------------------------------------------------------------------------------------------
# prefixes
# ---------------------------------------------------------------------------------------------


def _capture(session: Session, rest: str, word: str) -> None:
    with session.out.quietly():
        try:
            session.execute(rest)
            session.rc = 0
        except MultilevelError as error:
            session.rc = return_code(error)


def _quietly(session: Session, rest: str, word: str) -> None:
    with session.out.quietly():
        session.execute(rest)


def _noisily(session: Session, rest: str, word: str) -> None:
    with session.out.quietly(False):
        try:
            session.execute(rest)
        except MultilevelError as error:
            session.report(error)
            error.reported = True
            raise


def _by_prefix(session: Session, rest: str, word: str) -> None:
    colon = find_top(rest, ":")
    if colon < 0:
        raise CommandError(f"{word}: the command is missing (by varlist: command)")
    head, command_text = rest[:colon], rest[colon + 1 :]
    head, _, options = head.partition(",")
    sort = word == "bysort" or options.strip() == "sort"
    if options.strip() not in ("", "sort"):
        raise CommandError(f"option {options.strip()} not allowed with by")
    variables = tuple(session.varlist(head))
    if not variables:
        raise CommandError("by: varlist required")
    session.execute(command_text, ByPrefix(variables, sort))


_PREFIXES = {
    "capture": _capture,
    "quietly": _quietly,
    "noisily": _noisily,
    "by": _by_prefix,
    "bysort": _by_prefix,
}
# Shortest abbreviation of each prefix, as Stata allows.
_PREFIX_LENGTHS = {"capture": 3, "quietly": 3, "noisily": 1, "by": 2, "bysort": 3}


# ---------------------------------------------------------------------------------------------
# varlists and ranges
# ---------------------------------------------------------------------------------------------


def expand_name(item: str, columns: list[str]) -> list[str]:
    """The variables one varlist element names."""
    if item == "_all":
        return list(columns)
    if any(ch in item for ch in "*?"):
        found = [c for c in columns if fnmatch.fnmatchcase(c, item)]
        if not found:
            raise CommandError(f"variable {item} not found", RC_NOT_FOUND)
        return found
    if "-" in item:
        first, last = (expand_name(part, columns)[0] for part in item.split("-", 1))
        i, j = columns.index(first), columns.index(last)
        if j < i:
            raise CommandError(f"{item}: {last} comes before {first} in the data")
        return columns[i : j + 1]
    if item in columns:
        return [item]
    matches = [c for c in columns if c.startswith(item)]
    if len(matches) == 1:
        return matches
    if matches:
        raise CommandError(f"{item} ambiguous abbreviation", RC_NOT_FOUND)
    raise CommandError(f"variable {item} not found", RC_NOT_FOUND)


def in_range_mask(text: str, n: int) -> np.ndarray:
    """Rows of ``in #``, ``in #/#``, ``in f/l``, ``in -5/l`` (Stata's 1-based positions)."""
    first_text, _, last_text = text.strip().partition("/")
    first = _position(first_text, n)
    last = _position(last_text, n) if last_text else first
    if first > last or first < 1 or last > n:
        if n == 0:
            raise CommandError("no observations", RC_NO_DATA)
        raise CommandError(f"in {text}: observation numbers out of range (1 to {n})", 198)
    mask = np.zeros(n, dtype=bool)
    mask[first - 1 : last] = True
    return mask


def _position(text: str, n: int) -> int:
    text = text.strip().lower()
    if text in ("f", "first"):
        return 1
    if text in ("l", "last"):
        return n
    try:
        number = int(text)
    except ValueError:
        raise CommandError(f"in range: {text!r} is not an observation number") from None
    return n + number + 1 if number < 0 else number


def internal_error_text(error: BaseException, line: int | None, name: str, show_trace: bool) -> str:
    """The message for an unexpected failure (a bug, not bad input), naming where it happened."""
    where = f" on line {line} of {name}" if line is not None else ""
    text = f"internal error{where}: {type(error).__name__}: {error}"
    if show_trace:
        text += "\n" + "".join(traceback.format_exception(error))
    return text
