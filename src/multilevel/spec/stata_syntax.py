"""Parser for Stata's multilevel command syntax.

::

    depvar [indepvars] [, fe_options] [|| level: [varlist] [, re_options]] ... [, options]

The independent variables use Stata's factor-variable notation (``i.a``, ``ib2.a``, ``ib(last).a``,
``ibn.a``, ``c.x``, ``i.(a b)``, ``a#b``, ``a##c.x``). Levels written one after another are nested:
``|| school: || class:`` gives the paths ``(school,)`` and ``(school, class)``. Crossed effects use
``|| _all: R.grp``. Options after the last level's comma apply to that level when they are
random-effects options (``covariance()``, ``noconstant``, ``collinear``) and to the model otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product
from typing import Any

from .model_spec import Factor, ModelSpec, Term
from .options import (
    LevelDraft,
    OptionCollector,
    OptionDef,
    OptionProblem,
    build_spec,
    check_command,
    covariance_name,
    problem_to_error,
    resolve_option,
)
from .tokens import Token, match_brackets, syntax_error, tokenize

_IB_VALUE = re.compile(r"ib(\d+)")
_PREFIXES = {
    "i": ("categorical", None),
    "c": ("continuous", None),
    "ibn": ("categorical", ("none",)),
    "R": ("crossed", None),
}
_IB_WORDS = ("first", "last", "freq")
_PREFIX_HELP = "expected i., c., ib#., ib(first)., ib(last)., ib(freq). or ibn."
_RESERVED = ("if", "in", "using")


@dataclass(frozen=True)
class _Element:
    """One operand of ``#``: a prefix (kind, base) and the variable(s) it applies to."""

    kind: str | None
    base: tuple | None
    names: tuple[str, ...]
    start: int


@dataclass(frozen=True)
class _WrittenOption:
    """An option as written: its name token and the raw text between its parentheses."""

    name: Token
    value: str | None = None
    value_start: int | None = None


@dataclass
class _WrittenLevel:
    draft: LevelDraft
    options: list[_WrittenOption]


