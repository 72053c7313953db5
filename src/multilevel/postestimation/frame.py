"""A DataFrame that prints as Stata's output: numbers for code, the table for people."""

from __future__ import annotations

import pandas as pd


class StataFrame(pd.DataFrame):
    """A pandas DataFrame carrying the text Stata would print for it.

    ``print(frame)`` and ``str(frame)`` show the Stata layout held in ``frame.text``; ``repr`` and
    every pandas operation behave as for a plain DataFrame (derived frames are plain DataFrames,
    since their rows no longer match the text).
    """

    _metadata = ["text"]

    @property
    def _constructor(self):
        return pd.DataFrame

    def __str__(self) -> str:
        return getattr(self, "text", "") or pd.DataFrame.__repr__(self)


def stata_frame(frame: pd.DataFrame, text: str) -> StataFrame:
    """Attach Stata's rendering ``text`` to the numbers in ``frame``.

    Parameters
    ----------
    frame
        The numbers.
    text
        What Stata prints for them.

    Returns
    -------
    StataFrame
    """
    out = StataFrame(frame)
    out.text = text
    return out
