"""predict after mixed: each statistic against its definition written out from the estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multilevel as ml
from multilevel.errors import DataError, OptionError


def _xb_by_hand(fit, df: pd.DataFrame) -> np.ndarray:
    # closed form: _cons + b_homework * homework + b_public * (schtype == 1)
    b = fit.params
    public = (df["schtype"].astype(float) == 1).to_numpy()
    return (
        b["_cons"] + b["homework"] * df["homework"].to_numpy(dtype=float) + b["1.schtype"] * public
    )


def _fitted_by_hand(fit, df: pd.DataFrame) -> np.ndarray:
    # closed form: xb + u_homework[school] * homework + u_cons[school]
    u = fit.random_effects()["schid"]
    rows = u.reindex(df["schid"].to_numpy())
    return (
        _xb_by_hand(fit, df)
        + rows["homework"].to_numpy() * df["homework"].to_numpy(dtype=float)
        + rows["_cons"].to_numpy()
    )


def test_xb_fitted_residuals_rstandard(math_fit, math_df):
    np.testing.assert_allclose(math_fit.predict("xb"), _xb_by_hand(math_fit, math_df), rtol=1e-12)
    fitted = _fitted_by_hand(math_fit, math_df)
    np.testing.assert_allclose(math_fit.predict("fitted"), fitted, rtol=1e-12)
    residuals = math_df["math"].to_numpy(dtype=float) - fitted
    np.testing.assert_allclose(math_fit.predict("residuals"), residuals, atol=1e-10)
    sigma_e = math_fit.estat_sd().loc["sd(Residual)", "estimate"]
    np.testing.assert_allclose(math_fit.predict("rstandard"), residuals / sigma_e, atol=1e-10)
    assert math_fit.predict("xb").name == "xb"
    assert math_fit.predict("xb").index.equals(math_df.index)


def test_stdp_is_the_standard_error_of_xb(math_fit, math_df):
    x = np.column_stack(
        [
            math_df["homework"].to_numpy(dtype=float),
            (math_df["schtype"].astype(float) == 1).to_numpy(dtype=float),
            np.ones(len(math_df)),
        ]
    )
    cov = math_fit.vcov.loc[["homework", "1.schtype", "_cons"], ["homework", "1.schtype", "_cons"]]
    expected = np.sqrt(np.einsum("ij,jk,ik->i", x, cov.to_numpy(), x))
    np.testing.assert_allclose(math_fit.predict("stdp"), expected, rtol=1e-10)


def test_new_data_reproduces_the_sample_and_zeroes_unseen_groups(math_fit, math_df):
    again = math_df.iloc[::7].copy()
    for kind in ("xb", "fitted", "residuals", "stdp"):
        np.testing.assert_allclose(
            math_fit.predict(kind, data=again), math_fit.predict(kind).iloc[::7], rtol=1e-12
        )
    unseen = again.assign(schid=-1.0)
    # Stata: a group without estimated random effects gets their prior mean, zero
    np.testing.assert_allclose(
        math_fit.predict("fitted", data=unseen), _xb_by_hand(math_fit, unseen), rtol=1e-12
    )
    missing_group = again.assign(schid=np.nan)
    assert math_fit.predict("fitted", data=missing_group).isna().all()
    assert math_fit.predict("xb", data=missing_group).notna().all()


def test_formula_fit_predicts_new_data_alike(math_fit, math_df):
    formula_fit = ml.mixed("math ~ homework + C(schtype) + (homework | schid)", data=math_df)
    rows = math_df.iloc[:40]
    np.testing.assert_allclose(
        formula_fit.predict("fitted", data=rows), math_fit.predict("fitted", data=rows), rtol=1e-6
    )


def test_relevel_in_nested_model(pastes_fit, pastes_df):
    u = pastes_fit.random_effects()
    xb = pastes_fit.params["_cons"]
    u_batch = u["batch"]["_cons"].reindex(pastes_df["batch"]).to_numpy()
    pairs = pd.MultiIndex.from_arrays([pastes_df["batch"], pastes_df["cask"]])
    u_cask = u["batch>cask"]["_cons"].reindex(pairs).to_numpy()
    np.testing.assert_allclose(pastes_fit.predict("fitted", relevel="batch"), xb + u_batch)
    np.testing.assert_allclose(pastes_fit.predict("fitted"), xb + u_batch + u_cask)
    for name in ("cask", "batch>cask"):
        np.testing.assert_allclose(
            pastes_fit.predict("fitted", relevel=name), xb + u_batch + u_cask
        )
    with pytest.raises(OptionError, match="relevel"):
        pastes_fit.predict("fitted", relevel="plate")


def test_reffects_and_reses_per_row(math_fit, math_df, pastes_fit):
    per_row = math_fit.predict("reffects")
    assert list(per_row.columns) == ["schid: homework", "schid: _cons"]  # Stata's u1, u2
    u = math_fit.random_effects()["schid"].reindex(math_df["schid"].to_numpy())
    np.testing.assert_allclose(per_row.to_numpy(), u.to_numpy())
    ses = math_fit.predict("reses")
    s = math_fit.random_effects_se()["schid"].reindex(math_df["schid"].to_numpy())
    np.testing.assert_allclose(ses.to_numpy(), s.to_numpy())
    only_cask = pastes_fit.predict("reffects", relevel="cask")
    assert list(only_cask.columns) == ["batch>cask: _cons"]


def test_predict_errors(math_fit, math_df):
    with pytest.raises(OptionError, match="unknown statistic"):
        math_fit.predict("mu")
    with pytest.raises(OptionError, match="estimation sample"):
        math_fit.predict("reffects", data=math_df)
    with pytest.raises(DataError, match="response math"):
        math_fit.predict("residuals", data=math_df.drop(columns="math"))
    with pytest.raises(DataError, match="homework"):
        math_fit.predict("xb", data=math_df.drop(columns="homework"))