class _StataParser:
    """Recursive-descent parser over the token list of one command."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pairs = match_brackets(self.tokens, text)
        self.index = 0

    # -- token access ---------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, position: int) -> Exception:
        return syntax_error(message, self.text, position)

    def at_section_end(self) -> bool:
        token = self.peek()
        return token.kind == "end" or token.is_op(",", "||")

    def adjacent(self, token: Token, op: str) -> bool:
        """Whether the next token is ``op`` written right after ``token`` (no space)."""
        following = self.peek()
        return following.is_op(op) and following.start == token.end

    # -- grammar --------------------------------------------------------------------------
    def parse(self) -> tuple[str, list[Term], list[_WrittenOption], list[_WrittenLevel]]:
        response = self.response()
        fixed: list[Term] = []
        while not self.at_section_end():
            fixed.extend(self.fixed_term())
        fixed_options = self.options_section()
        levels: list[_WrittenLevel] = []
        path: list[str] = []
        while self.peek().is_op("||"):
            levels.append(self.level(path))
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"unexpected '{token.text}'", token.start)
        return response, fixed, fixed_options, levels

    def response(self) -> str:
        token = self.peek()
        if token.kind != "name":
            found = "nothing" if token.kind == "end" else f"'{token.text}'"
            raise self.error(f"missing dependent variable: found {found}", token.start)
        self.advance()
        if self.adjacent(token, ".") or self.adjacent(token, "("):
            raise self.error(
                "the dependent variable must be a plain variable name, not a factor variable",
                token.start,
            )
        self.check_name(token)
        return token.text

    def check_name(self, token: Token) -> None:
        if token.text in _RESERVED:
            raise self.error(
                f"'{token.text}' qualifiers are not supported: select the rows in the data first",
                token.start,
            )

    def fixed_term(self) -> list[Term]:
        """One factor-variable term of the fixed part; ``##`` and groups expand to several."""
        elements = [self.element()]
        operators: list[Token] = []
        while self.peek().is_op("#", "##"):
            operators.append(self.advance())
            elements.append(self.element())
        kinds = {op.text for op in operators}
        if len(kinds) > 1:
            mixed = next(op for op in operators if op.text != operators[0].text)
            raise self.error("mixing # and ## in one term is not supported", mixed.start)
        if "##" in kinds:
            templates: list[tuple[_Element, ...]] = []
            for element in elements:
                templates += [(element,)] + [t + (element,) for t in templates]
        else:
            templates = [tuple(elements)]
        interaction = len(elements) > 1
        return [
            Term(factors)
            for template in templates
            for factors in product(*(self.factors(e, interaction) for e in template))
        ]

    def factors(self, element: _Element, interaction: bool) -> list[Factor]:
        if element.kind == "crossed":
            raise self.error("R.varname is only allowed in an _all: equation", element.start)
        kind = element.kind or ("categorical" if interaction else "continuous")
        return [Factor(name, kind, element.base) for name in element.names]

    def element(self) -> _Element:
        """``x``, ``prefix.x`` or ``prefix.(x y)``."""
        token = self.peek()
        if token.kind != "name":
            if token.is_op("("):
                raise self.error(
                    "a variable list in parentheses needs a prefix: i.(a b)", token.start
                )
            raise self.error(f"unexpected '{token.text}'", token.start)
        self.advance()
        if token.text == "ib" and self.adjacent(token, "("):
            kind, base = self.ib_words(token)
        elif self.adjacent(token, "."):
            kind, base = self.prefix(token)
        else:
            self.check_name(token)
            return _Element(None, None, (token.text,), token.start)
        dot = self.advance()
        target = self.peek()
        if target.start == dot.end and target.kind == "name":
            self.advance()
            return _Element(kind, base, (target.text,), token.start)
        if target.start == dot.end and target.is_op("("):
            return _Element(kind, base, self.group(), token.start)
        raise self.error(f"expected a variable name after '{token.text}.'", target.start)

    def prefix(self, token: Token) -> tuple[str, tuple | None]:
        if token.text in _PREFIXES:
            return _PREFIXES[token.text]
        value = _IB_VALUE.fullmatch(token.text)
        if value:
            return "categorical", ("value", int(value.group(1)))
        raise self.error(
            f"unknown factor-variable prefix '{token.text}.'; {_PREFIX_HELP}", token.start
        )

    def ib_words(self, token: Token) -> tuple[str, tuple]:
        """``ib(first).``, ``ib(last).``, ``ib(freq).``; leaves the parser on the dot."""
        opening = self.index
        closing = self.pairs[opening]
        inner = self.tokens[opening + 1 : closing]
        if len(inner) != 1 or inner[0].text not in _IB_WORDS:
            position = inner[0].start if inner else self.tokens[closing].start
            raise self.error("ib() takes first, last or freq", position)
        self.index = closing + 1
        if not self.adjacent(self.tokens[closing], "."):
            raise self.error("expected '.' after ib(...)", self.peek().start)
        return "categorical", (inner[0].text,)

    def group(self) -> tuple[str, ...]:
        """The variables of ``prefix.(a b c)``."""
        opening = self.advance()
        closing = self.pairs[self.index - 1]
        names = []
        for token in self.tokens[self.index : closing]:
            if token.kind != "name":
                raise self.error("expected variable names inside i.( )", token.start)
            names.append(token.text)
        if not names:
            raise self.error("empty variable list", opening.start)
        self.index = closing + 1
        return tuple(names)

    def options_section(self) -> list[_WrittenOption]:
        """Options after a comma, up to the next ``||`` or the end."""
        if not self.peek().is_op(","):
            return []
        self.advance()
        written: list[_WrittenOption] = []
        while not (self.peek().kind == "end" or self.peek().is_op("||")):
            name = self.advance()
            if name.kind != "name":
                raise self.error(f"expected an option name, found '{name.text}'", name.start)
            if not self.adjacent(name, "("):
                written.append(_WrittenOption(name))
                continue
            closing = self.pairs[self.index]
            raw_start = self.tokens[self.index].end
            raw = self.text[raw_start : self.tokens[closing].start]
            stripped_start = raw_start + len(raw) - len(raw.lstrip())
            written.append(_WrittenOption(name, raw.strip(), stripped_start))
            self.index = closing + 1
        return written

    def level(self, path: list[str]) -> _WrittenLevel:
        """``|| name: [varlist] [, options]``; ``path`` holds the enclosing levels' names."""
        self.advance()  # ||
        token = self.peek()
        if token.is_op(":"):
            raise self.error("empty level name before ':'", token.start)
        if token.kind != "name":
            raise self.error("expected a level name after '||'", token.start)
        self.advance()
        if self.peek().is_op(":"):
            self.advance()
        elif not self.at_section_end():
            raise self.error(f"expected ':' after the level name '{token.text}'", self.peek().start)
        terms, crossed = self.level_varlist(token)
        if token.text == "_all":
            if path:
                raise self.error("an _all: equation must come before the other levels", token.start)
            draft = LevelDraft(groups=(crossed,), crossed_factor=crossed)
        else:
            path.append(token.text)
            draft = LevelDraft(groups=tuple(path), terms=terms)
        return _WrittenLevel(draft, self.options_section())

    def level_varlist(self, level: Token) -> tuple[tuple[str, ...], Any]:
        """Random-slope variables, or for ``_all:`` the ``R.var`` factor."""
        terms: list[str] = []
        crossed = None
        while not self.at_section_end():
            element = self.element()
            if self.peek().is_op("#", "##"):
                raise self.error(
                    "interactions are not allowed in random-effects equations", self.peek().start
                )
            if level.text == "_all":
                if element.kind != "crossed" or len(element.names) != 1 or crossed:
                    raise self.error(
                        "an _all: equation takes exactly one R.varname (crossed effects)",
                        element.start,
                    )
                crossed = element.names[0]
            elif element.kind in (None, "continuous"):
                terms.extend(element.names)
            else:
                raise self.error(
                    "only continuous variables may have random coefficients "
                    "(R.varname needs _all:)",
                    element.start,
                )
        if level.text == "_all" and crossed is None:
            raise self.error(
                "an _all: equation needs R.varname (crossed effects), as in _all: R.grp",
                level.start,
            )
        return tuple(dict.fromkeys(terms)), crossed


