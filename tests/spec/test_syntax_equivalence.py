"""The same model in Stata syntax and as a formula gives the same ModelSpec.

Equality is meant apart from ``source`` and after the formula's bare variables (``kind="auto"``,
typed from the data as R does) are resolved with ``resolve_auto_kinds``: here the columns named in
the third element are the non-numeric ones.
"""

from __future__ import annotations

import pytest

from multilevel.spec import parse_model, resolve_auto_kinds

from .helpers import without_source

# (Stata text, formula text, non-numeric columns, command, keyword options)
PAIRS = [
    # seed 000: the math/schid model
    (
        "math homework i.schtype || schid: homework, covariance(unstructured)",
        "math ~ homework + C(schtype) + (homework | schid)",
        (),
        "mixed",
        {},
    ),
    (
        "math homework i.schtype || schid: homework, cov(un) reml",
        "math ~ homework + C(schtype) + (homework | schid)",
        (),
        "mixed",
        {"reml": True},
    ),
    ("y x1 x2 i.a || id:", "y ~ x1 + x2 + C(a) + (1 | id)", (), "mixed", {}),
    ("y x1 x2 i.a || id: x1", "y ~ x1 + x2 + C(a) + (x1 || id)", (), "mixed", {}),
    ("y x1 x2 i.a || id: x1, cov(ind)", "y ~ x1 + x2 + C(a) + (x1 || id)", (), "mixed", {}),
    ("y x1 || id: x1, cov(un)", "y ~ x1 + (1 + x1 | id)", (), "mixed", {}),
    ("y x1 || id: x1, noconstant", "y ~ x1 + (0 + x1 | id)", (), "mixed", {}),
    ("y x1 || id: x1 x2, noconstant cov(un)", "y ~ x1 + (0 + x1 + x2 | id)", (), "mixed", {}),
    ("y x1 || id: x1 x2, noconstant", "y ~ x1 + (x1 + x2 - 1 || id)", (), "mixed", {}),
    ("y x1 x2 i.a || group: || id:", "y ~ x1 + x2 + C(a) + (1 | group/id)", (), "mixed", {}),
    (
        "y x1 x2 i.a || group: || id:",
        "y ~ x1 + x2 + C(a) + (1 | group:id) + (1 | group)",
        (),
        "mixed",
        {},
    ),
    (
        "y x1 x2 i.a || group: || subgroup: || id:",
        "y ~ x1 + x2 + C(a) + (1 | group/subgroup/id)",
        (),
        "mixed",
        {},
    ),
    (
        "y x1 x2 i.a || group: x1 || id: x2",
        "y ~ x1 + x2 + C(a) + (x1 || group) + (x2 || group:id)",
        (),
        "mixed",
        {},
    ),
    (
        "y x1 x2 i.a || group: x1, cov(un) || id: x2, cov(un)",
        "y ~ x1 + x2 + C(a) + (x1 | group) + (x2 | group:id)",
        (),
        "mixed",
        {},
    ),
    ("y x, noconstant || id:", "y ~ 0 + x + (1 | id)", (), "mixed", {}),
    ("y x, noconstant || id:", "y ~ x - 1 + (1 | id)", (), "mixed", {}),
    ("y || id:", "y ~ 1 + (1 | id)", (), "mixed", {}),
    ("y ib2.a || id:", "y ~ C(a, Treatment(2)) + (1 | id)", (), "mixed", {}),
    ("y ib2.a || id:", "y ~ C(a, Treatment(reference=2)) + (1 | id)", (), "mixed", {}),
    ("y a#b || id:", "y ~ C(a):C(b) + (1 | id)", (), "mixed", {}),
    ("y a#b || id:", "y ~ a:b + (1 | id)", ("a", "b"), "mixed", {}),
    ("y a##b || id:", "y ~ C(a)*C(b) + (1 | id)", (), "mixed", {}),
    ("y a##c.x || id:", "y ~ C(a)*x + (1 | id)", (), "mixed", {}),
    ("y i.a#c.x || id:", "y ~ C(a):x + (1 | id)", (), "mixed", {}),
    ("y c.x#c.z || id:", "y ~ x:z + (1 | id)", (), "mixed", {}),
    ("y i.(a b) x || id:", "y ~ C(a) + C(b) + x + (1 | id)", (), "mixed", {}),
    ("y s x || id:", "y ~ s + x + (1 | id)", (), "mixed", {}),  # bare numeric: continuous
    (
        "y x || id:, reml dfmethod(kroger)",
        "y ~ x + (1 | id)",
        (),
        "mixed",
        {"reml": True, "dfmethod": "kr"},
    ),
    ("y x || id:, level(90)", "y ~ x + (1 | id)", (), "mixed", {"level": 90}),
    ("y x || id:, stddev", "y ~ x + (1 | id)", (), "mixed", {"stddeviations": True}),
    # me commands
    ("y x1 x2 i.a || id:", "y ~ x1 + x2 + C(a) + (1 | id)", (), "melogit", {}),
    ("y x || group: || id:", "y ~ x + (1 | group/id)", (), "meprobit", {}),
    ("y x || id:, intpoints(12)", "y ~ x + (1 | id)", (), "melogit", {"intpoints": 12}),
    ("y x || id:, intmethod(la)", "y ~ x + (1 | id)", (), "mecloglog", {"intmethod": "laplace"}),
    ("y x || id:, or", "y ~ x + (1 | id)", (), "melogit", {"or_": True}),
    ("y x || id:, binomial(n)", "y ~ x + (1 | id)", (), "melogit", {"binomial": "n"}),
    ("y x || id:", "y ~ x + (1 | id)", (), "meologit", {}),
    ("y x, exposure(t) || id:", "y ~ x + (1 | id)", (), "mepoisson", {"exposure": "t"}),
    (
        "y x, offset(o) || id:, irr",
        "y ~ x + (1 | id)",
        (),
        "mepoisson",
        {"offset": "o", "irr": True},
    ),
    (
        "y x || id:, dispersion(constant)",
        "y ~ x + (1 | id)",
        (),
        "menbreg",
        {"dispersion": "constant"},
    ),
    (
        "y x || id:, family(binomial n) link(probit)",
        "y ~ x + (1 | id)",
        (),
        "meglm",
        {"family": "binomial n", "link": "probit"},
    ),
]


