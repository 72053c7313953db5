"""Helpers for the command-language tests: an in-process session, and the CLI as a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multilevel.commands import Output, Session, statements

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"


class Console:
    """A session whose output is kept in a string; ``run`` returns what one call printed."""

    def __init__(self, graph_dir: Path):
        self.buffer = io.StringIO()
        self.session = Session(out=Output([self.buffer]), graph_dir=graph_dir)

    def run(self, text: str) -> str:
        """Run commands (errors propagate as raised); returns what they printed."""
        start = self.buffer.tell()
        for statement in statements(text):
            if not statement.is_comment:
                self.session.execute(statement.text)
        return self.buffer.getvalue()[start:]

    @property
    def df(self) -> pd.DataFrame:
        return self.session.df


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return Console(tmp_path)


@pytest.fixture
def small(console: Console) -> Console:
    """A session holding a small hand-made data set (values chosen for closed-form answers)."""
    console.session.data = pd.DataFrame(
        {
            "g": np.array([1, 1, 2, 2, 2, 3], dtype="float32"),
            "x": np.array([1.0, 2.0, 3.0, np.nan, 5.0, 6.0], dtype="float32"),
            "name": ["a", "b", "c", "", "e", "f"],
        }
    )
    return console


def run_cli(args: list[str], cwd: Path, stdin: str | None = None, timeout: float = 600):
    """``python -m multilevel.commands.cli ARGS`` in ``cwd``; returns the completed process."""
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "multilevel.commands.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
