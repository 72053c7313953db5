"""Design: a ModelSpec applied to a DataFrame -- the arrays every engine reads.

One block per random level, each with its own integer group codes and small Z (never one big dense Z).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..spec.model_spec import ModelSpec, RandomLevel

ColumnStatus = Literal["estimated", "base", "omitted"]


@dataclass(frozen=True)
class FixedColumn:
    """One column of the fixed-effects part as Stata lists it.

    Parameters
    ----------
    label
        Stata's name: ``homework``, ``1.schtype``, ``1.a#c.x``, ``_cons``.
    status
        ``"estimated"`` (a column of ``Design.X``), ``"base"`` (a factor's base level, shown as
        ``(base)``) or ``"omitted"`` (dropped as collinear, shown as ``(omitted)``).
    term
        Index of the fixed term (in ``ModelSpec.fixed``) it belongs to; -1 for ``_cons``.
    group
        Table header row it sits under (the factor name for a factor level, ``""`` otherwise).
    level_text
        Text shown in the table for a factor level: the value label (``Public``) or the level
        (``1``); equals ``label`` for plain columns.
    """

    label: str
    status: ColumnStatus = "estimated"
    term: int = -1
    group: str = ""
    level_text: str = ""


@dataclass(frozen=True)
class CategoricalCoding:
    """How one categorical variable is coded: its levels in order, the base, display labels."""

    name: str
    levels: tuple[Any, ...]
    base: Any | None
    value_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class FixedEncoding:
    """The state needed to rebuild the fixed-effects columns for new data (predict)."""

    spec: ModelSpec
    codings: tuple[CategoricalCoding, ...]
    columns: tuple[FixedColumn, ...]
    continuous: tuple[str, ...] = ()


@dataclass
class RandomBlock:
    """One random level applied to the data.

    ``Z[:, k]`` is the covariate of effect ``level.effect_names[k]`` (ones for ``_cons``);
    ``codes[i]`` is the group of row ``i`` (0 .. n_groups-1, groups in sorted order).
    """

    level: RandomLevel
    codes: np.ndarray
    group_values: list
    Z: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.group_values)

    @property
    def n_effects(self) -> int:
        return self.Z.shape[1]

    @property
    def label(self) -> str:
        return self.level.label

    @property
    def effect_names(self) -> tuple[str, ...]:
        return self.level.effect_names

    def group_sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_groups)


@dataclass
class Design:
    """Everything an engine needs, and what results need to label and report it."""

    spec: ModelSpec
    y: np.ndarray
    X: np.ndarray
    fixed_columns: list[FixedColumn]
    blocks: list[RandomBlock]
    row_index: pd.Index
    n_dropped: int = 0
    encoding: FixedEncoding | None = None
    trials: np.ndarray | None = None
    offset: np.ndarray | None = None
    weights: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    response_levels: tuple[Any, ...] = ()  # ordinal outcomes: the ordered categories

    @property
    def nobs(self) -> int:
        return len(self.y)

    @property
    def fixed_names(self) -> list[str]:
        """Labels of the estimated fixed-effects columns (the columns of ``X``)."""
        return [c.label for c in self.fixed_columns if c.status == "estimated"]
