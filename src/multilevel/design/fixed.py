"""Fixed-effects part of a design: factor coding, Stata's column labels, collinearity, new data.

Columns follow Stata: the terms in the order written, each categorical term expanded into one
column per level (or level combination, the last factor varying fastest), then ``_cons``. Base
levels and collinear columns stay in the column list with their status, so that tables can show
``(base)`` and ``(omitted)`` rows, but only estimated columns enter ``X``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg

from ..errors import DataError, OptionError
from ..spec.model_spec import Factor, ModelSpec
from .types import CategoricalCoding, FixedColumn, FixedEncoding

# A column is collinear when the part of it that the columns kept before it cannot explain is at
# most this fraction of its own length. The test is relative to each column's norm, so it does not
# depend on the units of a covariate. 1e-7 is the threshold of lme4's rank check and R's lm (LINPACK
# dqrdc2 with tol = 1e-7): exactly collinear columns built from double or float32 data leave
# residuals of order 1e-15 to 1e-8, while any column carrying information is orders above it.
COLLINEARITY_TOL = 1e-7


# ----------------------------------------------------------------------------------------------
# column access shared by the fixed and random parts
# ----------------------------------------------------------------------------------------------


def require_columns(data: pd.DataFrame, names: Iterable[str]) -> None:
    """Raise :class:`DataError` for the first name that is not a column of ``data``.

    The message suggests close matches, as a misspelt variable is the usual cause.
    """
    columns = data.columns
    for name in names:
        if name not in columns:
            known = [str(c) for c in columns]
            close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise DataError(f"variable {name} not found{hint}")
        if isinstance(data[name], pd.DataFrame):
            raise DataError(f"variable {name} names more than one column of the data")


def is_text_like(series: pd.Series) -> bool:
    """Whether a column holds categories rather than numbers (text, category or bool dtype)."""
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or not pd.api.types.is_numeric_dtype(dtype)
    )


def missing_mask(series: pd.Series) -> np.ndarray:
    """Rows where a column is missing: NaN/None/NA, and the empty string in text columns (Stata)."""
    mask = series.isna().to_numpy()
    dtype = series.dtype
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        mask = mask | (series == "").to_numpy(dtype=bool, na_value=False)
    return mask


def numeric_values(series: pd.Series, name: str, role: str = "variable") -> np.ndarray:
    """A numeric column as float64 (NaN where missing); :class:`DataError` for anything else.

    Booleans count as 0/1 and a categorical column with numeric categories as its values.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        if pd.api.types.is_numeric_dtype(categories.dtype):
            return series.astype("float64").to_numpy()
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    raise DataError(_not_numeric_message(series, name, role))


def _not_numeric_message(series: pd.Series, name: str, role: str) -> str:
    present = series[~missing_mask(series)].astype(object)
    as_numbers = pd.to_numeric(present, errors="coerce")
    bad = present[as_numbers.isna()]
    sample = bad if len(bad) else present
    example = f" (for example {sample.iloc[0]!r} in row {sample.index[0]!r})" if len(sample) else ""
    return f"{role} {name} must be numeric, but it holds text{example}"


def level_string(value: Any) -> str:
    """A level as Stata writes it in a column label: integers without ``.0``, text as is."""
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def _label_key(value: Any) -> Any:
    """Key under which a numeric level is looked up among value labels (0, 0.0, int32(0) alike)."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    return value


# ----------------------------------------------------------------------------------------------
# categorical variables
# ----------------------------------------------------------------------------------------------


def factor_is_categorical(factor: Factor, series: pd.Series) -> bool:
    """Resolve a factor's kind: ``auto`` is categorical exactly when the column is not numeric."""
    if factor.kind == "auto":
        return is_text_like(series)
    return factor.kind == "categorical"


