"""`ml.bayes` through the public API: a command or a fitted model, the same draws for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

import multilevel as ml
from multilevel.errors import OptionError

SEED_MODEL = "math homework i.schtype || schid: homework, covariance(unstructured)"


@pytest.fixture(scope="module")
def short_run(math_df):
    return ml.bayes(
        f"mixed {SEED_MODEL}", data=math_df, rseed=317, burnin=500, mcmcsize=2000, progress=False
    )


def test_command_and_fitted_model_give_identical_draws(math_df, short_run):
    fit = ml.mixed(SEED_MODEL, data=math_df)
    again = ml.bayes(fit, rseed=317, burnin=500, mcmcsize=2000, progress=False)
    np.testing.assert_array_equal(short_run.draws, again.draws)


def test_summary_uses_the_frequentist_labels(math_df, short_run):
    fit = ml.mixed(SEED_MODEL, data=math_df)
    frame = short_run.summary_frame()
    assert list(frame.index) == list(fit.params.index)
    assert list(frame.columns) == ["mean", "sd", "mcse", "median", "lower", "upper"]
    # Posterior means sit near the ML estimates here (weak priors, 23 schools): within 3 posterior sds
    z = (frame["mean"] - fit.params) / frame["sd"]
    assert (z.abs() < 3).all(), z


def test_bad_prefix_is_a_clear_error(math_df):
    with pytest.raises(OptionError, match="estimation command"):
        ml.bayes("regress math homework", data=math_df)
