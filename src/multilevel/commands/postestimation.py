"""Postestimation commands: ``estat``, ``estimates``, ``lrtest``, ``test`` (``predict``: predict.py).

Each calls the method of the same name on the current estimates (``estat sd`` ->
``fit.estat_sd()``, ``test homework = 1`` -> ``fit.test("homework = 1")``); a result without that
method gets a clear error rather than an approximation.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pandas as pd

from ..results.tables import icc_table
from .errors import RC_ESTIMATES_NOT_FOUND, CommandError, UnsupportedError
from .registry import Call, command
from .session import Estimates, Session
from .syntax import Option, option_table, parse_options, parse_parts, resolve_word, words


def method_of(session: Session, name: str, command_text: str):
    """The current estimates' method ``name``, or an error naming the command that needs it."""
    current = session.estimates()
    method = getattr(current.result, name, None)
    if not callable(method):
        raise UnsupportedError(f"{command_text} is not supported after {current.command} yet", 321)
    return method


# ---------------------------------------------------------------------------------------------
# estat
# ---------------------------------------------------------------------------------------------

_ESTAT = {"sd": 2, "icc": 3, "ic": 2}


@command("estat")
def estat(session: Session, call: Call) -> None:
    match = re.match(r"\s*([A-Za-z_]\w*)(.*)$", call.args, re.DOTALL)
    if match is None:
        raise CommandError("estat: subcommand required (estat sd, estat icc, estat ic)")
    sub, rest = match.groups()
    name = resolve_word(sub, _ESTAT, "subcommand")
    if name is None:
        raise UnsupportedError(f"estat {sub} is not supported yet (estat sd, estat icc, estat ic)")
    parts = parse_parts(rest, allowed=())
    parse_options(parts.options, {}, f"estat {name}")
    if parts.main:
        raise CommandError(f"estat {name} takes no arguments: {parts.main}")
    fit = session.estimates().result
    result = method_of(session, f"estat_{name}", f"estat {name}")()
    session.out.block(_estat_text(fit, name, result))


def _estat_text(fit: Any, name: str, result: Any) -> str:
    """What ``estat`` prints: the result's own Stata text, or the ICC table drawn from its numbers."""
    text = getattr(result, "text", None)
    if text or not isinstance(result, pd.DataFrame):
        return str(text or result)
    if name == "icc" and list(result.columns[:4]) == ["icc", "se", "lower", "upper"]:
        # after the me commands Stata reports latent-scale ("residual") intraclass correlations
        rows = [
            (str(level), *values)
            for level, values in zip(result.index, result.to_numpy(), strict=True)
        ]
        title = (
            "Intraclass correlation"
            if fit.spec.command == "mixed"
            else "Residual intraclass correlation"
        )
        return icc_table(rows, level=getattr(fit, "level", 95), title=title)
    return result.to_string()


# ---------------------------------------------------------------------------------------------
# estimates
# ---------------------------------------------------------------------------------------------

_ESTIMATES = {"store": 3, "restore": 1, "dir": 3, "drop": 4, "clear": 5, "replay": 1}


@command("estimates", 3)
def estimates(session: Session, call: Call) -> None:
    sub, _, rest = call.args.strip().partition(" ")
    name = resolve_word(sub, _ESTIMATES, "subcommand") if sub else None
    if name is None:
        raise UnsupportedError(f"estimates {sub} is not supported yet ({', '.join(_ESTIMATES)})")
    parts = parse_parts(rest, allowed=())
    parse_options(
        parts.options,
        option_table(Option("nocopy")) if name == "store" else {},
        f"estimates {name}",
    )
    _ESTIMATES_HANDLERS[name](session, words(parts.main))


def _store(session: Session, names: list[str]) -> None:
    if len(names) != 1 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", names[0]):
        raise CommandError("estimates store: one name required")
    session.stored[names[0]] = session.estimates()


def stored_estimates(session: Session, name: str) -> Estimates:
    """The estimates stored under ``name`` (``.`` means the current ones)."""
    if name == ".":
        return session.estimates()
    if name not in session.stored:
        raise CommandError(f"estimation result {name} not found", RC_ESTIMATES_NOT_FOUND)
    return session.stored[name]


def expand_stored(session: Session, patterns: list[str]) -> list[str]:
    """Stored names matching ``m*``-style patterns, in the order they were stored."""
    names: list[str] = []
    for pattern in patterns:
        if pattern == ".":
            session.estimates()
            found = ["."]
        elif any(ch in pattern for ch in "*?"):
            found = [n for n in session.stored if fnmatch.fnmatchcase(n, pattern)]
            if not found:
                raise CommandError(f"estimation result {pattern} not found", RC_ESTIMATES_NOT_FOUND)
        else:
            stored_estimates(session, pattern)
            found = [pattern]
        names += [n for n in found if n not in names]
    return names


def _restore(session: Session, names: list[str]) -> None:
    if len(names) != 1:
        raise CommandError("estimates restore: one name required")
    session.current = stored_estimates(session, names[0])
    session.out.line(f"(results {names[0]} are active now)")


def _dir(session: Session, names: list[str]) -> None:
    chosen = expand_stored(session, names) if names else list(session.stored)
    rule = "-" * 60
    lines = [
        rule,
        f"{'Name':>12} | {'Command':<12} {'Depvar':<12} {'Obs':>8}",
        "-" * 13 + "+" + "-" * 46,
    ]
    for name in chosen:
        entry = session.stored[name]
        result = entry.result
        depvar = getattr(getattr(result, "spec", None), "response", "") or getattr(
            getattr(result, "layout", None), "depvar", ""
        )
        lines.append(
            f"{name:>12} | {entry.command:<12} {depvar:<12} {getattr(result, 'nobs', ''):>8}"
        )
    lines.append(rule)
    session.out.block("\n".join(lines))


def _drop(session: Session, names: list[str]) -> None:
    for name in expand_stored(session, names):
        session.stored.pop(name, None)


def _clear(session: Session, names: list[str]) -> None:
    session.stored.clear()


def _replay(session: Session, names: list[str]) -> None:
    for name in expand_stored(session, names or ["."]):
        rule = "-" * 78
        session.out.block(f"{rule}\nModel {name}\n{rule}")
        session.out.block(str(stored_estimates(session, name).result))


_ESTIMATES_HANDLERS = {
    "store": _store,
    "restore": _restore,
    "dir": _dir,
    "drop": _drop,
    "clear": _clear,
    "replay": _replay,
}


# ---------------------------------------------------------------------------------------------
# lrtest and test
# ---------------------------------------------------------------------------------------------


@command("lrtest", 3)
def lrtest(session: Session, call: Call) -> None:
    parts = parse_parts(call.args, allowed=())
    parse_options(parts.options, {}, "lrtest")
    names = words(parts.main)
    if not 1 <= len(names) <= 2:
        raise CommandError(
            "lrtest: give one or two models (lrtest m1 m2, or lrtest m1 for m1 against .)"
        )
    if len(names) == 1:
        names.append(".")
    first, second = (stored_estimates(session, n).result for n in names)
    method = getattr(first, "lrtest", None)
    if not callable(method):
        raise UnsupportedError("lrtest is not supported for these estimates yet", 321)
    session.out.block(str(method(second, names=tuple(names))))


@command("test", 2)
def test(session: Session, call: Call) -> None:
    text, _, options = call.args.partition(",")
    parse_options(options or None, {}, "test")
    if not text.strip():
        raise CommandError("test: give a hypothesis (test homework = 1)")
    result = method_of(session, "test", "test")(text.strip())
    session.out.block(str(result))
