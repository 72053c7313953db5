"""Formula (lme4/brms) parser: valid formulas (table-driven), options, errors with carets."""

from __future__ import annotations

import pytest

from multilevel.errors import OptionError, SpecSyntaxError
from multilevel.spec import Family, parse_model, resolve_auto_kinds

from .helpers import auto, cat, level, term

# text -> (fixed terms, constant, levels)
VALID = [
    (
        "math ~ homework + C(schtype) + (homework | schid)",
        (term(auto("homework")), term(cat("schtype"))),
        True,
        (level("schid", terms=["homework"], cov="unstructured"),),
    ),
    ("y ~ x + (1 | g)", (term(auto("x")),), True, (level("g"),)),
    ("y ~ (1 | g) + x", (term(auto("x")),), True, (level("g"),)),
    ("y ~ (1 | g)", (), True, (level("g"),)),
    ("y ~ 1 + (1 | g)", (), True, (level("g"),)),
    ("y ~ 0 + (1 | g)", (), False, (level("g"),)),
    ("y ~ (1 | g) - 1", (), False, (level("g"),)),
    ("y ~ x - 1 + (1 | g)", (term(auto("x")),), False, (level("g"),)),
    ("y ~ x + 0 + (1 | g)", (term(auto("x")),), False, (level("g"),)),
    ("y ~ x + (x || g)", (term(auto("x")),), True, (level("g", terms=["x"], cov="independent"),)),
    ("y ~ (0 + x | g)", (), True, (level("g", terms=["x"], constant=False),)),
    ("y ~ (x - 1 | g)", (), True, (level("g", terms=["x"], constant=False),)),
    ("y ~ (-1 + x | g)", (), True, (level("g", terms=["x"], constant=False),)),
    ("y ~ (1 + x + z | g)", (), True, (level("g", terms=["x", "z"], cov="unstructured"),)),
    (
        "y ~ (0 + x + z | g)",
        (),
        True,
        (level("g", terms=["x", "z"], constant=False, cov="unstructured"),),
    ),
    ("y ~ (1 | g1/g2)", (), True, (level("g1"), level("g1", "g2"))),
    ("y ~ (1 | a/b/c)", (), True, (level("a"), level("a", "b"), level("a", "b", "c"))),
    ("y ~ (1 | g1:g2)", (), True, (level("g1", "g2"),)),
    ("y ~ (1 | g1:g2) + (1 | g1)", (), True, (level("g1"), level("g1", "g2"))),
    ("y ~ (1 | a) + (1 | b)", (), True, (level("a"), level("b"))),
    (
        "y ~ (x | g1/g2)",
        (),
        True,
        (
            level("g1", terms=["x"], cov="unstructured"),
            level("g1", "g2", terms=["x"], cov="unstructured"),
        ),
    ),
    # the fixed part: formulaic's parser
    ("y ~ a:b + (1 | g)", (term(auto("a"), auto("b")),), True, (level("g"),)),
    (
        "y ~ a*b + (1 | g)",
        (term(auto("a")), term(auto("b")), term(auto("a"), auto("b"))),
        True,
        (level("g"),),
    ),
    ("y ~ C(a, Treatment(2)) + (1 | g)", (term(cat("a", ("value", 2))),), True, (level("g"),)),
    (
        "y ~ C(a, Treatment(reference=2)) + (1 | g)",
        (term(cat("a", ("value", 2))),),
        True,
        (level("g"),),
    ),
    ("y ~ C(a, Treatment('b')) + (1 | g)", (term(cat("a", ("value", "b"))),), True, (level("g"),)),
    ("y ~ C(a, Treatment) + (1 | g)", (term(cat("a")),), True, (level("g"),)),
    ("y ~ C(a):x + (1 | g)", (term(cat("a"), auto("x")),), True, (level("g"),)),
    ("y ~ `my x` + (1 | g)", (term(auto("my x")),), True, (level("g"),)),
]


@pytest.mark.parametrize(("text", "fixed", "constant", "levels"), VALID, ids=[v[0] for v in VALID])
def test_valid_formulas(text, fixed, constant, levels):
    spec = parse_model(text)
    assert spec.response == "y" or text.startswith(spec.response)
    assert spec.fixed == fixed
    assert spec.constant is constant
    assert spec.levels == levels
    assert spec.source == text
    assert spec.family == Family("gaussian", "identity")


