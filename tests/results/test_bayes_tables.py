"""Bayesian output: the seed's `bayes:`, `bayesmh` and `bayesstats` blocks, line for line.

Expected blocks are Stata's output as the seed slides show it (seed 000, "Bayesian MLMs with
bayes:", "Diagnostics", "MCMC settings", "Default priors", "Model comparison", "Postestimation",
"Gibbs sampling", "Random effects"), with the rules and bars the slide text lost put back. The
one-space line before each table is Stata's (the seed keeps it).
"""

from __future__ import annotations

import numpy as np

from multilevel.results.bayes_tables import (
    bayes_header,
    bayes_table,
    bayes_table_width,
    ess_table,
    grubin_table,
    ic_table,
    interval_test_table,
    model_summary,
    posterior_summary,
)
from multilevel.results.tables import GroupInfo, Row

SCHID = GroupInfo("schid", n_groups=23, min=5, avg=519 / 23, max=67)
MH_GIBBS = "Metropolis\u2013Hastings and Gibbs sampling"
RULE_85 = "-" * 85
SEP_85 = "-" * 20 + "+" + "-" * 64
RULE_78 = "-" * 78
SEP_78 = "-" * 13 + "+" + "-" * 64


def _fixed_rows(homework, level1, cons):
    """The `math` equation of the seed's tables: homework, schtype (0 base, 1), _cons."""
    return [
        Row("math", kind="equation"),
        Row("homework", homework),
        Row("schtype", kind="factor"),
        Row("0", kind="level", note="base"),
        Row("1", level1, kind="level"),
        Row("_cons", cons),
    ]


def _melabel_rows(fixed, variances, residual):
    rows = list(fixed) + [Row("schid", kind="equation")]
    rows += [Row(label, values, flush=True) for label, values in variances]
    return [*rows, Row(kind="separator"), Row("var(Residual)", residual, flush=True)]


# Seed 000: `bayes, rseed(317) melabel: mixed math homework i.schtype || schid: homework, cov(un)`.
SINGLE_CHAIN_ROWS = _melabel_rows(
    _fixed_rows(
        (2.200887, 1.0217, 0.253736, 2.17371, 0.2195924, 4.03408),
        (-4.117564, 1.930991, 0.16501, -4.161968, -7.835642, -0.0444484),
        (48.81127, 2.159534, 0.397155, 48.81032, 44.65929, 53.01267),
    ),
    [
        ("var(homework)", (16.60364, 6.171752, 0.239575, 15.48019, 8.04402, 31.60807)),
        ("var(_cons)", (58.5364, 21.52427, 0.755174, 54.58203, 28.13102, 110.4926)),
        ("cov(homework,_cons)", (-26.58632, 10.5616, 0.39675, -24.62549, -51.58201, -11.67283)),
    ],
    (53.87012, 3.538217, 0.050356, 53.73944, 47.35854, 61.38101),
)

EXPECTED_SINGLE_CHAIN = "\n".join(
    [
        "Bayesian multilevel regression                          MCMC iterations  =     12,500",
        "Metropolis\u2013Hastings and Gibbs sampling                  Burn-in          =      2,500",
        "                                                        MCMC sample size =     10,000",
        "Group variable: schid                                   Number of groups=        23",
        "                                                        Obs per group:",
        "                                                              min =          5",
        "                                                              avg =       22.6",
        "                                                              max =         67",
        "                                                        Number of obs    =        519",
        "                                                        Acceptance rate  =      .7085",
        "                                                        Efficiency:  min =    .001621",
        "                                                                     avg =      .1043",
        "Log marginal-likelihood                                              max =      .4937",
        " ",
        RULE_85,
        "                    |                                                Equal-tailed",
        "                    |      Mean   Std. dev.     MCSE     Median  [95% cred. interval]",
        SEP_85,
        "math                |",
        "           homework |  2.200887     1.0217   .253736    2.17371   .2195924    4.03408",
        "                    |",
        "            schtype |",
        "                 0  |  (base)",
        "                 1  | -4.117564   1.930991    .16501  -4.161968  -7.835642  -.0444484",
        "                    |",
        "              _cons |  48.81127   2.159534   .397155   48.81032   44.65929   53.01267",
        SEP_85,
        "schid               |",
        "       var(homework)|  16.60364   6.171752   .239575   15.48019    8.04402   31.60807",
        "          var(_cons)|   58.5364   21.52427   .755174   54.58203   28.13102   110.4926",
        " cov(homework,_cons)| -26.58632    10.5616    .39675  -24.62549  -51.58201  -11.67283",
        SEP_85,
        "       var(Residual)|  53.87012   3.538217   .050356   53.73944   47.35854   61.38101",
        RULE_85,
    ]
)

