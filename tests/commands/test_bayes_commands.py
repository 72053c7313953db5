"""The Bayesian commands: ``bayes:`` and its replay, bayesstats, bayestest, bayesgraph.

The command layer computes nothing: each number it prints must be the library's number for the
same model and settings (``multilevel.bayesian.fit_bayes`` with the same seed gives the same draws).
The seed's whole sequence runs as one do-file in the slow test, where the posterior summaries are
also compared with Stata's (../shared/seeds/000_*.txt) within their Monte Carlo error.
"""

from __future__ import annotations

import math
import re

import pytest

from multilevel.bayesian import fit_bayes
from multilevel.commands.errors import CommandError, UnsupportedError
from multilevel.design import build_design
from multilevel.errors import MultilevelError, OptionError
from multilevel.spec import parse_model

from .conftest import EXAMPLES, run_cli
from .test_cli import row

MODEL = "math homework i.schtype || schid: homework, covariance(unstructured)"
SHORT = "rseed(317) burnin(200) mcmcsize(400)"
SETTINGS = {"rseed": 317, "burnin": 200, "mcmcsize": 400, "progress": False}
CORR = "(corr:{U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2}))"


@pytest.fixture(scope="module")
def design():
    from multilevel import datasets

    return build_design(parse_model(MODEL, command="mixed"), datasets.load("math"))


@pytest.fixture(scope="module")
def library_fit(design):
    return fit_bayes(design, **SETTINGS)


