"""The table of commands: each Stata command word maps to one small handler function.

A handler takes the session and a :class:`Call` (the arguments after the command word and any
``by`` prefix), reads its arguments, calls the library, and prints the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import RC_BY_NOT_ALLOWED, RC_UNRECOGNIZED, CommandError, UnsupportedError

if TYPE_CHECKING:
    from .session import Session


@dataclass(frozen=True)
class ByPrefix:
    """``by varlist:`` or ``bysort varlist:`` written before a command."""

    variables: tuple[str, ...]
    sort: bool = False


@dataclass(frozen=True)
class Call:
    """One command as the handler receives it."""

    name: str
    args: str
    by: ByPrefix | None = None


Handler = Callable[["Session", Call], None]


@dataclass(frozen=True)
class Command:
    name: str
    least: int
    handler: Handler
    by: bool = False


COMMANDS: dict[str, Command] = {}

# Stata commands that are commonly met in do-files but not run here: named in the error.
KNOWN_UNSUPPORTED = (
    "margins",
    "marginsplot",
    "lincom",
    "nlcom",
    "contrast",
    "pwcompare",
    "regress",
    "logit",
    "tabulate",
    "list",
    "save",
    "merge",
    "append",
    "reshape",
    "collapse",
    "svmat",
    "svyset",
    "svy",
    "bayesmh",
    "bayespredict",
    "menl",
    "metobit",
    "meintreg",
    "mestreg",
    "stset",
    "histogram",
    "search",
)


def command(name: str, least: int | None = None, by: bool = False) -> Callable[[Handler], Handler]:
    """Register ``handler`` for command ``name``, abbreviable to ``least`` characters."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, len(name) if least is None else least, handler, by)
        return handler

    return register


def lookup(word: str) -> Command:
    """The command that ``word`` names (in full or abbreviated).

    Raises
    ------
    UnsupportedError
        No such command, or one this package does not run; the message names it.
    """
    if word in COMMANDS:
        return COMMANDS[word]
    matches = [c for c in COMMANDS.values() if c.name.startswith(word) and len(word) >= c.least]
    if len(matches) == 1:
        return matches[0]
    if word in KNOWN_UNSUPPORTED:
        raise UnsupportedError(f"command {word} is not supported yet", RC_UNRECOGNIZED)
    raise UnsupportedError(f"command {word} is unrecognized", RC_UNRECOGNIZED)


def check_by(entry: Command, by: ByPrefix | None) -> None:
    if by is not None and not entry.by:
        raise CommandError(f"{entry.name} may not be combined with by", RC_BY_NOT_ALLOWED)
