"""ModelSpec + DataFrame -> Design: checks, missing rows, response, fixed part, random blocks.

The checks follow Stata's estimation commands: every variable must exist, rows with a missing
value in any model variable are dropped (and counted), responses and covariates must be numeric,
and counts, trials and exposures must make sense for the family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, OptionError
from ..spec.model_spec import ModelSpec
from .fixed import build_fixed, is_text_like, missing_mask, numeric_values, require_columns
from .random import random_block_for
from .types import Design

COUNT_FAMILIES = ("poisson", "nbinomial")


def _as_frame(data) -> pd.DataFrame:
    """Accept a pandas DataFrame, or anything that converts to one (polars, a dict of columns)."""
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}")


def _complete_rows(data: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Rows with no missing value in any model variable (listwise deletion, as Stata does)."""
    if len(data) == 0:
        raise DataError("no observations: the data have no rows")
    missing_any = np.zeros(len(data), dtype=bool)
    for name in names:
        series = data[name]
        missing = missing_mask(series)
        if missing.all():
            raise DataError(f"variable {name} has only missing values")
        if series.dtype.kind == "f":
            infinite = np.isinf(series.to_numpy(dtype=np.float64, na_value=np.nan))
            if infinite.any():
                row = data.index[np.flatnonzero(infinite)[0]]
                raise DataError(f"variable {name} holds an infinite value (row {row!r})")
        missing_any |= missing
    if missing_any.all():
        raise DataError(
            "no observations: every row has a missing value in one of " + ", ".join(names)
        )
    return ~missing_any


def _dropped_note(n_dropped: int) -> str:
    noun = "observation" if n_dropped == 1 else "observations"
    return f"({n_dropped} {noun} dropped because of missing values)"


