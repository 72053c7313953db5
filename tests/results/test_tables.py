"""Frequentist tables: the seed's `mixed` output and `estat sd` table, line for line.

Expected blocks are Stata's output as the seed slides show it (seed 000, "MLMs with mixed"), with
the rules and bars the slide text lost put back as Stata draws them. The numbers are the seed's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multilevel.results.tables import (
    GroupInfo,
    HeaderItem,
    Row,
    as_row,
    as_rows,
    coefficient_table,
    estimation_header,
    group_table,
    icc_table,
    lr_test_line,
    mixed_header,
    place,
    random_effects_table,
    rule,
)

# Seed 000: `mixed math homework i.schtype || schid: homework, covariance(unstructured)`.
SCHID = GroupInfo("schid", n_groups=23, min=5, avg=519 / 23, max=67)
FIXED_ROWS = [
    ("homework", 1.982092, 0.895697, 2.21, 0.027, 0.2265586, 3.737626),
    {"label": "schtype", "kind": "factor"},
    {"label": "Private", "kind": "level", "note": "base"},
    {
        "label": "Public",
        "kind": "level",
        "values": (-4.08201, 1.895363, -2.15, 0.031, -7.796853, -0.367167),
    },
    ("_cons", 49.06494, 2.112821, 23.22, 0.0, 44.92389, 53.20599),
]
VARIANCE_SECTION = {
    "title": "schid: Unstructured",
    "rows": [
        ("var(homework)", 16.37279, 5.695054, 8.280255, 32.37439),
        ("var(_cons)", 56.24904, 19.24056, 28.77087, 109.9708),
        ("cov(homework,_cons)", -25.99454, 9.645101, -44.89859, -7.090486),
    ],
}

EXPECTED_HEADER = "\n".join(
    [
        "Mixed-effects ML regression                     Number of obs     =        519",
        "Group variable: schid                           Number of groups  =         23",
        "                                                Obs per group:",
        "                                                              min =          5",
        "                                                              avg =       22.6",
        "                                                              max =         67",
        "                                                Wald chi2(2)      =       9.63",
        "Log likelihood = -1817.4205                     Prob > chi2       =     0.0081",
    ]
)

EXPECTED_FIXED = "\n".join(
    [
        "------------------------------------------------------------------------------",
        "        math | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]",
        "-------------+----------------------------------------------------------------",
        "    homework |   1.982092    .895697     2.21   0.027     .2265586    3.737626",
        "             |",
        "     schtype |",
        "    Private  |          0  (base)",
        "     Public  |   -4.08201   1.895363    -2.15   0.031    -7.796853    -.367167",
        "             |",
        "       _cons |   49.06494   2.112821    23.22   0.000     44.92389    53.20599",
        "------------------------------------------------------------------------------",
    ]
)

EXPECTED_RANDOM = "\n".join(
    [
        "------------------------------------------------------------------------------",
        "  Random-effects parameters  |   Estimate   Std. err.     [95% conf. interval]",
        "-----------------------------+------------------------------------------------",
        "schid: Unstructured          |",
        "               var(homework) |   16.37279   5.695054      8.280255    32.37439",
        "                  var(_cons) |   56.24904   19.24056      28.77087    109.9708",
        "         cov(homework,_cons) |  -25.99454   9.645101     -44.89859   -7.090486",
        "-----------------------------+------------------------------------------------",
        "               var(Residual) |   53.34282   3.471612      46.95467    60.60007",
        "------------------------------------------------------------------------------",
    ]
)

# Seed 000: `estat sd` after the same model.
EXPECTED_SD = "\n".join(
    [
        "------------------------------------------------------------------------------",
        "  Random-effects parameters  |   Estimate   Std. err.     [95% conf. interval]",
        "-----------------------------+------------------------------------------------",
        "schid: Unstructured          |",
        "                sd(homework) |    4.04633   .7037307      2.877543     5.68985",
        "                   sd(_cons) |   7.499936   1.282715      5.363848     10.4867",
        "        corr(homework,_cons) |  -.8565706   .0640156      -.941546   -.6691179",
        "-----------------------------+------------------------------------------------",
        "                sd(Residual) |   7.303617   .2376639      6.852348    7.784605",
        "------------------------------------------------------------------------------",
    ]
)


def test_mixed_header_matches_seed():
    text = mixed_header(
        "Mixed-effects ML regression",
        nobs=519,
        groups=[SCHID],
        wald=(9.63, 2, 0.0081),
        loglik=-1817.4205,
    )
    assert text == EXPECTED_HEADER


def test_coefficient_table_matches_seed():
    assert coefficient_table("math", FIXED_ROWS) == EXPECTED_FIXED


def test_random_effects_table_matches_seed():
    residual = [("var(Residual)", 53.34282, 3.471612, 46.95467, 60.60007)]
    assert random_effects_table([VARIANCE_SECTION], residual) == EXPECTED_RANDOM


def test_estat_sd_table_matches_seed():
    section = {
        "title": "schid: Unstructured",
        "rows": [
            ("sd(homework)", 4.04633, 0.7037307, 2.877543, 5.68985),
            ("sd(_cons)", 7.499936, 1.282715, 5.363848, 10.4867),
            ("corr(homework,_cons)", -0.8565706, 0.0640156, -0.941546, -0.6691179),
        ],
    }
    residual = [("sd(Residual)", 7.303617, 0.2376639, 6.852348, 7.784605)]
    assert random_effects_table([section], residual) == EXPECTED_SD


def test_every_line_of_the_mixed_output_is_78_wide_or_less():
    blocks = [EXPECTED_HEADER, EXPECTED_FIXED, EXPECTED_RANDOM]
    assert all(len(line) <= 78 for block in blocks for line in block.splitlines())


def test_lr_test_lines():
    # Seed 001: "LR test vs. linear model: chibar2(01) = 859.26 Prob >= chibar2 = 0.0000", laid out
    # on 78 columns as Stata prints it; the chi2(k) form and its note from a Stata 18 `mixed` log.
    assert lr_test_line(859.26, 1, 0.0) == (
        "LR test vs. linear model: chibar2(01) = 859.26        Prob >= chibar2 = 0.0000"
    )
    assert lr_test_line(7.99, 2, 0.0184) == "\n".join(
        [
            "LR test vs. linear model: chi2(2) = 7.99                  Prob > chi2 = 0.0184",
            "",
            "Note: LR test is conservative and provided only for reference.",
        ]
    )
    logistic = lr_test_line(38.03, 1, 0.0, versus="logistic model")
    assert logistic.startswith("LR test vs. logistic model: chibar2(01) = 38.03")
    assert len(logistic) == 78


def test_icc_table_layout():
    # Layout and numbers of `estat icc` in a public Stata 18 log (random intercept of part_id).
    expected = "\n".join(
        [
            "Intraclass correlation",
            "",
            "------------------------------------------------------------------------------",
            "                       Level |        ICC   Std. err.     [95% conf. interval]",
            "-----------------------------+------------------------------------------------",
            "                     part_id |   .3043918   .0657993      .1922358    .4458644",
            "------------------------------------------------------------------------------",
        ]
    )
    assert icc_table([("part_id", 0.3043918, 0.0657993, 0.1922358, 0.4458644)]) == expected


def test_first_factor_has_no_blank_line_after_it():
    # A Stata 18 `mixed` log: a factor opening the table is followed directly by the next term;
    # a factor inside the table gets a bar-only line on each side.
    rows = [
        Row("AgentType", kind="factor"),
        Row("RL_HP", (1.320605, 0.1693017, 7.80, 0.0, 0.9887797, 1.65243), kind="level"),
        Row("TrialNum", (-0.0068457, 0.0200878, -0.34, 0.733, -0.046217, 0.0325256)),
        Row("AgentType#c.TrialNum", kind="factor"),
        Row("RL_HP", (-0.0221736, 0.0284084, -0.78, 0.435, -0.0778531, 0.0335058), kind="level"),
        Row("_cons", (-0.569429, 0.1235039, -4.61, 0.0, -0.8114922, -0.3273657)),
    ]
    lines = coefficient_table("Congruence1", rows).splitlines()
    assert lines[1] == (
        " Congruence1 | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]"
    )
    assert lines[3:6] == [
        "   AgentType |",
        "      RL_HP  |   1.320605   .1693017     7.80   0.000     .9887797     1.65243",
        "    TrialNum |  -.0068457   .0200878    -0.34   0.733     -.046217    .0325256",
    ]
    assert lines[6] == "             |"
    assert lines[7:9] == ["   AgentType#|", "  c.TrialNum |"]
    assert lines[10] == "             |"
    assert lines[11].startswith("       _cons |   -.569429")


def test_me_style_variance_rows_and_notes():
    # Stata 17 `me` tables: var(...) labels touch the bar, the z and P cells are blank, missing
    # intervals print "."; an offset prints its value with the note (public `mepoisson` log).
    rows = [
        ("buffer", -0.0662473, 0.0311622, -2.13, 0.034, -0.1273242, -0.0051705),
        {"label": "log1pop", "note": "offset", "values": (1,)},
        {"kind": "separator"},
        {"label": "urban", "kind": "equation"},
        {"label": "var(_cons)", "values": (1.35e-32, 2.47e-17, "", "", None, None), "flush": True},
        {"label": "x2", "note": "omitted"},
    ]
    lines = coefficient_table("cases", rows).splitlines()
    assert lines[4] == "     log1pop |          1  (offset)"
    assert (
        lines[5] == "-------------+----------------------------------------------------------------"
    )
    assert lines[6] == "urban        |"
    assert lines[7] == (
        "   var(_cons)|   1.35e-32   2.47e-17                             .           ."
    )
    assert lines[8] == "          x2 |          0  (omitted)"


def test_coefficient_table_options():
    table = coefficient_table(
        "gereadc",
        [("_cons", 0.33373, 0.01841, -19.89, 0.0, 0.29953, 0.37184)],
        coef_title="IRR",
        vce_title="Robust",
        level=90,
        stat="t",
    )
    lines = table.splitlines()
    # A Stata 17 `mepoisson, vce(robust)` log shows this header pair.
    assert lines[1] == "             |               Robust"
    assert lines[2] == (
        "     gereadc |        IRR   std. err.      t    P>|t|     [90% conf. interval]"
    )


def test_long_labels_are_abbreviated():
    rows = [("averyveryverylongname", 1.0, 0.5, 2.0, 0.05, 0.02, 1.98)]
    assert (
        coefficient_table("averylongdependent", rows).splitlines()[1].startswith("averylongd~t |")
    )
    assert coefficient_table("y", rows).splitlines()[3].startswith("averyveryv~e |")
    section = {"title": "g", "rows": [("var(averyveryverylongnameindeed)", 1.0, 0.1, 0.8, 1.2)]}
    # Inside var(...) only the variable name is shortened, so the label still reads as Stata's.
    line = random_effects_table([section]).splitlines()[4]
    assert line.startswith("var(averyveryverylongname~d) |")


def test_rows_accept_dicts_tuples_and_rows():
    assert as_row(("x", 1.0)) == Row("x", (1.0,))
    assert as_row({"label": "x", "kind": "factor"}) == Row("x", kind="factor")
    row = Row("x")
    assert as_row(row) is row
    with pytest.raises(ValueError, match="unknown row kind"):
        Row("x", kind="levels")


def test_place_follows_stata_col_semantics():
    assert place([(1, "ab"), (5, "c")]) == "ab  c"
    assert place([(1, "abcdef"), (3, "=")]) == "abcdef="  # never overwrites
    assert rule(5) == "-----" and rule(5, 3) == "--+--"


def test_estimation_header_fixed_items_keep_78_column_positions():
    # The quirk of Stata's wide Bayesian headers (seed 000, `bayes, melabel`): the group line
    # keeps "=" at column 67 and the value at 69 even when the block starts further right.
    text = estimation_header(
        ["Group variable: schid"],
        [HeaderItem("Number of groups", "23", fixed=True)],
        width=85,
        label_col=57,
    )
    assert text == "Group variable: schid" + " " * 35 + "Number of groups=        23"
    blank = estimation_header([], [None, ("Number of obs", "519")])
    assert blank.splitlines() == ["", " " * 48 + "Number of obs     =        519"]


def test_multilevel_header_prints_the_group_table():
    # Stata 17 layout of `mixed` with two nested levels (group-size table in the header).
    groups = [GroupInfo("region", 9, 51, 90.7, 136), GroupInfo("state", 48, 17, 17.0, 17)]
    text = mixed_header(
        "Mixed-effects ML regression",
        nobs=816,
        groups=groups,
        wald=(1352.08, 4, 0.0),
        loglik=1430.5017,
    )
    assert text == "\n".join(
        [
            "Mixed-effects ML regression                     Number of obs     =        816",
            "",
            "-------------------------------------------------------------",
            "                |     No. of       Observations per group",
            " Group variable |     groups    Minimum    Average    Maximum",
            "----------------+--------------------------------------------",
            "         region |          9         51       90.7        136",
            "          state |         48         17       17.0         17",
            "-------------------------------------------------------------",
            "",
            "                                                Wald chi2(4)      =    1352.08",
            "Log likelihood =  1430.5017                     Prob > chi2       =     0.0000",
        ]
    )
    assert group_table(groups).splitlines()[0] == "-" * 61


def test_me_header_layout():
    # Stata 17 `melogit` header: blank lines around "Obs per group" and the integration line.
    text = mixed_header(
        "Mixed-effects logistic regression",
        nobs=200,
        groups=[GroupInfo("id", 20, 10, 10.0, 10)],
        wald=(12.34, 2, 0.0021),
        loglik=-123.45678,
        integration=("mvaghermite", 7),
        me_layout=True,
    )
    assert text.splitlines() == [
        "Mixed-effects logistic regression               Number of obs     =        200",
        "Group variable: id                              Number of groups  =         20",
        "",
        "                                                Obs per group:",
        "                                                              min =         10",
        "                                                              avg =       10.0",
        "                                                              max =         10",
        "",
        "Integration method: mvaghermite                 Integration pts.  =          7",
        "",
        "                                                Wald chi2(2)      =      12.34",
        "Log likelihood = -123.45678                     Prob > chi2       =     0.0021",
    ]


def test_missing_wald_test_prints_dots():
    text = mixed_header(
        "Mixed-effects REML regression",
        nobs=10,
        wald=(float("nan"), 0, float("nan")),
        loglik=-5.0,
        loglik_label="Log restricted-likelihood",
    )
    assert text.splitlines()[-2].endswith("Wald chi2(0)      =          .")
    assert text.splitlines()[-1].startswith("Log restricted-likelihood =         -5")


def test_dataframe_and_numpy_rows():
    # A DataFrame indexed by labels (as fit.summary_frame() gives) renders like tuples; NumPy
    # arrays of values work too. Numbers: seed 000 `mixed` table.
    frame = pd.DataFrame(
        [[49.06494, 2.112821, 23.22, 0.0, 44.92389, 53.20599]],
        index=["_cons"],
        columns=["b", "se", "z", "p", "lo", "hi"],
    )
    from_frame = coefficient_table("math", frame)
    assert from_frame == coefficient_table("math", [("_cons", *frame.iloc[0])])
    assert from_frame.splitlines()[3] == EXPECTED_FIXED.splitlines()[-2]
    base = Row("Private", np.array([0.0]), kind="level", note="base")
    assert coefficient_table("math", [base]).splitlines()[3] == "    Private  |          0  (base)"
    assert as_rows([("x", 1.0)]) == [Row("x", (1.0,))]
