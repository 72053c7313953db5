"""Family-specific parts of a design: ordinal outcomes, 0/1 and count checks, trials, offsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.design import build_design
from multilevel.errors import DataError, OptionError
from multilevel.spec.model_spec import (
    EstimationOptions,
    Factor,
    Family,
    ModelSpec,
    RandomLevel,
    Term,
)


def glm(response, family, *terms, options=None, constant=True, source=""):
    return ModelSpec(
        response,
        tuple(Term(tuple(t)) for t in terms),
        constant=constant,
        family=family,
        options=options or EstimationOptions(),
        source=source,
    )


@pytest.fixture(scope="module")
def wine_csv(shared_data):
    """ordinal's wine: rating 1-5, temp cold/warm, contact no/yes, 9 judges, 72 rows."""
    return pd.read_csv(shared_data / "wine.csv")


@pytest.fixture(scope="module")
def cbpp_csv(shared_data):
    """lme4's cbpp: incidence of size, period 1-4, 15 herds, 56 rows."""
    return pd.read_csv(shared_data / "cbpp.csv")


ORDINAL = Family("ordinal", "logit")


def test_wine_ordinal_design(wine_csv):
    # ordinal::clmm(rating ~ temp + contact + (1 | judge)): coefficients tempwarm, contactyes
    # and four cutpoints (lme4_reference.json, wine_clmm) -- so 5 ordered categories, no _cons.
    spec = ModelSpec(
        "rating",
        (Term((Factor("temp", "auto"),)), Term((Factor("contact", "auto"),))),
        constant=False,
        levels=(RandomLevel(("judge",)),),
        family=ORDINAL,
        source="rating ~ temp + contact + (1 | judge)",
    )
    design = build_design(spec, wine_csv)
    assert design.response_levels == (1, 2, 3, 4, 5)
    np.testing.assert_array_equal(design.y, wine_csv["rating"].to_numpy() - 1)
    assert design.fixed_names == ["warm.temp", "yes.contact"]
    assert [c.status for c in design.fixed_columns] == ["base", "estimated", "base", "estimated"]
    assert design.blocks[0].n_groups == 9


def test_ordinal_never_has_a_constant_column(wine_csv):
    spec = glm("rating", ORDINAL, [Factor("temp", "categorical")], constant=True)
    design = build_design(spec, wine_csv)
    assert design.fixed_names == ["warm.temp"]


def test_ordinal_ordered_categorical_keeps_its_order():
    levels = ["low", "mid", "high"]
    y = pd.Categorical(["mid", "high", "low", "mid"], categories=["never", *levels], ordered=True)
    data = pd.DataFrame({"y": y, "x": [1.0, 2.0, 3.0, 5.0]})
    design = build_design(glm("y", ORDINAL, [Factor("x")]), data)
    assert design.response_levels == ("low", "mid", "high")
    np.testing.assert_array_equal(design.y, [1, 2, 0, 1])


def test_ordinal_text_numbers_sort_by_value():
    data = pd.DataFrame({"y": ["10", "2", "9", "2"], "x": [1.0, 2.0, 3.0, 5.0]})
    design = build_design(glm("y", ORDINAL, [Factor("x")]), data)
    assert design.response_levels == ("2", "9", "10")
    np.testing.assert_array_equal(design.y, [2, 0, 1, 0])


