"""The seed's `mixed` table (../shared/seeds/000_*.txt, math data), reproduced number by number.

Stata's output below is the seed slide's table written back in Stata's console order. Our estimates are
the exact maximum of the likelihood; Stata stops its Newton-Raphson iterations once the scaled gradient
falls under nrtolerance(1e-5), so its variance parameters sit up to ~1e-5 (relative) away from the
maximum. ``test_stata_point_is_not_better`` shows this: the likelihood at Stata's printed point is lower
than at ours. Numbers are therefore compared to 2e-5 relative to the size of the quantity (for an
interval bound, relative to the row's standard error) and every label, note and column position exactly.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from multilevel.api import mixed
from multilevel.lmm.inference import deviance_on_stata_scale, stata_parameters
from multilevel.results.render_mixed import render_estat_sd

SEED_COMMAND = "math homework i.schtype || schid: homework, covariance(unstructured)"

# Source: ../shared/seeds/000_*.txt, "MLMs with mixed" slide (Stata 17).
STATA_MIXED = """\
Mixed-effects ML regression                     Number of obs     =        519
Group variable: schid                           Number of groups  =         23
                                                Obs per group:
                                                              min =          5
                                                              avg =       22.6
                                                              max =         67
                                                Wald chi2(2)      =       9.63
Log likelihood = -1817.4205                     Prob > chi2       =     0.0081

------------------------------------------------------------------------------
        math | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]
-------------+----------------------------------------------------------------
    homework |   1.982092    .895697     2.21   0.027     .2265586    3.737626
             |
     schtype |
    Private  |          0  (base)
     Public  |   -4.08201   1.895363    -2.15   0.031    -7.796853    -.367167
             |
       _cons |   49.06494   2.112821    23.22   0.000     44.92389    53.20599
------------------------------------------------------------------------------

------------------------------------------------------------------------------
  Random-effects parameters  |   Estimate   Std. err.     [95% conf. interval]
-----------------------------+------------------------------------------------
schid: Unstructured          |
               var(homework) |   16.37279   5.695054      8.280255    32.37439
                  var(_cons) |   56.24904   19.24056      28.77087    109.9708
         cov(homework,_cons) |  -25.99454   9.645101     -44.89859   -7.090486
-----------------------------+------------------------------------------------
               var(Residual) |   53.34282   3.471612      46.95467    60.60007
------------------------------------------------------------------------------
LR test vs. linear model: chi2(3) = 152.07                Prob > chi2 = 0.0000

Note: LR test is conservative and provided only for reference."""

# Source: ../shared/seeds/000_*.txt, "estat sd" slide.
STATA_ESTAT_SD = """\
------------------------------------------------------------------------------
  Random-effects parameters  |   Estimate   Std. err.     [95% conf. interval]
-----------------------------+------------------------------------------------
schid: Unstructured          |
                sd(homework) |    4.04633   .7037307      2.877543     5.68985
                   sd(_cons) |   7.499936   1.282715      5.363848     10.4867
        corr(homework,_cons) |  -.8565706   .0640156      -.941546   -.6691179
-----------------------------+------------------------------------------------
                sd(Residual) |   7.303617   .2376639      6.852348    7.784605
------------------------------------------------------------------------------"""

NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:e[-+]\d+)?|-?\.\d+")


def _tokens(line: str) -> list[tuple[int, str]]:
    """(end column, text) of each whitespace-separated token."""
    return [(m.end(), m.group()) for m in re.finditer(r"\S+", line)]


def _is_number(text: str) -> bool:
    return NUMBER.fullmatch(text) is not None


def _compare_tables(ours: str, stata: str, rel: float = 2e-5) -> None:
    ours_lines, stata_lines = ours.splitlines(), stata.splitlines()
    assert len(ours_lines) == len(stata_lines), ours
    for ours_line, stata_line in zip(ours_lines, stata_lines, strict=True):
        ours_tokens, stata_tokens = _tokens(ours_line), _tokens(stata_line)
        assert len(ours_tokens) == len(stata_tokens), (ours_line, stata_line)
        numbers = [float(t.replace(",", "")) for _, t in stata_tokens if _is_number(t)]
        # a row's scale: its second number is the standard error where there is one
        scale = abs(numbers[1]) if len(numbers) >= 4 else None
        for (end_o, text_o), (end_s, text_s) in zip(ours_tokens, stata_tokens, strict=True):
            assert end_o == end_s, (ours_line, stata_line)  # right-aligned columns line up
            if _is_number(text_s) and _is_number(text_o):
                value_o, value_s = float(text_o.replace(",", "")), float(text_s.replace(",", ""))
                tol = rel * max(abs(value_s), scale or 0.0) + 0.5 * _last_place(text_s)
                assert value_o == pytest.approx(value_s, abs=tol), (ours_line, stata_line)
            else:
                assert text_o == text_s, (ours_line, stata_line)


def _last_place(text: str) -> float:
    """One unit in the last printed digit."""
    if "." not in text:
        return 1.0
    return 10.0 ** -len(text.split(".")[1])


@pytest.fixture(scope="module")
def seed_fit(math_df):
    return mixed(SEED_COMMAND, data=math_df)


def test_mixed_table_reproduces_stata(seed_fit):
    _compare_tables(seed_fit.summary(), STATA_MIXED)


def test_estat_sd_reproduces_stata(seed_fit):
    _compare_tables(render_estat_sd(seed_fit), STATA_ESTAT_SD)


def test_fixed_effects_to_printed_digits(seed_fit):
    # Source: seed table. Coefficients agree to every printed digit (last-digit rounding aside).
    assert seed_fit.params["homework"] == pytest.approx(1.982092, abs=1.5e-6)
    assert seed_fit.params["1.schtype"] == pytest.approx(-4.08201, abs=1.5e-5)
    assert seed_fit.params["_cons"] == pytest.approx(49.06494, abs=1.5e-5)
    assert seed_fit.loglik == pytest.approx(-1817.4205, abs=5e-5)
    assert seed_fit.wald["chi2"] == pytest.approx(9.63, abs=0.005)
    assert seed_fit.wald["p"] == pytest.approx(0.0081, abs=0.00005)
    assert seed_fit.nobs == 519


def test_stata_point_is_not_better(seed_fit):
    """Stata's printed variance estimates give a lower likelihood than ours: we sit at the maximum."""
    est = seed_fit.estimates
    phi, slices = stata_parameters(est)
    deviance = deviance_on_stata_scale(est, slices)
    structure = est.problem.structures[0]
    stata_sigma = np.array([[16.37279, -25.99454], [-25.99454, 56.24904]])
    stata_phi = np.concatenate([structure.stata_from_sigma(stata_sigma), [0.5 * np.log(53.34282)]])
    assert deviance(phi) < deviance(stata_phi)