def _ordered_levels(series: pd.Series) -> tuple[np.ndarray, list]:
    """Codes 0..K-1 of an ordinal outcome, and its categories in order.

    A pandas Categorical keeps its category order; numbers sort numerically; text that reads as
    numbers ("2", "10") sorts by value, other text alphabetically.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy().astype(np.intp)
        present = np.bincount(raw, minlength=len(series.cat.categories)) > 0
        codes = (np.cumsum(present) - 1)[raw]
        return codes, [series.cat.categories[i] for i in np.flatnonzero(present)]
    codes, uniques = pd.factorize(series, sort=True)
    levels = list(uniques)
    if is_text_like(series):
        as_numbers = pd.to_numeric(pd.Series(levels, dtype=object), errors="coerce")
        if not as_numbers.isna().any():
            order = np.argsort(as_numbers.to_numpy(), kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            codes = rank[codes]
            levels = [levels[i] for i in order]
    return np.asarray(codes, dtype=np.intp), levels


def _ordinal_response(series: pd.Series, name: str) -> tuple[np.ndarray, tuple]:
    codes, levels = _ordered_levels(series)
    if len(levels) < 2:
        raise DataError(
            f"outcome {name} does not vary; an ordinal model needs at least 3 categories"
        )
    if len(levels) == 2:
        # one cutpoint is just the constant of a binary model: say so rather than fit it twice over
        raise DataError(
            f"outcome {name} has only 2 categories ({levels[0]}, {levels[1]}); an ordinal model "
            "needs at least 3 for its cutpoints. A two-category outcome is binary: use melogit "
            "(or meprobit)"
        )
    levels = [v.item() if isinstance(v, np.generic) else v for v in levels]
    return codes.astype(np.float64), tuple(levels)


def _count_check(y: np.ndarray, name: str, notes: list[str]) -> None:
    negative = int(np.count_nonzero(y < 0))
    if negative:
        raise DataError(
            f"response {name} has {negative} negative value{'s' if negative > 1 else ''}; "
            "a count model needs nonnegative counts"
        )
    if np.any(y != np.round(y)):
        notes.append("note: you are responsible for interpretation of noncount dep. variable.")


def _response(spec: ModelSpec, frame: pd.DataFrame, notes: list[str]) -> tuple[np.ndarray, tuple]:
    """The response vector (and ordered categories for ordinal models), checked for the family."""
    name = spec.response
    family = spec.family.name
    series = frame[name]
    if family == "ordinal":
        return _ordinal_response(series, name)
    if isinstance(series.dtype, pd.CategoricalDtype) or (
        is_text_like(series) and not pd.api.types.is_bool_dtype(series.dtype)
    ):
        example = series.iloc[0]
        raise DataError(
            f"response {name} must be numeric, but it holds categories (for example {example!r}); "
            "recode it to numbers"
        )
    y = numeric_values(series, name, "response")
    if family == "bernoulli" or (family == "binomial" and spec.family.trials is None):
        # Stata would read any nonzero value as a success; a count or a 1/2 coding passed to a
        # binary model is far more often a mistake, so it is refused with the recode spelled out.
        values = np.unique(y)
        if not np.all(np.isin(values, (0.0, 1.0))):
            shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
            raise DataError(
                f"outcome {name} must be binary (0/1) for a {spec.command} model; it holds "
                f"{shown}. Recode it, e.g. generate {name}01 = ({name} != 0)"
            )
        if y.min() == y.max():
            raise DataError(f"outcome {name} does not vary")
    elif family in COUNT_FAMILIES:
        _count_check(y, name, notes)
    return y, ()


def _trials(spec: ModelSpec, frame: pd.DataFrame, y: np.ndarray) -> np.ndarray | None:
    """Binomial numbers of trials (a variable or a constant), checked against the successes."""
    if spec.family.name != "binomial":
        return None
    trials_spec = spec.family.trials
    if trials_spec is None:
        return np.ones(len(y))
    if isinstance(trials_spec, str):
        trials = numeric_values(frame[trials_spec], trials_spec, "trials variable")
        source = f"trials variable {trials_spec}"
    else:
        trials = np.full(len(y), float(trials_spec))
        source = f"number of trials {trials_spec}"
    bad_trials = int(np.count_nonzero((trials < 0) | (trials != np.round(trials))))
    if bad_trials:
        raise DataError(f"{source} must hold nonnegative integers ({bad_trials} rows do not)")
    bad = int(np.count_nonzero((y < 0) | (y > trials)))
    if bad:
        raise DataError(
            f"response {spec.response} must lie between 0 and the {source} ({bad} rows do not)"
        )
    return trials


def _offset(spec: ModelSpec, frame: pd.DataFrame) -> np.ndarray | None:
    """``offset(var)`` as is, or ``exposure(var)`` as log(var) (the exposure must be positive)."""
    offset, exposure = spec.options.offset, spec.options.exposure
    if offset and exposure:
        raise OptionError("only one of offset() and exposure() may be given")
    if offset:
        return numeric_values(frame[offset], offset, "offset variable")
    if exposure:
        values = numeric_values(frame[exposure], exposure, "exposure variable")
        bad = int(np.count_nonzero(values <= 0))
        if bad:
            raise DataError(
                f"exposure variable {exposure} must be positive ({bad} rows are zero or negative)"
            )
        return np.log(values)
    return None


def _random_blocks(spec: ModelSpec, frame: pd.DataFrame, notes: list[str]) -> list:
    blocks = [random_block_for(level, frame) for level in spec.levels]
    for block in blocks:
        if block.n_groups == 0:
            raise DataError(f"random-effects level {block.label} has no groups")
    if len(blocks) == 1 and blocks[0].n_groups == len(frame):
        notes.append(
            f"note: every {blocks[0].label} group has a single observation; its variance cannot "
            "be told apart from the residual variance"
        )
    return blocks


def build_design(spec: ModelSpec, data: pd.DataFrame) -> Design:
    """Apply a model to data: the arrays every engine reads.

    Parameters
    ----------
    spec
        The model.
    data
        The data: a pandas DataFrame (or a polars frame or dict of columns). Value labels of
        numeric categorical columns may be given as ``data.attrs["value_labels"][column] =
        {code: label}``; they become the display text of the factor levels.

    Returns
    -------
    Design
        Response, fixed-effects matrix with Stata's column labels and statuses, one block per
        random level, rows used, number of rows dropped for missing values, encoding for new
        data, trials/offset where the family has them, and notes for the output.

    Raises
    ------
    DataError
        A variable is absent, entirely missing or of the wrong type; no rows remain; the
        response does not suit the family; a level has no groups.
    OptionError
        Contradictory options (both ``offset`` and ``exposure``).
    """
    data = _as_frame(data)
    value_labels = data.attrs.get("value_labels", {}) if data.attrs else {}
    if data.attrs:
        # pandas deep-copies attrs into every column it hands out; read them once and drop them
        data = data.copy(deep=False)
        data.attrs = {}
    names = spec.variables()
    require_columns(data, names)
    keep = _complete_rows(data, names)
    n_dropped = int(len(keep) - np.count_nonzero(keep))
    frame = data[names] if n_dropped == 0 else data.loc[keep, names]
    notes = [_dropped_note(n_dropped)] if n_dropped else []
    y, response_levels = _response(spec, frame, notes)
    trials = _trials(spec, frame, y)
    offset = _offset(spec, frame)
    fixed = build_fixed(spec, frame, value_labels)
    notes.extend(fixed.notes)
    blocks = _random_blocks(spec, frame, notes)
    return Design(
        spec=spec,
        y=y,
        X=fixed.X,
        fixed_columns=fixed.columns,
        blocks=blocks,
        row_index=frame.index,
        n_dropped=n_dropped,
        encoding=fixed.encoding,
        trials=trials,
        offset=offset,
        notes=notes,
        response_levels=response_levels,
    )
