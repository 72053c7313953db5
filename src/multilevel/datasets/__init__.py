"""Data sets that ship with the package, and simulators of data with known parameters.

>>> from multilevel import datasets
>>> datasets.names()
['cbpp', 'Dyestuff', 'math', 'Orthodont', 'Pastes', 'Penicillin', 'sleepstudy', 'wine']
>>> datasets.load("sleepstudy").shape
(180, 3)

``data/SOURCES.md`` names where each one comes from. CSV files are read with pandas' defaults:
factors stored as text stay text, factors whose labels are numbers (``sleepstudy.Subject``,
``cbpp.herd``) come back as integers. ``math`` is a Stata file read by
:func:`multilevel.io.read_data`, which keeps the value labels in ``df.attrs``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..io import read_data
from .simulate import simulate_crossed, simulate_mixed

__all__ = ["load", "names", "path", "simulate_crossed", "simulate_mixed"]

_DATA_DIR = Path(__file__).parent / "data"
_EXTENSIONS = (".csv", ".dta")


def _files() -> dict[str, Path]:
    """Shipped data files by lower-case name."""
    return {
        file.stem.lower(): file
        for file in _DATA_DIR.iterdir()
        if file.is_file() and file.suffix in _EXTENSIONS
    }


def names() -> list[str]:
    """Names of the shipped data sets, as :func:`load` takes them.

    Returns
    -------
    list of str
        The names in their usual spelling (``Dyestuff``, ``sleepstudy``), sorted without regard
        to case.
    """
    return sorted((file.stem for file in _files().values()), key=str.lower)


def path(name: str) -> Path:
    """The file of a shipped data set.

    Parameters
    ----------
    name
        A name from :func:`names`, in any case.

    Returns
    -------
    pathlib.Path
        The ``.csv`` or ``.dta`` file inside the installed package.

    Raises
    ------
    DataError
        No data set has that name; the message lists those that exist.
    """
    file = _files().get(str(name).lower())
    if file is None:
        raise DataError(f"no data set named {name!r}; available: {', '.join(names())}")
    return file


def load(name: str) -> pd.DataFrame:
    """Load a shipped data set.

    Parameters
    ----------
    name
        A name from :func:`names`, in any case (``"sleepstudy"``, ``"dyestuff"``, ``"math"``).

    Returns
    -------
    pandas.DataFrame
        A fresh frame on every call. Stata files keep their labels in ``attrs`` as
        :func:`multilevel.io.read_data` describes.

    Raises
    ------
    DataError
        No data set has that name; the message lists those that exist.
    """
    return read_data(path(name))
