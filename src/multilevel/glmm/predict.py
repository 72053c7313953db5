"""After a GLMM fit: random effects (empirical Bayes means and modes), predictions, ICC, LR test.

- Empirical Bayes modes are the conditional modes of the random effects at the estimates, with standard
  errors from the curvature there (the square roots of the diagonal of ``Lambda H^{-1} Lambda'``).
- Empirical Bayes means are posterior means and standard deviations computed with the fit's quadrature
  (nested models fitted by quadrature); under the Laplace approximation the posterior is the Gaussian at
  the mode, so means are the modes.
- Predictions: ``xb`` (fixed part and offset), ``eta`` (with the predicted random effects), ``mu`` (the
  conditional mean: the expected number of successes for binomial outcomes, the expected count),
  ``pr`` (the probability of a success, or of each ordinal category).
- The intraclass correlation on the latent scale of a logit or probit model:
  ``var_u / (var_u + pi^2/3)`` and ``var_u / (var_u + 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..design.fixed import encode_fixed
from ..design.random import random_block_for
from ..errors import OptionError
from .agq import QuadratureObjective
from .quadrature import nested_tree

LR_MODEL_NAMES = {
    ("bernoulli", "logit"): "logistic",
    ("binomial", "logit"): "logistic",
    ("bernoulli", "probit"): "probit",
    ("binomial", "probit"): "probit",
    ("bernoulli", "cloglog"): "cloglog",
    ("binomial", "cloglog"): "cloglog",
    ("ordinal", "logit"): "ologit",
    ("ordinal", "probit"): "oprobit",
    ("ordinal", "cloglog"): "ocloglog",
    ("poisson", "log"): "Poisson",
    ("nbinomial", "log"): "nbinomial",
    ("gaussian", "identity"): "linear",
    ("gaussian", "log"): "glm",
}


def lr_test_vs_fixed(est) -> dict:
    """LR test against the same model without random effects.

    One variance parameter: chibar2(01) with half the chi2(1) tail; more: chi2(k), which Stata notes is
    conservative.
    """
    chi2 = max(0.0, 2.0 * (est.loglik - est.glm.loglik))
    k = est.n_variance_params
    family = est.family
    model = LR_MODEL_NAMES.get((family.name, family.link), "fixed-effects")
    if k == 1:
        p = 0.5 * stats.chi2.sf(chi2, 1) if chi2 > 0 else 1.0
        return {"chi2": chi2, "df": 1, "p": float(p), "chibar": True, "model": model}
    return {
        "chi2": chi2,
        "df": k,
        "p": float(stats.chi2.sf(chi2, k)),
        "chibar": False,
        "model": model,
    }


# --- random effects -------------------------------------------------------------------------------
@dataclass
class RandomEffects:
    """Predicted random effects of one level: one row per group, one column per effect."""

    level: str
    effect_names: tuple[str, ...]
    groups: list
    estimate: np.ndarray  # (G, q)
    se: np.ndarray  # (G, q)
    kind: str  # "means" or "modes"

    def frame(self) -> pd.DataFrame:
        """Estimates and their standard errors (``se(<effect>)``) by group."""
        index = pd.Index(self.groups, name=self.level)
        data = {name: self.estimate[:, k] for k, name in enumerate(self.effect_names)}
        data.update({f"se({name})": self.se[:, k] for k, name in enumerate(self.effect_names)})
        return pd.DataFrame(data, index=index)


def random_effects(est, kind: str = "means", intpoints: int | None = None) -> list[RandomEffects]:
    """Empirical Bayes means (``"means"``) or modes (``"modes"``) of each level, in design order."""
    if kind not in ("means", "modes"):
        raise OptionError("random effects are 'means' (empirical Bayes means) or 'modes'")
    laplace = getattr(est.objective, "laplace", est.objective)
    problem = laplace.problem
    tree = nested_tree(problem.system)
    use_quadrature = kind == "means" and est.intmethod != "laplace" and tree is not None
    lambdas = problem.lambdas(est.theta)
    if use_quadrature:
        points = intpoints or est.intpoints
        objective = QuadratureObjective(laplace, tree, est.intmethod, points)
        result = objective.result(est.x, moments=True)
        means = {tree.blocks[level]: result.mean[level] for level in range(tree.depth)}
        covs = {tree.blocks[level]: result.cov[level] for level in range(tree.depth)}
    else:
        state = laplace.state(est.x, tolerance=1e-13)
        modes = problem.system.unstack(state.u)
        selected = state.factor.selected_inverse()
        means = dict(enumerate(modes))
        covs = {j: selected.block_diagonal(j) for j in range(problem.system.n_blocks)}
    out: list = [None] * problem.system.n_blocks
    for j, block in enumerate(problem.system.blocks):
        lam = lambdas[j]
        b = means[j] @ lam.T
        cov_b = np.einsum("ab,gbc,dc->gad", lam, covs[j], lam)
        se = np.sqrt(np.clip(np.diagonal(cov_b, axis1=1, axis2=2), 0.0, None))
        design_block = est.design.blocks[block.source]
        out[block.source] = RandomEffects(
            level=design_block.label,
            effect_names=design_block.effect_names,
            groups=list(design_block.group_values),
            estimate=b,
            se=se,
            kind="means" if use_quadrature else ("means" if kind == "means" else "modes"),
        )
    return out


# --- predictions ---------------------------------------------------------------------------------
def _new_data_parts(est, data: pd.DataFrame):
    """X, offset and each level's (codes, Z) for new rows (unseen groups get code -1)."""
    design = est.design
    spec = design.spec
    X = encode_fixed(design.encoding, data)
    offset = np.zeros(len(data))
    if spec.options.offset:
        offset = np.asarray(data[spec.options.offset], dtype=float)
    elif spec.options.exposure:
        offset = np.log(np.asarray(data[spec.options.exposure], dtype=float))
    blocks = [random_block_for(b.level, data, b.group_values) for b in design.blocks]
    return X, offset, blocks


