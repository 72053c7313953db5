"""The public estimation commands: one pipeline, text -> ModelSpec -> Design -> engine -> Result."""

from __future__ import annotations

import pandas as pd

from .design import build_design
from .design.types import Design
from .errors import DataError
from .lmm.fit import fit_lmm
from .lmm.inference import variance_inference
from .results.mixed_result import MixedResult
from .spec import parse_model


def fit_mixed_design(design: Design) -> MixedResult:
    """Fit a linear mixed model to a built design (ML unless the spec asks for REML)."""
    if not design.blocks:
        raise DataError(
            "mixed needs at least one random-effects level, e.g. `|| schid:` or `(1 | schid)`"
        )
    estimates = fit_lmm(design, reml=design.spec.options.reml)
    return MixedResult(design, estimates, variance_inference(estimates))


def mixed(model: str, data: pd.DataFrame, **options) -> MixedResult:
    """Fit a linear mixed-effects model, as Stata's ``mixed`` or lme4's ``lmer``.

    Parameters
    ----------
    model
        Stata syntax (``"math homework i.schtype || schid: homework, covariance(unstructured)"``) or a
        formula (``"math ~ homework + C(schtype) + (homework | schid)"``).
    data
        The data, one row per observation.
    **options
        Options as keyword arguments, meaning the same as in the command: ``reml=True``,
        ``covariance="unstructured"``, ``level=90``.

    Returns
    -------
    MixedResult
        Estimates, standard errors and tests; ``print(fit)`` shows Stata's table.
    """
    spec = parse_model(model, command="mixed", **options)
    return fit_mixed_design(build_design(spec, data))