@pytest.mark.parametrize(
    ("stata", "formula", "categorical", "command", "keywords"),
    PAIRS,
    ids=[f"{p[3]}: {p[0]} | {p[1]}" for p in PAIRS],
)
def test_both_syntaxes_give_the_same_spec(stata, formula, categorical, command, keywords):
    from_stata = parse_model(stata, command)
    from_formula = resolve_auto_kinds(parse_model(formula, command, **keywords), categorical)
    assert without_source(from_formula) == without_source(from_stata)


# (Stata text with options written, the same without them, command, the options as keywords)
WRITTEN_VS_KEYWORDS = [
    ("y x || id: x, cov(un) reml", "y x || id: x", "mixed", {"covariance": "un", "reml": True}),
    (
        "y x || id:, reml dfm(kr) l(90)",
        "y x || id:",
        "mixed",
        {"reml": True, "dfmethod": "kroger", "level": 90.0},
    ),
    ("y x || id:, mle variance", "y x || id:", "mixed", {"reml": False, "variance": True}),
    (
        "y x || id:, intp(9) intm(mv) or",
        "y x || id:",
        "melogit",
        {"intpoints": 9, "intmethod": "mvaghermite", "or_": True},
    ),
    ("y x, offset(o) || id:, irr", "y x || id:", "mepoisson", {"offset": "o", "irr": True}),
    ("y x || id:, fam(nb constant)", "y x || id:", "meglm", {"family": "nbinomial constant"}),
    ("y x || id:, disp(c)", "y x || id:", "menbreg", {"dispersion": "constant"}),
    ("y x, nocons || id:", "y x || id:", "mixed", {"noconstant": True}),
]


@pytest.mark.parametrize(("written", "bare", "command", "keywords"), WRITTEN_VS_KEYWORDS)
def test_keywords_equal_written_options(written, bare, command, keywords):
    expected = parse_model(written, command)
    assert without_source(parse_model(bare, command, **keywords)) == without_source(expected)


def test_auto_kinds_differ_before_resolution():
    # without resolution a bare formula variable is "auto", a bare Stata variable "continuous"
    stata = parse_model("y x || id:")
    formula = parse_model("y ~ x + (1 | id)")
    assert without_source(stata) != without_source(formula)
    assert formula.fixed[0].factors[0].kind == "auto"
