"""Bad input gets a clear error; integration options are checked and crossed models use Laplace."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from multilevel.errors import DataError, OptionError
from multilevel.glmm.fit import fit_glmm

from .models import design_for


def test_non_binary_outcome_to_a_bernoulli_model(cbpp_df):
    # A count given to melogit is refused by the design, naming the outcome and the recode ...
    with pytest.raises(DataError, match="incidence must be binary"):
        design_for("incidence i.period || herd:", "melogit", cbpp_df)
    # ... and an outcome that is not 0/1 in a design built by hand is refused by the engine.
    frame = cbpp_df.assign(incidence=(cbpp_df["incidence"] > 0).astype(float))
    design = design_for("incidence i.period || herd:", "melogit", frame)
    bad = dataclasses.replace(design, y=np.asarray(cbpp_df["incidence"], dtype=float))
    with pytest.raises(DataError, match="0 or 1"):
        fit_glmm(bad)


def test_negative_counts_to_a_poisson_model(cbpp_df):
    frame = cbpp_df.copy()
    frame.loc[3, "incidence"] = -2
    with pytest.raises(DataError, match="negative"):
        design_for("incidence i.period || herd:", "mepoisson", frame)
    design = design_for("incidence i.period || herd:", "mepoisson", cbpp_df)
    bad = dataclasses.replace(design, y=np.where(np.arange(design.nobs) == 3, -2.0, design.y))
    with pytest.raises(DataError, match="negative"):
        fit_glmm(bad)


def test_ordinal_outcome_needs_categories_for_cutpoints(wine_df):
    frame = wine_df.copy()
    frame["rating"] = 3
    with pytest.raises(DataError, match="categor"):
        design_for("rating i.temp || judge:", "meologit", frame)
    frame["rating"] = np.where(wine_df["rating"].astype(int) > 2, 2, 1)
    with pytest.raises(DataError, match="only 2 categories.*use melogit"):
        design_for("rating i.temp || judge:", "meologit", frame)
    design = design_for("rating i.temp || judge:", "meologit", wine_df)
    one_level = dataclasses.replace(design, response_levels=(1,), y=np.zeros(design.nobs))
    with pytest.raises(DataError, match="at least 2 ordered categories"):
        fit_glmm(one_level)


def test_unknown_integration_method_and_bad_points(cbpp_df):
    design = design_for("incidence i.period || herd:, binomial(size)", "melogit", cbpp_df)
    with pytest.raises(OptionError, match="intmethod"):
        fit_glmm(design, intmethod="simpson")
    with pytest.raises(OptionError, match="intpoints"):
        fit_glmm(design, intpoints=0)


def test_crossed_model_asked_for_quadrature_uses_laplace_with_a_note():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 12, 400), rng.integers(0, 10, 400)
    eta = rng.normal(0, 0.7, 12)[a] + rng.normal(0, 0.5, 10)[b]
    frame = pd.DataFrame({"y": rng.binomial(1, 1 / (1 + np.exp(-eta))), "a": a, "b": b})
    design = design_for("y || _all: R.a || b:", "melogit", frame)
    fit = fit_glmm(design, intmethod="mvaghermite")
    assert fit.intmethod == "laplace"
    assert any("not available for crossed" in note for note in fit.notes)