def test_formula_defaults_to_ml_and_takes_reml_keyword():
    assert parse_model("y ~ x + (1 | g)").options.reml is False
    assert parse_model("y ~ x + (1 | g)", reml=True).options.reml is True


def test_keyword_covariance_applies_to_single_effect_levels_only():
    # (x | g) writes its covariance; (1 | h) has one effect and no written structure
    spec = parse_model("y ~ (x | g) + (1 | h)", covariance="independent")
    assert [lv.covariance for lv in spec.levels] == ["unstructured", "independent"]


def test_formula_with_me_command():
    spec = parse_model("y ~ x + (1 | g)", "melogit", intpoints=7)
    assert spec.family == Family("bernoulli", "logit")
    assert spec.options.intpoints == 7


def test_noconstant_keyword_agrees_with_formula():
    assert parse_model("y ~ x - 1 + (1 | g)", noconstant=True).constant is False
    assert parse_model("y ~ x + (1 | g)", noconstant=True).constant is False


def test_resolve_auto_kinds():
    spec = parse_model("y ~ x + s + x:s + C(a) + (1 | g)")
    resolved = resolve_auto_kinds(spec, {"s"})
    kinds = [[f.kind for f in t.factors] for t in resolved.fixed]
    assert kinds == [
        ["continuous"],
        ["categorical"],
        ["continuous", "categorical"],
        ["categorical"],
    ]
    assert resolved.levels == spec.levels


END = object()
# (text, message fragment, caret: a column, an anchor string, or END)
ERRORS = [
    ("math ~ homework + (1 | schid", "unbalanced parenthesis", "("),
    ("y ~ x + C(a + (1 | g)", "unbalanced parenthesis", 9),
    ("y ~ x) + (1 | g)", "unbalanced parenthesis", ")"),
    ("~ x + (1 | g)", "nothing before '~'", "~"),
    ("y ~", "nothing after '~'", "~"),
    ("y ~ x ~ z", "one '~'", 6),
    ("y z ~ x", "single variable name", "y"),
    ("y ~ x + (x |)", "expected a grouping variable after '|'", ")"),
    ("y ~ x + (x ||)", "expected a grouping variable after '||'", ")"),
    ("y ~ x + ( | g)", "expected random-effects terms before '|'", "|"),
    ("y ~ x + (0 | g)", "no effects", "("),
    ("y ~ x + (x | g + h)", "a grouping factor is written", "+ h"),
    ("y ~ x + (x | g/)", "expected a grouping variable", ")"),
    ("y ~ x + (1 | p | g)", "one '|' or '||' per random-effects term", "| g"),
    ("y ~ x + (C(a) | g)", "only variable names, 1 and 0", "C(a)"),
    ("y ~ x + (x + | g)", "expected a term", "| g"),
    ("y ~ x + (x z | g)", "expected '+' between", "z"),
    ("y ~ x | g", "random-effects terms go in parentheses", "|"),
    ("y ~ x * (1 | g)", "separate ( | ) term", "|"),
    ("y ~ x - (1 | g)", "cannot be subtracted", "-"),
    ("y ~ x + + z", "expected a term", 8),
    ("y ~ x +", "expected a term", END),
    ("y ~ np.log(x) + (1 | g)", "'np.log(x)' is not supported", "np.log"),
    ("y ~ C(a, Sum) + (1 | g)", "is not supported", "C(a"),
    ("y ~ x + 2 + (1 | g)", "cannot parse the fixed part", 4),
]


def _caret(text: str, anchor) -> int:
    if anchor is END:
        return len(text)
    if isinstance(anchor, int):
        return anchor
    return text.index(anchor)


@pytest.mark.parametrize(("text", "fragment", "anchor"), ERRORS, ids=[e[0] for e in ERRORS])
def test_formula_errors(text, fragment, anchor):
    with pytest.raises(SpecSyntaxError) as info:
        parse_model(text)
    assert fragment in info.value.reason
    assert info.value.position == _caret(text, anchor)
    lines = str(info.value).splitlines()
    assert lines[1:] == ["  " + text, "  " + " " * info.value.position + "^"]


def test_formula_keyword_errors():
    with pytest.raises(OptionError, match="unknown option 'foo'"):
        parse_model("y ~ x + (1 | g)", foo=True)