# Seed 000, "Default priors": three chains (bayesparallel), without melabel.
THREE_CHAIN_ROWS = [
    *_fixed_rows(
        (2.060363, 0.8364291, 0.068158, 2.099571, 0.3023105, 3.6692),
        (-4.227957, 1.887867, 0.060047, -4.263602, -7.888629, -0.4298384),
        (49.07576, 2.012193, 0.119154, 49.05807, 45.14251, 53.04335),
    ),
    Row("schid", kind="equation"),
    Row("U:Sigma_1_1", (55.85838, 20.5719, 0.395154, 52.29584, 27.10011, 106.4395)),
    Row("U:Sigma_2_1", (-25.4444, 10.20608, 0.19113, -23.60032, -50.43454, -11.11387)),
    Row("U:Sigma_2_2", (16.14445, 6.085393, 0.110404, 15.04597, 7.727863, 31.13975)),
    Row("e.math", kind="equation"),
    Row("sigma2", (53.93394, 3.5871, 0.026646, 53.7827, 47.39431, 61.34901)),
]

EXPECTED_THREE_CHAINS = "\n".join(
    [
        "Bayesian multilevel regression                Number of chains    =          3",
        "Metropolis\u2013Hastings and Gibbs sampling        Per MCMC chain:",
        "                                                  Iterations      =     20,000",
        "                                                  Burn-in         =      5,000",
        "                                                  Sample size     =     15,000",
        "Group variable: schid                         Number of groups    =         23",
        "                                              Obs per group:",
        "                                                              min =          5",
        "                                                              avg =       22.6",
        "                                                              max =         67",
        "                                              Number of obs       =        519",
        "                                              Avg acceptance rate =      .7075",
        "                                              Avg efficiency: min =    .003347",
        "                                                              avg =     .08935",
        "                                                              max =      .4027",
        "Log marginal-likelihood                       Max Gelman\u2013Rubin Rc =      1.022",
        " ",
        RULE_78,
        "             |                                                Equal-tailed",
        "             |      Mean   Std. dev.     MCSE     Median  [95% cred. interval]",
        SEP_78,
        "math         |",
        "    homework |  2.060363   .8364291   .068158   2.099571   .3023105     3.6692",
        "             |",
        "     schtype |",
        "          0  |  (base)",
        "          1  | -4.227957   1.887867   .060047  -4.263602  -7.888629  -.4298384",
        "             |",
        "       _cons |  49.07576   2.012193   .119154   49.05807   45.14251   53.04335",
        SEP_78,
        "schid        |",
        " U:Sigma_1_1 |  55.85838    20.5719   .395154   52.29584   27.10011   106.4395",
        " U:Sigma_2_1 |  -25.4444   10.20608    .19113  -23.60032  -50.43454  -11.11387",
        " U:Sigma_2_2 |  16.14445   6.085393   .110404   15.04597   7.727863   31.13975",
        SEP_78,
        "e.math       |",
        "      sigma2 |  53.93394     3.5871   .026646    53.7827   47.39431   61.34901",
        RULE_78,
    ]
)


def test_single_chain_melabel_output_matches_seed():
    width = bayes_table_width(SINGLE_CHAIN_ROWS)
    assert width == 85
    header = bayes_header(
        "Bayesian multilevel regression",
        MH_GIBBS,
        mcmc_iterations=12500,
        burnin=2500,
        mcmc_size=10000,
        nobs=519,
        acceptance_rate=0.7085,
        efficiency=(0.001621, 0.1043, 0.4937),
        groups=[SCHID],
        width=width,
    )
    assert header + "\n" + bayes_table(SINGLE_CHAIN_ROWS) == EXPECTED_SINGLE_CHAIN