def _as_level_values(series: pd.Series) -> pd.Series:
    """Booleans become 0/1 so that their levels read like Stata's indicators (``1.x``)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return pd.Series(series.to_numpy(dtype=np.float64, na_value=np.nan), index=series.index)
    return series


def _codes_behind_labels(series: pd.Series, value_labels: dict) -> pd.Series | None:
    """The numeric codes of a Categorical made from a .dta value label, or None if not one.

    A .dta column read with its labels as categories ("Private", "Public") is still Stata's
    0/1 variable: Stata names its columns ``1.schtype``. Every category must be a label of
    exactly one code (or a code written as text, for values without a label).
    """
    code_of: dict[str, Any] = {}
    for code, text in value_labels.items():
        code_of[str(text)] = None if str(text) in code_of else code
    codes = {}
    for category in series.cat.categories:
        code = code_of.get(str(category))
        if code is None:
            code = pd.to_numeric(pd.Series([str(category)]), errors="coerce").iloc[0]
            if pd.isna(code) or str(category) in code_of:
                return None
        codes[category] = float(code)
    return series.cat.rename_categories(codes).astype("float64")


def code_categorical(
    series: pd.Series, name: str, value_labels: dict | None = None
) -> tuple[CategoricalCoding, np.ndarray]:
    """Levels (sorted, or in category order for a pandas Categorical) and each row's level index.

    Only levels that occur are kept, as Stata does. ``value_labels`` maps codes to label text
    (a .dta value label); the labels become the levels' display text, and a Categorical whose
    categories are those labels is coded by the numbers behind them.
    """
    series = _as_level_values(series)
    if isinstance(series.dtype, pd.CategoricalDtype) and value_labels:
        numbers = _codes_behind_labels(series, value_labels)
        series = series if numbers is None else numbers
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy().astype(np.intp)
        present = np.bincount(raw[raw >= 0], minlength=len(series.cat.categories)) > 0
        renumber = np.cumsum(present) - 1
        codes = np.where(raw >= 0, renumber[np.maximum(raw, 0)], -1)
        levels = [series.cat.categories[i] for i in np.flatnonzero(present)]
    else:
        try:
            codes, uniques = pd.factorize(series, sort=True)
        except TypeError as exc:
            raise DataError(
                f"categorical variable {name} holds values that cannot be sorted ({exc})"
            ) from exc
        levels = list(uniques)
    levels = [v.item() if isinstance(v, np.generic) else v for v in levels]
    labels = {_label_key(k): str(v) for k, v in (value_labels or {}).items()}
    texts = tuple(labels.get(_label_key(v), level_string(v)) for v in levels)
    coding = CategoricalCoding(name=name, levels=tuple(levels), base=None, value_labels=texts)
    return coding, np.asarray(codes, dtype=np.intp)


def codes_for_levels(series: pd.Series, coding: CategoricalCoding) -> np.ndarray:
    """Level index of each row of new data under a fitted coding (-1 where missing).

    A value that was not a level when the model was fit is a :class:`DataError` naming it: no
    column exists for it, and treating it as the base would silently change the prediction.
    """
    series = _as_level_values(series)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    values = series.to_numpy()
    codes = pd.Index(list(coding.levels)).get_indexer(values)
    unseen = (codes < 0) & ~missing_mask(series)
    texts = coding.value_labels
    if unseen.any() and len(set(texts)) == len(texts):
        # New data may spell levels by their value labels ("Public" for 1).
        by_text = pd.Index(list(texts)).get_indexer(values.astype(object).astype(str))
        codes = np.where(unseen, by_text, codes)
        unseen = (codes < 0) & ~missing_mask(series)
    if unseen.any():
        value = values[np.flatnonzero(unseen)[0]]
        shown = ", ".join(coding.value_labels or [level_string(v) for v in coding.levels])
        raise DataError(
            f"{coding.name} has level {level_string(value)!r}, which was not in the estimation "
            f"data (levels: {shown})"
        )
    return codes.astype(np.intp)


def resolve_base(factor: Factor, coding: CategoricalCoding, codes: np.ndarray) -> int | None:
    """Index of the base level of a categorical factor, or None for ``ibn.`` (no base)."""
    base = factor.base
    n_levels = len(coding.levels)
    if base is None or base[0] == "first":
        return 0
    kind = base[0]
    if kind == "last":
        return n_levels - 1
    if kind == "freq":
        # Ties go to the lowest level, the first maximum.
        counts = np.bincount(codes[codes >= 0], minlength=n_levels)
        return int(np.argmax(counts))
    if kind == "none":
        return None
    if kind == "value" and len(base) == 2:
        return _base_from_value(base[1], coding, factor.name)
    raise OptionError(f"unknown base specification {base!r} for {factor.name}")


def _base_from_value(wanted: Any, coding: CategoricalCoding, name: str) -> int:
    for i, level in enumerate(coding.levels):
        if level == wanted or level_string(level) == str(wanted):
            return i
    texts = coding.value_labels or ()
    if str(wanted) in texts:
        return texts.index(str(wanted))
    shown = ", ".join(level_string(v) for v in coding.levels)
    raise DataError(f"base level {wanted!r} of {name} does not occur in the data (levels: {shown})")


# ----------------------------------------------------------------------------------------------
# terms -> columns
# ----------------------------------------------------------------------------------------------


@dataclass
class _FactorData:
    """One factor of a term applied to the rows: level codes or continuous values."""

    factor: Factor
    coding: CategoricalCoding | None = None
    codes: np.ndarray | None = None
    base: int | None = None
    values: np.ndarray | None = None


def term_matrix(parts: Sequence[_FactorData], n_rows: int) -> np.ndarray:
    """Columns of one term: an indicator per level combination times the continuous product.

    Combinations run in Stata's order (last factor fastest). Rows where a categorical factor is
    missing (code -1) are NaN, so that predictions on new data come out missing there.
    """
    product = np.ones(n_rows)
    for part in parts:
        if part.values is not None:
            product = product * part.values
    categorical = [p for p in parts if p.coding is not None]
    if not categorical:
        return product[:, None]
    n_cells = int(np.prod([len(p.coding.levels) for p in categorical]))
    cell = np.zeros(n_rows, dtype=np.intp)
    valid = np.ones(n_rows, dtype=bool)
    for part in categorical:
        cell = cell * len(part.coding.levels) + part.codes
        valid &= part.codes >= 0
    out = np.zeros((n_rows, n_cells))
    rows = np.flatnonzero(valid)
    out[rows, cell[rows]] = product[rows]
    if len(rows) < n_rows:
        out[~valid] = np.nan
    return out


def term_columns(term_index: int, parts: Sequence[_FactorData]) -> list[FixedColumn]:
    """Labels and base status of a term's columns, in the order of :func:`term_matrix`."""
    categorical = [p for p in parts if p.coding is not None]
    if not categorical:
        names = [p.factor.name for p in parts]
        label = names[0] if len(names) == 1 else "#".join(f"c.{n}" for n in names)
        return [FixedColumn(label=label, term=term_index, group="", level_text=label)]
    group = "#".join(p.factor.name if p.coding is not None else f"c.{p.factor.name}" for p in parts)
    columns = []
    for cell in np.ndindex(*[len(p.coding.levels) for p in categorical]):
        level_of = iter(cell)
        pieces, texts, at_base = [], [], False
        for p in parts:
            if p.coding is None:
                pieces.append(f"c.{p.factor.name}")
                continue
            level = next(level_of)
            pieces.append(f"{level_string(p.coding.levels[level])}.{p.factor.name}")
            texts.append(p.coding.value_labels[level])
            at_base = at_base or p.base == level
        columns.append(
            FixedColumn(
                label="#".join(pieces),
                status="base" if at_base else "estimated",
                term=term_index,
                group=group,
                level_text="#".join(texts),
            )
        )
    return columns


