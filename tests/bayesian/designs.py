"""Hand-built Design objects for the Bayesian engine's tests and reference scripts.

They mirror what ``multilevel.design.build_design`` produces for the same model, so that the
engine can be tested on its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from multilevel.design.types import Design, FixedColumn, RandomBlock
from multilevel.spec.model_spec import Factor, ModelSpec, RandomLevel, Term

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"
if not DATA_DIR.exists():  # a checkout with shared/ inside it
    DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_math() -> pd.DataFrame:
    """The seed's ``math`` data (519 students in 23 schools)."""
    return pd.read_csv(DATA_DIR / "math.csv")


def math_design(covariance: str = "unstructured", slope: bool = True) -> Design:
    """Design of ``math homework i.schtype || schid: homework, covariance(...)``.

    With ``slope=False`` the random part is ``|| schid:`` (random intercept only).
    """
    df = load_math()
    terms = ("homework",) if slope else ()
    level = RandomLevel(groups=("schid",), terms=terms, constant=True, covariance=covariance)
    spec = ModelSpec(
        response="math",
        fixed=(
            Term((Factor("homework"),)),
            Term((Factor("schtype", kind="categorical"),)),
        ),
        levels=(level,),
        source="math homework i.schtype || schid: homework, covariance(unstructured)",
    )
    X = np.column_stack(
        [df["homework"].to_numpy(float), (df["schtype"] == 1).to_numpy(float), np.ones(len(df))]
    )
    columns = [
        FixedColumn("homework", term=0, level_text="homework"),
        FixedColumn("0.schtype", status="base", term=1, group="schtype", level_text="0"),
        FixedColumn("1.schtype", term=1, group="schtype", level_text="1"),
        FixedColumn("_cons", level_text="_cons"),
    ]
    block = _block(df, level, ("schid",))
    return Design(
        spec=spec,
        y=df["math"].to_numpy(float),
        X=X,
        fixed_columns=columns,
        blocks=[block],
        row_index=df.index,
    )


def _block(df: pd.DataFrame, level: RandomLevel, groups: tuple[str, ...]) -> RandomBlock:
    keys = df[list(groups)].astype(str).agg("|".join, axis=1) if len(groups) > 1 else df[groups[0]]
    values, codes = np.unique(keys.to_numpy(), return_inverse=True)
    cols = [df[t].to_numpy(float) for t in level.terms]
    if level.constant:
        cols.append(np.ones(len(df)))
    return RandomBlock(
        level=level,
        codes=codes.astype(np.int64),
        group_values=list(values),
        Z=np.column_stack(cols),
    )


def simple_design(
    df: pd.DataFrame,
    response: str,
    fixed: tuple[str, ...],
    levels: tuple[RandomLevel, ...] = (),
) -> Design:
    """A Design with continuous fixed covariates plus ``_cons`` and the given random levels.

    Nested levels list their full path in ``groups`` (outermost first), as the parser writes them.
    """
    spec = ModelSpec(
        response=response,
        fixed=tuple(Term((Factor(name),)) for name in fixed),
        levels=levels,
    )
    X = np.column_stack([df[name].to_numpy(float) for name in fixed] + [np.ones(len(df))])
    columns = [FixedColumn(name, term=i, level_text=name) for i, name in enumerate(fixed)]
    columns.append(FixedColumn("_cons", level_text="_cons"))
    blocks = [_block(df, level, level.groups) for level in levels]
    return Design(
        spec=spec,
        y=df[response].to_numpy(float),
        X=X,
        fixed_columns=columns,
        blocks=blocks,
        row_index=df.index,
    )


def build_math_design(covariance: str = "unstructured"):
    """The math model's Design: build_design once it exists, else the hand-built one."""
    try:
        from multilevel.design import build_design
        from multilevel.spec import parse_model
    except ImportError:
        return math_design(covariance)
    text = f"math homework i.schtype || schid: homework, covariance({covariance})"
    return build_design(parse_model(text, command="mixed"), load_math())
