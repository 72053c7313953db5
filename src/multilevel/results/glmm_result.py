"""The result of a generalized linear mixed-model fit (melogit, mepoisson, ...) and its Stata layout."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from ..glmm import GlmmEstimates
from ..glmm import icc as glmm_icc
from ..glmm import predict as glmm_predict
from ..glmm import random_effects as glmm_random_effects
from .mixed_result import MAXIMIZE_SETTINGS
from .render_mixed import coefficient_rows, group_infos, level_name, variance_sections
from .tables import Row, coefficient_table, lr_test_line, mixed_header, random_effects_table

TITLES = {
    "melogit": "Mixed-effects logistic regression",
    "meprobit": "Mixed-effects probit regression",
    "mecloglog": "Mixed-effects complementary log-log regression",
    "meologit": "Mixed-effects ologit regression",
    "meoprobit": "Mixed-effects oprobit regression",
    "mepoisson": "Mixed-effects Poisson regression",
    "menbreg": "Mixed-effects negative binomial regression",
    "meglm": "Mixed-effects GLM",
}

EFORM_TITLES = {"logit": "Odds ratio", "log": "IRR"}


class GlmmResult:
    """A fitted generalized linear mixed model, with the attributes of ../API.md."""

    def __init__(self, estimates: GlmmEstimates):
        self.estimates = estimates
        self.design = estimates.design
        self.spec = estimates.design.spec

    @property
    def loglik(self) -> float:
        return float(self.estimates.loglik)

    @property
    def nobs(self) -> int:
        return int(self.design.nobs)

    @property
    def level(self) -> float:
        return float(self.spec.options.level)

    @property
    def converged(self) -> bool:
        return self.estimates.converged

    @cached_property
    def params(self) -> pd.Series:
        """Coefficients, cutpoints / ancillary parameters, then random-effects parameters."""
        return self.estimates.params

    @cached_property
    def se(self) -> pd.Series:
        return self.estimates.se

    @cached_property
    def vcov(self) -> pd.DataFrame:
        return self.estimates.vcov

    @cached_property
    def table(self) -> pd.DataFrame:
        """Stata's table: coef (exponentiated under or/irr), se, z, p, interval."""
        return self.estimates.table()

    @property
    def fixed_effects(self) -> pd.DataFrame:
        return self.table.loc[self.design.fixed_names]

    @cached_property
    def wald(self) -> dict:
        """Wald chi2 that every coefficient but the constant is zero."""
        names = [n for n in self.design.fixed_names if n != "_cons"]
        if not names:
            return {"chi2": np.nan, "df": 0, "p": np.nan}
        beta = self.params[names].to_numpy()
        cov = self.vcov.loc[names, names].to_numpy()
        chi2 = float(beta @ np.linalg.solve(cov, beta))
        return {"chi2": chi2, "df": len(names), "p": float(stats.chi2.sf(chi2, len(names)))}

    @property
    def lr_test(self) -> dict:
        return self.estimates.lr_test

    @property
    def notes(self) -> list[str]:
        notes = list(self.design.notes) + list(self.estimates.notes)
        ignored = [k for k, _ in self.spec.options.extra if k in MAXIMIZE_SETTINGS]
        if ignored:
            notes.append(
                f"option(s) {', '.join(ignored)} ignored: the estimates are the converged optimum"
            )
        if not self.converged:
            notes.append(f"convergence not achieved ({self.estimates.optimum.message})")
        return notes

    def group_summary(self) -> pd.DataFrame:
        from .mixed_result import MixedResult

        return MixedResult.group_summary(self)

    # --- postestimation -------------------------------------------------------------------
    reml = False  # lrtest compares ML fits only

    @property
    def df_model(self) -> int:
        """Estimated parameters: coefficients, cutpoints / ancillary, random-effects parameters."""
        return len(self.params)

    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * self.df_model

    @property
    def bic(self) -> float:
        return -2 * self.loglik + np.log(self.nobs) * self.df_model

    def estat_sd(self) -> pd.DataFrame:
        """Standard deviations and correlations of the random effects, with Stata's intervals."""
        from ..postestimation.frame import stata_frame

        frame = sd_table(self.estimates.stata_params, self.estimates.stata_vcov, self.level)
        frame["level"] = [label.split(": ", 1)[0] for label in frame.index]
        titles = {b.label: (level_name(b.level), "") for b in self.design.blocks}
        sections, _ = variance_sections(frame, titles)
        for section in sections:
            section["title"] = section["title"].rstrip(": ")
        text = random_effects_table(sections, (), level=self.level)
        return stata_frame(frame.drop(columns="level"), text)

    def test(self, *hypotheses: str):
        """Wald test of linear hypotheses on the coefficients (``"x = 1"``, ``"x1 x2"``)."""
        from ..postestimation.tests import wald_test

        return wald_test(_CoefficientView(self), *hypotheses)

    def lrtest(self, other, names: tuple[str, str] = ("model1", "model2")):
        """Likelihood-ratio test against another nested fit of the same data."""
        from ..postestimation.tests import lrtest

        return lrtest(self, other, names)

    def predict(self, kind: str = "mu", random: str | None = "means", data=None):
        """``mu`` / ``pr`` / ``eta`` / ``xb`` predictions, with empirical Bayes random effects."""
        return glmm_predict(self.estimates, kind=kind, random=random, data=data)

    def random_effects(self, kind: str = "means"):
        """Empirical Bayes means (or modes) of the random effects, with standard errors."""
        return glmm_random_effects(self.estimates, kind=kind)

    def estat_icc(self):
        """Intraclass correlations on the latent scale (logit and probit models)."""
        return glmm_icc(self.estimates)

    # --- display --------------------------------------------------------------------------
    def summary(self) -> str:
        return render_glmm(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<GlmmResult {self.spec.command}: {self.spec.response}, loglik={self.loglik:.4f}>"


class _CoefficientView:
    """What the Wald test reads of a fit: the coefficients and their covariance alone."""

    def __init__(self, result: GlmmResult):
        names = result.design.fixed_names
        self.spec, self.design, self.estimates = result.spec, result.design, result.estimates
        self.vcov = result.vcov.loc[names, names]


def sd_table(stata_params: pd.Series, stata_vcov: pd.DataFrame, level: float) -> pd.DataFrame:
    """``lnsd`` and ``atanh(corr)`` parameters to standard deviations and correlations.

    Each is a one-to-one map of one estimation-scale parameter, so the delta method is elementwise:
    se(sd) = sd * se(ln sd), se(corr) = (1 - corr^2) * se(atanh corr); intervals are mapped from the
    estimation scale, as Stata builds them.
    """
    z = stats.norm.ppf(0.5 + level / 200)
    rows = {}
    for label in stata_params.index:
        if ": lnsd(" not in label and ": atanh(" not in label:
            continue
        value, se = float(stata_params[label]), float(np.sqrt(stata_vcov.loc[label, label]))
        level_name, inner = label.split(": ", 1)
        if inner.startswith("lnsd("):
            name, transform, slope = "sd(" + inner[5:], np.exp, np.exp(value)
        else:
            name, transform, slope = inner[6:-1], np.tanh, 1 - np.tanh(value) ** 2
        rows[f"{level_name}: {name}"] = {
            "estimate": float(transform(value)),
            "se": float(slope * se),
            "lower": float(transform(value - z * se)),
            "upper": float(transform(value + z * se)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _values(row) -> tuple:
    return (row["coef"], row["se"], row["z"], row["p"], row["lower"], row["upper"])


def _ancillary_rows(result: GlmmResult) -> list[Row]:
    table = result.table
    names = [n for n in table.index if n.startswith("/")]
    if not names:
        return []
    return [Row(kind="separator")] + [Row(label=n, values=_values(table.loc[n])) for n in names]


def _variance_rows(result: GlmmResult) -> list[Row]:
    table = result.table
    rows: list[Row] = []
    for block in result.design.blocks:
        prefix = f"{block.label}: "
        names = [n for n in table.index if n.startswith(prefix)]
        if not names:
            continue
        rows += [Row(kind="separator"), Row(label=level_name(block.level), kind="equation")]
        for name in names:
            r = table.loc[name]
            values = (r["coef"], r["se"], "", "", r["lower"], r["upper"])
            rows.append(Row(label=name[len(prefix) :], values=values, flush=True))
    return rows


def render_glmm(result: GlmmResult) -> str:
    """The ``me`` command output as Stata prints it."""
    spec = result.spec
    wald = result.wald
    est = result.estimates
    integration = None if est.intmethod == "laplace" else (est.intmethod, est.intpoints)
    header = mixed_header(
        TITLES.get(spec.command, "Mixed-effects GLM"),
        nobs=result.nobs,
        groups=group_infos(result),
        wald=(wald["chi2"], wald["df"], wald["p"]) if wald["df"] else None,
        loglik=result.loglik,
        integration=integration,
        me_layout=True,
    )
    if est.intmethod == "laplace":
        # Stata prints the method alone, in the block before the Wald test
        top, tests = header.rsplit("\n\n", 1)
        header = f"{top}\n\nIntegration method: laplace\n\n{tests}"
    if spec.family.trials is not None:
        header = header.replace("\n", f"\nBinomial variable: {spec.family.trials}\n", 1)
    coef_title = (
        EFORM_TITLES.get(spec.family.link, "exp(b)") if spec.options.eform else "Coefficient"
    )
    rows = coefficient_rows(result) + _ancillary_rows(result) + _variance_rows(result)
    parts = [
        header,
        coefficient_table(spec.response, rows, level=result.level, coef_title=coef_title),
    ]
    lr = result.lr_test
    if lr and np.isfinite(lr.get("chi2", np.nan)):
        versus = f"{lr.get('model', 'fixed-effects')} model"
        parts.append(lr_test_line(lr["chi2"], lr["df"], lr["p"], lr.get("chibar"), versus=versus))
    notes = [n if n.startswith(("note", "(")) else f"note: {n}" for n in result.notes]
    return "\n".join([*notes, *([""] if notes else []), *parts])
