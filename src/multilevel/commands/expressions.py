"""Stata expressions (``generate``, ``replace``, ``if``, ``display``) evaluated on a DataFrame.

A small tokenizer and recursive-descent parser build a tree that is evaluated column-wise with
numpy; nothing is handed to Python's ``eval``. The rules are Stata's ([U] 13 Functions and
expressions):

* precedence, highest first: ``!`` (or ``~``), ``^``, unary ``-``, ``*`` ``/``, ``+`` ``-``,
  the comparisons ``== != ~= > < >= <=``, ``&``, ``|``; ``^`` associates to the left;
* a numeric missing value (``.``, NaN in the frame) is larger than every number in comparisons, so
  ``x > 5`` holds for missing ``x`` and ``x < .`` selects the non-missing values;
* arithmetic with a missing value, division by zero and overflow give missing;
* in ``&``, ``|`` and ``!`` every value other than zero is true, missing included; comparisons and
  logical operators give 0 or 1, never missing;
* strings are written in double quotes; ``+`` joins them; their missing value is ``""``;
* ``_n`` and ``_N`` are the observation number and count (within groups after ``by``), and
  ``x[exp]`` is the value of ``x`` in observation ``exp`` (missing outside the data or group);
* variable names may be abbreviated when the abbreviation is unique.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from .errors import RC_NOT_FOUND, RC_SYNTAX, RC_TYPE_MISMATCH, CommandError

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<coef>_(?:b|se)\[[^\]]*\])
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<missing>\.[a-z]?(?![0-9]))
  | (?P<str>"[^"]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|~=|>=|<=|[-+*/^<>&|!~()\[\],=])
    )""",
    re.VERBOSE,
)
_COMPARISONS = ("==", "!=", "~=", ">", "<", ">=", "<=")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise CommandError(
                f"invalid expression: cannot read {text[pos:].strip()!r} in {text!r}"
            )
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    out.append(("end", ""))
    return out


# ---------------------------------------------------------------------------------------------
# parsing into a tree of tuples
# ---------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, *ops: str) -> str | None:
        kind, value = self.peek()
        if kind == "op" and value in ops:
            self.pos += 1
            return value
        return None

    def expect(self, op: str) -> None:
        if self.accept(op) is None:
            found = self.peek()[1] or "the end"
            raise CommandError(f"invalid expression {self.text!r}: expected '{op}' before {found}")

    def parse(self) -> tuple:
        tree = self.logical_or()
        kind, value = self.peek()
        if kind != "end":
            hint = "; use == to compare" if value == "=" else ""
            raise CommandError(f"invalid expression {self.text!r}: unexpected '{value}'{hint}")
        return tree

    def logical_or(self) -> tuple:
        tree = self.logical_and()
        while self.accept("|"):
            tree = ("bin", "|", tree, self.logical_and())
        return tree

    def logical_and(self) -> tuple:
        tree = self.comparison()
        while self.accept("&"):
            tree = ("bin", "&", tree, self.comparison())
        return tree

    def comparison(self) -> tuple:
        tree = self.additive()
        while (op := self.accept(*_COMPARISONS)) is not None:
            tree = ("bin", "!=" if op == "~=" else op, tree, self.additive())
        return tree

    def additive(self) -> tuple:
        tree = self.multiplicative()
        while (op := self.accept("+", "-")) is not None:
            tree = ("bin", op, tree, self.multiplicative())
        return tree

    def multiplicative(self) -> tuple:
        tree = self.negation()
        while (op := self.accept("*", "/")) is not None:
            tree = ("bin", op, tree, self.negation())
        return tree

    def negation(self) -> tuple:
        if self.accept("-"):
            return ("neg", self.negation())
        if self.accept("+"):
            return self.negation()
        return self.power()

    def power(self) -> tuple:
        tree = self.logical_not()
        while self.accept("^"):
            exponent = ("neg", self.logical_not()) if self.accept("-") else self.logical_not()
            tree = ("bin", "^", tree, exponent)
        return tree

    def logical_not(self) -> tuple:
        if self.accept("!", "~"):
            return ("not", self.logical_not())
        return self.primary()

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "num":
            return ("num", float(value))
        if kind == "missing":
            return ("num", np.nan)
        if kind == "str":
            return ("str", value[1:-1])
        if kind == "coef":
            which, _, label = value[1:-1].partition("[")
            return ("coef", which, label.strip())
        if kind == "name":
            return self.named(value)
        if kind == "op" and value == "(":
            tree = self.logical_or()
            self.expect(")")
            return tree
        found = value or "the end"
        raise CommandError(f"invalid expression {self.text!r}: unexpected {found}")

    def named(self, name: str) -> tuple:
        if self.accept("("):
            args = []
            if not self.accept(")"):
                args.append(self.logical_or())
                while self.accept(","):
                    args.append(self.logical_or())
                self.expect(")")
            return ("call", name, args)
        if self.accept("["):
            index = self.logical_or()
            self.expect("]")
            return ("sub", name, index)
        return ("var", name)


