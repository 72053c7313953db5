"""Reading data files into pandas DataFrames, keeping what Stata files say about their variables.

A Stata ``.dta`` file carries more than numbers: variable labels, value labels (``1 Public``,
``0 Private``), storage types and display formats. :func:`read_data` keeps the numeric codes in
the columns -- a factor variable ``i.schtype`` is coded by its numbers, as in Stata -- and puts
the labels in ``DataFrame.attrs`` so that result tables can print ``Public`` where Stata does:

``attrs["value_labels"]``
    ``{column: {code: label}}`` for every column with a value-label set attached.
``attrs["label_names"]``
    ``{column: name of its value-label set}``, as ``describe`` and ``label list`` show it.
``attrs["variable_labels"]``
    ``{column: label}`` for every column with a non-empty variable label.
``attrs["stata"]``
    the rest of the file's header: ``filename``, ``data_label``, ``time_stamp``, ``storage_types``,
    ``display_formats``, ``sorted_by`` and ``label_sets`` (every value-label set in the file).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, OptionError

__all__ = ["read_data", "describe", "label_list"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.zst")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SUPPORTED = (".dta", *_CSV_SUFFIXES, *_PARQUET_SUFFIXES)

# Stata's one-letter storage codes as pandas' StataReader reports them.
_STATA_TYPE_NAMES = {"b": "byte", "h": "int", "l": "long", "f": "float", "d": "double", "Q": "strL"}

# Stata's default display format of each storage type (``help format``).
_DEFAULT_FORMATS = {
    "byte": "%8.0g",
    "int": "%8.0g",
    "long": "%12.0g",
    "float": "%9.0g",
    "double": "%10.0g",
    "strL": "%9s",
}

# pandas options that would make read_data return something other than one frame of codes.
_REJECTED_STATA_OPTIONS = {
    "convert_categoricals": "use read_data(path, categoricals=True) instead",
    "iterator": "read_data returns one DataFrame",
    "chunksize": "read_data returns one DataFrame",
}


def read_data(
    path: str | os.PathLike[str], *, categoricals: bool = False, **kwargs: Any
) -> pd.DataFrame:
    """Read a ``.dta``, ``.csv`` or ``.parquet`` file into a DataFrame.

    Parameters
    ----------
    path
        The file. Its extension picks the reader: ``.dta`` (Stata, any version pandas reads),
        ``.csv`` (also ``.csv.gz``, ``.csv.bz2``, ``.csv.xz``, ``.csv.zip``, ``.csv.zst``),
        ``.parquet`` / ``.pq`` (needs pyarrow or fastparquet).
    categoricals
        Stata files only. ``False`` (the default) keeps each labelled variable's numeric codes in
        its column and the labels in ``df.attrs`` (see the module documentation): this is what a
        model needs to label factor levels ``1.schtype`` and print ``Public`` as Stata does, and it
        keeps Stata's base level (the lowest code). ``True`` turns every column with a value-label
        set into an ordered :class:`pandas.Categorical` whose categories are the labels in the
        order of their codes (codes without a label keep their number as text); the labels stay
        in ``df.attrs`` as well. Other formats carry no value labels and ignore it.
    **kwargs
        Passed to :func:`pandas.read_stata`, :func:`pandas.read_csv` or :func:`pandas.read_parquet`
        (e.g. ``columns=``, ``sep=``).

    Returns
    -------
    pandas.DataFrame
        The data, with ``df.attrs["source"]`` set to the path as given, and for Stata files the
        labels and header described in the module documentation.

    Raises
    ------
    DataError
        The file does not exist, its extension is not one of the above, a parquet engine is
        missing, or the reader cannot parse it. The message names the path.
    OptionError
        A pandas option that conflicts with the contract above (``convert_categoricals``,
        ``iterator``, ``chunksize``).
    """
    file = Path(os.fspath(path))
    kind = _file_kind(file)
    if not file.is_file():
        what = "is a directory, not a file" if file.is_dir() else "does not exist"
        raise DataError(f"cannot read data: {str(file)!r} {what}")
    try:
        if kind == "dta":
            df = _read_stata(file, categoricals, kwargs)
        elif kind == "csv":
            df = pd.read_csv(file, **kwargs)
        else:
            _require_parquet_engine(file)
            df = pd.read_parquet(file, **kwargs)
    except (DataError, OptionError):
        raise
    except (ValueError, OSError, UnicodeError, struct.error, EOFError) as exc:
        # A damaged file surfaces from the readers' internals as any of these.
        raise DataError(f"cannot read {str(file)!r} as a {kind} file: {exc}") from exc
    df.attrs["source"] = os.fspath(path)
    return df


def _file_kind(file: Path) -> str:
    name = file.name.lower()
    if name.endswith(".dta"):
        return "dta"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    raise DataError(
        f"cannot read data from {str(file)!r}: unknown file type "
        f"(read_data reads {', '.join(_SUPPORTED)})"
    )


def _require_parquet_engine(file: Path) -> None:
    # pandas' own message for a missing engine is generic; say what to install.
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
        except ImportError:
            continue
        return
    raise DataError(
        f"cannot read {str(file)!r}: reading .parquet files needs pyarrow "
        "(pip install 'multilevel[parquet]' or pip install pyarrow)"
    )


def _read_stata(file: Path, categoricals: bool, kwargs: dict[str, Any]) -> pd.DataFrame:
    for option, why in _REJECTED_STATA_OPTIONS.items():
        if option in kwargs:
            raise OptionError(f"read_data does not take {option}=: {why}")
    with pd.read_stata(file, iterator=True, convert_categoricals=False, **kwargs) as reader:
        # Header first: selecting columns rewrites some of the reader's per-variable lists.
        header = _stata_header(reader, file)
        df = reader.read()
        header["label_sets"] = {
            str(name): {_label_code(code): str(text) for code, text in codes.items()}
            for name, codes in reader.value_labels().items()
        }
    columns = set(df.columns)
    label_names = {c: n for c, n in header.pop("label_names").items() if c in columns}
    label_sets = header["label_sets"]
    df.attrs["value_labels"] = {
        c: dict(label_sets[n]) for c, n in label_names.items() if n in label_sets
    }
    df.attrs["variable_labels"] = {
        c: lab for c, lab in header.pop("variable_labels").items() if c in columns and lab
    }
    df.attrs["label_names"] = label_names
    header["storage_types"] = {c: t for c, t in header["storage_types"].items() if c in columns}
    header["display_formats"] = {c: f for c, f in header["display_formats"].items() if c in columns}
    df.attrs["stata"] = header
    if categoricals:
        for column, labels in df.attrs["value_labels"].items():
            df[column] = _labelled_categorical(df[column], labels, file)
    return df


def _stata_header(reader: Any, file: Path) -> dict[str, Any]:
    """Everything the file's header says about its variables, by variable name.

    pandas exposes labels publicly but storage types, formats, label-set names and the sort order
    only as reader attributes (public before pandas 2.0, underscored since); read either.
    """
    variable_labels = dict(reader.variable_labels())  # also makes the reader parse the header
    varlist = list(_reader_list(reader, "varlist") or [])
    typlist = _reader_list(reader, "typlist") or [None] * len(varlist)
    fmtlist = _reader_list(reader, "fmtlist") or [""] * len(varlist)
    lbllist = _reader_list(reader, "lbllist") or [""] * len(varlist)
    srtlist = _reader_list(reader, "srtlist") or []
    return {
        "filename": os.fspath(file),
        "data_label": reader.data_label or "",
        "time_stamp": reader.time_stamp or "",
        "storage_types": {v: _stata_type_name(t) for v, t in zip(varlist, typlist, strict=False)},
        "display_formats": {v: str(f) for v, f in zip(varlist, fmtlist, strict=False)},
        "sorted_by": _sort_variables(srtlist, varlist),
        "label_names": {v: str(n) for v, n in zip(varlist, lbllist, strict=False) if n},
        "variable_labels": variable_labels,
    }


def _reader_list(reader: Any, name: str) -> list[Any] | None:
    value = getattr(reader, "_" + name, None)
    if value is None:
        value = getattr(reader, name, None)
    return None if value is None else list(value)


def _label_code(code: Any) -> int | float:
    number = float(code)
    return int(number) if number.is_integer() else number


def _stata_type_name(code: Any) -> str:
    if isinstance(code, (int, np.integer)):
        return f"str{int(code)}"
    return _STATA_TYPE_NAMES.get(str(code), str(code))


def _sort_variables(srtlist: list[Any], varlist: list[str]) -> list[str]:
    # The file's sort list holds 1-based variable numbers and ends at the first 0.
    names = []
    for number in srtlist:
        index = int(number)
        if index <= 0 or index > len(varlist):
            break
        names.append(varlist[index - 1])
    return names


def _labelled_categorical(column: pd.Series, labels: Mapping[Any, str], file: Path) -> pd.Series:
    codes = pd.unique(column.dropna())
    codes = np.sort(np.asarray(codes, dtype=float))
    names = [labels.get(_label_code(code), str(_label_code(code))) for code in codes]
    if len(set(names)) != len(names):
        raise DataError(
            f"cannot make {column.name!r} of {str(file)!r} categorical: two codes share a value "
            "label; read it with categoricals=False to keep the codes"
        )
    position = np.searchsorted(codes, column.to_numpy(dtype=float, na_value=np.nan))
    position = np.where(column.isna().to_numpy(), -1, position)
    return pd.Series(
        pd.Categorical.from_codes(position, categories=names, ordered=True),
        index=column.index,
        name=column.name,
    )


def describe(df: pd.DataFrame, *, linesize: int = 80) -> str:
    """Describe a DataFrame as Stata's ``describe`` does.

    Parameters
    ----------
    df
        Any DataFrame. One read by :func:`read_data` from a ``.dta`` file shows the file's storage
        types, display formats, value-label names, variable labels, data label, time stamp and sort
        order; for other frames these are derived from the dtypes (``float64`` is ``double``,
        ``int32`` is ``long``, text is ``str#``) with Stata's default formats.
    linesize
        Width of the output as Stata's ``set linesize``; the rules span ``linesize - 1`` columns.

    Returns
    -------
    str
        The table, lines without trailing blanks, ending in a newline.
    """
    stata = df.attrs.get("stata", {})
    source = stata.get("filename") or df.attrs.get("source")
    rule = "-" * max(linesize - 1, 40)
    lines = [f"Contains data from {source}" if source else "Contains data"]
    lines.append(f"{' Observations:':<14}{len(df):>14,}".ljust(46) + stata.get("data_label", ""))
    lines.append(
        f"{'    Variables:':<14}{df.shape[1]:>14,}".ljust(46) + stata.get("time_stamp", "")
    )
    lines += [
        rule,
        "Variable      Storage   Display    Value",
        "    name         type    format    label      Variable label",
        rule,
    ]
    for column in df.columns:
        lines.append(_describe_row(df, column))
    lines += [rule, "Sorted by: " + " ".join(_sorted_by(df, stata))]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _describe_row(df: pd.DataFrame, column: Any) -> str:
    stata = df.attrs.get("stata", {})
    name = str(column)
    storage = stata.get("storage_types", {}).get(column) or _storage_type(df[column])
    display = stata.get("display_formats", {}).get(column) or _default_format(storage, df[column])
    value_label = df.attrs.get("label_names", {}).get(column, "")
    if not value_label and isinstance(df[column].dtype, pd.CategoricalDtype):
        value_label = name
    variable_label = df.attrs.get("variable_labels", {}).get(column, "")
    return (
        f"{_abbrev(name, 15):<16}{storage:<8}{display:<11}{_abbrev(value_label, 10):<11}"
        f"{variable_label}"
    )


def _sorted_by(df: pd.DataFrame, stata: Mapping[str, Any]) -> list[str]:
    # A sort order recorded in a file holds only while those columns are still there.
    names = [str(c) for c in stata.get("sorted_by", [])]
    return names if all(name in df.columns for name in names) else []


def _abbrev(text: str, width: int) -> str:
    """Stata's ``abbrev()``: a name too long for its column keeps its start and last character."""
    if len(text) <= width:
        return text
    return text[: width - 2] + "~" + text[-1]


def _storage_type(column: pd.Series) -> str:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "long"
    if pd.api.types.is_bool_dtype(dtype):
        return "byte"
    if pd.api.types.is_integer_dtype(dtype):
        return _integer_storage(column)
    if pd.api.types.is_float_dtype(dtype):
        return "float" if dtype == np.float32 else "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "double"
    if pd.api.types.is_numeric_dtype(dtype):
        return "double"
    return _string_storage(column)


def _integer_storage(column: pd.Series) -> str:
    size = column.dtype.itemsize
    if size == 1 and column.dtype.kind == "i":
        return "byte"
    if size <= 2 and column.dtype.kind == "i":
        return "int"
    values = column.dropna()
    # Stata's long holds -2,147,483,647 .. 2,147,483,620; wider integers need a double.
    if values.empty or (values.min() >= -2_147_483_647 and values.max() <= 2_147_483_620):
        return "long"
    return "double"


def _string_storage(column: pd.Series) -> str:
    texts = column.dropna().astype(str)
    width = max((len(text.encode("utf-8")) for text in texts), default=1)
    # Stata's str# holds up to 2045 bytes; longer text is a strL.
    return "strL" if width > 2045 else f"str{max(width, 1)}"


def _default_format(storage: str, column: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return "%tc"
    if storage.startswith("str") and storage != "strL":
        # Stata gives a new str# variable %9s, or %#s when # is wider than 9.
        return f"%{max(int(storage[3:]), 9)}s"
    return _DEFAULT_FORMATS.get(storage, "%9.0g")


def label_list(df: pd.DataFrame, names: str | Iterable[str] | None = None) -> str:
    """List value-label sets as Stata's ``label list`` does.

    Parameters
    ----------
    df
        A DataFrame read by :func:`read_data` from a ``.dta`` file (or one whose
        ``attrs["value_labels"]`` / ``attrs["label_names"]`` were filled in the same shape).
    names
        Value-label set names to list (``"public"``); ``None`` lists all, in name order.

    Returns
    -------
    str
        Each set as ``name:`` followed by one line per code, codes in ascending order.

    Raises
    ------
    DataError
        A name that is not a value-label set of ``df``.
    """
    sets = _label_sets(df)
    wanted = sorted(sets) if names is None else [names] if isinstance(names, str) else list(names)
    lines = []
    for name in wanted:
        if name not in sets:
            known = ", ".join(sorted(sets)) or "none"
            raise DataError(f"value label {name!r} not found (value labels: {known})")
        lines.append(f"{name}:")
        for code, text in sorted(sets[name].items()):
            lines.append(f"{code:>12} {text}")
    return "\n".join(lines) + ("\n" if lines else "")


def _label_sets(df: pd.DataFrame) -> dict[str, dict[Any, str]]:
    sets = dict(df.attrs.get("stata", {}).get("label_sets", {}))
    for column, name in df.attrs.get("label_names", {}).items():
        labels = df.attrs.get("value_labels", {}).get(column)
        if labels is not None:
            sets.setdefault(name, labels)
    return sets