def test_three_chain_output_matches_seed():
    width = bayes_table_width(THREE_CHAIN_ROWS)
    header = bayes_header(
        "Bayesian multilevel regression",
        MH_GIBBS,
        mcmc_iterations=20000,
        burnin=5000,
        mcmc_size=15000,
        nobs=519,
        acceptance_rate=0.7075,
        efficiency=(0.003347, 0.08935, 0.4027),
        groups=[SCHID],
        nchains=3,
        rc_max=1.021691,
        width=width,
    )
    assert header + "\n" + bayes_table(THREE_CHAIN_ROWS) == EXPECTED_THREE_CHAINS


def test_three_chain_melabel_header_keeps_group_block_columns():
    # Seed 000, "MCMC settings": the same fit shown with melabel is 85 columns wide; the group
    # lines keep Stata's 78-column positions.
    header = bayes_header(
        "Bayesian multilevel regression",
        MH_GIBBS,
        mcmc_iterations=20000,
        burnin=5000,
        mcmc_size=15000,
        nobs=519,
        acceptance_rate=0.7075,
        efficiency=(0.003347, 0.08935, 0.4027),
        groups=[SCHID],
        nchains=3,
        rc_max=1.021691,
        width=85,
    )
    assert header.splitlines()[:8] == [
        "Bayesian multilevel regression                       Number of chains    =          3",
        "Metropolis\u2013Hastings and Gibbs sampling               Per MCMC chain:",
        "                                                         Iterations      =     20,000",
        "                                                         Burn-in         =      5,000",
        "                                                         Sample size     =     15,000",
        "Group variable: schid                                Number of groups=        23",
        "                                                     Obs per group:",
        "                                                              min =          5",
    ]
    assert header.splitlines()[-1] == (
        "Log marginal-likelihood                              Max Gelman\u2013Rubin Rc =      1.022"
    )


def test_bayesmh_gibbs_output_matches_seed():
    # Seed 000, "Gibbs sampling": bayesmh shows no base level, so the one-level factor group is
    # not followed by a blank line; the covariance parameters follow a rule without a title.
    rows = [
        Row("math", kind="equation"),
        Row("homework", (1.907383, 0.9182892, 0.065749, 1.933124, 0.004233, 3.6071)),
        Row("schtype", kind="factor"),
        Row("Public", (-4.014474, 1.876118, 0.073641, -4.022258, -7.600911, -0.2592185), "level"),
        Row("_cons", (49.17051, 2.089665, 0.11339, 49.15469, 45.19036, 53.33087)),
        Row(kind="separator"),
        Row("Sigma_1_1", (56.74887, 20.73386, 0.350596, 53.25564, 27.71517, 107.6366)),
        Row("Sigma_2_1", (-25.9238, 10.26168, 0.180841, -24.11298, -50.35844, -11.30056)),
        Row("Sigma_2_2", (16.41573, 6.077246, 0.116036, 15.34602, 7.819344, 31.46013)),
        Row("e.math", kind="equation"),
        Row("sigma2", (53.88328, 3.570234, 0.040575, 53.76697, 47.24183, 61.43677)),
    ]
    header = bayes_header(
        "Bayesian normal regression",
        "Gibbs sampling",
        mcmc_iterations=12500,
        burnin=2500,
        mcmc_size=10000,
        nobs=519,
        acceptance_rate=1,
        efficiency=(0.01951, 0.2627, 0.7742),
    )
    expected = [
        "Bayesian normal regression                       MCMC iterations  =     12,500",
        "Gibbs sampling                                   Burn-in          =      2,500",
        "                                                 MCMC sample size =     10,000",
        "                                                 Number of obs    =        519",
        "                                                 Acceptance rate  =          1",
        "                                                 Efficiency:  min =     .01951",
        "                                                              avg =      .2627",
        "Log marginal-likelihood                                       max =      .7742",
        " ",
        RULE_78,
        "             |                                                Equal-tailed",
        "             |      Mean   Std. dev.     MCSE     Median  [95% cred. interval]",
        SEP_78,
        "math         |",
        "    homework |  1.907383   .9182892   .065749   1.933124    .004233     3.6071",
        "             |",
        "     schtype |",
        "     Public  | -4.014474   1.876118   .073641  -4.022258  -7.600911  -.2592185",
        "       _cons |  49.17051   2.089665    .11339   49.15469   45.19036   53.33087",
        SEP_78,
        "   Sigma_1_1 |  56.74887   20.73386   .350596   53.25564   27.71517   107.6366",
        "   Sigma_2_1 |  -25.9238   10.26168   .180841  -24.11298  -50.35844  -11.30056",
        "   Sigma_2_2 |  16.41573   6.077246   .116036   15.34602   7.819344   31.46013",
        SEP_78,
        "e.math       |",
        "      sigma2 |  53.88328   3.570234   .040575   53.76697   47.24183   61.43677",
        RULE_78,
    ]
    assert (header + "\n" + bayes_table(rows)).splitlines() == expected


