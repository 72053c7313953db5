"""Parser for lme4/brms formulas: ``y ~ x + C(a) + (x | g) + (1 | g1/g2) + (x || g)``.

The random-effects terms ``( lhs | groups )`` and ``( lhs || groups )`` are split off with the
package's own tokenizer; the remaining fixed part goes through formulaic's parser and its terms are
converted to :class:`~multilevel.spec.model_spec.Term` objects.

Meaning of the random-effects terms:

- ``(x | g)``: random intercept and slope on ``x`` with an unstructured covariance;
- ``(x || g)``: the same with an independent (diagonal) covariance;
- ``(1 | g)``, ``(0 + x | g)``: a single effect (identity covariance);
- ``(1 | g1/g2)``: ``g1`` and ``g2`` nested in ``g1`` (paths ``(g1,)`` and ``(g1, g2)``);
- ``(1 | g1:g2)``: one level whose groups are the combinations of ``g1`` and ``g2``.

A term with several effects writes its covariance structure (``|`` or ``||``), so a
``covariance=`` keyword option changes only single-effect terms. Levels are ordered so that a
nesting parent comes before its child. Crossed factors are written
as separate terms, ``(1 | a) + (1 | b)``, and give two plain levels: Stata's ``_all: R.a`` notation
has no formula counterpart, so such a spec differs from the Stata one in its labels only.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from formulaic import Formula
from formulaic.errors import FormulaicError
from formulaic.parser.types import Factor as FormulaicFactor

from .model_spec import Factor, ModelSpec, Term
from .options import LevelDraft, OptionCollector, build_spec, check_command
from .tokens import Token, match_brackets, syntax_error, tokenize

_BARS = ("|", "||")
_SLOPES_ONLY = (
    "only variable names, 1 and 0 may stand before '|' (random coefficients are continuous)"
)


def _name_of(token: Token) -> str | None:
    """Variable name of a token: a plain name or a backtick-quoted one."""
    if token.kind == "name":
        return token.text
    if token.kind == "string" and token.text.startswith("`"):
        return token.text[1:-1]
    return None


def _top_level(tokens: list[Token], pairs: dict[int, int], start: int, stop: int) -> list[int]:
    """Indices of the tokens in ``[start, stop)`` outside any brackets (brackets included)."""
    indices = []
    index = start
    while index < stop:
        indices.append(index)
        index = pairs.get(index, index) + 1
    return indices


def _bars_within(tokens: list[Token], start: int, stop: int) -> list[Token]:
    return [t for t in tokens[start:stop] if t.is_op(*_BARS)]


class _FormulaParser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pairs = match_brackets(self.tokens, text)
        self.end = len(self.tokens) - 1  # index of the end token

    def error(self, message: str, position: int) -> Exception:
        return syntax_error(message, self.text, position)

    def tilde(self) -> int:
        top = _top_level(self.tokens, self.pairs, 0, self.end)
        tildes = [i for i in top if self.tokens[i].is_op("~")]
        if not tildes:
            anywhere = next(t for t in self.tokens if t.is_op("~") or t.kind == "end")
            raise self.error("'~' must stand between the response and the terms", anywhere.start)
        if len(tildes) > 1:
            raise self.error("a formula takes one '~'", self.tokens[tildes[1]].start)
        return tildes[0]

    def response(self, tilde: int) -> str:
        if tilde == 0:
            raise self.error("nothing before '~': the response is missing", self.tokens[0].start)
        name = _name_of(self.tokens[0])
        if tilde > 1 or name is None:
            raise self.error("the response must be a single variable name", self.tokens[0].start)
        return name

    def summands(self, tilde: int) -> list[tuple[Token | None, int, int]]:
        """The right-hand side split at top-level ``+``/``-``: (sign, first, stop) token ranges."""
        if tilde + 1 == self.end:
            raise self.error("nothing after '~': the terms are missing", self.tokens[tilde].start)
        found: list[tuple[Token | None, int, int]] = []
        sign, first = None, tilde + 1
        for index in _top_level(self.tokens, self.pairs, tilde + 1, self.end + 1):
            token = self.tokens[index]
            if token.is_op("+", "-") or token.kind == "end":
                if index == first and (sign is not None or token.kind == "end"):
                    raise self.error("expected a term", token.start)
                if index > first:
                    found.append((sign, first, index))
                sign, first = token, index + 1
        return found

    def is_random(self, first: int, stop: int) -> bool:
        """Whether a summand is one parenthesised group with a bar at its own top level."""
        if not (self.tokens[first].is_op("(") and self.pairs[first] == stop - 1):
            return False
        inner = _top_level(self.tokens, self.pairs, first + 1, stop - 1)
        return any(self.tokens[i].is_op(*_BARS) for i in inner)

    def check_no_bars(self, first: int, stop: int) -> None:
        """A fixed summand must hold no bar: a bar there is a misplaced random-effects term."""
        stray = _bars_within(self.tokens, first, stop)
        if not stray:
            return
        top = _top_level(self.tokens, self.pairs, first, stop)
        if any(self.tokens[i].is_op(*_BARS) for i in top):
            raise self.error(
                "random-effects terms go in parentheses, as in (1 | g)", stray[0].start
            )
        raise self.error(
            "a random-effects term must be a separate ( | ) term joined by '+'", stray[0].start
        )

    def split(self, tilde: int) -> tuple[str, list[tuple[int, int]]]:
        """The fixed part's text (random terms blanked out, positions kept) and the random
        summands' token ranges."""
        chars = list(self.text)
        randoms: list[tuple[int, int]] = []
        parts = self.summands(tilde)
        for position, (sign, first, stop) in enumerate(parts):
            if not self.is_random(first, stop):
                self.check_no_bars(first, stop)
                continue
            if sign is not None and sign.text == "-":
                raise self.error("a random-effects term cannot be subtracted", sign.start)
            begin = sign.start if sign is not None else self.tokens[first].start
            finish = self.tokens[stop - 1].end
            following = parts[position + 1][0] if position + 1 < len(parts) else None
            if sign is None and following is not None and following.text == "+":
                finish = following.end  # the '+' joining it to the next term goes with it
            chars[begin:finish] = " " * (finish - begin)
            randoms.append((first, stop))
        fixed_text = "".join(chars[self.tokens[tilde].end :])
        return (fixed_text if fixed_text.strip() else "1"), randoms

    def fixed(self, fixed_text: str, position: int) -> tuple[list[Term], bool]:
        """Fixed terms and whether the model has a constant, via formulaic's parser."""
        try:
            formula = Formula(fixed_text, _ordering="none")
        except (FormulaicError, ValueError, SyntaxError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self.error(f"cannot parse the fixed part: {reason}", position) from None
        terms: list[Term] = []
        constant = False
        for term in formula:
            factors = list(term.factors)
            if len(factors) == 1 and factors[0].eval_method.value == "literal":
                if factors[0].expr != "1":
                    raise self.error(f"unexpected number '{factors[0].expr}'", position)
                constant = True
                continue
            terms.append(Term(tuple(self.factor(f, position) for f in factors)))
        return terms, constant

    def factor(self, factor: FormulaicFactor, position: int) -> Factor:
        method = factor.eval_method.value
        if method == "lookup":
            return Factor(factor.expr, "auto")
        where = self.text.find(factor.expr, position)
        where = position if where < 0 else where
        if method == "python":
            converted = _categorical_call(factor.expr)
            if converted is not None:
                return converted
        raise self.error(
            f"'{factor.expr}' is not supported in the fixed part: use a variable name or "
            "C(var[, Treatment(base)]); create transformed columns in the data",
            where,
        )

    def random_term(self, first: int, stop: int) -> list[LevelDraft]:
        """The levels of one ``( lhs | groups )`` term."""
        inner = _top_level(self.tokens, self.pairs, first + 1, stop - 1)
        bars = [i for i in inner if self.tokens[i].is_op(*_BARS)]
        if len(bars) > 1:
            raise self.error("one '|' or '||' per random-effects term", self.tokens[bars[1]].start)
        bar = self.tokens[bars[0]]
        lhs = self.tokens[first + 1 : bars[0]]
        rhs = self.tokens[bars[0] + 1 : stop - 1]
        if not lhs:
            raise self.error(f"expected random-effects terms before '{bar.text}'", bar.start)
        if not rhs:
            raise self.error(
                f"expected a grouping variable after '{bar.text}'", self.tokens[stop - 1].start
            )
        terms, constant = self.random_lhs(lhs, bar)
        n_effects = len(terms) + int(constant)
        if n_effects == 0:
            raise self.error("a random-effects term with no effects", self.tokens[first].start)
        covariance = None
        if n_effects > 1:
            covariance = "independent" if bar.text == "||" else "unstructured"
        return [
            LevelDraft(groups=path, terms=terms, constant=constant, covariance=covariance)
            for path in self.group_paths(rhs)
        ]

    def random_lhs(self, tokens: list[Token], bar: Token) -> tuple[tuple[str, ...], bool]:
        """Slope variables and intercept flag of ``1 + x``, ``0 + x``, ``x - 1``, ``x + z``."""
        terms: list[str] = []
        constant = True
        sign: Token | None = None
        expect_term = True
        for position, token in enumerate(tokens):
            if token.is_op("(") and position > 0:
                raise self.error(_SLOPES_ONLY, tokens[position - 1].start)
            if not expect_term:
                if not token.is_op("+", "-"):
                    raise self.error("expected '+' between random-effects terms", token.start)
                sign, expect_term = token, True
                continue
            if token.is_op("+", "-") and sign is None:
                sign = token
                continue
            minus = sign is not None and sign.text == "-"
            name = _name_of(token)
            if token.kind == "number" and token.text in ("0", "1"):
                constant = (token.text == "1") != minus
            elif name is not None and not minus:
                terms.append(name)
            else:
                raise self.error(_SLOPES_ONLY, token.start)
            sign, expect_term = None, False
        if expect_term:
            raise self.error("expected a term", bar.start)
        return tuple(dict.fromkeys(terms)), constant

    def group_paths(self, tokens: list[Token]) -> list[tuple[str, ...]]:
        """``g`` -> [(g,)], ``g1/g2`` -> [(g1,), (g1, g2)], ``g1:g2`` -> [(g1, g2)]."""
        segments: list[list[str]] = [[]]
        expect_name = True
        for token in tokens:
            name = _name_of(token)
            if expect_name and name is not None:
                segments[-1].append(name)
                expect_name = False
            elif not expect_name and token.is_op(":", "/"):
                if token.text == "/":
                    segments.append([])
                expect_name = True
            else:
                raise self.error(
                    "a grouping factor is written g, g1/g2 (nested) or g1:g2 (interaction)",
                    token.start,
                )
        if expect_name:
            raise self.error("expected a grouping variable", tokens[-1].end)
        paths: list[tuple[str, ...]] = []
        for segment in segments:
            paths.append((paths[-1] if paths else ()) + tuple(segment))
        return paths


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _treatment_base(node: ast.expr) -> tuple | None | bool:
    """Base of ``Treatment``, ``Treatment(2)``, ``Treatment(reference=2)``; False if unsupported."""
    if isinstance(node, ast.Name) and node.id == "Treatment":
        return None
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Treatment"):
        return False
    values = list(node.args) + [k.value for k in node.keywords if k.arg in ("reference", "base")]
    if len(values) != 1 or len(node.args) + len(node.keywords) != 1:
        return False
    value = _literal(values[0])
    return False if value is None else ("value", value)


def _categorical_call(expr: str) -> Factor | None:
    """``C(a)`` / ``C(a, Treatment(2))`` as a categorical Factor; None for anything else."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "C"):
        return None
    contrasts = list(node.args[1:]) + [k.value for k in node.keywords if k.arg == "contrasts"]
    if (
        not node.args
        or not isinstance(node.args[0], ast.Name)
        or len(contrasts) > 1
        or any(k.arg != "contrasts" for k in node.keywords)
    ):
        return None
    base = _treatment_base(contrasts[0]) if contrasts else None
    if base is False:
        return None
    return Factor(node.args[0].id, "categorical", base)


def order_levels(levels: list[LevelDraft]) -> list[LevelDraft]:
    """Levels in written order, except that each nesting parent comes before its children.

    A level is a parent of another when its groups are a proper prefix of the other's groups.
    """
    ordered: list[LevelDraft] = []
    placed: set[int] = set()

    def place(index: int) -> None:
        groups = levels[index].groups
        parents = [
            j
            for j, other in enumerate(levels)
            if j not in placed
            and len(other.groups) < len(groups)
            and groups[: len(other.groups)] == other.groups
        ]
        for parent in sorted(parents, key=lambda j: len(levels[j].groups)):
            if parent not in placed:
                place(parent)
        placed.add(index)
        ordered.append(levels[index])

    for index in range(len(levels)):
        if index not in placed:
            place(index)
    return ordered


def parse_formula(text: str, command: str = "mixed", **options: Any) -> ModelSpec:
    """Parse a model written as an lme4/brms formula.

    Parameters
    ----------
    text
        ``"math ~ homework + C(schtype) + (homework | schid)"``.
    command
        ``mixed`` or one of the ``me`` commands; sets the family and the options allowed.
    **options
        Estimation options as keyword arguments, as for Stata syntax (``reml=True``, ...).
        Estimation is by ML unless ``reml=True``.

    Returns
    -------
    ModelSpec
        Bare variables have ``kind="auto"``; see :func:`resolve_auto_kinds`.

    Raises
    ------
    SpecSyntaxError
        For a formula that cannot be parsed (the message shows a caret under the problem).
    OptionError
        For an unknown or bad keyword option.
    """
    check_command(command)
    parser = _FormulaParser(text)
    tilde = parser.tilde()
    response = parser.response(tilde)
    fixed_text, randoms = parser.split(tilde)
    fixed, constant = parser.fixed(fixed_text, parser.tokens[tilde + 1].start)
    levels = order_levels([d for first, stop in randoms for d in parser.random_term(first, stop)])
    collector = OptionCollector(command)
    if not constant:
        collector.set("constant", False, "0 +")
    collector.apply_keywords(options)
    return build_spec(response, fixed, levels, collector, text)


def resolve_auto_kinds(spec: ModelSpec, categorical: Collection[str]) -> ModelSpec:
    """Replace every ``kind="auto"`` factor by ``"categorical"`` (name in ``categorical``) or
    ``"continuous"`` (otherwise), as R decides from the column type.

    Parameters
    ----------
    spec
        A parsed model.
    categorical
        Names of the columns that are non-numeric (strings, pandas categoricals).

    Returns
    -------
    ModelSpec
        The same model with no ``"auto"`` factors left.
    """

    def resolve(factor: Factor) -> Factor:
        if factor.kind != "auto":
            return factor
        kind = "categorical" if factor.name in categorical else "continuous"
        return replace(factor, kind=kind)

    fixed = tuple(Term(tuple(resolve(f) for f in term.factors)) for term in spec.fixed)
    return replace(spec, fixed=fixed)