def _apply_level_option(defn: OptionDef, value: Any, draft: LevelDraft) -> None:
    if defn.name == "covariance":
        structure = covariance_name(value)
        if draft.crossed_factor is not None and structure != "identity":
            raise OptionProblem("R.varname effects have an identity covariance", in_value=True)
        if draft.covariance not in (None, structure):
            raise OptionProblem("covariance() given twice with different structures")
        draft.covariance = structure
    elif defn.name == "noconstant":
        if draft.crossed_factor is not None:
            raise OptionProblem("noconstant is not allowed with R.varname")
        draft.constant = False


def _apply_written(
    option: _WrittenOption,
    scopes: tuple[str, ...],
    collector: OptionCollector,
    draft: LevelDraft | None,
    text: str,
) -> None:
    """Apply one written option; ``scopes`` are the meanings allowed where it stands, in order."""
    try:
        defn = resolve_option(option.name.text, collector.command)
        scope = next((s for s in scopes if s in defn.scopes), None)
        if scope is None:
            raise OptionProblem(_misplaced(defn))
        if defn.takes_arg and option.value is None:
            raise OptionProblem(f"option {defn.name}() needs an argument")
        if not defn.takes_arg and option.value is not None:
            raise OptionProblem(f"option {defn.name} takes no argument")
        value = option.value if defn.takes_arg else True
        if scope == "level" and defn.name != "collinear":
            _apply_level_option(defn, value, draft)
        else:
            collector.apply(defn, value)
    except OptionProblem as problem:
        raise problem_to_error(problem, text, option.name.start, option.value_start) from None


def _misplaced(defn: OptionDef) -> str:
    if defn.scopes == frozenset({"level"}):
        where = "to a random-effects equation (|| level: ..., option)"
    elif "fixed" in defn.scopes:
        where = "to the fixed-effects equation or after the last random-effects equation"
    else:
        where = "after the last random-effects equation"
    return f"option {defn.name} is not allowed here: it belongs {where}"


def parse_stata(text: str, command: str = "mixed", **options: Any) -> ModelSpec:
    """Parse a model written in Stata's syntax.

    Parameters
    ----------
    text
        The command without its name: ``"math homework i.schtype || schid: homework, cov(un)"``.
    command
        ``mixed`` or one of the ``me`` commands; sets the family and the options allowed.
    **options
        Options as keyword arguments (``reml=True``, ``covariance="unstructured"``, ...); they
        mean what the same options written in the command mean.

    Returns
    -------
    ModelSpec

    Raises
    ------
    SpecSyntaxError
        For text that cannot be parsed or an option written in it that is unknown or bad; the
        message shows the text with a caret under the problem.
    OptionError
        For an unknown or bad keyword option, or options that contradict each other.
    """
    check_command(command)
    parser = _StataParser(text)
    response, fixed, fixed_options, levels = parser.parse()
    collector = OptionCollector(command)
    fixed_scopes = ("fixed",) if levels else ("fixed", "global")
    for option in fixed_options:
        _apply_written(option, fixed_scopes, collector, None, text)
    for position, level in enumerate(levels):
        scopes = ("level", "global") if position == len(levels) - 1 else ("level",)
        for option in level.options:
            _apply_written(option, scopes, collector, level.draft, text)
        if level.draft.n_effects == 0:
            where = level.options[0].name.start if level.options else len(text)
            raise syntax_error("a random-effects equation with no effects", text, where)
    collector.apply_keywords(options)
    return build_spec(response, fixed, [lv.draft for lv in levels], collector, text)