# ----------------------------------------------------------------------------------------------
# collinearity
# ----------------------------------------------------------------------------------------------


def independent_columns(matrix: np.ndarray, order: Sequence[int], tol: float = COLLINEARITY_TOL):
    """Walk the columns in ``order``; keep each one that the kept ones do not explain.

    Returns a boolean array over the columns of ``matrix`` (columns not in ``order`` are False).
    A pivoted QR first compresses the n x p matrix to its p x p triangular factor R: R's columns
    (un-permuted) have the same inner products as the columns of ``matrix``, so every projection
    below costs p^2 instead of n p. The pivoted factorisation alone would keep the *largest*
    columns, not the earliest; the ordered pass over R then keeps the earlier of two collinear
    columns, so that later terms are omitted first, as Stata does.
    """
    n_cols = matrix.shape[1]
    keep = np.zeros(n_cols, dtype=bool)
    if n_cols == 0:
        return keep
    r_factor, pivots = scipy.linalg.qr(matrix, mode="r", pivoting=True, check_finite=False)
    k = min(matrix.shape)
    compact = np.empty((k, n_cols))
    compact[:, pivots] = r_factor[:k]
    basis = np.zeros((k, n_cols))
    n_basis = 0
    for j in order:
        column = compact[:, j]
        length = np.linalg.norm(column)
        if length == 0.0 or n_basis >= k:
            continue
        kept = basis[:, :n_basis]
        residual = column - kept @ (kept.T @ column)
        residual -= kept @ (kept.T @ residual)  # second pass: Gram-Schmidt twice is orthogonal
        size = np.linalg.norm(residual)
        if size > tol * length:
            basis[:, n_basis] = residual / size
            n_basis += 1
            keep[j] = True
    return keep


