"""``estat sd``, ``estat icc`` and ``estat ic`` after a linear mixed model.

Each function takes a fit and returns a :class:`~multilevel.postestimation.frame.StataFrame`: the
numbers as a DataFrame, printing as Stata's output.

Intraclass correlations follow Stata's ``estat icc`` (Methods and formulas of ``[ME] estat icc``):
for nested levels 1 (outermost) .. G, the ICC of level k is the correlation of two responses that
share the groups of levels 1..k, ``(sigma2_1 + ... + sigma2_k) / (sigma2_1 + ... + sigma2_G +
sigma2_e)``, using the random-intercept variances; with random coefficients it is the correlation
at zero values of their covariates, as Stata's note says. Standard errors come from the delta
method on the estimation scale of the variance parameters (ln sd, atanh corr, with the inverse
observed information), and intervals from the logit scale, as Stata does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import OptionError
from ..results.stata_format import fmt_g
from ..results.tables import icc_table, random_effects_table
from .frame import StataFrame, stata_frame

if TYPE_CHECKING:
    from ..lmm.covariance import CovarianceStructure
    from ..results.mixed_result import MixedResult

ICC_SLOPE_NOTE = "Note: ICC is conditional on zero values of random-effects covariates."
IC_NOTE = "Note: BIC uses N = number of observations. See [R] IC note."


def structures_by_block(fit: MixedResult) -> list[CovarianceStructure]:
    """The covariance structure of each design block (Design.blocks order)."""
    out: list = [None] * len(fit.design.blocks)
    problem = fit.estimates.problem
    for block, structure in zip(problem.cp.blocks, problem.structures, strict=True):
        out[block.source] = structure
    return out


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 200))


# ---------------------------------------------------------------------------------------------
# estat sd
# ---------------------------------------------------------------------------------------------


def estat_sd(fit: MixedResult) -> StataFrame:
    """Random-effects parameters as standard deviations and correlations (Stata's ``estat sd``).

    Parameters
    ----------
    fit
        A fitted linear mixed model.

    Returns
    -------
    StataFrame
        Index ``schid: sd(homework)``, ..., ``sd(Residual)``; columns ``estimate``, ``se``,
        ``lower``, ``upper`` (intervals on the log scale for standard deviations and the atanh
        scale for correlations); prints as Stata's table.
    """
    frame = fit.sd_components()
    structures = structures_by_block(fit)
    sections = []
    for block, structure in zip(fit.design.blocks, structures, strict=True):
        rows = frame[frame["level"] == block.label]
        sections.append(
            {
                "title": f"{block.label}: {structure.title()}",
                "rows": [_table_row(name, row, block.label) for name, row in rows.iterrows()],
            }
        )
    residual = frame[frame["level"] == ""]
    residual_rows = [_table_row(name, row, "") for name, row in residual.iterrows()]
    text = random_effects_table(sections, residual_rows, level=fit.level)
    return stata_frame(frame[["estimate", "se", "lower", "upper"]], text)


def _table_row(name: str, row: pd.Series, level: str) -> tuple:
    label = name[len(level) + 2 :] if level and name.startswith(f"{level}: ") else name
    return (label, row["estimate"], row["se"], row["lower"], row["upper"])


# ---------------------------------------------------------------------------------------------
# estat icc
# ---------------------------------------------------------------------------------------------


def _check_icc_model(fit: MixedResult) -> None:
    blocks = fit.design.blocks
    for block in blocks:
        if block.level.crossed_factor is not None:
            raise OptionError("estat icc is not supported for crossed-effects models")
        if "_cons" not in block.effect_names:
            raise OptionError(
                f"estat icc needs a random intercept at every level; {block.label} has none"
            )
    for outer, inner in zip(blocks, blocks[1:], strict=False):
        if not _nested(outer, inner):
            raise OptionError(
                f"estat icc is not supported for crossed-effects models: {inner.label} is not "
                f"nested within {outer.label}"
            )


def _nested(outer, inner) -> bool:
    """Whether every group of ``inner`` lies within one group of ``outer``."""
    path_outer, path_inner = outer.level.groups, inner.level.groups
    if path_inner[: len(path_outer)] == path_outer:
        return True
    pairs = pd.DataFrame({"inner": inner.codes, "outer": outer.codes})
    return bool((pairs.groupby("inner")["outer"].nunique() == 1).all())


def icc_labels(fit: MixedResult) -> list[str]:
    """Stata's level names: ``school``, ``class|school``, ``id|class|school``."""
    names = [block.level.groups[-1] for block in fit.design.blocks]
    return ["|".join(reversed(names[: k + 1])) for k in range(len(names))]


def _icc_function(fit: MixedResult):
    """ICCs of every level as a function of the variance parameters on Stata's scale."""
    structures = structures_by_block(fit)
    slices = fit.variance.slices
    cons = [list(block.effect_names).index("_cons") for block in fit.design.blocks]

    def iccs(phi: np.ndarray) -> np.ndarray:
        variances = np.array(
            [
                s.sigma_from_stata(phi[sl])[c, c]
                for s, sl, c in zip(structures, slices, cons, strict=True)
            ]
        )
        total = variances.sum() + np.exp(2 * phi[-1])
        return np.cumsum(variances) / total

    return iccs


def _jacobian(fun, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    columns = [(fun(x + step * e) - fun(x - step * e)) / (2 * step) for e in np.eye(len(x))]
    return np.array(columns).T


def logit_interval(value: float, se: float, z: float) -> tuple[float, float]:
    """Stata's interval for a proportion: symmetric on the logit scale, mapped back."""
    if not (0 < value < 1) or not np.isfinite(se):
        return np.nan, np.nan
    centre = np.log(value / (1 - value))
    half = z * se / (value * (1 - value))
    return float(1 / (1 + np.exp(-(centre - half)))), float(1 / (1 + np.exp(-(centre + half))))


def estat_icc(fit: MixedResult) -> StataFrame:
    """Intraclass correlations of each nested level (Stata's ``estat icc``).

    Parameters
    ----------
    fit
        A fitted linear mixed model whose levels are nested and each have a random intercept.

    Returns
    -------
    StataFrame
        Index the levels as Stata names them (``school``, ``class|school``); columns ``icc``,
        ``se``, ``lower``, ``upper``; prints as Stata's output.

    Raises
    ------
    OptionError
        Crossed levels, or a level without a random intercept.
    """
    _check_icc_model(fit)
    fun = _icc_function(fit)
    phi = fit.variance.phi
    values = fun(phi)
    jac = _jacobian(fun, phi)
    ses = np.sqrt(np.clip(np.diag(jac @ fit.variance.cov_phi @ jac.T), 0.0, None))
    z = _z(fit.level)
    bounds = [logit_interval(v, s, z) for v, s in zip(values, ses, strict=True)]
    frame = pd.DataFrame(
        {
            "icc": values,
            "se": ses,
            "lower": [b[0] for b in bounds],
            "upper": [b[1] for b in bounds],
        },
        index=pd.Index(icc_labels(fit), name="level"),
    )
    rows = [(name, *row) for name, row in zip(frame.index, frame.to_numpy(), strict=True)]
    text = icc_table(rows, level=fit.level)
    if any(len(block.effect_names) > 1 for block in fit.design.blocks):
        text += "\n" + ICC_SLOPE_NOTE
    return stata_frame(frame, text)


# ---------------------------------------------------------------------------------------------
# estat ic
# ---------------------------------------------------------------------------------------------

_IC_HEADER = (
    f"{'Model':>12} |{'N':>11}{'ll(null)':>11}{'ll(model)':>11}{'df':>8}{'AIC':>11}{'BIC':>11}"
)
_IC_WIDTHS = (11, 11, 11, 8, 11, 11)


def ic_table(rows: list[tuple[str, int, float, float, int, float, float]]) -> str:
    """Stata's ``estat ic`` output for rows ``(model, N, ll(null), ll(model), df, AIC, BIC)``."""
    lines = [
        "Akaike's information criterion and Bayesian information criterion",
        "",
        "-" * 77,
        _IC_HEADER,
        "-" * 13 + "+" + "-" * 63,
    ]
    for name, *values in rows:
        cells = "".join(
            (str(int(v)) if i in (0, 3) else fmt_g(v, 9)).rjust(w)
            for i, (v, w) in enumerate(zip(values, _IC_WIDTHS, strict=True))
        )
        lines.append(f"{name[:12]:>12} |{cells}")
    lines += ["-" * 77, IC_NOTE]
    return "\n".join(lines)


def estat_ic(fit: MixedResult, name: str = ".") -> StataFrame:
    """Akaike's and Schwarz's Bayesian information criteria (Stata's ``estat ic``).

    Parameters
    ----------
    fit
        A fitted model.
    name
        The model's name in the table (Stata shows ``.`` for the current estimates).

    Returns
    -------
    StataFrame
        One row: ``N``, ``ll_null`` (missing: mixed fits no null model), ``ll``, ``df``, ``AIC``,
        ``BIC`` (``BIC`` with N the number of observations).
    """
    row = (name, fit.nobs, np.nan, fit.loglik, fit.df_model, fit.aic, fit.bic)
    frame = pd.DataFrame(
        [row[1:]],
        index=pd.Index([name], name="model"),
        columns=["N", "ll_null", "ll", "df", "AIC", "BIC"],
    )
    return stata_frame(frame, ic_table([row]))
