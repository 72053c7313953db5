"""BLUPs and their standard errors from the blocked factor, against dense textbook formulas.

The blocked computation never forms an n x n matrix; :mod:`.dense` does, from
``V = Z G Z' + sigma2 I``, so the two are independent routes to the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import multilevel as ml
from multilevel.postestimation.random_effects import prediction_error_covariances

from .dense import dense_blup_and_errors, split_by_level


def _dense_ses(fit, include_fixed: bool) -> dict[str, np.ndarray]:
    _, cov = dense_blup_and_errors(fit, include_fixed)
    return split_by_level(fit, np.sqrt(np.diag(cov)))


@pytest.fixture(
    scope="module",
    params=["math_fit", "pastes_fit", "penicillin_fit", "sleepstudy"],
)
def any_fit(request, sleepstudy_df):
    """One-level (random slope), nested, crossed and formula-syntax fits."""
    if request.param == "sleepstudy":
        return ml.mixed("Reaction ~ Days + (Days | Subject)", data=sleepstudy_df, reml=True)
    return request.getfixturevalue(request.param)


def test_blups_match_dense_formula(any_fit):
    # closed form: u_hat = G Z' V^{-1} (y - X beta_hat)
    blup, _ = dense_blup_and_errors(any_fit, include_fixed=False)
    expected = split_by_level(any_fit, blup)
    for level, frame in any_fit.random_effects().items():
        np.testing.assert_allclose(frame.to_numpy(), expected[level], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("include_fixed", [False, True])
def test_prediction_errors_match_dense_formula(any_fit, include_fixed):
    # closed forms: G - G Z'V^{-1}Z G (beta known), G - G Z'P Z G (beta estimated)
    expected = _dense_ses(any_fit, include_fixed)
    got = any_fit.random_effects_se(include_fixed=include_fixed)
    for level, frame in got.items():
        np.testing.assert_allclose(frame.to_numpy(), expected[level], rtol=1e-7, atol=1e-10)


def test_full_group_blocks_match_dense_formula(math_fit):
    # the off-diagonal (slope, intercept) error covariance too, not just its diagonal
    _, cov = dense_blup_and_errors(math_fit, include_fixed=True)
    (blocks,) = prediction_error_covariances(math_fit.estimates, include_fixed=True)
    for g in range(blocks.shape[0]):
        np.testing.assert_allclose(blocks[g], cov[2 * g : 2 * g + 2, 2 * g : 2 * g + 2], rtol=1e-7)


def _balanced_one_way(df):
    """REML estimates of a balanced one-way layout in closed form (the ANOVA estimates)."""
    table = df.pivot_table(index="id", columns=df.groupby("id").cumcount(), values="g")
    values = table.to_numpy(dtype=float)
    n_groups, per_group = values.shape
    means = values.mean(axis=1)
    within = ((values - means[:, None]) ** 2).sum() / (n_groups * (per_group - 1))
    between = per_group * ((means - means.mean()) ** 2).sum() / (n_groups - 1)
    return (between - within) / per_group, within, n_groups, per_group


def test_reses_follow_stata_ml_and_reml(stackexchange_df):
    var_u, var_e, n_groups, per_group = _balanced_one_way(stackexchange_df)
    # closed forms for a balanced one-way model: Var(u | y) = 1 / (1/var_u + m/var_e); with the
    # mean estimated, add shrink^2 Var(beta_hat), shrink = var_u / (var_u + var_e/m),
    # Var(beta_hat) = (var_u + var_e/m) / G.
    known = 1.0 / (1.0 / var_u + per_group / var_e)
    shrink = var_u / (var_u + var_e / per_group)
    with_beta = known + shrink**2 * (var_u + var_e / per_group) / n_groups
    reml = ml.mixed("g || id:", data=stackexchange_df, reml=True)
    np.testing.assert_allclose(reml.random_effects_se()["id"]["_cons"], np.sqrt(with_beta))
    np.testing.assert_allclose(
        reml.random_effects_se(include_fixed=False)["id"]["_cons"], np.sqrt(known), rtol=1e-7
    )
    # stats.stackexchange.com question 48254, same data: Stata's REML reses is 2.13 (beta's
    # estimation included); lme4's condVar gives 1.319977 (beta known; lme4 stopped its
    # optimiser 4e-5 short of the closed form 1.3199219).
    np.testing.assert_allclose(reml.random_effects_se()["id"]["_cons"], 2.13, atol=0.005)
    # after ML Stata treats beta as known (mixed postestimation, Methods and formulas)
    fit_ml = ml.mixed("g || id:", data=stackexchange_df)
    np.testing.assert_allclose(
        fit_ml.random_effects_se()["id"].to_numpy(),
        fit_ml.random_effects_se(include_fixed=False)["id"].to_numpy(),
    )


def test_frames_are_labelled_as_stata(math_fit, pastes_fit):
    frame = math_fit.random_effects()["schid"]
    assert list(frame.columns) == ["homework", "_cons"]  # Stata: u1 = homework, u2 = _cons
    assert frame.index.name == "schid" and len(frame) == 23
    nested = pastes_fit.random_effects()
    assert list(nested) == ["batch", "batch>cask"]
    assert nested["batch>cask"].index.names == ["batch", "cask"]
    assert len(nested["batch>cask"]) == 30


def test_blocked_route_handles_many_groups_in_chunks(monkeypatch, penicillin_fit):
    # a tiny chunk forces the block-0 solve through many column chunks
    import multilevel.postestimation.random_effects as module

    expected = penicillin_fit.random_effects_se(include_fixed=True)
    monkeypatch.setattr(module, "_CHUNK_ENTRIES", 1)
    chunked = penicillin_fit.random_effects_se(include_fixed=True)
    for level in expected:
        np.testing.assert_allclose(chunked[level].to_numpy(), expected[level].to_numpy())
