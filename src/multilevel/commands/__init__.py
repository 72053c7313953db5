"""The command language: Stata commands in do-files and at a prompt, run on the Python API.

A command line is parsed (:mod:`.syntax`), looked up in the table of commands
(:mod:`.registry`), and handed to a small handler that calls the same library functions a Python
user would call and prints the result. The session (:class:`Session`) holds the data, the current
and stored estimates, and the graphs. See :mod:`.cli` for the ``multilevel`` program.

>>> from multilevel.commands import Session
>>> session = Session()
>>> session.execute("use math")                                              # doctest: +SKIP
>>> session.execute("mixed math homework || schid: homework, cov(un)")      # doctest: +SKIP
"""

from . import (  # noqa: F401  (each module registers its commands)
    bayes_commands,
    data_commands,
    egen,
    estimation,
    graphs,
    postestimation,
    predict,
)
from .errors import CommandError, UnsupportedError
from .registry import COMMANDS
from .session import Output, Session, StoppedError
from .syntax import statements

__all__ = [
    "COMMANDS",
    "CommandError",
    "Output",
    "Session",
    "StoppedError",
    "UnsupportedError",
    "statements",
]