def linear_predictor(
    est, random: str | None = "means", data: pd.DataFrame | None = None
) -> np.ndarray:
    """``xb`` (``random=None``) or ``eta`` with empirical Bayes ``"means"`` or ``"modes"``."""
    design = est.design
    if data is None:
        X = design.X
        offset = np.zeros(design.nobs) if design.offset is None else design.offset
        blocks = design.blocks
    else:
        X, offset, blocks = _new_data_parts(est, data)
    eta = offset + X @ est.beta
    if random is None:
        return eta
    for block, effects in zip(blocks, random_effects(est, random), strict=True):
        known = block.codes >= 0
        contribution = np.zeros(len(eta))
        rows = effects.estimate[block.codes[known]]
        contribution[known] = np.einsum("nq,nq->n", np.asarray(block.Z)[known], rows)
        eta = eta + contribution
    return eta


def predict(
    est,
    kind: str = "mu",
    random: str | None = "means",
    data: pd.DataFrame | None = None,
):
    """Predictions after a GLMM fit.

    Parameters
    ----------
    kind
        ``"xb"``, ``"eta"``, ``"mu"`` (conditional mean: successes for binomial outcomes, counts) or
        ``"pr"`` (probability of success; for ordinal outcomes a DataFrame of category probabilities).
    random
        ``"means"`` or ``"modes"`` (empirical Bayes predictions of the random effects) or ``None``
        (fixed part only; Stata's ``conditional(fixedonly)``).
    data
        New rows (``None``: the estimation sample).
    """
    if kind == "xb":
        return linear_predictor(est, None, data)
    eta = linear_predictor(est, random, data)
    if kind == "eta":
        return eta
    family = est.family
    if family.is_ordinal:
        if kind == "mu":
            raise OptionError("mu is not available for ordinal outcomes; use pr")
        probs = family.category_probabilities(eta, est.ancillary)
        return pd.DataFrame(probs, columns=[f"pr({v})" for v in est.design.response_levels])
    if kind == "pr":
        if family.name not in ("bernoulli", "binomial"):
            raise OptionError(f"pr is not available for family {family.name}; use mu")
        return family.mean(eta, est.ancillary)
    if kind == "mu":
        mean = family.mean(eta, est.ancillary)
        if family.name == "binomial" and data is None and est.design.trials is not None:
            return mean * est.design.trials
        return mean
    raise OptionError(f"unknown prediction {kind!r}: use xb, eta, mu or pr")


# --- intraclass correlation --------------------------------------------------------------------------
def icc(est, level: float = 95.0) -> pd.DataFrame:
    """Latent-scale intraclass correlations of a random-intercept logit or probit model (estat icc).

    For nested levels the correlation at a level sums the variances of that level and the ones above
    it, as ``estat icc`` does. Standard errors by the delta method on Stata's scale; intervals on the
    logit scale of the correlation.
    """
    family = est.family
    if family.link not in ("logit", "probit") or family.name not in (
        "bernoulli",
        "binomial",
        "ordinal",
    ):
        raise OptionError("estat icc is available after logit and probit models only")
    blocks = est.design.blocks
    if any(b.effect_names != ("_cons",) for b in blocks):
        raise OptionError("estat icc is not available for models with random coefficients")
    residual = np.pi**2 / 3 if family.link == "logit" else 1.0
    layout, cov = est.layout, est.covariance
    start = layout.n_beta + layout.n_ancillary
    positions = start + np.arange(len(blocks))
    crit = stats.norm.ppf(0.5 + level / 200)
    rows, labels = [], []
    for k in range(len(blocks)):
        include = positions[: k + 1]

        def value(phi, include=include):
            variances = np.exp(2 * phi[positions])
            return float(np.exp(2 * phi[include]).sum() / (variances.sum() + residual))

        estimate = value(cov.phi)
        grad = np.zeros(len(cov.phi))
        for p in positions:
            e = np.zeros(len(cov.phi))
            e[p] = 1e-6
            grad[p] = (value(cov.phi + e) - value(cov.phi - e)) / 2e-6
        sub = np.nan_to_num(cov.cov_phi)
        se = float(np.sqrt(max(grad @ sub @ grad, 0.0)))
        logit = np.log(estimate / (1 - estimate))
        half = crit * se / (estimate * (1 - estimate))
        rows.append([estimate, se, _expit(logit - half), _expit(logit + half)])
        labels.append("|".join(_short_label(b) for b in blocks[: k + 1][::-1]))
    return pd.DataFrame(rows, index=labels, columns=["icc", "se", "lower", "upper"])


def _short_label(block) -> str:
    groups = block.level.groups
    return groups[-1] if groups else block.label


def _expit(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))
