"""Bayesian postestimation: ``bayesstats``, ``bayestest interval``, ``bayesgraph diagnostics``.

Each calls the matching method of the current (or stored) Bayesian results: ``summary_text``,
``ess_text``, ``grubin_text``, ``ic_text``, ``test_interval_text`` and ``graph_diagnostics``.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import CommandError, UnsupportedError
from .postestimation import expand_stored, stored_estimates
from .registry import Call, command
from .session import Session
from .syntax import (
    Option,
    find_top,
    number_option,
    option_table,
    parse_options,
    parse_parts,
    resolve_word,
    words,
)

_SUBCOMMAND = re.compile(r"\s*([A-Za-z_]\w*)(.*)$", re.DOTALL)


def bayes_results(session: Session, command_text: str) -> Any:
    """The current estimates, which must come from ``bayes``."""
    current = session.estimates()
    if current.command != "bayes":
        raise CommandError(f"{command_text}: the last estimates are not from bayes", 301)
    return current.result


def _subcommand(call: Call, table: dict[str, int], what: str) -> tuple[str, str]:
    match = _SUBCOMMAND.match(call.args)
    name = resolve_word(match.group(1), table, "subcommand") if match else None
    if name is None:
        given = match.group(1) if match else ""
        raise UnsupportedError(
            f"{what} {given} is not supported yet ({what} {' | '.join(table)})".replace("  ", " ")
        )
    return name, match.group(2)


# ---------------------------------------------------------------------------------------------
# bayesstats
# ---------------------------------------------------------------------------------------------

_BAYESSTATS = {"summary": 4, "ess": 3, "grubin": 6, "ic": 2}


@command("bayesstats", 10)
def bayesstats(session: Session, call: Call) -> None:
    name, rest = _subcommand(call, _BAYESSTATS, "bayesstats")
    parts = parse_parts(rest, allowed=())
    _BAYESSTATS_HANDLERS[name](session, parts.main, parts.options)


def _summary(session: Session, main: str, options_text: str | None) -> None:
    table = option_table(Option("hpd"), Option("clevel", 6, "required"))
    options = parse_options(options_text, table, "bayesstats summary")
    result = bayes_results(session, "bayesstats summary")
    clevel = number_option(options["clevel"], "clevel") if "clevel" in options else None
    text = result.summary_text(*words(main), hpd=True if "hpd" in options else None, clevel=clevel)
    session.out.block(text)


def _ess(session: Session, main: str, options_text: str | None) -> None:
    parse_options(options_text, {}, "bayesstats ess")
    if main:
        raise UnsupportedError(
            "bayesstats ess of chosen parameters is not supported yet; use bayesstats ess"
        )
    session.out.block(bayes_results(session, "bayesstats ess").ess_text())


def _grubin(session: Session, main: str, options_text: str | None) -> None:
    parse_options(options_text, {}, "bayesstats grubin")
    if main:
        raise UnsupportedError(
            "bayesstats grubin of chosen parameters is not supported yet; use bayesstats grubin"
        )
    session.out.block(bayes_results(session, "bayesstats grubin").grubin_text())


def _ic(session: Session, main: str, options_text: str | None) -> None:
    options = parse_options(options_text, option_table(Option("diconly", 3)), "bayesstats ic")
    names = expand_stored(session, words(main)) if main else ["."]
    results = []
    for name in names:
        entry = stored_estimates(session, name)
        if entry.command != "bayes":
            raise CommandError(f"bayesstats ic: estimates {name} are not from bayes")
        results.append(entry.result)
    shown = ["active" if n == "." else n for n in names]
    text = results[0].ic_text(*results[1:], names=shown, diconly="diconly" in options)
    session.out.block(text)


_BAYESSTATS_HANDLERS = {"summary": _summary, "ess": _ess, "grubin": _grubin, "ic": _ic}


# ---------------------------------------------------------------------------------------------
# bayestest interval
# ---------------------------------------------------------------------------------------------

_INTERVAL_OPTIONS = option_table(
    Option("lower", 5, "required"), Option("upper", 5, "required"), Option("joint", 5)
)


def _bound(options: dict, name: str) -> float | None:
    return number_option(options[name], name) if name in options else None


def _interval_specs(main: str) -> list:
    """Each test: a spec (using the common bounds) or ``(spec, lower, upper)`` written in parens."""
    specs: list = []
    for item in words(main):
        comma = find_top(item[1:-1], ",") if item.startswith("(") and item.endswith(")") else -1
        if comma < 0:
            specs.append(item)
            continue
        inner = item[1:-1]
        own = parse_options(inner[comma + 1 :], _INTERVAL_OPTIONS, "bayestest interval")
        specs.append((inner[:comma].strip(), _bound(own, "lower"), _bound(own, "upper")))
    return specs


@command("bayestest", 9)
def bayestest(session: Session, call: Call) -> None:
    _subcommand(call, {"interval": 5}, "bayestest")
    parts = parse_parts(_SUBCOMMAND.match(call.args).group(2), allowed=())
    options = parse_options(parts.options, _INTERVAL_OPTIONS, "bayestest interval")
    if not parts.main:
        raise CommandError("bayestest interval: give a parameter or expression")
    result = bayes_results(session, "bayestest interval")
    text = result.test_interval_text(
        *_interval_specs(parts.main),
        lower=_bound(options, "lower"),
        upper=_bound(options, "upper"),
        joint="joint" in options,
    )
    session.out.block(text)


# ---------------------------------------------------------------------------------------------
# bayesgraph
# ---------------------------------------------------------------------------------------------

# Look-and-feel options of Stata graphs: accepted, the PNG keeps its own style.
_GRAPH_LOOK = option_table(Option("scheme", 3, "required"), Option("name", 4, "required"))


@command("bayesgraph", 10)
def bayesgraph(session: Session, call: Call) -> None:
    kind, rest = _subcommand(call, {"diagnostics": 4}, "bayesgraph")
    parts = parse_parts(rest, allowed=())
    parse_options(parts.options, _GRAPH_LOOK, f"bayesgraph {kind}")
    result = bayes_results(session, "bayesgraph")
    params = words(parts.main)
    if not params:
        raise CommandError("bayesgraph diagnostics: give parameters or _all")
    if params in (["_all"], ["all"]):
        names = list(result.param_names)
    else:
        names = [p.strip().strip("{}").replace(" ", "") for p in params]
    import matplotlib

    matplotlib.use("Agg")
    figures = result.graph_diagnostics(*params)
    for name, figure in zip(names, figures, strict=True):
        session.save_graph(figure, "{" + name + "}")
