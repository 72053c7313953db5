"""Random-effects blocks: group codes and the small Z of one random level.

Groups are numbered 0 .. G-1 in sorted order of their values (of the path of values, outermost
first, for a nested level), as Stata lists them. Everything is done with pandas' hash-based
factorize and numpy, never a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, OptionError
from ..spec.model_spec import RandomLevel
from .fixed import numeric_values, require_columns
from .types import RandomBlock


def group_variables(level: RandomLevel) -> tuple[str, ...]:
    """The columns whose combined values define the groups of a level."""
    if level.groups:
        return level.groups
    if level.crossed_factor is not None:
        return (level.crossed_factor,)
    raise OptionError("a random-effects level needs a grouping variable")


def _factorize_sorted(series: pd.Series, name: str) -> tuple[np.ndarray, pd.Index]:
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError as exc:
        raise DataError(
            f"grouping variable {name} holds values that cannot be sorted ({exc})"
        ) from exc
    if uniques.dtype.kind == "f" and len(uniques) and np.all(np.mod(uniques.to_numpy(), 1) == 0):
        # Stata stores ids as floats; show and label groups 6053, not 6053.0
        uniques = pd.Index(uniques.to_numpy().astype(np.int64), name=uniques.name)
    return np.asarray(codes, dtype=np.intp), uniques


def group_codes(data: pd.DataFrame, names: Sequence[str]) -> tuple[np.ndarray, list]:
    """Group index of each row (-1 where a grouping value is missing) and the sorted groups.

    For one variable the groups are its values; for several (a nested path), tuples of values,
    sorted by the outermost variable first.
    """
    codes, uniques = _factorize_sorted(data[names[0]], names[0])
    if len(names) == 1:
        return codes, uniques.tolist()
    paths = [np.asarray(uniques, dtype=object)]
    valid = codes >= 0
    for name in names[1:]:
        inner, inner_uniques = _factorize_sorted(data[name], name)
        valid &= inner >= 0
        # Mixed-radix key of (outer group, inner value): factorizing it sorted keeps the
        # lexicographic order, and the key stays below n_rows * n_values, far from overflow.
        radix = max(len(inner_uniques), 1)
        key = codes.astype(np.int64) * radix + inner
        combined, keys = pd.factorize(key[valid], sort=True)
        codes = np.full(len(key), -1, dtype=np.intp)
        codes[valid] = combined
        # Decode each group's path from its key: outer group, then this variable's value.
        outer, value = np.divmod(np.asarray(keys), radix)
        paths = [path[outer] for path in paths]
        paths.append(np.asarray(inner_uniques, dtype=object)[value])
    columns = [path.tolist() for path in paths]
    return codes, list(zip(*columns, strict=True))


def codes_for_groups(data: pd.DataFrame, names: Sequence[str], group_values: list) -> np.ndarray:
    """Index of each row's group among known ``group_values``; -1 for unseen or missing groups."""
    if len(names) == 1:
        known = pd.Index(group_values)
        values = data[names[0]]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        return np.asarray(known.get_indexer(values.to_numpy()), dtype=np.intp)
    known = pd.MultiIndex.from_tuples(group_values, names=list(names))
    rows = pd.MultiIndex.from_arrays([data[name] for name in names], names=list(names))
    return np.asarray(known.get_indexer(rows), dtype=np.intp)


def effects_matrix(level: RandomLevel, data: pd.DataFrame) -> np.ndarray:
    """``Z`` of a level: one column per random effect, slopes first, ones for ``_cons``."""
    n_rows = len(data)
    if level.crossed_factor is not None:
        return np.ones((n_rows, 1))
    columns = [numeric_values(data[name], name, "random-slope variable") for name in level.terms]
    if level.constant:
        columns.append(np.ones(n_rows))
    if not columns:
        raise OptionError(
            f"random-effects equation {level.label}: has no random effects "
            "(no variables and no constant)"
        )
    return np.column_stack(columns)


def random_block_for(
    level: RandomLevel, data: pd.DataFrame, group_values: list | None = None
) -> RandomBlock:
    """One random level applied to rows of data.

    Parameters
    ----------
    level
        The random-effects level.
    data
        Rows holding the grouping variables and the random-slope variables.
    group_values
        The groups of a fitted design (``RandomBlock.group_values``), to code new data for
        prediction: rows of a group not among them get code -1. ``None`` numbers the groups of
        ``data`` itself (sorted).

    Returns
    -------
    RandomBlock
        Codes, group values and ``Z`` (NaN where a slope variable is missing).
    """
    names = group_variables(level)
    require_columns(data, (*names, *level.terms))
    if group_values is None:
        codes, group_values = group_codes(data, names)
    else:
        codes = codes_for_groups(data, names, group_values)
    return RandomBlock(
        level=level, codes=codes, group_values=group_values, Z=effects_matrix(level, data)
    )
