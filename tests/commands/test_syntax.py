"""Reading command lines: do-file statements, top-level splitting, options and abbreviations."""

from __future__ import annotations

import pytest

from multilevel.commands.errors import CommandError, UnsupportedError
from multilevel.commands.syntax import (
    Option,
    find_top,
    option_table,
    parse_options,
    parse_parts,
    resolve_word,
    split_options,
    split_top,
    statements,
    strip_parens,
    words,
)

# (do-file text, [(first line, command text or "" for a comment)])
STATEMENT_CASES = [
    ("use math\ndescribe", [(1, "use math"), (2, "describe")]),
    ("\n\nuse math\n", [(3, "use math")]),
    (
        "bayes, rseed(317) melabel: ///\n    mixed math homework || schid: homework",
        [(1, "bayes, rseed(317) melabel: mixed math homework || schid: homework")],
    ),
    ("mixed y x /// the fixed part\n || id:", [(1, "mixed y x || id:")]),
    ("summarize // all variables", [(1, "summarize")]),
    ("* a comment\nsummarize", [(1, ""), (2, "summarize")]),
    ("  * indented comment", [(1, "")]),
    ("// a comment line", [(1, "")]),
    ("summarize /* inline */ math", [(1, "summarize   math")]),
    ("summarize /* spans\n lines */ math\ncount", [(1, "summarize   math"), (3, "count")]),
    ('display "http://example.org"', [(1, 'display "http://example.org"')]),
    ("gen y = x*2 // double", [(1, "gen y = x*2")]),
    ("* comment continued ///\n  still comment\ncount", [(1, ""), (3, "count")]),
]


@pytest.mark.parametrize("source, expected", STATEMENT_CASES)
def test_statements(source, expected):
    found = [(s.number, " ".join(s.text.split()) if s.text else "") for s in statements(source)]
    assert found == [(n, " ".join(t.split())) for n, t in expected]


def test_statement_keeps_physical_lines_for_echo():
    (statement,) = statements("bayes, rseed(317): ///\n  mixed y x || id:")
    assert statement.lines == ["bayes, rseed(317): ///", "  mixed y x || id:"]


SPLIT_CASES = [
    ("math homework, cov(un)", ("math homework", "cov(un)")),
    ("math homework || schid: homework, cov(un)", ("math homework || schid: homework", "cov(un)")),
    ("{math:homework}", ("{math:homework}", None)),
    ("x if inlist(g, 1, 2), detail", ("x if inlist(g, 1, 2)", "detail")),
    ('y = "a,b"', ('y = "a,b"', None)),
    ("prior({e.math:sigma2}, jeffreys): mixed", ("prior({e.math:sigma2}, jeffreys): mixed", None)),
]


@pytest.mark.parametrize("text, expected", SPLIT_CASES)
def test_split_options(text, expected):
    assert split_options(text) == expected


def test_prefix_options_keep_nested_commas():
    text = ", rseed(317) prior({e.math:sigma2}, jeffreys): mixed y x || id:"
    colon = find_top(text, ":")
    assert text[:colon] == ", rseed(317) prior({e.math:sigma2}, jeffreys)"


WORD_CASES = [
    ("cov(un) reml", ["cov(un)", "reml"]),
    ("{U0} {math:homework}", ["{U0}", "{math:homework}"]),
    ("(corr: {a}/sqrt({b} * {c})) {x}", ["(corr: {a}/sqrt({b} * {c}))", "{x}"]),
    ('title("Math score") legend(off)', ['title("Math score")', "legend(off)"]),
    ("  u*   s* ", ["u*", "s*"]),
]


@pytest.mark.parametrize("text, expected", WORD_CASES)
def test_words(text, expected):
    assert words(text) == expected


def test_split_top_ignores_nested_separators():
    assert split_top("(scatter y x) || (lfit y (x||z))", "||") == [
        "(scatter y x) ",
        " (lfit y (x||z))",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [("(scatter y x)", "scatter y x"), ("(a) (b)", "(a) (b)"), ("a", "a"), ('("(")', '"("')],
)
def test_strip_parens(text, expected):
    assert strip_parens(text) == expected


@pytest.mark.parametrize("text", ["f(x", "f(x))", "{a", 'say "hi'])
def test_unbalanced_text_is_an_error(text):
    with pytest.raises(CommandError):
        split_options(text)


PARTS_CASES = [
    ("math homework", ("math homework", None, None, None)),
    ("math if schtype == 1", ("math", "schtype == 1", None, None)),
    ("math in 1/10", ("math", None, "1/10", None)),
    ("u2 s2 rank if tagme, scale(1.96)", ("u2 s2 rank", "tagme", None, "scale(1.96)")),
    ("y = x if g > 1 in 5/l", ("y = x", "g > 1", "5/l", None)),
    ("income if x", ("income", "x", None, None)),
    ('y = "in if"', ('y = "in if"', None, None, None)),
]


@pytest.mark.parametrize("text, expected", PARTS_CASES)
def test_parse_parts(text, expected):
    parts = parse_parts(text)
    assert (parts.main, parts.if_exp, parts.in_range, parts.options) == expected


def test_weights_are_refused_with_their_text():
    with pytest.raises(UnsupportedError, match=r"weights not allowed"):
        parse_parts("y x [pw=w]")


def test_using_only_where_allowed():
    assert parse_parts("delimited using f.csv", allowed=("using",)).using == "f.csv"
    with pytest.raises(UnsupportedError, match="using not allowed"):
        parse_parts("x using f.csv")


TABLE = option_table(
    Option("covariance", 3, "required"),
    Option("reml", 4),
    Option("prior", 5, "required", repeat=True),
    Option("level", 1, "required"),
)
OPTION_CASES = [
    ("cov(un)", {"covariance": "un"}),
    ("covariance(unstructured) reml", {"covariance": "unstructured", "reml": True}),
    ("l(90)", {"level": "90"}),
    ("prior({a}, normal(0,1)) prior({b}, flat)", {"prior": ["{a}, normal(0,1)", "{b}, flat"]}),
    ("", {}),
    (None, {}),
]


@pytest.mark.parametrize("text, expected", OPTION_CASES)
def test_parse_options(text, expected):
    assert parse_options(text, TABLE, "test") == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("co(un)", "option co not allowed with test"),
        ("bogus", "option bogus not allowed with test"),
        ("reml(1)", "takes no argument"),
        ("cov", "requires an argument"),
        ("level(90) level(95)", "given twice"),
        ("cov(un", "unmatched"),
    ],
)
def test_bad_options_name_the_option(text, message):
    with pytest.raises(CommandError, match=message):
        parse_options(text, TABLE, "test")


@pytest.mark.parametrize(
    "word, expected",
    [
        ("su", "summarize"),
        ("summ", "summarize"),
        ("s", None),
        ("summarize", "summarize"),
        ("sx", None),
    ],
)
def test_resolve_word(word, expected):
    assert resolve_word(word, {"summarize": 2, "sort": 4}, "command") == expected


def test_ambiguous_abbreviation_is_an_error():
    with pytest.raises(CommandError, match="ambiguous"):
        resolve_word("so", {"sort": 2, "something": 2}, "command")
