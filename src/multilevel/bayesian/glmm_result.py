"""The result of ``bayes:`` on a generalized linear multilevel model.

:class:`GlmmBayesResult` is a :class:`BayesResult` (the same tables, ``summary_frame`` indexed by
the ``me`` commands' labels, ESS, Rc, ``bayesstats summary``, ``bayestest interval``, ArviZ
``idata``) whose DIC, log marginal likelihood and output know the family's parameters.

DIC uses the deviance given the random effects, as Stata's: D = -2 log p(y | beta, u, cutpoints or
lnalpha), DIC = D(theta_bar) + 2 pD with pD = mean(D) - D(theta_bar), theta_bar the posterior means
of the coefficients, random effects and the family's parameters on their reported scale.

The log marginal likelihood is the Laplace-Metropolis approximation on the sampler's unconstrained
coordinates (coefficients, covariance parameters, standardised random effects, transformed family
parameters): it is missing when a prior is improper (the default flat priors on cutpoints) or when
there are fewer draws than twice the coordinates.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from . import diagnostics
from . import glmm_report as glmm_report
from .evidence import all_proper
from .glmm_model import GlmmData, GlmmModel, device_arrays, numpy_loglik
from .result import BayesResult


def glmm_dic(
    data: GlmmData, layout, draws: np.ndarray, u_mean: list, deviance: np.ndarray
) -> tuple[float, float]:
    """(DIC, pD) from draws in Stata's order, posterior means of u and the deviance draws."""
    mean = draws.reshape(-1, draws.shape[-1]).mean(axis=0)
    p, k = layout.p, len(layout.ancillary)
    anc = mean[p : p + k]
    if layout.residual:
        anc = mean[-1:]
    d_bar = -2.0 * numpy_loglik(data, mean[:p], list(u_mean), anc)
    p_d = float(np.mean(deviance)) - d_bar
    return d_bar + 2 * p_d, p_d


class GlmmBayesResult(BayesResult):
    """Posterior draws of a generalized linear multilevel model with Stata's summaries.

    Besides :class:`BayesResult`'s attributes: ``model`` (the log density on the sampler's
    coordinates), ``free_draws`` (chains, draws, coordinates; ``None`` when the random effects'
    draws were too many to keep) and ``divergences`` (divergent transitions per chain).
    """

    _report = glmm_report

    def __init__(
        self,
        *,
        model: GlmmModel,
        free_draws: np.ndarray | None,
        divergences: list[int],
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.model = model
        self.free_draws = free_draws
        self.divergences = divergences

    @cached_property
    def _dic(self) -> tuple[float, float]:
        return glmm_dic(self._data, self.layout, self.draws, self.u_mean, self.deviance)

    @cached_property
    def log_ml(self) -> float:
        """Laplace-Metropolis log marginal likelihood on the sampler's coordinates."""
        if self.free_draws is None or not all_proper(self._priors_design):
            return math.nan
        pooled = self.free_draws.reshape(-1, self.free_draws.shape[-1])
        if len(pooled) < 2 * pooled.shape[1]:
            return math.nan
        import jax

        from .glmm_model import _jnp

        jnp = _jnp()
        arrays = device_arrays(self._data)
        log_post = jax.jit(lambda t: self.model.log_density(t, arrays, jnp))
        return diagnostics.gaussian_log_evidence(pooled, lambda t: float(log_post(t)))

    def ess_text(self, melabel: bool | None = None) -> str:
        """``bayesstats ess`` as Stata prints it."""
        return glmm_report.ess_text(self, self.melabel if melabel is None else melabel)

    def grubin_text(self, melabel: bool | None = None) -> str:
        """``bayesstats grubin`` as Stata prints it."""
        return glmm_report.grubin_text(self, self.melabel if melabel is None else melabel)