def test_ordinal_needs_two_categories():
    data = pd.DataFrame({"y": [3, 3, 3], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="does not vary"):
        build_design(glm("y", ORDINAL, [Factor("x")]), data)


def test_bernoulli_outcome_must_be_binary():
    data = pd.DataFrame({"y": [0.0, 2.0, -1.0, 0.0, 1.0], "x": [1.0, 2.0, 3.0, 4.0, 6.0]})
    with pytest.raises(DataError, match=r"must be binary \(0/1\).*-1, 0, 1, 2.*y01 = \(y != 0\)"):
        build_design(glm("y", Family("bernoulli", "logit"), [Factor("x")]), data)
    ok = data.assign(y=[0.0, 1.0, 1.0, 0.0, 1.0])
    design = build_design(glm("y", Family("bernoulli", "logit"), [Factor("x")]), ok)
    np.testing.assert_array_equal(design.y, [0, 1, 1, 0, 1])


def test_bernoulli_outcome_must_vary():
    data = pd.DataFrame({"y": [0.0, 0.0, 0.0], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="outcome y does not vary"):
        build_design(glm("y", Family("bernoulli", "logit"), [Factor("x")]), data)


def test_poisson_negative_counts_are_counted():
    data = pd.DataFrame({"y": [0.0, -2.0, 3.0, -1.0], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DataError, match="2 negative values"):
        build_design(glm("y", Family("poisson", "log"), [Factor("x")]), data)


def test_poisson_noninteger_counts_get_a_note():
    data = pd.DataFrame({"y": [0.0, 1.5, 3.0], "x": [1.0, 2.0, 4.0]})
    design = build_design(glm("y", Family("poisson", "log"), [Factor("x")]), data)
    assert design.notes == [
        "note: you are responsible for interpretation of noncount dep. variable."
    ]


def test_cbpp_binomial_trials_variable(cbpp_csv):
    # glmer(cbind(incidence, size - incidence) ~ period + (1 | herd)): fixef (Intercept), period2-4
    # (lme4_reference.json, cbpp_laplace), 56 rows, 15 herds.
    spec = ModelSpec(
        "incidence",
        (Term((Factor("period", "categorical"),)),),
        levels=(RandomLevel(("herd",)),),
        family=Family("binomial", "logit", trials="size"),
    )
    design = build_design(spec, cbpp_csv)
    assert design.fixed_names == ["2.period", "3.period", "4.period", "_cons"]
    np.testing.assert_array_equal(design.trials, cbpp_csv["size"].to_numpy(float))
    np.testing.assert_array_equal(design.y, cbpp_csv["incidence"].to_numpy(float))
    assert design.blocks[0].n_groups == 15 and design.nobs == 56


def test_binomial_fixed_trials_and_bounds():
    data = pd.DataFrame({"y": [0.0, 3.0, 5.0], "x": [1.0, 2.0, 4.0]})
    design = build_design(glm("y", Family("binomial", "logit", trials=5), [Factor("x")]), data)
    np.testing.assert_array_equal(design.trials, [5.0, 5.0, 5.0])
    with pytest.raises(DataError, match=r"between 0 and the number of trials 4 \(1 rows"):
        build_design(glm("y", Family("binomial", "logit", trials=4), [Factor("x")]), data)


def test_exposure_becomes_log_offset():
    data = pd.DataFrame({"y": [0.0, 1.0, 3.0], "x": [1.0, 2.0, 4.0], "t": [1.0, 2.0, 0.5]})
    options = EstimationOptions(exposure="t")
    design = build_design(glm("y", Family("poisson", "log"), [Factor("x")], options=options), data)
    np.testing.assert_allclose(design.offset, np.log([1.0, 2.0, 0.5]), rtol=0, atol=0)
    data.loc[1, "t"] = 0.0
    with pytest.raises(DataError, match="exposure variable t must be positive"):
        build_design(glm("y", Family("poisson", "log"), [Factor("x")], options=options), data)


def test_offset_as_is_and_offset_with_exposure_is_an_error():
    data = pd.DataFrame({"y": [0.0, 1.0, 3.0], "x": [1.0, 2.0, 4.0], "o": [0.1, 0.2, 0.3]})
    design = build_design(
        glm("y", Family("poisson", "log"), [Factor("x")], options=EstimationOptions(offset="o")),
        data,
    )
    np.testing.assert_array_equal(design.offset, [0.1, 0.2, 0.3])
    both = EstimationOptions(offset="o", exposure="x")
    with pytest.raises(OptionError, match="only one of offset"):
        build_design(glm("y", Family("poisson", "log"), [Factor("x")], options=both), data)
