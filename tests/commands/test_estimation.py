"""Estimation and postestimation commands in a session, checked against the Python API.

The command layer computes nothing: what ``mixed``, ``melogit``, ``predict``, ``estat``, ``test``
and ``lrtest`` print or store must be what the library returns for the same model.
"""

from __future__ import annotations

import numpy as np
import pytest

import multilevel as ml
from multilevel.commands.errors import CommandError, UnsupportedError
from multilevel.commands.estimation import split_sample

SLOPES = "math homework i.schtype || schid: homework, covariance(unstructured)"


@pytest.fixture
def math_console(console, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    console.run("use math")
    return console


@pytest.fixture(scope="module")
def math_df():
    return ml.datasets.load("math")


@pytest.fixture(scope="module")
def slopes_fit(math_df):
    return ml.mixed(SLOPES, data=math_df)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("y x || id:", ("y x || id:", None, None)),
        ("y x if g == 1 || id: x, cov(un)", ("y x || id: x, cov(un)", "g == 1", None)),
        ("y x in 1/50, reml || id:", ("y x, reml || id:", None, "1/50")),
        ("y x if a | b || id:", ("y x || id:", "a | b", None)),
        ("y ~ x + (1 | id) if g == 1", ("y ~ x + (1 | id)", "g == 1", None)),
    ],
)
def test_split_sample(text, expected):
    assert split_sample(text) == expected


def test_mixed_prints_the_library_table_and_replays(math_console, slopes_fit):
    out = math_console.run(f"mixed {SLOPES}")
    assert out == "\n" + str(slopes_fit) + "\n"
    assert math_console.run("mixed") == out  # typing the command alone replays
    with pytest.raises(CommandError, match="no melogit results to replay"):
        math_console.run("melogit")


def test_abbreviations_and_if(math_console, math_df):
    out = math_console.run("mixed math homework if schtype == 1 || schid:, mle")
    fit = ml.mixed("math homework || schid:", data=math_df[math_df.schtype == 1])
    assert out == "\n" + str(fit) + "\n"


def test_postestimation_matches_the_library(math_console, slopes_fit):
    math_console.run(f"quietly mixed {SLOPES}")
    assert math_console.run("estat sd") == "\n" + str(slopes_fit.estat_sd()) + "\n"
    assert (
        math_console.run("test homework = 1") == "\n" + str(slopes_fit.test("homework = 1")) + "\n"
    )
    assert math_console.run("display _b[homework]") == f"{slopes_fit.params['homework']:.8g}\n"
    math_console.run("predict u*, reffects reses(s*)")
    math_console.run("predict fit, fitted")
    df = math_console.df
    blups = slopes_fit.predict("reffects")
    np.testing.assert_allclose(df["u1"], blups["schid: homework"], rtol=1e-6)  # float storage
    np.testing.assert_allclose(df["u2"], blups["schid: _cons"], rtol=1e-6)
    np.testing.assert_allclose(df["s2"], slopes_fit.predict("reses")["schid: _cons"], rtol=1e-6)
    np.testing.assert_allclose(df["fit"], slopes_fit.predict("fitted"), rtol=1e-6)
    assert df.attrs["variable_labels"]["u2"] == "BLUP r.e. for schid: _cons"


def test_predict_checks_names_and_options(math_console):
    math_console.run(f"quietly mixed {SLOPES}")
    with pytest.raises(CommandError, match="needs 2 new variables"):
        math_console.run("predict u, reffects")
    with pytest.raises(CommandError, match="option mu not allowed after mixed"):
        math_console.run("predict m, mu")
    with pytest.raises(CommandError, match="only one statistic"):
        math_console.run("predict m, xb fitted")
    assert math_console.run("predict xbhat") == "(option xb assumed)\n"
    with pytest.raises(CommandError, match="variable xbhat already defined"):
        math_console.run("predict xbhat")


def test_predict_outside_the_sample_is_missing(math_console):
    math_console.run("quietly mixed math homework if schtype == 1 || schid:")
    out = math_console.run("predict xb1, xb")
    assert out == "(202 missing values generated)\n"  # the 202 private-school students


def test_stored_estimates_and_lrtest(math_console, slopes_fit, math_df):
    math_console.run("quietly mixed math homework i.schtype || schid:")
    math_console.run("estimates store ri")
    math_console.run(f"quietly mixed {SLOPES}")
    out = math_console.run("lrtest ri")
    ri = ml.mixed("math homework i.schtype || schid:", data=math_df)
    assert out == "\n" + str(ri.lrtest(slopes_fit, names=("ri", "."))) + "\n"
    with pytest.raises(CommandError, match="estimation result nope not found"):
        math_console.run("lrtest nope")


def test_me_commands_run_through_the_library(math_console, math_df):
    math_console.run("gen hi = math > 55")
    out = math_console.run("melogit hi homework || schid:")
    data = math_df.assign(hi=(math_df.math > 55).astype("float32"))
    fit = ml.melogit("hi homework || schid:", data=data)
    assert out == "\n" + str(fit) + "\n"
    assert math_console.run("predict p") == "(option mu assumed)\n"
    np.testing.assert_allclose(math_console.df["p"], fit.predict("mu"), rtol=1e-6)
    math_console.run("predict r, reffects")
    effects = fit.random_effects()[0]
    codes = fit.design.blocks[0].codes
    np.testing.assert_allclose(math_console.df["r"], effects.estimate[codes, 0], rtol=1e-6)
    icc = math_console.run("estat icc")
    assert icc.startswith("\nResidual intraclass correlation")
    assert f"{fit.estat_icc().iloc[0]['icc']:.7f}".lstrip("0")[:6] in icc


def test_commands_without_estimates(math_console):
    for text in ("estat sd", "predict x", "test homework", "estimates store a", "bayesstats ess"):
        with pytest.raises(CommandError, match="last estimates not found"):
            math_console.run(text)
    with pytest.raises(UnsupportedError, match="estat vce is not supported yet"):
        math_console.run("quietly mixed math homework || schid:")
        math_console.run("estat vce")