def test_ess_output_matches_seed():
    rows = [
        *_fixed_rows((16.21, 616.76, 0.0016), (136.94, 73.02, 0.0137), (29.57, 338.22, 0.003)),
        Row("schid", kind="equation"),
        Row("U:Sigma_1_1", (812.39, 12.31, 0.0812)),
        Row("U:Sigma_2_1", (708.64, 14.11, 0.0709)),
        Row("U:Sigma_2_2", (663.64, 15.07, 0.0664)),
        Row("e.math", kind="equation"),
        Row("sigma2", (4937.08, 10000 / 4937.08, 0.493708)),
    ]
    expected = [
        "Efficiency summaries    MCMC sample size =    10,000",
        "                        Efficiency:  min =   .001621",
        "                                     avg =     .1043",
        "                                     max =     .4937",
        " ",
        "----------------------------------------------------",
        "             |        ESS   Corr. time    Efficiency",
        "-------------+--------------------------------------",
        "math         |",
        "    homework |      16.21       616.76        0.0016",
        "             |",
        "     schtype |",
        "          0  |  (base)",
        "          1  |     136.94        73.02        0.0137",
        "             |",
        "       _cons |      29.57       338.22        0.0030",
        "-------------+--------------------------------------",
        "schid        |",
        " U:Sigma_1_1 |     812.39        12.31        0.0812",
        " U:Sigma_2_1 |     708.64        14.11        0.0709",
        " U:Sigma_2_2 |     663.64        15.07        0.0664",
        "-------------+--------------------------------------",
        "e.math       |",
        "      sigma2 |    4937.08         2.03        0.4937",
        "----------------------------------------------------",
    ]
    text = ess_table(rows, mcmc_size=10000, efficiency=(0.001621, 0.1043, 0.4937))
    assert text.splitlines() == expected


def test_ess_header_with_chains_matches_seed():
    # Seed 000, "Diagnostics" after bayesparallel: 45,000 draws from three chains.
    text = ess_table([Row("sigma2", (18122.55, 2.48, 0.4027))], mcmc_size=45000, nchains=3)
    assert text.splitlines()[:2] == [
        "Efficiency summaries    Number of chains =         3",
        "                        MCMC sample size =    45,000",
    ]
    assert text.splitlines()[-2] == "      sigma2 |   18122.55         2.48        0.4027"


