"""Stata's display formats: every number printed in the seed's tables must come out the same.

The seed prints rounded numbers; each test value below is a full-precision number whose rounding
to the printed digits is unambiguous (a ``3`` or ``01`` appended to the printed digits).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from multilevel.results.stata_format import (
    MISSING,
    abbreviate,
    fmt_e,
    fmt_f,
    fmt_g,
    fmt_int,
    fmt_p,
    fmt_z,
    format_number,
    is_missing,
    is_number,
)

# Seed 000 (Stata slides), `mixed` table, `estat sd`, `bayes` tables and a public Stata 18 log
# of `mixed` (e-notation values): value -> what %9.0g prints.
SEED_G9 = [
    (1.9820923, "1.982092"),
    (0.89569701, ".895697"),
    (0.22655863, ".2265586"),
    (3.7376263, "3.737626"),
    (-4.0820101, "-4.08201"),
    (1.8953633, "1.895363"),
    (-7.7968533, "-7.796853"),
    (-0.36716701, "-.367167"),
    (49.064943, "49.06494"),
    (2.1128213, "2.112821"),
    (44.923893, "44.92389"),
    (53.205993, "53.20599"),
    (16.372793, "16.37279"),
    (5.6950543, "5.695054"),
    (8.2802553, "8.280255"),
    (32.374393, "32.37439"),
    (56.249043, "56.24904"),
    (19.240563, "19.24056"),
    (28.770873, "28.77087"),
    (109.97083, "109.9708"),
    (-25.994543, "-25.99454"),
    (9.6451013, "9.645101"),
    (-44.898593, "-44.89859"),
    (-7.0904863, "-7.090486"),
    (53.342823, "53.34282"),
    (3.4716123, "3.471612"),
    (46.954673, "46.95467"),
    (60.600073, "60.60007"),
    (4.0463301, "4.04633"),
    (0.70373073, ".7037307"),
    (2.8775433, "2.877543"),
    (5.6898501, "5.68985"),
    (7.4999363, "7.499936"),
    (1.2827153, "1.282715"),
    (5.3638483, "5.363848"),
    (10.486701, "10.4867"),
    (-0.85657063, "-.8565706"),
    (0.064015603, ".0640156"),
    (-0.94154601, "-.941546"),
    (-0.66911793, "-.6691179"),
    (2.2008873, "2.200887"),
    (1.0217001, "1.0217"),
    (2.1737101, "2.17371"),
    (0.21959243, ".2195924"),
    (4.0340801, "4.03408"),
    (-0.044448403, "-.0444484"),
    (58.536401, "58.5364"),
    (21.524273, "21.52427"),
    (110.49263, "110.4926"),
    (-26.586323, "-26.58632"),
    (10.561601, "10.5616"),
    (3581.6313, "3581.631"),
    (3582.7301, "3582.73"),
    (3.2512e-66, "3.25e-66"),
    (2.5812e58, "2.58e+58"),
    (1.8012e-12, "1.80e-12"),
]

# Seed 000, MCSE column of the `bayes` tables: Stata prints it with %8.0g.
SEED_G8 = [
    (0.25373603, ".253736"),
    (0.39675001, ".39675"),
    (0.75517403, ".755174"),
    (0.050356003, ".050356"),
    (0.16501001, ".16501"),
    (0.0023960003, ".002396"),
]

# Seed 000, `bayes` headers: acceptance rate, efficiencies and Rc with %10.4g.
SEED_G10_4 = [
    (0.0016213, ".001621"),
    (0.104313, ".1043"),
    (0.493712, ".4937"),
    (0.708512, ".7085"),
    (0.0033471, ".003347"),
    (0.0893512, ".08935"),
    (0.402712, ".4027"),
    (0.0195123, ".01951"),
    (1.0216913, "1.022"),
    (1.0, "1"),
]


@pytest.mark.parametrize(("value", "text"), SEED_G9)
def test_g9_reproduces_seed_numbers(value, text):
    assert fmt_g(value) == text


@pytest.mark.parametrize(("value", "text"), SEED_G8)
def test_g8_reproduces_seed_mcse(value, text):
    assert fmt_g(value, 8) == text


@pytest.mark.parametrize(("value", "text"), SEED_G10_4)
def test_g10_4_reproduces_seed_header_rates(value, text):
    assert fmt_g(value, 10, 4) == text


def test_log_likelihood_uses_ten_wide_general_format():
    # Seed 000 header "Log likelihood = -1817.4205"; a positive one is padded, as in Stata's
    # productivity example header "Log likelihood =  1430.5017".
    assert fmt_g(-1817.42053, 10) == "-1817.4205"
    assert format_number(1430.50172, "%10.0g") == " 1430.5017"


@pytest.mark.parametrize(
    ("power", "text"),
    [
        (0, "3.141592654"),
        (1, "31.41592654"),
        (5, "314159.2654"),
        (8, "314159265.4"),
        (9, "3141592654"),
        (10, "3.14159e+10"),
        (-1, ".3141592654"),
        (-4, ".0003141593"),
        (-5, ".0000314159"),
        (-6, "3.14159e-06"),
    ],
)
def test_g12_switches_notation_where_stata_does(power, text):
    # W. Gould, Statalist 2003-04 msg00205: display %12.0g _pi*10^k.
    assert fmt_g(math.pi * 10.0**power, 12) == text


def test_large_and_tiny_numbers():
    # %9.0g has 7 digit positions: an integer part of 7 digits still fits (Gould's rule above);
    # one more digit switches to e-notation with three significant digits.
    assert fmt_g(1234567.8) == "1234568"
    assert fmt_g(12345678.9) == "1.23e+07"
    assert fmt_g(123456789.0) == "1.23e+08"
    assert fmt_g(1.23e-8) == "1.23e-08"
    assert fmt_g(-1.3312e4, 9) == "-13312"
    assert fmt_g(0.0000123) == ".0000123"


def test_rounding_that_carries_into_a_new_digit():
    # Closed form: 0.99999999 and 999.99999999 round to 1 and 1000 in 7 digit positions.
    assert fmt_g(0.99999999) == "1"
    assert fmt_g(999.99999999) == "1000"
    assert fmt_g(-0.0) == "0"
    assert fmt_g(67) == "67"


def test_general_format_with_significant_digits():
    # W. Gould, Statalist 2003-07 msg00428: %9.2g of 4.52394e-3 and 4.52394e-5; Statalist
    # 2009-10 msg00039: %9.2g of -0.0000201 prints -.00002.
    assert fmt_g(4.52394e-3, 9, 2) == ".0045"
    assert fmt_g(4.52394e-5, 9, 2) == ".000045"
    assert fmt_g(-0.0000201, 9, 2) == "-.00002"
    # Max Gelman-Rubin Rc with %10.7g, seed 000 grubin table value 1.021691.
    assert fmt_g(1.02169133, 10, 7) == "1.021691"


def test_general_format_with_commas():
    # W. Gould, Statalist 2003-04 msg00205: %12.0gc leaves 10 positions for digits and commas.
    assert fmt_g(12345678, 12, comma=True) == "12,345,678"
    assert fmt_g(123456789, 12, comma=True) == "123456789"


def test_fixed_formats_of_the_headers():
    # Seed 000 header: Wald chi2 9.63 (%10.2f), Prob 0.0081 (%10.4f), avg obs per group 22.6 =
    # 519/23 (%10.1f), MCMC iterations 12,500 (%10.0fc); ESS table 4937.08, 2.03 = 10000/4937.08,
    # 0.4937 (%10.2f, %11.2f, %12.4f).
    assert fmt_f(9.63123, 2) == "9.63"
    assert fmt_f(0.00812, 4) == "0.0081"
    assert fmt_f(519 / 23, 1, comma=True) == "22.6"
    assert fmt_int(12500) == "12,500"
    assert fmt_f(4937.0812, 2, 10) == "4937.08"
    assert fmt_f(10000 / 4937.0812, 2, 11) == "2.03"
    assert fmt_f(4937.0812 / 10000, 4, 12) == "0.4937"


def test_fixed_format_overflow_switches_to_e():
    # Statalist 2003-04 msg00160: display %9.2fc 10000000 shows 1.00e+07; a Stata 17 `mestreg`
    # log prints chibar2(01) = 1.9e+05 where %8.2f overflows.
    assert fmt_f(1e7, 2, 9, comma=True) == "1.00e+07"
    assert fmt_f(190123.4, 2, 8) == "1.9e+05"
    assert fmt_e(1e7, 2) == "1.00e+07"


def test_statistic_and_p_value_columns():
    # Seed 000 `mixed` table: z 2.21, -2.15, 23.22; P>|z| 0.027, 0.031, 0.000.
    assert [fmt_z(z) for z in (2.2129, -2.1537, 23.2225)] == ["2.21", "-2.15", "23.22"]
    assert [fmt_p(p) for p in (0.02691, 0.03132, 1e-30)] == ["0.027", "0.031", "0.000"]


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, float("inf")])
def test_missing_values_print_as_a_dot(missing):
    assert is_missing(missing)
    assert fmt_g(missing) == MISSING
    assert fmt_f(missing, 2) == MISSING
    assert fmt_z(missing) == "."
    assert format_number(missing, "%9.0g") == "        ."


def test_format_number_pads_like_display():
    assert format_number(22.6, "%10.1f") == "      22.6"
    assert format_number(519, "%10.0fc") == "       519"
    assert format_number(12500, "%-10.0fc") == "12,500    "
    assert format_number(np.float64(-0.367167012), "%9.0g") == " -.367167"
    assert format_number(1e7, "%9.2e") == " 1.00e+07"
    with pytest.raises(ValueError, match="not a Stata numeric display format"):
        format_number(1.0, "%9s")


def test_abbreviate_as_stata():
    # Stata's abbrev() documentation: abbrev("displacement", 8) is "displa~t".
    assert abbreviate("displacement", 8) == "displa~t"
    assert abbreviate("verylongvariablename") == "verylongva~e"
    assert abbreviate("homework") == "homework"
    assert abbreviate("2.verylongvariablename") == "2.verylong~e"
    assert abbreviate("abcdefgh", 3) == "abc~h"  # Stata never abbreviates below 5 characters


def test_is_number():
    assert is_number(1) and is_number(np.float64(2.0))
    assert not is_number(True) and not is_number("1")
