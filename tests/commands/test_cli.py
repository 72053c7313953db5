"""The ``multilevel`` program end to end: do-files run as a subprocess, numbers read off the output.

Stata's numbers are those of the seed slides (../shared/seeds/000_*.txt); as in
tests/results/test_seed_mixed_table.py, numbers are compared to 2e-5 relative (Stata stops its
optimiser at nrtolerance(1e-5)). lme4's are ../shared/reference/lme4_reference.json.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import EXAMPLES, run_cli

REL = 2e-5


def row(output: str, label: str, after: str | None = None) -> list[float]:
    """The numbers of the first table row whose label is ``label`` (after the text ``after``)."""
    text = output if after is None else output[output.index(after) :]
    match = re.search(rf"^\s*{re.escape(label)}\s*\|(.*)$", text, re.MULTILINE)
    assert match, f"no row {label!r} in the output"
    return [float(v) for v in re.findall(r"-?\d*\.?\d+(?:e[-+]\d+)?", match.group(1))]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    """examples/math_analysis.do run from an empty folder (`use math` finds the shipped data)."""
    folder = tmp_path_factory.mktemp("analysis")
    result = run_cli(["run", str(EXAMPLES / "math_analysis.do"), "--log", "analysis.log"], folder)
    return result, folder


def test_example_runs_to_the_end(analysis):
    result, folder = analysis
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "(using the math data set shipped with multilevel)" in result.stdout
    # the log holds exactly what was printed
    assert (folder / "analysis.log").read_text() == result.stdout


def test_commands_are_echoed_as_in_a_stata_log(analysis):
    out = analysis[0].stdout
    assert ". mixed math homework i.schtype || schid: homework, covariance(unstructured)\n" in out
    assert ". estat sd\n" in out
    assert ". predict u*, reffects reses(s*)\n" in out


def test_mixed_table_matches_the_seed(analysis):
    out = analysis[0].stdout
    first = out[out.index(". mixed math homework i.schtype || schid: homework") :]
    assert "Mixed-effects ML regression                     Number of obs     =        519" in first
    assert "Log likelihood = -1817.4205" in first  # seed
    # seed: homework 1.982092 .895697 2.21 0.027 .2265586 3.737626
    coef, se, z, p, *_ = row(first, "homework")
    assert coef == pytest.approx(1.982092, rel=REL)
    assert se == pytest.approx(0.895697, rel=REL)
    assert (z, p) == (2.21, 0.027)
    assert row(first, "Public")[0] == pytest.approx(-4.08201, rel=REL)  # seed
    assert row(first, "_cons")[0] == pytest.approx(49.06494, rel=REL)  # seed
    assert row(first, "var(homework)")[0] == pytest.approx(16.37279, rel=REL)  # seed
    assert row(first, "var(_cons)")[0] == pytest.approx(56.24904, rel=REL)  # seed
    assert row(first, "cov(homework,_cons)")[0] == pytest.approx(-25.99454, rel=REL)  # seed
    assert row(first, "var(Residual)")[0] == pytest.approx(53.34282, rel=REL)  # seed


def test_estat_sd_matches_the_seed(analysis):
    out = analysis[0].stdout
    after = ". estat sd"
    # seed: sd(homework) 4.04633 .7037307; sd(_cons) 7.499936; corr -.8565706; sd(Residual) 7.303617
    assert row(out, "sd(homework)", after)[:2] == pytest.approx([4.04633, 0.7037307], rel=REL)
    assert row(out, "sd(_cons)", after)[0] == pytest.approx(7.499936, rel=REL)
    assert row(out, "corr(homework,_cons)", after)[0] == pytest.approx(-0.8565706, rel=REL)
    assert row(out, "sd(Residual)", after)[0] == pytest.approx(7.303617, rel=REL)


def test_random_intercept_model_icc_and_lrtest(analysis, reference):
    out = analysis[0].stdout
    ri = reference["math_ml_ri"]
    un = reference["math_ml_un"]
    after = ". mixed math homework i.schtype || schid:\n"
    assert row(out, "homework", after)[0] == pytest.approx(ri["fixef"]["homework"], rel=REL)
    var_cons = ri["varcomp"]["schid:(Intercept):"]
    var_resid = ri["varcomp"]["Residual:NA:"]
    # closed form: ICC = var(_cons) / (var(_cons) + var(Residual))
    icc = row(out, "schid", ". estat icc")[0]
    assert icc == pytest.approx(var_cons / (var_cons + var_resid), rel=REL)
    # LR chi2 = 2 (ll(slopes) - ll(intercepts)), printed to 2 decimals
    chi2 = float(re.search(r"LR chi2\(2\) =\s+([\d.]+)", out).group(1))
    assert chi2 == pytest.approx(2 * (un["loglik"] - ri["loglik"]), abs=0.005)
    assert "Assumption: intercepts nested within slopes" in out


def test_predicted_random_effects_and_graphs(analysis):
    out, folder = analysis[0].stdout, analysis[1]
    # egen rank ... if tagme leaves one value per school: 519 - 23 missing
    assert "(496 missing values generated)" in out
    assert "(graph saved as graph1.png)" in out  # twoway ... by(schid)
    assert "(graph saved as graph2.png)" in out  # serrbar: the caterpillar plot
    for name in ("graph1.png", "graph2.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_command_stops_the_run_and_names_the_line(tmp_path):
    (tmp_path / "bad.do").write_text("display 1\n\nmargins schtype\ndisplay 2\n")
    result = run_cli(["run", "bad.do"], tmp_path)
    assert result.returncode == 1
    assert ". display 1\n1\n" in result.stdout  # what ran before stays printed
    assert "command margins is not supported yet\nr(199);" in result.stdout
    assert "stopped at line 3 of bad.do" in result.stdout
    assert ". display 2" not in result.stdout  # the run stopped there
    assert "line 3 of bad.do" in result.stderr and "margins" in result.stderr


def test_an_unknown_option_is_named(tmp_path):
    (tmp_path / "opt.do").write_text("use math\nsummarize math, bogus\n")
    result = run_cli(["run", "opt.do"], tmp_path)
    assert result.returncode == 1
    assert "option bogus not allowed with summarize" in result.stdout
    assert "line 2 of opt.do" in result.stderr


def test_capture_lets_the_run_continue(tmp_path):
    source = "capture frobnicate\ndisplay _rc\ncapture noisily display 1 +\ndisplay 3\n"
    (tmp_path / "cap.do").write_text(source)
    result = run_cli(["run", "cap.do"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ". display _rc\n199\n" in result.stdout  # Stata's code for an unrecognized command
    assert "frobnicate" not in result.stdout.split(". display _rc")[1]
    assert "invalid expression" in result.stdout  # noisily shows the error
    assert ". display 3\n3\n" in result.stdout


def test_missing_do_file(tmp_path):
    result = run_cli(["run", "nothere.do"], tmp_path)
    assert result.returncode == 1
    assert "nothere.do not found" in result.stderr


def test_interactive_prompt_runs_until_exit(tmp_path: Path):
    typed = "display 2+2\nnosuchcommand\ndisplay 3 ///\n + 4\nexit\ndisplay 12345\n"
    result = run_cli([], tmp_path, stdin=typed)
    assert result.returncode == 0
    assert "4\n" in result.stdout and "7\n" in result.stdout
    assert "command nosuchcommand is unrecognized" in result.stdout  # reported, prompt goes on
    assert "12345" not in result.stdout  # exit left the prompt