# ----------------------------------------------------------------------------------------------
# the fixed part of a design
# ----------------------------------------------------------------------------------------------


@dataclass
class FixedPart:
    """What :func:`build_fixed` returns: X, every column with its status, the encoding, notes."""

    X: np.ndarray
    columns: list[FixedColumn]
    encoding: FixedEncoding
    notes: list[str]


def _has_cons_column(spec: ModelSpec) -> bool:
    # Ordinal models have cutpoints in place of a constant.
    return spec.constant and spec.family.name != "ordinal"


def _acts_as_intercept(spec: ModelSpec) -> bool:
    """Whether the model has an intercept, as a column or as the cutpoints of an ordinal model."""
    return spec.constant or spec.family.name == "ordinal"


def _fixed_parts(
    spec: ModelSpec, frame: pd.DataFrame, value_labels: dict
) -> tuple[list[list[_FactorData]], dict[str, CategoricalCoding], list[str]]:
    """Apply every fixed term's factors to the rows (coding each categorical variable once)."""
    codings: dict[str, tuple[CategoricalCoding, np.ndarray]] = {}
    continuous: dict[str, np.ndarray] = {}
    terms_parts = []
    for term in spec.fixed:
        parts = []
        for factor in term.factors:
            series = frame[factor.name]
            if factor_is_categorical(factor, series):
                if factor.name not in codings:
                    labels = value_labels.get(factor.name)
                    codings[factor.name] = code_categorical(series, factor.name, labels)
                coding, codes = codings[factor.name]
                base = resolve_base(factor, coding, codes)
                parts.append(_FactorData(factor, coding=coding, codes=codes, base=base))
            else:
                if factor.name not in continuous:
                    continuous[factor.name] = numeric_values(series, factor.name, "covariate")
                parts.append(_FactorData(factor, values=continuous[factor.name]))
        terms_parts.append(parts)
    plain_codings = {name: coding for name, (coding, _) in codings.items()}
    return terms_parts, plain_codings, list(continuous)


def _set_base_levels(codings: dict[str, CategoricalCoding], terms_parts) -> dict:
    """Record in each coding the base level of the variable's first occurrence."""
    bases: dict[str, Any] = {}
    for parts in terms_parts:
        for part in parts:
            if part.coding is not None and part.factor.name not in bases:
                levels = part.coding.levels
                bases[part.factor.name] = None if part.base is None else levels[part.base]
    return {
        name: CategoricalCoding(c.name, c.levels, bases.get(name), c.value_labels)
        for name, c in codings.items()
    }


def _decide_status(
    spec: ModelSpec, full: np.ndarray, columns: list[FixedColumn], single_factor: list[bool]
) -> tuple[list[FixedColumn], list[str]]:
    """Mark base and collinear columns, as Stata's factor-variable rules and ``_rmcoll`` do.

    Columns are tried in this order: the constant (it is never the one dropped), then every
    non-base column in Stata's order (a dependent one is *omitted*, with a note), then the
    base-level candidates (a dependent one is the *base*). So ``i.a##i.b`` gives the usual base
    cells, while a candidate that nothing else spans -- ``0.a#c.x`` without ``c.x`` in the model,
    or the ``0#1`` cell of ``a#b`` alone -- is estimated, as in Stata. A main effect ``i.a`` in
    Stata syntax keeps its base even without a constant (Stata needs ``ibn.`` to drop it); in
    formula syntax (a ``~`` in ``spec.source``), ``0 + C(a)`` estimates every level, as R does.
    """
    n_rows = full.shape[0]
    stata_syntax = "~" not in spec.source
    anchor = []
    if _acts_as_intercept(spec) and not _has_cons_column(spec):
        full = np.column_stack([full, np.ones(n_rows)])  # cutpoints span the constant
        anchor = [full.shape[1] - 1]
    elif _has_cons_column(spec):
        anchor = [len(columns) - 1]
    candidates = [i for i, c in enumerate(columns) if c.status == "base"]
    forced = {i for i in candidates if single_factor[i] and stata_syntax}
    regular = [i for i, c in enumerate(columns) if c.status != "base" and i not in anchor]
    # Terms first to last (as R gives the first factor of ``0 + C(a) + C(b)`` all its levels),
    # cells of one term last to first (so the first cell of ``a#b`` alone is its base).
    tried = sorted((i for i in candidates if i not in forced), key=lambda i: (columns[i].term, -i))
    order = anchor + regular + tried
    keep = independent_columns(full, order)
    notes = []
    decided = []
    for i, column in enumerate(columns):
        if keep[i]:
            status = "estimated"
        elif i in candidates:
            status = "base"
        else:
            status = "omitted"
            empty = bool(column.group) and not np.any(full[:, i])
            reason = "identifies no observations in the sample" if empty else None
            notes.append(f"note: {column.label} {reason or 'omitted because of collinearity'}.")
        decided.append(_with_status(column, status))
    return decided, notes


