"""The result of a linear mixed-model fit: labelled estimates, tests, and the table Stata prints."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from ..design.types import Design
from ..lmm.fit import LmmEstimates, fixed_covariance
from ..lmm.inference import VarianceInference, stata_parameters, variance_inference
from ..lmm.report import (
    fixed_table,
    lr_test_vs_linear,
    variance_rows,
    wald_test_fixed,
)

# Stata's maximize options: the optimiser here always runs to convergence.
MAXIMIZE_SETTINGS = frozenset(
    {
        "iterate",
        "tolerance",
        "ltolerance",
        "nrtolerance",
        "emiterate",
        "emtolerance",
        "technique",
        "difficult",
        "emonly",
        "matsqrt",
        "matlog",
    }
)


def _random_label(level: str, name: str) -> str:
    return f"{level}: {name}" if level else name


class MixedResult:
    """A fitted linear mixed model.

    Attributes follow ../API.md: ``params`` and ``se`` are Series indexed by Stata's labels (fixed effects,
    then random-effects parameters), ``loglik`` is the log (restricted) likelihood, ``nobs`` the number of
    observations used.
    """

    def __init__(
        self, design: Design, estimates: LmmEstimates, variance: VarianceInference | None = None
    ):
        self.design = design
        self.spec = design.spec
        self.estimates = estimates
        self._variance = variance

    @property
    def variance(self) -> VarianceInference:
        """Observed information of the variance parameters on Stata's scale.

        Computed on first use: the estimates need none of it, and on large designs it costs more
        than the fit itself (a finite-difference Hessian of the likelihood).
        """
        if self._variance is None:
            self._variance = variance_inference(self.estimates)
        return self._variance

    @cached_property
    def _stata_phi(self) -> np.ndarray:
        return stata_parameters(self.estimates)[0]

    # --- basic facts -----------------------------------------------------------------------
    @property
    def loglik(self) -> float:
        return float(self.estimates.loglik)

    @property
    def nobs(self) -> int:
        return int(self.design.nobs)

    @property
    def reml(self) -> bool:
        return self.estimates.reml

    @property
    def level(self) -> float:
        return float(self.spec.options.level)

    @property
    def converged(self) -> bool:
        return bool(self.estimates.optimum.converged)

    @cached_property
    def boundary(self) -> list[str]:
        """Variance parameters estimated at the boundary (a variance at zero, a correlation at +-1)."""
        flagged = []
        for row in self._component_frame("var", with_se=False).itertuples():
            name = row.Index
            if "var(" in name and row.estimate <= 1e-8 * max(1.0, self.estimates.sigma2):
                flagged.append(name)
        for row in self._component_frame("sd", with_se=False).itertuples():
            if "corr(" in row.Index and abs(row.estimate) > 1 - 1e-6:
                flagged.append(row.Index)
        return flagged

    # --- estimates -------------------------------------------------------------------------
    @cached_property
    def fixed_effects(self) -> pd.DataFrame:
        """Coefficient table of the estimated fixed effects (coef, se, z, p, lower, upper)."""
        return fixed_table(self.estimates, self.design, self.level)

    def variance_components(self) -> pd.DataFrame:
        """Random-effects parameters on the variance scale, as in Stata's main table."""
        return self._component_frame("var")

    def sd_components(self) -> pd.DataFrame:
        """Standard deviations and correlations, as ``estat sd`` shows them."""
        return self._component_frame("sd")

    def _component_frame(self, scale: str, with_se: bool = True) -> pd.DataFrame:
        variance = self.variance if with_se else self._point_variance()
        rows = variance_rows(self.estimates, self.design, variance, self.level, scale)
        return pd.DataFrame(
            {
                "estimate": [r.estimate for r in rows],
                "se": [r.se for r in rows],
                "lower": [r.lower for r in rows],
                "upper": [r.upper for r in rows],
                "level": [r.level for r in rows],
            },
            index=[_random_label(r.level, r.name) for r in rows],
        )

    @cached_property
    def params(self) -> pd.Series:
        """Fixed effects, then random-effects parameters, by Stata's labels."""
        fixed = self.fixed_effects["coef"]
        random = self._component_frame("var", with_se=False)["estimate"]
        return pd.concat([fixed, random]).astype(float)

    @cached_property
    def se(self) -> pd.Series:
        fixed = self.fixed_effects["se"]
        random = self.variance_components()["se"]
        return pd.concat([fixed, random]).astype(float)

    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed effects (given the variance parameters, as Stata and lme4)."""
        names = self.design.fixed_names
        return pd.DataFrame(fixed_covariance(self.estimates), index=names, columns=names)

    def _point_variance(self) -> VarianceInference:
        """The variance parameters without their information matrix (standard errors missing)."""
        phi, slices = stata_parameters(self.estimates)
        nan = np.full((len(phi), len(phi)), np.nan)
        return VarianceInference(phi=phi, cov_phi=nan, slices=slices, boundary=False)

    @property
    def n_variance_params(self) -> int:
        """Variance parameters of the random effects (the residual variance not counted)."""
        return len(self._stata_phi) - 1

    @property
    def df_model(self) -> int:
        """Estimated parameters: fixed effects, random-effects parameters and the residual variance."""
        return len(self.estimates.beta) + len(self._stata_phi)

    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * self.df_model

    @property
    def bic(self) -> float:
        return -2 * self.loglik + np.log(self.nobs) * self.df_model

    @cached_property
    def wald(self) -> dict:
        """Wald chi2 test that all coefficients but the constant are zero."""
        chi2, df, p = wald_test_fixed(self.estimates, self.design)
        return {"chi2": chi2, "df": df, "p": p}

    @cached_property
    def lr_test(self) -> dict:
        """LR test against the linear regression without random effects."""
        return lr_test_vs_linear(self.loglik, self.design, self.reml, self.n_variance_params)

    def group_summary(self) -> pd.DataFrame:
        """Number of groups and observations per group at each level (Stata's header)."""
        rows = []
        for block in self.design.blocks:
            # Stata's crossed `_all` level is one group holding every observation.
            crossed = block.level.crossed_factor is not None
            sizes = np.array([self.nobs]) if crossed else block.group_sizes()
            rows.append(
                {
                    "level": "_all" if crossed else block.level.groups[-1],
                    "groups": len(sizes),
                    "min": int(sizes.min()),
                    "avg": float(sizes.mean()),
                    "max": int(sizes.max()),
                }
            )
        return pd.DataFrame(rows).set_index("level")

    @property
    def notes(self) -> list[str]:
        """What was dropped, omitted, or did not go as planned."""
        notes = list(self.design.notes)
        if not self.converged:
            notes.append(f"convergence not achieved ({self.estimates.optimum.message})")
        for name in self.boundary:
            notes.append(f"{name} is estimated at its boundary")
        ignored = [k for k, _ in self.spec.options.extra if k in MAXIMIZE_SETTINGS]
        if ignored:
            notes.append(
                f"option(s) {', '.join(ignored)} ignored: the estimates are the converged optimum"
            )
        if self.variance.boundary:
            notes.append(
                "observed information matrix is singular; standard errors may be unreliable"
            )
        return notes

    def summary(self) -> str:
        """The results table in Stata's layout."""
        from .render_mixed import render_mixed

        return render_mixed(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<MixedResult {self.spec.command}: {self.spec.response}, loglik={self.loglik:.4f}>"

    # --- postestimation (multilevel.postestimation) ----------------------------------------
    def estat_sd(self):
        """Standard deviations and correlations of the random effects (Stata's ``estat sd``)."""
        from ..postestimation.estat import estat_sd

        return estat_sd(self)

    def estat_icc(self):
        """Intraclass correlations of each nested level (Stata's ``estat icc``)."""
        from ..postestimation.estat import estat_icc

        return estat_icc(self)

    def estat_ic(self, name: str = "."):
        """AIC and BIC (Stata's ``estat ic``)."""
        from ..postestimation.estat import estat_ic

        return estat_ic(self, name)

    def random_effects(self) -> dict[str, pd.DataFrame]:
        """Predicted random effects (BLUPs): level -> DataFrame (groups x effects)."""
        from ..postestimation.random_effects import random_effects

        return random_effects(self)

    def random_effects_se(self, include_fixed: bool | None = None) -> dict[str, pd.DataFrame]:
        """Standard errors of the BLUPs, as Stata's ``reses`` (see postestimation.random_effects)."""
        from ..postestimation.random_effects import random_effects_se

        return random_effects_se(self, include_fixed)

    def predict(self, kind: str = "xb", data: pd.DataFrame | None = None, relevel=None):
        """Predictions as Stata's ``predict``: xb, stdp, fitted, residuals, rstandard, reffects, reses."""
        from ..postestimation.predict import predict

        return predict(self, kind, data=data, relevel=relevel)

    def test(self, *hypotheses: str):
        """Wald test of linear hypotheses on the fixed effects (Stata's ``test``)."""
        from ..postestimation.tests import wald_test

        return wald_test(self, *hypotheses)

    def lrtest(self, other: MixedResult, names: tuple[str, str] = ("model1", "model2")):
        """Likelihood-ratio test of this fit against a nested one (Stata's ``lrtest``)."""
        from ..postestimation.tests import lrtest

        return lrtest(self, other, names)