def test_grubin_output_matches_seed():
    rows = [
        Row("math", kind="equation"),
        Row("homework", (1.021691,)),
        Row("schtype", kind="factor"),
        Row("0", kind="level", note="base"),
        Row("1", (1.003556,), kind="level"),
        Row("_cons", (1.006634,)),
        Row("schid", kind="equation"),
        Row("var(homework)", (1.004815,), flush=True),
        Row("var(_cons)", (1.002796,), flush=True),
        Row("cov(homework,_cons)", (1.00415,), flush=True),
        Row(kind="separator"),
        Row("var(Residual)", (1.000185,), flush=True),
    ]
    text = grubin_table(rows, nchains=3, mcmc_size=15000, rc_max=1.021691)
    # The three summary lines follow the layout of Stata's bayesstats grubin code (the seed
    # slide shows the title, the table and the rule).
    assert text.splitlines() == [
        "Gelman\u2013Rubin convergence diagnostic",
        "",
        "Number of chains     =            3",
        "MCMC size, per chain =       15,000",
        "Max Gelman\u2013Rubin Rc  =     1.021691",
        "",
        "-------------------------------",
        "                    |        Rc",
        "--------------------+----------",
        "math                |",
        "           homework |  1.021691",
        "                    |",
        "            schtype |",
        "                 0  |  (base)",
        "                 1  |  1.003556",
        "                    |",
        "              _cons |  1.006634",
        "--------------------+----------",
        "schid               |",
        "       var(homework)|  1.004815",
        "          var(_cons)|  1.002796",
        " cov(homework,_cons)|   1.00415",
        "--------------------+----------",
        "       var(Residual)|  1.000185",
        "-------------------------------",
        "Convergence rule: Rc < 1.1",
    ]


def test_dic_output_matches_seed():
    rows = [("m1", 3581.631), ("m2", 3582.73), ("m3", 3584.731), ("m4", 3582.641)]
    assert ic_table(rows, diconly=True).splitlines() == [
        "Deviance information criterion",
        "",
        "------------------------",
        "             |       DIC",
        "-------------+----------",
        "          m1 |  3581.631",
        "          m2 |   3582.73",
        "          m3 |  3584.731",
        "          m4 |  3582.641",
        "------------------------",
    ]


def test_full_ic_table_prints_missing_bayes_factor_of_the_base_model():
    lines = ic_table([("m1", 3581.631, -1852.6231, None), ("m2", 3582.73, -1853.1, -0.4769)])
    text = lines.splitlines()
    assert text[3] == "             |       DIC    log(ML)    log(BF)"
    assert text[5] == "          m1 |  3581.631  -1852.623          ."
    assert text[6] == "          m2 |   3582.73    -1853.1     -.4769"
    assert text[-2].startswith("Note: Marginal likelihood (ML)")


def test_posterior_summary_of_an_expression_matches_seed():
    text = posterior_summary(
        [("corr", -0.8470514, 0.0702993, 0.002396, -0.8600276, -0.9437647, -0.6738007)],
        mcmc_size=10000,
        expressions=[("corr", "{U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2})")],
    )
    assert text.splitlines() == [
        "Posterior summary statistics                      MCMC sample size =    10,000",
        "",
        "        corr : {U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2})",
        " ",
        RULE_78,
        "             |                                                Equal-tailed",
        "             |      Mean   Std. dev.     MCSE     Median  [95% cred. interval]",
        SEP_78,
        "        corr | -.8470514   .0702993   .002396  -.8600276  -.9437647  -.6738007",
        RULE_78,
    ]


def test_random_effects_summary_matches_seed():
    # Seed 000, "Random effects": bayesstats summary {U0} after bayesmh (first two groups).
    rows = [
        ("6053", 2.425225, 2.598754, 0.106485, 2.378599, -2.629702, 7.608975),
        ("6327", 12.12415, 3.472318, 0.095326, 12.07392, 5.424737, 19.00017),
    ]
    text = posterior_summary(rows, mcmc_size=10000, header_label="U0[schid]")
    assert text.splitlines()[:9] == [
        "Posterior summary statistics                      MCMC sample size =    10,000",
        " ",
        RULE_78,
        "             |                                                Equal-tailed",
        "   U0[schid] |      Mean   Std. dev.     MCSE     Median  [95% cred. interval]",
        SEP_78,
        "        6053 |  2.425225   2.598754   .106485   2.378599  -2.629702   7.608975",
        "        6327 |  12.12415   3.472318   .095326   12.07392   5.424737   19.00017",
        RULE_78,
    ]


def test_hpd_title_position_matches_seed():
    # Seed 000, `bayes, melabel hpd showreffects`: "HPD" centred over the 85-column interval.
    lines = bayes_table(SINGLE_CHAIN_ROWS, hpd=True).splitlines()
    assert lines[2] == "                    |" + " " * 53 + "HPD"
    assert lines[2].index("HPD") == 74  # columns 75-77, as in the seed


