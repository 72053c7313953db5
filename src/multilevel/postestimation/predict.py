"""Predictions after a linear mixed model, as Stata's ``predict`` after ``mixed``.

``xb`` is the linear prediction of the fixed part, ``stdp`` its standard error, ``fitted`` adds the
predicted random effects (of every level, or of the levels down to ``relevel``), ``residuals`` is
the response less ``fitted``, ``rstandard`` the residuals over the residual standard deviation.
``reffects`` and ``reses`` give each row its group's BLUPs and their standard errors.

New data are supported for ``xb``, ``stdp``, ``fitted``, ``residuals`` and ``rstandard``: groups
not seen in estimation get random effects of zero (their prior mean), as in Stata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..design import encode_fixed, random_block_for
from ..design.fixed import missing_mask, numeric_values
from ..design.random import group_variables
from ..errors import DataError, OptionError
from .random_effects import random_effects_se

if TYPE_CHECKING:
    from ..design.types import RandomBlock
    from ..results.mixed_result import MixedResult

KINDS = ("xb", "stdp", "fitted", "residuals", "rstandard", "reffects", "reses")
_SAMPLE_ONLY = ("reffects", "reses")


def level_positions(fit: MixedResult, relevel: str | None) -> list[int]:
    """Design blocks whose random effects enter a prediction at ``relevel``.

    ``None`` means every level; a level name (its label such as ``school>class``, or its last
    grouping variable such as ``class``) means that level and the levels above it.
    """
    blocks = fit.design.blocks
    if relevel is None:
        return list(range(len(blocks)))
    for k, block in enumerate(blocks):
        names = {block.label, *group_variables(block.level)[-1:]}
        if relevel in names:
            return list(range(k + 1))
    known = ", ".join(b.label for b in blocks)
    raise OptionError(f"relevel({relevel}): not a random-effects level of the model ({known})")


def _sample_block(fit: MixedResult, data: pd.DataFrame | None, k: int) -> RandomBlock:
    block = fit.design.blocks[k]
    if data is None:
        return block
    return random_block_for(block.level, data, block.group_values)


def _fixed_matrix(fit: MixedResult, data: pd.DataFrame | None) -> np.ndarray:
    if data is None:
        return fit.design.X
    return encode_fixed(fit.design.encoding, data)


def _group_missing(block: RandomBlock, data: pd.DataFrame | None) -> np.ndarray:
    """Rows whose grouping values are missing (their prediction is missing, not zero)."""
    if data is None:
        return np.zeros(len(block.codes), dtype=bool)
    missing = np.zeros(len(data), dtype=bool)
    for name in group_variables(block.level):
        missing |= missing_mask(data[name])
    return missing


def random_part(fit: MixedResult, data: pd.DataFrame | None, positions: list[int]) -> np.ndarray:
    """``Z u`` summed over the given design blocks, one value per row (0 for unseen groups)."""
    n_rows = fit.design.nobs if data is None else len(data)
    total = np.zeros(n_rows)
    for k in positions:
        block = _sample_block(fit, data, k)
        u = np.asarray(fit.estimates.random_effects[k])
        u = u.reshape(len(block.group_values), -1)
        seen = block.codes >= 0
        contribution = np.zeros(n_rows)
        contribution[seen] = np.einsum("ij,ij->i", block.Z[seen], u[block.codes[seen]])
        contribution[_group_missing(block, data)] = np.nan
        total += contribution
    return total


def _response(fit: MixedResult, data: pd.DataFrame | None) -> np.ndarray:
    if data is None:
        return np.asarray(fit.design.y, dtype=float)
    name = fit.spec.response
    if name not in data.columns:
        raise DataError(f"residuals need the response {name}, which the data do not hold")
    return numeric_values(data[name], name, "response")


def _per_row(
    fit: MixedResult, frames: dict[str, pd.DataFrame], positions: list[int]
) -> pd.DataFrame:
    """Each estimation row's values of its group, columns ``level: effect`` in level order."""
    columns = {}
    for k in positions:
        block = fit.design.blocks[k]
        values = frames[block.label].to_numpy()[block.codes]
        for j, effect in enumerate(block.effect_names):
            columns[f"{block.label}: {effect}"] = values[:, j]
    return pd.DataFrame(columns, index=fit.design.row_index)


def _row_index(fit: MixedResult, data: pd.DataFrame | None) -> pd.Index:
    return fit.design.row_index if data is None else data.index


def stdp(fit: MixedResult, data: pd.DataFrame | None = None) -> np.ndarray:
    """Standard error of the linear prediction ``x beta`` of each row."""
    X = _fixed_matrix(fit, data)
    cov = fit.vcov.to_numpy()
    return np.sqrt(np.clip(np.einsum("ij,jk,ik->i", X, cov, X), 0.0, None))


def predict(
    fit: MixedResult,
    kind: str = "xb",
    data: pd.DataFrame | None = None,
    relevel: str | None = None,
) -> pd.Series | pd.DataFrame:
    """Predictions of a linear mixed model, as Stata's ``predict`` after ``mixed``.

    Parameters
    ----------
    fit
        A fitted linear mixed model.
    kind
        ``"xb"`` (default), ``"stdp"``, ``"fitted"``, ``"residuals"``, ``"rstandard"``,
        ``"reffects"`` or ``"reses"``.
    data
        New rows; ``None`` predicts for the estimation sample. ``reffects`` and ``reses`` are
        for the estimation sample only.
    relevel
        For ``fitted``, ``residuals`` and ``rstandard``: include the random effects of this level
        and the levels above it only. For ``reffects`` and ``reses``: this level's effects only.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        A Series named ``kind`` indexed as the rows; for ``reffects`` and ``reses`` a DataFrame
        with one column per random effect (``schid: homework``, ``schid: _cons``), each row
        holding its group's value.

    Raises
    ------
    OptionError
        An unknown ``kind`` or ``relevel``, or new data with ``reffects``/``reses``.
    DataError
        New data lacking a variable the prediction needs.
    """
    if kind not in KINDS:
        raise OptionError(f"predict: unknown statistic {kind!r}; choose one of {', '.join(KINDS)}")
    if kind in _SAMPLE_ONLY:
        if data is not None:
            raise OptionError(f"predict, {kind}: available for the estimation sample only")
        positions = level_positions(fit, relevel)
        if relevel is not None:
            positions = positions[-1:]
        frames = fit.random_effects() if kind == "reffects" else random_effects_se(fit)
        return _per_row(fit, frames, positions)
    if relevel is not None and kind in ("xb", "stdp"):
        raise OptionError(f"predict, {kind}: relevel() applies to predictions with random effects")
    index = _row_index(fit, data)
    if kind == "stdp":
        return pd.Series(stdp(fit, data), index=index, name=kind)
    xb = _fixed_matrix(fit, data) @ fit.estimates.beta
    if kind == "xb":
        return pd.Series(xb, index=index, name=kind)
    fitted = xb + random_part(fit, data, level_positions(fit, relevel))
    if kind == "fitted":
        return pd.Series(fitted, index=index, name=kind)
    residuals = _response(fit, data) - fitted
    if kind == "rstandard":
        residuals = residuals / np.sqrt(fit.estimates.sigma2)
    return pd.Series(residuals, index=index, name=kind)