def _with_status(column: FixedColumn, status: str) -> FixedColumn:
    return FixedColumn(column.label, status, column.term, column.group, column.level_text)


def build_fixed(
    spec: ModelSpec, frame: pd.DataFrame, value_labels: dict | None = None
) -> FixedPart:
    """The fixed-effects columns of a model on complete rows (no missing values in ``frame``).

    Parameters
    ----------
    spec
        The model.
    frame
        The estimation rows, holding every fixed-effects variable.
    value_labels
        ``{variable: {code: label}}`` (.dta value labels) used as display text of levels.

    Returns
    -------
    FixedPart
        ``X`` (estimated columns only), all columns with their status, the encoding for new data,
        and notes on omitted columns.
    """
    n_rows = len(frame)
    terms_parts, codings, continuous = _fixed_parts(spec, frame, value_labels or {})
    blocks, columns, single_factor = [], [], []
    for index, (term, parts) in enumerate(zip(spec.fixed, terms_parts, strict=True)):
        if term.is_constant:
            continue
        blocks.append(term_matrix(parts, n_rows))
        term_cols = term_columns(index, parts)
        columns.extend(term_cols)
        single_factor.extend([len(parts) == 1] * len(term_cols))
    if _has_cons_column(spec):
        blocks.append(np.ones((n_rows, 1)))
        columns.append(FixedColumn(label="_cons", term=-1, group="", level_text="_cons"))
        single_factor.append(False)
    full = np.hstack(blocks) if blocks else np.zeros((n_rows, 0))
    columns, notes = _decide_status(spec, full, columns, single_factor)
    estimated = [i for i, c in enumerate(columns) if c.status == "estimated"]
    codings = _set_base_levels(codings, terms_parts)
    encoding = FixedEncoding(
        spec=spec,
        codings=tuple(codings.values()),
        columns=tuple(columns),
        continuous=tuple(continuous),
    )
    X = np.ascontiguousarray(full[:, estimated])
    return FixedPart(X=X, columns=columns, encoding=encoding, notes=notes)


def encode_fixed(encoding: FixedEncoding, data: pd.DataFrame) -> np.ndarray:
    """The fixed-effects matrix ``X`` of new data, with the columns of the fitted design.

    Parameters
    ----------
    encoding
        ``Design.encoding`` of a fitted design.
    data
        New rows holding every fixed-effects variable. Missing values give NaN rows.

    Returns
    -------
    numpy.ndarray
        ``len(data)`` x (number of estimated columns), equal to ``Design.X`` on the estimation rows.

    Raises
    ------
    DataError
        A variable is absent or not numeric, or a categorical value was not a level in the
        estimation data.
    """
    spec = encoding.spec
    require_columns(data, [f.name for term in spec.fixed for f in term.factors])
    codings = {c.name: c for c in encoding.codings}
    n_rows = len(data)
    blocks = []
    for term in spec.fixed:
        if term.is_constant:
            continue
        parts = []
        for factor in term.factors:
            series = data[factor.name]
            if factor.name in codings and factor.kind != "continuous":
                coding = codings[factor.name]
                parts.append(_FactorData(factor, coding, codes_for_levels(series, coding)))
            else:
                values = numeric_values(series, factor.name, "covariate")
                parts.append(_FactorData(factor, values=values))
        blocks.append(term_matrix(parts, n_rows))
    if any(c.label == "_cons" and c.term == -1 for c in encoding.columns):
        blocks.append(np.ones((n_rows, 1)))
    full = np.hstack(blocks) if blocks else np.zeros((n_rows, 0))
    estimated = [i for i, c in enumerate(encoding.columns) if c.status == "estimated"]
    return np.ascontiguousarray(full[:, estimated])
