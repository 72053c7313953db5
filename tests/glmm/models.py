"""Helpers of the GLMM engine tests: Stata-syntax models applied to data and fitted."""

from __future__ import annotations

import pandas as pd

from multilevel.design import build_design
from multilevel.glmm.fit import fit_glmm
from multilevel.spec.stata_syntax import parse_stata


def design_for(text: str, command: str, data: pd.DataFrame):
    """The design of a Stata-syntax ``me`` model (the command word left out of ``text``)."""
    return build_design(parse_stata(text, command=command), data)


def fit_model(text: str, command: str, data: pd.DataFrame, **options):
    return fit_glmm(design_for(text, command, data), **options)
