"""The ``multilevel`` program: run a do-file, or type commands at a prompt.

::

    multilevel run analysis.do                 # run a do-file, printing Stata-style output
    multilevel run analysis.do --log out.log   # ... and write the same output to a log file
    multilevel                                 # the prompt: type commands, `exit` leaves

Graphs go to the working directory as ``graph1.png``, ``graph2.png``, ... (``--graph-dir`` picks
another folder). The exit status is 0 when every command ran, 1 when a command failed (its message
and line are printed), 2 when the package itself failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import __version__
from ..errors import MultilevelError
from .errors import ExitRequest
from .session import RC_INTERNAL, Output, Session, StoppedError, internal_error_text
from .syntax import statements

HISTORY_FILE = Path.home() / ".multilevel_history"
BANNER = f"multilevel {__version__}: Stata-style multilevel models. Type exit to leave."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multilevel",
        description="Run Stata-style do-files of multilevel models, or type commands at a prompt.",
    )
    parser.add_argument("--version", action="version", version=f"multilevel {__version__}")
    sub = parser.add_subparsers(dest="action")
    run = sub.add_parser("run", help="run a do-file")
    run.add_argument("dofile", type=Path, help="the do-file to run")
    for target in (run, parser):
        target.add_argument("--log", type=Path, help="also write the output to this file")
        target.add_argument(
            "--graph-dir",
            type=Path,
            default=None,
            help="folder for graphs (default: working directory)",
        )
        target.add_argument(
            "--traceback", action="store_true", help="show Python tracebacks of internal errors"
        )
    return parser


def _session(log, graph_dir: Path | None, traceback: bool) -> Session:
    streams = [sys.stdout] + ([log] if log is not None else [])
    return Session(
        out=Output(streams),
        graph_dir=graph_dir or Path.cwd(),
        progress=sys.stderr.isatty(),
        traceback=traceback,
    )


def run_file(
    dofile: Path,
    log_path: Path | None = None,
    graph_dir: Path | None = None,
    traceback: bool = False,
) -> int:
    """Run a do-file; returns the exit status (0 ran, 1 a command failed, 2 internal failure)."""
    if not dofile.is_file():
        print(f"multilevel: file {dofile} not found", file=sys.stderr)
        return 1
    source = dofile.read_text(encoding="utf-8")
    log = log_path.open("w", encoding="utf-8") if log_path else None
    try:
        session = _session(log, graph_dir, traceback)
        session.run_source(source, dofile.name)
    except StoppedError as stopped:
        print(f"multilevel: {stopped}", file=sys.stderr)
        return 2 if stopped.rc == RC_INTERNAL else 1
    finally:
        if log is not None:
            log.close()
    return 0


def _read_command(prompt: str = ". ") -> str:
    """One command from the prompt, lines ending in ``///`` continued on the next."""
    text = input(prompt)
    while text.rstrip().endswith("///"):
        text = text.rstrip()[:-3] + " " + input("> ")
    return text


def _load_history() -> None:
    try:
        import readline
    except ImportError:  # not on every platform; the prompt works without history
        return
    if HISTORY_FILE.is_file():
        readline.read_history_file(HISTORY_FILE)
    import atexit

    atexit.register(_save_history, readline)


def _save_history(readline) -> None:
    try:
        readline.set_history_length(1000)
        readline.write_history_file(HISTORY_FILE)
    except OSError:
        pass


def interactive(
    log_path: Path | None = None, graph_dir: Path | None = None, traceback: bool = False
) -> int:
    """The prompt: read commands until ``exit`` or end of input."""
    log = log_path.open("w", encoding="utf-8") if log_path else None
    session = _session(log, graph_dir, traceback)
    if sys.stdin.isatty():
        _load_history()
        print(BANNER)
    try:
        while True:
            try:
                text = _read_command()
            except EOFError:
                break
            except KeyboardInterrupt:
                print()
                continue
            if log is not None:
                log.write(f". {text}\n")
            if not _run_typed(session, text):
                break
    finally:
        if log is not None:
            log.close()
    return 0


def _run_typed(session: Session, text: str) -> bool:
    """Run one typed command; ``False`` when it asked to leave."""
    for statement in statements(text):
        if statement.is_comment:
            continue
        try:
            session.execute(statement.text)
        except ExitRequest:
            return False
        except MultilevelError as error:
            session.report(error)
        except Exception as error:  # a bug in the package: report it, keep the session
            session.out.error(internal_error_text(error, None, "", session.traceback))
        session.out.echo("")
    return True


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``multilevel`` program."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = _parser().parse_args(argv)
    if args.action == "run":
        return run_file(args.dofile, args.log, args.graph_dir, args.traceback)
    return interactive(args.log, args.graph_dir, args.traceback)


if __name__ == "__main__":
    sys.exit(main())
