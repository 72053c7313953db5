"""Errors of the command language, each with the return code Stata gives the same problem.

A do-file stops at the first error: the message is printed, then ``r(#);`` as Stata prints it.
Errors raised by the library (:mod:`multilevel.errors`) are shown the same way, with the code
Stata uses for that kind of problem.
"""

from __future__ import annotations

from ..errors import DataError, EstimationError, MultilevelError, OptionError, SpecSyntaxError

# Stata's return codes for the problems the command layer reports.
RC_SYNTAX = 198  # invalid syntax, option not allowed
RC_UNRECOGNIZED = 199  # unrecognized command
RC_NOT_FOUND = 111  # variable not found
RC_ALREADY_DEFINED = 110  # variable already defined
RC_TYPE_MISMATCH = 109
RC_NO_DATA = 2000  # no observations
RC_FILE_NOT_FOUND = 601
RC_FILE_EXISTS = 602
RC_NO_ESTIMATES = 301  # last estimates not found
RC_ESTIMATES_NOT_FOUND = 111
RC_NOT_SORTED = 5
RC_DATA_CHANGED = 4  # no; data in memory would be lost
RC_BY_NOT_ALLOWED = 190
RC_DATA_PROBLEM = 459
RC_ESTIMATION = 430


class CommandError(MultilevelError):
    """A command that cannot run as written; ``rc`` is Stata's return code for it."""

    def __init__(self, message: str, rc: int = RC_SYNTAX):
        super().__init__(message)
        self.rc = rc


class UnsupportedError(CommandError):
    """A Stata command, subcommand or option that this package does not run (yet)."""

    def __init__(self, message: str, rc: int = RC_UNRECOGNIZED):
        super().__init__(message, rc)


class ExitRequest(Exception):  # noqa: N818 - a request, not a failure
    """The ``exit`` command: leave the do-file or the prompt."""


def return_code(error: BaseException) -> int:
    """Stata's return code for an error raised while running a command."""
    if isinstance(error, CommandError):
        return error.rc
    if isinstance(error, (SpecSyntaxError, OptionError)):
        return RC_SYNTAX
    if isinstance(error, DataError):
        return RC_DATA_PROBLEM
    if isinstance(error, EstimationError):
        return RC_ESTIMATION
    return RC_SYNTAX