def parse(text: str) -> tuple:
    """Parse a Stata expression into a tree (raises :class:`CommandError` on bad syntax)."""
    if not text or not text.strip():
        raise CommandError("expression required", RC_SYNTAX)
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What an expression is evaluated against.

    ``df`` holds the data (``None`` for a scalar such as ``display 2+2``); ``groups`` gives each
    row's group number for ``by``; ``coefficient`` answers ``_b[name]`` and ``_se[name]``;
    ``scalars`` holds system values such as ``_rc``.
    """

    df: pd.DataFrame | None = None
    groups: np.ndarray | None = None
    coefficient: Callable[[str, str], float] | None = None
    scalars: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return 1 if self.df is None else len(self.df)

    def resolve(self, name: str) -> str:
        """The column ``name`` refers to (exact, else a unique abbreviation)."""
        if self.df is None:
            raise CommandError(f"{name} not found", RC_NOT_FOUND)
        columns = [str(c) for c in self.df.columns]
        if name in columns:
            return name
        matches = [c for c in columns if c.startswith(name)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise CommandError(f"{name} ambiguous abbreviation", RC_NOT_FOUND)
        raise CommandError(f"variable {name} not found", RC_NOT_FOUND)

    def column(self, name: str) -> np.ndarray:
        series = self.df[self.resolve(name)]
        return column_values(series)

    def positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's 1-based number within its group, its group's size and first row."""
        n = self.n
        if self.groups is None:
            return np.arange(1, n + 1, dtype=float), np.full(n, float(n)), np.zeros(n, int)
        codes = pd.Series(self.groups)
        number = codes.groupby(codes, sort=False).cumcount().to_numpy() + 1
        size = codes.groupby(codes, sort=False).transform("size").to_numpy()
        first = np.arange(n) - (number - 1)
        return number.astype(float), size.astype(float), first


def column_values(series: pd.Series) -> np.ndarray:
    """A column as Stata sees it: float64 with NaN for missing, or strings with ``""``."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(dtype=float)
    return series.astype(object).where(series.notna(), "").astype(str).to_numpy(dtype=object)


def is_string(values: np.ndarray) -> bool:
    return values.dtype == object


def _numeric(values: np.ndarray, what: str) -> np.ndarray:
    if is_string(values):
        raise CommandError(f"type mismatch: {what} needs numbers, not strings", RC_TYPE_MISMATCH)
    return values


def _clean(values: np.ndarray) -> np.ndarray:
    """Infinities and NaN from arithmetic become Stata's missing value (NaN)."""
    return np.where(np.isfinite(values), values, np.nan)


def _truth(values: np.ndarray) -> np.ndarray:
    return _numeric(values, "a logical operator") != 0  # NaN != 0: missing is true


