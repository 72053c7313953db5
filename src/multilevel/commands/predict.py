"""``predict``: new variables from the current estimates.

After ``mixed``: ``xb`` (the default), ``stdp``, ``fitted``, ``residuals``, ``rstandard``,
``reffects`` with ``reses(stub*)``, and ``relevel(level)`` -- each is ``fit.predict(kind)``.
After the ``me`` commands: ``mu`` (the default), ``pr``, ``eta``, ``xb``, ``reffects`` with
``reses()``, ``ebmeans`` / ``ebmodes`` and ``conditional(fixedonly)`` -- ``fit.predict(kind,
random=...)`` and ``fit.random_effects(kind)``. A statistic with several columns (random effects of
several levels or slopes, category probabilities) takes a stub (``u*`` -> u1, u2, ...) or as many
names. Rows outside the estimation sample, or left out by ``if``/``in``, get missing values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..results.glmm_result import GlmmResult
from ..results.mixed_result import MixedResult
from .data_commands import as_column, check_new_name, storage_dtype
from .errors import CommandError, UnsupportedError
from .registry import Call, command
from .session import Session
from .syntax import Option, option_table, parse_options, parse_parts, words

_OPTIONS = option_table(
    Option("xb", 2),
    Option("stdp", 4),
    Option("fitted", 3),
    Option("residuals", 3),
    Option("rstandard", 4),
    Option("reffects", 3),
    Option("reses", 5, "required"),
    Option("relevel", 5, "required"),
    Option("mu", 2),
    Option("pr", 2),
    Option("eta", 3),
    Option("ebmeans", 4),
    Option("ebmodes", 4),
    Option("conditional", 4, "required"),
)
MIXED_STATISTICS = ("xb", "stdp", "fitted", "residuals", "rstandard", "reffects")
ME_STATISTICS = ("mu", "pr", "eta", "xb", "reffects")
_MIXED_ONLY = ("relevel",)
_ME_ONLY = ("ebmeans", "ebmodes", "conditional")
_LABELS = {
    "xb": "Linear prediction, fixed portion",
    "stdp": "S.E. of the prediction",
    "fitted": "Fitted values: xb + Zu",
    "residuals": "Residuals",
    "rstandard": "Standardized residuals",
    "reffects": "BLUP r.e. for {}",
    "reses": "S.E. of BLUP r.e. for {}",
    "mu": "Predicted mean",
    "pr": "Predicted probability",
    "eta": "Linear predictor",
    "ebmeans": "Empirical Bayes' means for {}",
    "ebmodes": "Empirical Bayes' modes for {}",
    "ebses": "S.E. of empirical Bayes' {} for {}",
}


def new_names(session: Session, spec: str, count: int, what: str) -> list[str]:
    """Names for ``count`` new variables: ``stub*`` -> stub1, stub2, ...; or a list of names."""
    items = words(spec)
    if len(items) == 1 and items[0].endswith("*"):
        names = [f"{items[0][:-1]}{k}" for k in range(1, count + 1)]
    else:
        names = items
    if len(names) != count:
        plural = "s" if count != 1 else ""
        stub = "stub* or " if count > 1 else ""
        raise CommandError(
            f"{what} needs {count} new variable{plural} ({stub}{count} name{plural}), got {spec.strip()}"
        )
    for name in names:
        check_new_name(session, name)
    return names


def _statistic(fit: Any, options: dict) -> str:
    if isinstance(fit, MixedResult):
        allowed, wrong, default = MIXED_STATISTICS, _ME_ONLY, "xb"
    elif isinstance(fit, GlmmResult):
        allowed, wrong, default = ME_STATISTICS, _MIXED_ONLY, "mu"
    else:
        raise UnsupportedError("predict is not supported after these estimates yet", 321)
    chosen = [s for s in (*MIXED_STATISTICS, *ME_STATISTICS) if s in options]
    chosen = list(dict.fromkeys(chosen))
    refused = [s for s in chosen if s not in allowed] + [o for o in wrong if o in options]
    if refused:
        raise CommandError(f"predict: option {refused[0]} not allowed after {fit.spec.command}")
    if len(chosen) > 1:
        raise CommandError(f"predict: only one statistic may be given ({', '.join(chosen)})")
    if "reses" in options and chosen != ["reffects"]:
        raise CommandError("predict: reses() goes with reffects")
    return chosen[0] if chosen else default


def _mixed_frame(fit: MixedResult, kind: str, options: dict) -> pd.DataFrame:
    relevel = options.get("relevel")
    values = fit.predict(kind, relevel=relevel)
    return values.to_frame() if isinstance(values, pd.Series) else values


def _me_frame(fit: GlmmResult, kind: str, options: dict) -> pd.DataFrame:
    """Predictions of a GLMM fit, one row per estimation row."""
    how = "modes" if "ebmodes" in options else "means"
    index = fit.design.row_index
    if kind in ("reffects", "reses"):
        columns = {}
        for block, effects in zip(fit.design.blocks, fit.random_effects(how), strict=True):
            values = effects.estimate if kind == "reffects" else effects.se
            for j, name in enumerate(effects.effect_names):
                columns[f"{effects.level}: {name}"] = values[block.codes, j]
        return pd.DataFrame(columns, index=index)
    conditional = options.get("conditional")
    if conditional is not None and conditional.strip() not in ("fixedonly", "ebmeans", "ebmodes"):
        raise CommandError(f"conditional({conditional}): use fixedonly, ebmeans or ebmodes")
    if conditional is not None and conditional.strip() != "fixedonly":
        how = conditional.strip()[2:]
    random = None if conditional is not None and conditional.strip() == "fixedonly" else how
    values = fit.predict(kind, random=random)
    if isinstance(values, pd.DataFrame):
        values.index = index
        return values
    return pd.DataFrame({kind: np.asarray(values, dtype=float)}, index=index)


def _label(fit: Any, what: str, column: str, options: dict) -> str:
    if isinstance(fit, GlmmResult) and what in ("reffects", "reses"):
        how = "modes" if "ebmodes" in options else "means"
        if what == "reses":
            return _LABELS["ebses"].format(how, column)
        return _LABELS[f"eb{how}"].format(column)
    if what == "pr" and column != "pr":
        return f"{_LABELS['pr']} {column}"  # one column per outcome category
    return _LABELS[what].format(column)


@command("predict")
def predict(session: Session, call: Call) -> None:
    parts = parse_parts(call.args)
    options = parse_options(parts.options, _OPTIONS, "predict")
    fit = session.estimates().result
    kind = _statistic(fit, options)
    if kind not in options:
        session.out.line(f"(option {kind} assumed)")
    items = words(parts.main)
    storage = (
        items.pop(0) if items and items[0] in ("byte", "int", "long", "float", "double") else None
    )
    outputs = [(kind, " ".join(items))]
    if "reses" in options:
        outputs.append(("reses", options["reses"]))
    make = _mixed_frame if isinstance(fit, MixedResult) else _me_frame
    frames = [(what, spec, make(fit, what, options)) for what, spec in outputs]
    named = [
        (what, new_names(session, spec, frame.shape[1], f"predict, {what}"), frame)
        for what, spec, frame in frames
    ]
    mask = session.selection(parts)
    df = session.df.copy()
    labels = df.attrs.setdefault("variable_labels", {})
    for what, names, frame in named:
        for name, column in zip(names, frame.columns, strict=True):
            values = frame[column].reindex(df.index).to_numpy(dtype=float)
            values = np.where(mask, values, np.nan)
            df[name] = as_column(values, storage_dtype(storage, values), df.index)
            labels[name] = _label(fit, what, str(column), options)
            _missing_note(session, values)
    session.set_data(df)


def _missing_note(session: Session, values: np.ndarray) -> None:
    n_missing = int(np.isnan(values).sum())
    if n_missing:
        session.out.line(f"({n_missing:,} missing value{'s' if n_missing != 1 else ''} generated)")
