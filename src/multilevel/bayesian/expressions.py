"""Expressions of model parameters, as ``bayesstats summary`` and ``bayestest`` take them.

``"corr: {U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2})"`` names an expression ``corr``; a bare
``"{math:homework}"`` is a parameter. Expressions are evaluated draw by draw with NumPy from a
restricted grammar: numbers, parameter references, + - * / ^ (or **), comparisons, and the
functions exp, ln/log, log10, sqrt, abs, invlogit, logit, normal, min, max.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

import numpy as np
from scipy import special, stats

from ..errors import OptionError

FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp,
    "ln": np.log,
    "log": np.log,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "invlogit": special.expit,
    "logit": special.logit,
    "normal": stats.norm.cdf,
    "min": np.minimum,
    "max": np.maximum,
}
_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_COMPARE = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_LABELLED = re.compile(r"^\s*([A-Za-z_]\w*)\s*:\s*(?!\s*\})(.*)$", re.S)


def split_label(text: str) -> tuple[str | None, str]:
    """``"(corr: expr)"`` -> ``("corr", "expr")``; a bare parameter or expression -> (None, text)."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if not text.startswith("{"):
        match = _LABELLED.match(text)
        if match and "{" in match.group(2):
            return match.group(1), match.group(2).strip()
    return None, text


def references(expr: str) -> list[str]:
    """Parameter names referenced in ``expr`` (without braces, spaces removed)."""
    return [ref.replace(" ", "") for ref in re.findall(r"\{([^}]*)\}", expr)]


def evaluate(expr: str, lookup: Callable[[str], np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` on draws; ``lookup(name)`` returns the draws of parameter ``name``.

    Raises
    ------
    OptionError
        A syntax error, an unknown function, or an unknown parameter (from ``lookup``).
    """
    values: dict[str, np.ndarray] = {}

    def substitute(match: re.Match) -> str:
        key = f"_p{len(values)}"
        values[key] = np.asarray(lookup(match.group(1).replace(" ", "")), float)
        return key

    code = re.sub(r"\{([^}]*)\}", substitute, expr).replace("^", "**")
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        raise OptionError(f"cannot read expression {expr!r}") from None
    return np.asarray(_eval(tree.body, values, expr), float)


def _eval(node: ast.AST, values: dict, expr: str):
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in values:
            return values[node.id]
        raise OptionError(f"expression {expr!r}: unknown name {node.id!r} (parameters go in {{}})")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](
            _eval(node.left, values, expr), _eval(node.right, values, expr)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _eval(node.operand, values, expr)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        fn = _COMPARE[type(node.ops[0])]
        return fn(_eval(node.left, values, expr), _eval(node.comparators[0], values, expr))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        fn = FUNCTIONS.get(node.func.id)
        if fn is None:
            raise OptionError(f"expression {expr!r}: unknown function {node.func.id}()")
        return fn(*(_eval(a, values, expr) for a in node.args))
    raise OptionError(f"expression {expr!r}: unsupported syntax")