def test_interval_test_matches_seed():
    text = interval_test_table(
        [("prob1", 0.9764, 0.15181, 0.0081267)],
        mcmc_size=10000,
        tests=[("prob1", "{math:1.schtype} < 0")],
    )
    assert text.splitlines() == [
        "Interval tests     MCMC sample size =    10,000",
        "",
        "       prob1 : {math:1.schtype} < 0",
        " ",
        "-----------------------------------------------",
        "             |      Mean    Std. dev.      MCSE",
        "-------------+---------------------------------",
        "       prob1 |     .9764     0.15181   .0081267",
        "-----------------------------------------------",
    ]


def test_model_summary_matches_seed():
    text = model_summary(
        likelihood=[("math", "normal(xb_math,{e.math:sigma2})")],
        priors=[
            ("{math:homework 1.schtype _cons}", "normal(0,10000)", "(1)"),
            ("{U0 U1}", "mvnormal(2,{U:Sigma,m})", "(1)"),
            ("{e.math:sigma2}", "igamma(.01,.01)"),
        ],
        hyperpriors=[("{U:Sigma,m}", "iwishart(2,3,I(2))")],
        multilevel=[
            ("schid", ["{U0}: random intercepts", "{U1}: random coefficients for homework"])
        ],
        notes=["(1) Parameters are elements of the linear form xb_math."],
    )
    assert text.splitlines() == [
        "Multilevel structure",
        RULE_78,
        "schid",
        "    {U0}: random intercepts",
        "    {U1}: random coefficients for homework",
        RULE_78,
        "",
        "Model summary",
        RULE_78,
        "Likelihood: ",
        "  math ~ normal(xb_math,{e.math:sigma2})",
        "",
        "Priors: ",
        "  {math:homework 1.schtype _cons} ~ normal(0,10000)                        (1)",
        "                          {U0 U1} ~ mvnormal(2,{U:Sigma,m})                (1)",
        "                  {e.math:sigma2} ~ igamma(.01,.01)",
        "",
        "Hyperprior: ",
        "  {U:Sigma,m} ~ iwishart(2,3,I(2))",
        RULE_78,
        "(1) Parameters are elements of the linear form xb_math.",
    ]


def test_log_marginal_likelihood_value_and_several_groups():
    header = bayes_header(
        "Bayesian normal regression",
        "Gibbs sampling",
        mcmc_iterations=1000,
        burnin=100,
        mcmc_size=900,
        log_ml=-682.36082,
        groups=[SCHID, GroupInfo("class", 60, 2, 8.65, 20)],
    )
    lines = header.splitlines()
    assert lines[-1] == "Log marginal-likelihood = -682.36082"
    assert " Group variable |     groups    Minimum    Average    Maximum" in lines
    assert "          class |         60          2        8.7         20" in lines


def test_credible_level_in_titles():
    lines = bayes_table([("x", 1.0, 0.1, 0.01, 1.0, 0.8, 1.2)], level=90).splitlines()
    assert lines[3].endswith("[90% cred. interval]")
    # A title longer than 20 characters is shortened as Stata's _mcmc_table does, centred on
    # the same column.
    lines = bayes_table([("x", 1.0, 0.1, 0.01, 1.0, 0.8, 1.2)], level=99.5).splitlines()
    assert lines[3].endswith("  [99.5% cred. int.]") and len(lines[3]) == 77


def test_efficiency_given_as_an_array_or_a_single_number():
    # Seed 000 ESS header numbers; a one-parameter model has a single efficiency.
    as_array = ess_table(
        [Row("x", (1.0, 2.0, 0.5))], mcmc_size=10, efficiency=np.array([0.001621, 0.1043, 0.4937])
    )
    assert as_array.splitlines()[1] == "                        Efficiency:  min =   .001621"
    single = ess_table([Row("x", (1.0, 2.0, 0.5))], mcmc_size=10, efficiency=np.float64(0.5))
    assert single.splitlines()[1] == "                        Efficiency       =        .5"
