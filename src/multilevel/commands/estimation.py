"""Estimation commands: ``mixed``, the ``me`` family, and the ``bayes`` prefix.

Each command hands its model text to the library function of the same name (``mixed`` ->
:func:`multilevel.mixed`), so the command and the Python call mean the same thing. ``if`` and
``in`` written in the fixed-effects equation select the rows first. Typing the command alone
replays the last estimates; ``bayes`` alone, or with display options (``bayes, melabel hpd
showreffects``), replays the last Bayesian results.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import RC_FILE_EXISTS, RC_NO_ESTIMATES, CommandError, UnsupportedError
from .registry import Call, command
from .session import Estimates, Session
from .syntax import (
    Option,
    Parts,
    find_top,
    number_option,
    option_table,
    parse_options,
    parse_parts,
    resolve_word,
    split_options,
    split_top,
    words,
)

# Estimation commands and the shortest abbreviation Stata accepts for each.
ESTIMATION_COMMANDS = {
    "mixed": 3,
    "melogit": 7,
    "meprobit": 8,
    "mecloglog": 9,
    "meologit": 8,
    "meoprobit": 9,
    "mepoisson": 9,
    "menbreg": 7,
    "meglm": 5,
}

BAYES_OPTIONS = option_table(
    Option("rseed", 5, "required"),
    Option("nchains", 7, "required"),
    Option("burnin", 6, "required"),
    Option("mcmcsize", 8, "required"),
    Option("thinning", 8, "required"),
    Option("saving", 6, "required"),
    Option("prior", 5, "required", repeat=True),
    Option("normalprior", 11, "required"),
    Option("igammaprior", 11, "required"),
    Option("iwishartprior", 13, "required"),
    Option("initial", 4, "required"),
    Option("clevel", 6, "required"),
    Option("hpd"),
    Option("melabel"),
    Option("showreffects"),
    Option("nomodelsummary", 11),
    Option("notable"),
    Option("dots"),
    Option("nodots"),
)
REPLAY_OPTIONS = ("clevel", "hpd", "melabel", "showreffects", "nomodelsummary", "notable")


# ---------------------------------------------------------------------------------------------
# the model text and its sample
# ---------------------------------------------------------------------------------------------


def split_sample(model: str) -> tuple[str, str | None, str | None]:
    """Take ``if`` and ``in`` out of the fixed-effects equation of a model.

    ``"math homework if schtype == 1 || schid:"`` -> ``("math homework || schid:", "schtype ==
    1", None)``; the rest of the text is left as written for the model parser.
    """
    segments = split_top(model, "||")
    parts = parse_parts(segments[0], allowed=("if", "in"))
    first = parts.main + (f", {parts.options}" if parts.options is not None else "")
    rebuilt = " || ".join([first, *(s.strip() for s in segments[1:])])
    return rebuilt, parts.if_exp, parts.in_range


def estimation_data(session: Session, if_exp: str | None, in_range: str | None) -> pd.DataFrame:
    """The rows an estimation command uses (all of them without ``if``/``in``)."""
    df = session.df
    if if_exp is None and in_range is None:
        return df
    mask = session.selection(Parts(if_exp=if_exp, in_range=in_range))
    return df[mask]


def library_function(name: str):
    """The library's function for an estimation command, or ``None`` where there is none yet."""
    package = importlib.import_module("multilevel")
    for owner in (package, importlib.import_module("multilevel.api")):
        function = getattr(owner, name, None)
        if callable(function):
            return function
    return None


def _sample_index(result: Any) -> pd.Index | None:
    design = getattr(result, "design", None)
    return getattr(design, "row_index", None)


# ---------------------------------------------------------------------------------------------
# frequentist estimation and replay
# ---------------------------------------------------------------------------------------------


def _replay(session: Session, name: str, options: str | None) -> None:
    current = session.current
    if current is None or current.command != name:
        raise CommandError(
            f"last estimates not found (no {name} results to replay)", RC_NO_ESTIMATES
        )
    parse_options(options, {}, name)
    session.out.block(str(current.result))


def estimate(session: Session, call: Call) -> None:
    """``mixed ...``, ``melogit ...``, ...: fit the model and print Stata's table."""
    head, options = split_options(call.args)
    if not head:
        _replay(session, call.name, options)
        return
    function = library_function(call.name)
    if function is None:
        raise UnsupportedError(f"command {call.name} is not supported yet")
    model, if_exp, in_range = split_sample(call.args)
    data = estimation_data(session, if_exp, in_range)
    fit = function(model, data=data)
    session.current = Estimates(fit, call.name, f"{call.name} {call.args}", _sample_index(fit))
    session.out.block(str(fit))


for _name, _least in ESTIMATION_COMMANDS.items():
    command(_name, _least)(estimate)


# ---------------------------------------------------------------------------------------------
# bayes
# ---------------------------------------------------------------------------------------------


def _prior_pairs(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        comma = find_top(value, ",")
        if comma < 0:
            raise CommandError(f"prior({value}): expected prior(parameters, distribution)")
        pairs.append((value[:comma].strip(), value[comma + 1 :].strip()))
    return pairs


def _initial_values(text: str) -> dict[str, float]:
    items = words(text)
    if len(items) % 2:
        raise CommandError(f"initial({text}): expected pairs of {{parameter}} value")
    return {items[i]: number_option(items[i + 1], "initial") for i in range(0, len(items), 2)}


def bayes_settings(options: dict, progress: bool) -> dict[str, Any]:
    """Keyword arguments of the Bayesian estimation from the prefix's options."""
    settings: dict[str, Any] = {"progress": progress and "nodots" not in options}
    for name in ("rseed", "nchains", "burnin", "mcmcsize", "thinning"):
        if name in options:
            settings[name] = number_option(options[name], name, integer=True)
    if "normalprior" in options:
        settings["normalprior"] = number_option(options["normalprior"], "normalprior")
    for name in ("igammaprior", "iwishartprior"):
        if name in options:
            settings[name] = options[name]
    if "prior" in options:
        settings["prior"] = _prior_pairs(options["prior"])
    if "initial" in options:
        settings["initial"] = _initial_values(options["initial"])
    if "clevel" in options:
        settings["clevel"] = number_option(options["clevel"], "clevel")
    settings["hpd"] = "hpd" in options
    settings["melabel"] = "melabel" in options
    return settings


def fit_bayes_model(name: str, model: str, data: pd.DataFrame, settings: dict) -> Any:
    """Sample the posterior of ``name model`` with the library's ``bayes()``."""
    function = library_function("bayes")
    if function is None:
        raise UnsupportedError(f"bayes: {name} is not supported yet")
    return function(f"{name} {model}", data=data, **settings)


def _saving_target(value: str) -> tuple[Path, bool]:
    name, _, suboption = value.partition(",")
    replace = suboption.strip() == "replace"
    if suboption.strip() and not replace:
        raise CommandError(f"saving({value}): the only suboption is replace")
    path = Path(name.strip().strip('"'))
    path = path.with_suffix(".nc") if not path.suffix else path
    if path.exists() and not replace:
        raise CommandError(f"file {path} already exists", RC_FILE_EXISTS)
    return path, replace


def _show_bayes(session: Session, result: Any, options: dict) -> None:
    parts = []
    if "nomodelsummary" not in options:
        parts.append(result.model_summary())
    if "notable" not in options:
        clevel = number_option(options["clevel"], "clevel") if "clevel" in options else None
        parts.append(
            result.table(
                melabel=True if "melabel" in options else None,
                hpd=True if "hpd" in options else None,
                clevel=clevel,
                showreffects="showreffects" in options,
            )
        )
    if parts:
        session.out.block("\n\n".join(parts))


@command("bayes")
def bayes(session: Session, call: Call) -> None:
    """``bayes[, options]: mixed ...`` estimates; ``bayes[, display options]`` replays."""
    colon = find_top(call.args, ":")
    head = call.args if colon < 0 else call.args[:colon]
    head = head.strip()
    if head and not head.startswith(","):
        raise CommandError(f"bayes: expected 'bayes, options: command', got {call.args}")
    options = parse_options(head[1:], BAYES_OPTIONS, "bayes")
    if colon < 0:
        _bayes_replay(session, options)
        return
    inner = call.args[colon + 1 :].strip()
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)", inner)
    name = resolve_word(match.group(1), ESTIMATION_COMMANDS, "command") if match else None
    if name is None:
        raise UnsupportedError(
            f"bayes: {inner.split()[0] if inner else 'a command'} is not supported"
        )
    saving = _saving_target(options["saving"]) if "saving" in options else None
    model, if_exp, in_range = split_sample(inner[match.end() :])
    data = estimation_data(session, if_exp, in_range)
    result = fit_bayes_model(name, model, data, bayes_settings(options, session.progress))
    session.current = Estimates(result, "bayes", f"bayes {call.args}", _sample_index(result))
    _show_bayes(session, result, options)
    if saving is not None:
        written = result.save(saving[0])
        session.out.line(f"file {written} saved.")


def _bayes_replay(session: Session, options: dict) -> None:
    current = session.current
    if current is None or current.command != "bayes":
        raise CommandError("last estimates not found (no bayes results to replay)", RC_NO_ESTIMATES)
    extra = sorted(set(options) - set(REPLAY_OPTIONS))
    if extra:
        raise CommandError(
            f"option {extra[0]}() is an estimation option; it cannot be used in replay"
        )
    _show_bayes(session, current.result, options)


@command("bayesparallel", 13)
def bayesparallel(session: Session, call: Call) -> None:
    """``bayesparallel[, nproc(#)]: bayes ...``: the chains of ``bayes`` already run in parallel."""
    colon = find_top(call.args, ":")
    if colon < 0:
        raise CommandError("bayesparallel: expected 'bayesparallel, nproc(#): bayes ...'")
    head = call.args[:colon].strip()
    parse_options(
        head[1:] if head.startswith(",") else head,
        option_table(Option("nproc", 5, "required")),
        "bayesparallel",
    )
    session.execute(call.args[colon + 1 :])