def _compare(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if is_string(left) != is_string(right):
        raise CommandError("type mismatch: comparing a string with a number", RC_TYPE_MISMATCH)
    if not is_string(left):
        # Stata's missing value is larger than any number.
        left = np.where(np.isnan(left), np.inf, left)
        right = np.where(np.isnan(right), np.inf, right)
    result = {
        "==": np.equal,
        "!=": np.not_equal,
        ">": np.greater,
        "<": np.less,
        ">=": np.greater_equal,
        "<=": np.less_equal,
    }[op](left, right)
    return np.asarray(result, dtype=float)


def _binary(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if op in _COMPARISONS:
        return _compare(op, left, right)
    if op == "&":
        return (_truth(left) & _truth(right)).astype(float)
    if op == "|":
        return (_truth(left) | _truth(right)).astype(float)
    if op == "+" and (is_string(left) or is_string(right)):
        if not (is_string(left) and is_string(right)):
            raise CommandError("type mismatch: adding a string and a number", RC_TYPE_MISMATCH)
        return np.char.add(left.astype(str), right.astype(str)).astype(object)
    left, right = _numeric(left, op), _numeric(right, op)
    with np.errstate(all="ignore"):
        if op == "+":
            return _clean(left + right)
        if op == "-":
            return _clean(left - right)
        if op == "*":
            return _clean(left * right)
        if op == "/":
            return _clean(left / right)
        return _clean(np.power(left, right))


def evaluate(text: str, ctx: Context) -> np.ndarray:
    """Evaluate an expression: one value per row of ``ctx.df`` (one value without data).

    Returns
    -------
    numpy.ndarray
        float64 with NaN for missing, or an object array of strings.
    """
    tree = parse(text)
    return _Evaluator(ctx).run(tree)


def condition(text: str, ctx: Context) -> np.ndarray:
    """The rows where an ``if`` expression holds (missing counts as true, as in Stata)."""
    values = evaluate(text, ctx)
    if is_string(values):
        raise CommandError(f"type mismatch: if {text} gives a string", RC_TYPE_MISMATCH)
    return values != 0


class _Evaluator:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.n = ctx.n
        self._positions = None

    def positions(self):
        if self._positions is None:
            self._positions = self.ctx.positions()
        return self._positions

    def full(self, value) -> np.ndarray:
        if isinstance(value, str):
            return np.full(self.n, value, dtype=object)
        return np.full(self.n, value, dtype=float)

    def run(self, tree: tuple) -> np.ndarray:
        kind = tree[0]
        if kind == "num":
            return self.full(tree[1])
        if kind == "str":
            return self.full(tree[1])
        if kind == "var":
            return self.variable(tree[1])
        if kind == "sub":
            return self.subscript(tree[1], self.run(tree[2]))
        if kind == "coef":
            return self.full(self.coefficient(tree[1], tree[2]))
        if kind == "neg":
            with np.errstate(all="ignore"):
                return -_numeric(self.run(tree[1]), "-")
        if kind == "not":
            return (~_truth(self.run(tree[1]))).astype(float)
        if kind == "bin":
            return _binary(tree[1], self.run(tree[2]), self.run(tree[3]))
        return self.call(tree[1], [self.run(arg) for arg in tree[2]])

    def variable(self, name: str) -> np.ndarray:
        if name == "_n":
            return self.positions()[0]
        if name == "_N":
            return self.positions()[1]
        if name == "_pi":
            return self.full(np.pi)
        if name in self.ctx.scalars:
            return self.full(float(self.ctx.scalars[name]))
        return self.ctx.column(name)

    def subscript(self, name: str, index: np.ndarray) -> np.ndarray:
        values = self.variable(name) if name in ("_n", "_N") else self.ctx.column(name)
        _, size, first = self.positions()
        k = _numeric(index, "a subscript")
        inside = np.isfinite(k) & (k >= 1) & (k <= size)
        rows = np.where(inside, first + np.where(inside, k, 1).astype(int) - 1, 0)
        taken = values[rows] if len(values) else values
        missing = "" if is_string(values) else np.nan
        return np.where(inside, taken, missing).astype(values.dtype)

    def coefficient(self, which: str, label: str) -> float:
        if self.ctx.coefficient is None:
            raise CommandError("last estimates not found", 301)
        return self.ctx.coefficient(which, label)

    def call(self, name: str, args: list[np.ndarray]) -> np.ndarray:
        function = FUNCTIONS.get(name)
        if function is None:
            raise CommandError(f"unknown function {name}()", 133)
        arity, body = function
        if not (arity[0] <= len(args) <= arity[1]):
            raise CommandError(f"{name}(): wrong number of arguments", RC_SYNTAX)
        with np.errstate(all="ignore"):
            return body(*args)


# ---------------------------------------------------------------------------------------------
# functions
# ---------------------------------------------------------------------------------------------


def _math(function: Callable) -> tuple:
    return (1, 1), lambda x: _clean(function(_numeric(x, "this function")))


def _round(x: np.ndarray, unit: np.ndarray | None = None) -> np.ndarray:
    # Stata rounds halves up: round(x, y) = y * floor(x / y + .5).
    x = _numeric(x, "round()")
    unit = np.ones_like(x) if unit is None else _numeric(unit, "round()")
    return _clean(unit * np.floor(x / unit + 0.5))


def _missing(*args: np.ndarray) -> np.ndarray:
    flags = [(a == "") if is_string(a) else np.isnan(a) for a in args]
    return np.logical_or.reduce(flags).astype(float)


def _extreme(reduce: np.ufunc) -> Callable:
    # fmin/fmax skip missing values; all missing gives missing, as Stata's min() and max().
    def body(*args: np.ndarray) -> np.ndarray:
        return reduce.reduce(np.vstack([_numeric(a, "min()/max()") for a in args]), axis=0)

    return body


def _cond(test: np.ndarray, yes: np.ndarray, no: np.ndarray, missing=None) -> np.ndarray:
    truth = _truth(test)
    result = np.where(truth, yes, no)
    if missing is not None:
        result = np.where(np.isnan(_numeric(test, "cond()")), missing, result)
    return result


def _inlist(value: np.ndarray, *choices: np.ndarray) -> np.ndarray:
    found = np.zeros(len(value), dtype=bool)
    for choice in choices:
        found |= _compare("==", value, choice) == 1
    return found.astype(float)


def _inrange(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    value = _numeric(value, "inrange()")
    low = np.where(np.isnan(_numeric(low, "inrange()")), -np.inf, low)
    ok = np.isfinite(value) & (value >= low) & (value <= np.where(np.isnan(high), np.inf, high))
    return ok.astype(float)


def _running_sum(x: np.ndarray) -> np.ndarray:
    # Stata's sum() is the running sum, missing counted as zero.
    return np.cumsum(np.nan_to_num(_numeric(x, "sum()")))


def _substr(s: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    out = []
    for text, n1, n2 in zip(s, start, length, strict=True):
        n1 = int(n1) if np.isfinite(n1) else 1
        begin = n1 - 1 if n1 > 0 else max(len(text) + n1, 0)
        end = len(text) if not np.isfinite(n2) else begin + int(n2)
        out.append(text[begin:end])
    return np.array(out, dtype=object)


def _string(x: np.ndarray) -> np.ndarray:
    from ..results.stata_format import fmt_g

    return np.array([fmt_g(v, 9) for v in _numeric(x, "string()")], dtype=object)


def _real(s: np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(s, dtype=object), errors="coerce").to_numpy(dtype=float)


def _text(function: Callable) -> tuple:
    def body(s: np.ndarray) -> np.ndarray:
        if not is_string(s):
            raise CommandError("type mismatch: a string function given a number", RC_TYPE_MISMATCH)
        return np.array([function(t) for t in s], dtype=object)

    return (1, 1), body


FUNCTIONS: dict[str, tuple[tuple[int, int], Callable]] = {
    "abs": _math(np.abs),
    "ceil": _math(np.ceil),
    "floor": _math(np.floor),
    "int": _math(np.trunc),
    "trunc": _math(np.trunc),
    "exp": _math(np.exp),
    "ln": _math(np.log),
    "log": _math(np.log),
    "log10": _math(np.log10),
    "sqrt": _math(np.sqrt),
    "normal": _math(special.ndtr),
    "invnormal": _math(special.ndtri),
    "round": ((1, 2), _round),
    "missing": ((1, 99), _missing),
    "mi": ((1, 99), _missing),
    "min": ((1, 99), _extreme(np.fmin)),
    "max": ((1, 99), _extreme(np.fmax)),
    "cond": ((3, 4), _cond),
    "inlist": ((2, 255), _inlist),
    "inrange": ((3, 3), _inrange),
    "sum": ((1, 1), _running_sum),
    "strlen": ((1, 1), lambda s: np.array([len(t) for t in s], dtype=float)),
    "lower": _text(str.lower),
    "upper": _text(str.upper),
    "trim": _text(str.strip),
    "strtrim": _text(str.strip),
    "substr": ((3, 3), _substr),
    "string": ((1, 1), _string),
    "real": ((1, 1), _real),
}