@pytest.fixture
def fitted(console, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    console.run("use math")
    out = console.run(f"bayes, {SHORT} melabel: mixed {MODEL}")
    return console, out


def test_bayes_prints_the_library_results(fitted, library_fit):
    _, out = fitted
    assert "Model summary" in out and "Bayesian multilevel regression" in out
    frame = library_fit.summary_frame()
    for label, printed in (("homework", "homework"), ("schid: var(_cons)", "var(_cons)")):
        mean, sd, mcse, median, lower, upper = row(out, printed)
        expected = frame.loc[label]
        assert mean == pytest.approx(expected["mean"], rel=1e-6)
        assert sd == pytest.approx(expected["sd"], rel=1e-6)
        assert (lower, upper) == pytest.approx((expected["lower"], expected["upper"]), rel=1e-6)


def test_replay_with_display_options(fitted, library_fit):
    console, _ = fitted
    out = console.run("bayes, hpd showreffects")
    assert "HPD" in out and "U0[schid]" in out and "U1[schid]" in out
    lower = row(out, "homework")[4]
    assert lower == pytest.approx(
        library_fit.summary_frame(hpd=True).loc["homework", "lower"], rel=1e-6
    )
    with pytest.raises(CommandError, match="rseed.*cannot be used in replay"):
        console.run("bayes, rseed(1)")


def test_bayesstats_and_bayestest(fitted, library_fit):
    console, _ = fitted
    ess = console.run("bayesstats ess")
    assert "Efficiency summaries" in ess
    expected_ess = library_fit.ess(stata_names=True).loc["math:homework", "ess"]
    assert row(ess, "homework")[0] == pytest.approx(expected_ess, abs=0.005)
    summary = console.run(f"bayesstats summary {CORR}")
    corr = library_fit.summary(CORR).iloc[0]
    assert row(summary, "corr")[0] == pytest.approx(corr["mean"], rel=1e-6)
    test = console.run("bayestest interval {math:1.schtype}, upper(0)")
    probability = library_fit.test_interval("{math:1.schtype}", upper=0).iloc[0]["mean"]
    assert row(test, "prob1")[0] == pytest.approx(probability, abs=5e-5)
    with pytest.raises(OptionError, match="at least two chains"):
        console.run("bayesstats grubin")


def test_stored_models_compared_by_dic(fitted, design, library_fit):
    console, _ = fitted
    console.run("estimates store m1")
    console.run(f"quietly bayes, {SHORT} normalprior(5): mixed {MODEL}")
    console.run("estimates store m2")
    out = console.run("bayesstats ic m*, diconly")
    other = fit_bayes(design, normalprior=5, **SETTINGS)
    assert row(out, "m1")[0] == pytest.approx(library_fit.dic, abs=5e-4)
    assert row(out, "m2")[0] == pytest.approx(other.dic, abs=5e-4)
    assert console.run("estimates restore m1") == "(results m1 are active now)\n"
    with pytest.raises(CommandError, match="estimation result m9 not found"):
        console.run("estimates restore m9")


def test_bayesgraph_writes_png_files(fitted, tmp_path):
    console, _ = fitted
    out = console.run("bayesgraph diagnostics {math:homework}, scheme(s2flyer)")
    assert out == "(graph saved as graph1.png: {math:homework})\n"
    assert (tmp_path / "graph1.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(UnsupportedError, match="bayesgraph trace is not supported yet"):
        console.run("bayesgraph trace {math:homework}")


def test_bayes_errors(console, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    console.run("use math")
    with pytest.raises(CommandError, match="no bayes results to replay"):
        console.run("bayes, melabel")
    with pytest.raises(UnsupportedError, match="option block not allowed with bayes"):
        console.run(f"bayes, block({{math:}}): mixed {MODEL}")
    # the prefix hands any estimation command to the library; its refusal comes back as it is
    with pytest.raises(MultilevelError, match="must be binary"):
        console.run("bayes: melogit math homework || schid:")
    with pytest.raises(CommandError, match="not from bayes"):
        console.run("quietly mixed math homework || schid:")
        console.run("bayesstats ess")


def test_parallel_chains_saving_and_all_graphs(console, tmp_path, monkeypatch, design):
    monkeypatch.chdir(tmp_path)
    console.run("use math")
    out = console.run(
        "quietly bayesparallel, nproc(2): bayes, rseed(317) burnin(100) mcmcsize(200) "
        f"nchains(2) saving(draws): mixed {MODEL}"
    )
    assert out == ""  # quietly: no table, and no note of the saved file either
    assert (tmp_path / "draws.nc").is_file()
    expected = fit_bayes(design, rseed=317, burnin=100, mcmcsize=200, nchains=2, progress=False)
    grubin = console.run("bayesstats grubin")
    assert row(grubin, "homework")[0] == pytest.approx(expected.grubin().loc["homework"], rel=1e-6)
    out = console.run("bayesgraph diagnostics _all")
    # one graph per parameter: 3 coefficients, 3 covariance elements, the residual variance
    assert out.count("(graph saved as graph") == 7
    assert "(graph saved as graph7.png: {e.math:sigma2})" in out
    with pytest.raises(CommandError, match="draws.nc already exists"):
        console.run(f"bayes, rseed(1) mcmcsize(100) burnin(10) saving(draws): mixed {MODEL}")


# ---------------------------------------------------------------------------------------------
# the seed's whole sequence, as one do-file
# ---------------------------------------------------------------------------------------------

# Seed 000: (mean, MCSE) of Stata's runs.
STATA_HOMEWORK_1CHAIN = (2.200887, 0.253736)
STATA_CORR = (-0.8470514, 0.002396)
STATA_PROB = (0.9764, 0.0081267)
STATA_DIC = {"m1": 3581.631, "m2": 3582.73, "m3": 3584.731, "m4": 3582.641}


def _close(ours: tuple[float, float], theirs: tuple[float, float]) -> bool:
    # within 4 combined MCSE (Stata's own runs differ by up to 3.1, tests/bayesian/test_math_model.py)
    return abs(ours[0] - theirs[0]) < 4 * math.hypot(ours[1], theirs[1])


@pytest.mark.slow
def test_seed_sequence_runs_as_one_do_file(tmp_path):
    result = run_cli(["run", str(EXAMPLES / "math_bayes.do")], tmp_path)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr
    first = out[out.index(". bayes, rseed(317) melabel:") :]
    mean, _, mcse, *_ = row(first, "homework")
    assert _close((mean, mcse), STATA_HOMEWORK_1CHAIN)
    replay = out[out.index(". bayes, melabel hpd showreffects") :]
    assert "HPD" in replay.split("\n. ")[0] and "U0[schid]" in replay
    assert "Efficiency summaries" in out[out.index(". bayesstats ess") :]
    grubin = out[out.index(". bayesstats grubin") :]
    assert "Gelman–Rubin convergence diagnostic" in grubin
    rcs = [
        float(v) for v in re.findall(r"\|\s+(\d*\.\d+)\s*$", grubin.split("\n. ")[0], re.MULTILINE)
    ]
    assert len(rcs) == 7 and max(rcs) < 1.1  # Stata's convergence rule
    ic = out[out.index(". bayesstats ic m*, diconly") :]
    for name, stata_dic in STATA_DIC.items():
        assert abs(row(ic, name)[0] - stata_dic) < 2.0  # DIC carries Monte Carlo error
    corr = row(out, "corr", ". bayesstats summary")
    assert _close((corr[0], corr[2]), STATA_CORR)
    prob = row(out, "prob1", ". bayestest interval")
    assert _close((prob[0], prob[2]), STATA_PROB)
    assert (tmp_path / "graph2.png").is_file()  # bayesgraph diagnostics after the serrbar graph
