"""BayesResult: the draws of a Bayesian multilevel fit and its postestimation (bayesstats, ...)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OptionError
from . import diagnostics, evidence, expressions, report
from .gaussian import GaussianData
from .layout import ModelLayout
from .priors import PriorSet


@dataclass
class SamplingInfo:
    """How the draws were made."""

    sampler: str
    nchains: int
    burnin: int
    mcmcsize: int
    thinning: int
    rseed: int | None
    seconds: float
    acceptance: list[float] = field(default_factory=list)
    any_mh: bool = False


class BayesResult:
    """Posterior draws of a Gaussian multilevel model with Stata's summaries.

    Parameters are named two ways: Stata's names (``math:homework``, ``U:Sigma_1_1``,
    ``e.math:sigma2``; :attr:`param_names`) and the frequentist labels of ``mixed``
    (``homework``, ``schid: var(_cons)``, ``var(Residual)``; :attr:`labels`), which index
    :meth:`summary_frame`, :meth:`ess` and :meth:`grubin`.
    """

    # the module that renders this result's tables (GLMM results use their own)
    _report = report

    def __init__(
        self,
        *,
        layout: ModelLayout,
        priors: PriorSet,
        priors_design: PriorSet,
        data: GaussianData,
        design,
        draws: np.ndarray,
        u_draws: list | None,
        u_mean: list,
        deviance: np.ndarray,
        info: SamplingInfo,
        clevel: float = 95,
        hpd: bool = False,
        melabel: bool = False,
    ):
        self.layout = layout
        self.priors = priors
        self._priors_design = priors_design
        self._data = data
        self.fixed_columns = list(design.fixed_columns)
        self.group_sizes = [b.group_sizes() for b in design.blocks]
        self.nobs = int(design.nobs)
        self.draws = np.asarray(draws)  # (chains, draws, parameters) in Stata's order
        self.u_draws = u_draws  # per level (chains, draws, G, q) or None
        self.u_mean = u_mean
        self.deviance = np.asarray(deviance)
        self.info = info
        self.clevel = clevel
        self.hpd = hpd
        self.melabel = melabel
        self.param_names = layout.names()
        self.labels = layout.labels()

    # --- draws ----------------------------------------------------------------------------
    @property
    def nchains(self) -> int:
        return self.draws.shape[0]

    @property
    def mcmcsize(self) -> int:
        return self.draws.shape[1]

    @cached_property
    def label_draws(self) -> np.ndarray:
        """Draws of the parameters under their frequentist labels (chains, draws, labels)."""
        return self.layout.to_labels(self.draws)

    def param(self, name: str) -> np.ndarray:
        """Draws (chains, draws) of one parameter by Stata name (braces optional) or label."""
        key = name.strip().strip("{}").replace(" ", "")
        if key in self.param_names:
            return self.draws[..., self.param_names.index(key)]
        squeezed = [lab.replace(" ", "") for lab in self.labels]
        if key in squeezed:
            return self.label_draws[..., squeezed.index(key)]
        for eq in (self.layout.depvar + ":",):
            if eq + key in self.param_names:
                return self.draws[..., self.param_names.index(eq + key)]
        re_draw = self._random_effect(key)
        if re_draw is not None:
            return re_draw
        raise OptionError(
            f"unknown parameter {{{key}}}; parameters are "
            + ", ".join("{" + n + "}" for n in self.param_names)
        )

    def _random_effect(self, key: str) -> np.ndarray | None:
        import re

        match = re.fullmatch(r"(U+\d+)\[(.*)\]", key)
        if not match or self.u_draws is None:
            return None
        for lev, draws in zip(self.layout.levels, self.u_draws, strict=True):
            if match.group(1) in lev.re_names:
                values = [str(v).removesuffix(".0") for v in lev.group_values]
                if match.group(2) in values:
                    j = lev.re_names.index(match.group(1))
                    return draws[:, :, values.index(match.group(2)), j]
        return None

    # --- summaries ------------------------------------------------------------------------
    def summary_frame(self, hpd: bool | None = None, clevel: float | None = None) -> pd.DataFrame:
        """Posterior mean, sd, MCSE, median and credible interval, indexed by the labels."""
        hpd = self.hpd if hpd is None else hpd
        clevel = self.clevel if clevel is None else clevel
        stats = diagnostics.summarize(self.label_draws, clevel, hpd)
        cols = ["mean", "sd", "mcse", "median", "lower", "upper"]
        return pd.DataFrame({c: stats[c] for c in cols}, index=pd.Index(self.labels))

    def stata_frame(self, hpd: bool | None = None, clevel: float | None = None) -> pd.DataFrame:
        """As :meth:`summary_frame`, indexed by Stata's parameter names in Stata's order."""
        hpd = self.hpd if hpd is None else hpd
        clevel = self.clevel if clevel is None else clevel
        stats = diagnostics.summarize(self.draws, clevel, hpd)
        cols = ["mean", "sd", "mcse", "median", "lower", "upper"]
        return pd.DataFrame({c: stats[c] for c in cols}, index=pd.Index(self.param_names))

    @property
    def params(self) -> pd.Series:
        """Posterior means, indexed by the labels (as a frequentist fit's ``params``)."""
        return pd.Series(
            self.label_draws.reshape(-1, len(self.labels)).mean(axis=0), index=self.labels
        )

    def ess(self, stata_names: bool = False) -> pd.DataFrame:
        """Effective sample size, correlation time and efficiency (Stata's estimator)."""
        draws = self.draws if stata_names else self.label_draws
        n_ess = diagnostics.ess(draws)
        total = self.nchains * self.mcmcsize
        index = self.param_names if stata_names else self.labels
        return pd.DataFrame(
            {"ess": n_ess, "corr_time": total / n_ess, "efficiency": n_ess / total},
            index=pd.Index(index),
        )

    def grubin(self, stata_names: bool = False) -> pd.Series:
        """Gelman-Rubin Rc of each parameter (needs two chains or more)."""
        if self.nchains < 2:
            raise OptionError("bayesstats grubin needs at least two chains (nchains >= 2)")
        draws = self.draws if stata_names else self.label_draws
        index = self.param_names if stata_names else self.labels
        return pd.Series(diagnostics.gelman_rubin(draws), index=index, name="Rc")

    @cached_property
    def _dic(self) -> tuple[float, float]:
        return evidence.dic(self._data, self.layout, self.draws, self.u_mean, self.deviance)

    @property
    def dic(self) -> float:
        """Deviance information criterion, D(theta_bar) + 2 pD, as Stata's ``bayesstats ic``."""
        return self._dic[0]

    @property
    def pd(self) -> float:
        """Effective number of parameters of DIC."""
        return self._dic[1]

    @cached_property
    def log_ml(self) -> float:
        """Laplace-Metropolis log marginal likelihood (random effects integrated out)."""
        pooled = self.draws.reshape(-1, self.draws.shape[-1])
        return evidence.log_marginal_likelihood(
            self._data, self.layout, self._priors_design, pooled
        )

    @property
    def acceptance_rate(self) -> float:
        return float(np.mean(self.info.acceptance))

    # --- bayesstats summary / bayestest interval -------------------------------------------
    def summary(
        self, *specs: str, hpd: bool | None = None, clevel: float | None = None
    ) -> pd.DataFrame:
        """Posterior summaries of parameters and expressions (``bayesstats summary``).

        Each spec is a parameter (``"{math:homework}"``), a random-effects stub (``"{U0}"``), or
        a labelled expression (``"corr: {U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2})"``).
        Without specs, every reported parameter. Columns as :meth:`summary_frame`.
        """
        if not specs:
            return self.stata_frame(hpd, clevel)
        hpd = self.hpd if hpd is None else hpd
        clevel = self.clevel if clevel is None else clevel
        names, columns = [], []
        for spec in specs:
            for name, draws in self._spec_draws(spec):
                names.append(name)
                columns.append(draws)
        stats = diagnostics.summarize(np.stack(columns, axis=-1), clevel, hpd)
        cols = ["mean", "sd", "mcse", "median", "lower", "upper"]
        return pd.DataFrame({c: stats[c] for c in cols}, index=pd.Index(names))

    def _spec_draws(self, spec: str) -> list[tuple[str, np.ndarray]]:
        label, expr = expressions.split_label(spec)
        stub = expr.strip().strip("{}").replace(" ", "")
        if label is None and expr.strip().startswith("{") and expr.strip().endswith("}"):
            for lev, draws in zip(self.layout.levels, self.u_draws or [], strict=False):
                if stub in lev.re_names:
                    j = lev.re_names.index(stub)
                    return [
                        (f"{stub}[{str(g).removesuffix('.0')}]", draws[:, :, i, j])
                        for i, g in enumerate(lev.group_values)
                    ]
            if "}" not in expr.strip()[1:-1]:
                return [(stub, self.param(stub))]
        values = expressions.evaluate(expr, self.param)
        return [(label or expr, values)]

    def test_interval(
        self, *specs, lower: float | None = None, upper: float | None = None, joint: bool = False
    ) -> pd.DataFrame:
        """Posterior probabilities of intervals (``bayestest interval``).

        ``specs`` are parameters or expressions, or (spec, lower, upper) tuples; plain specs
        use ``lower``/``upper`` (a missing bound is unbounded). With ``joint=True`` one
        probability that every interval holds. Columns: mean (the probability), sd, mcse.
        """
        tests = []
        for spec in specs:
            item = spec if isinstance(spec, tuple) else (spec, lower, upper)
            if item[1] is None and item[2] is None:
                raise OptionError(f"bayestest interval {item[0]}: give lower() or upper()")
            tests.append(item)
        indicators, names = [], []
        for k, (spec, lo, hi) in enumerate(tests, start=1):
            ((_, draws),) = self._spec_draws(spec)[:1]
            ok = np.ones(draws.shape, bool)
            if lo is not None:
                ok &= draws > lo
            if hi is not None:
                ok &= draws < hi
            indicators.append(ok.astype(float))
            names.append(f"prob{k}")
        if joint:
            indicators = [np.prod(np.stack(indicators), axis=0)]
            names = ["prob1"]
        draws = np.stack(indicators, axis=-1)
        pooled = draws.reshape(-1, draws.shape[-1])
        n_ess = diagnostics.ess(draws)
        sd = pooled.std(axis=0, ddof=1)
        frame = pd.DataFrame(
            {"mean": pooled.mean(axis=0), "sd": sd, "mcse": sd / np.sqrt(n_ess)},
            index=pd.Index(names),
        )
        frame["test"] = (
            [report.interval_text(spec, lo, hi) for spec, lo, hi in tests]
            if not joint
            else [" & ".join(report.interval_text(*t) for t in tests)]
        )
        return frame

    def ic(self, *others: BayesResult, names: list[str] | None = None) -> pd.DataFrame:
        """DIC, log marginal likelihood and log Bayes factors against the first model."""
        return information_criteria([self, *others], names)

    def random_effects(self, hpd: bool | None = None, clevel: float | None = None) -> pd.DataFrame:
        """Posterior summaries of every random effect, indexed by (effect, group)."""
        if self.u_draws is None:
            raise OptionError("the random effects' draws were not kept")
        hpd = self.hpd if hpd is None else hpd
        clevel = self.clevel if clevel is None else clevel
        frames = []
        for lev, draws in zip(self.layout.levels, self.u_draws, strict=True):
            for j in lev.stata_order:
                stats = diagnostics.summarize(draws[..., j], clevel, hpd)
                groups = [str(g).removesuffix(".0") for g in lev.group_values]
                idx = pd.MultiIndex.from_product(
                    [[f"{lev.re_names[j]}[{lev.label}]"], groups], names=["effect", "group"]
                )
                cols = ["mean", "sd", "mcse", "median", "lower", "upper"]
                frames.append(pd.DataFrame({c: stats[c] for c in cols}, index=idx))
        return pd.concat(frames)

    # --- output ---------------------------------------------------------------------------
    @cached_property
    def idata(self):
        """ArviZ InferenceData with the posterior draws (Stata names) and the deviance."""
        import arviz as az

        posterior = {name: self.draws[..., j] for j, name in enumerate(self.param_names)}
        coords, dims = {}, {}
        for lev, draws in zip(self.layout.levels, self.u_draws or [], strict=False):
            dim = f"{lev.label}_group"
            coords[dim] = [str(g).removesuffix(".0") for g in lev.group_values]
            for j, re_name in enumerate(lev.re_names):
                posterior[re_name] = draws[..., j]
                dims[re_name] = [dim]
        return az.from_dict(
            posterior=posterior, sample_stats={"deviance": self.deviance}, coords=coords, dims=dims
        )

    def save(self, path: str | Path) -> Path:
        """Write the draws to a netCDF file (``.nc`` added if missing) that ArviZ reads back."""
        path = Path(path)
        if path.suffix == "":
            path = path.with_suffix(".nc")
        self.idata.to_netcdf(str(path))
        return path

    def table(
        self,
        melabel: bool | None = None,
        hpd: bool | None = None,
        clevel: float | None = None,
        showreffects: bool = False,
    ) -> str:
        """The header and the results table, as ``bayes`` replays them."""
        return self._report.results_text(
            self,
            self.melabel if melabel is None else melabel,
            self.hpd if hpd is None else hpd,
            self.clevel if clevel is None else clevel,
            showreffects,
        )

    def model_summary(self) -> str:
        """Multilevel structure, likelihood, priors and hyperpriors, as ``bayes:`` shows them."""
        return self._report.model_summary_text(self)

    def __str__(self) -> str:
        return self.model_summary() + "\n\n" + self.table()

    def __repr__(self) -> str:
        return (
            f"<BayesResult {self.layout.depvar}: {self.nchains} chain(s) x {self.mcmcsize} "
            f"draws, {len(self.param_names)} parameters>"
        )

    def ess_text(self, melabel: bool | None = None) -> str:
        """``bayesstats ess`` as Stata prints it."""
        return report.ess_text(self, self.melabel if melabel is None else melabel)

    def grubin_text(self, melabel: bool | None = None) -> str:
        """``bayesstats grubin`` as Stata prints it."""
        return report.grubin_text(self, self.melabel if melabel is None else melabel)

    def summary_text(
        self, *specs: str, hpd: bool | None = None, clevel: float | None = None
    ) -> str:
        """``bayesstats summary`` as Stata prints it (expressions listed above the table)."""
        hpd = self.hpd if hpd is None else hpd
        clevel = self.clevel if clevel is None else clevel
        frame = self.summary(*specs, hpd=hpd, clevel=clevel)
        labelled = dict(expressions.split_label(s) for s in specs)
        exprs = {k: v for k, v in labelled.items() if k is not None}
        return report.summary_text(self, frame, hpd, clevel, exprs)

    def test_interval_text(self, *specs, lower=None, upper=None, joint: bool = False) -> str:
        """``bayestest interval`` as Stata prints it."""
        frame = self.test_interval(*specs, lower=lower, upper=upper, joint=joint)
        return report.interval_table_text(self, frame)

    def ic_text(
        self, *others: BayesResult, names: list[str] | None = None, diconly: bool = False
    ) -> str:
        """``bayesstats ic`` as Stata prints it."""
        return report.ic_text(self.ic(*others, names=names), diconly)

    def graph_diagnostics(self, *params: str, path: str | Path | None = None):
        """Trace, autocorrelation, histogram and density of parameters (``bayesgraph``)."""
        from .graphs import diagnostics_figures

        return diagnostics_figures(self, params or ("_all",), path)


def information_criteria(
    results: list[BayesResult], names: list[str] | None = None
) -> pd.DataFrame:
    """``bayesstats ic``: DIC, log(ML) and log(BF) of each model against the first."""
    names = names or [f"m{i}" for i in range(1, len(results) + 1)]
    if len(names) != len(results):
        raise OptionError("give one name per model")
    dics = [r.dic for r in results]
    lml = [r.log_ml for r in results]
    log_bf = [math.nan if i == 0 else lml[i] - lml[0] for i in range(len(results))]
    return pd.DataFrame({"DIC": dics, "log(ML)": lml, "log(BF)": log_bf}, index=pd.Index(names))
