"""Wald tests of linear hypotheses on the fixed effects (Stata's ``test``) and likelihood-ratio
tests of nested models (Stata's ``lrtest``).

Hypotheses are written as Stata writes them: ``"homework = 1"``, ``"homework"`` (= 0), several
names at once (``"homework 1.schtype"``: all zero, jointly), linear expressions
(``"homework = 2*1.schtype"``, ``"2*homework + 1.schtype = 3"``), several constraints as separate
arguments or in parentheses (``"(homework = 1) (1.schtype = 0)"``). Names may also be written
``_b[homework]``, ``[math]homework`` or ``math:homework``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import OptionError
from ..results.stata_format import fmt_g

if TYPE_CHECKING:
    from ..results.mixed_result import MixedResult

_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.#~\[])"
_NAME = r"_b\[[^\]]+\]|\[[^\]]+\][A-Za-z0-9_.#~]+|[A-Za-z0-9_.#~:]+"
_TOKEN = re.compile(rf"\s*(?:(?P<num>{_NUMBER})|(?P<name>{_NAME})|(?P<op>[-+*=]))")
_TOL_RANK = 1e-10

BOUNDARY_NOTE = (
    "Note: The reported degrees of freedom assumes the null hypothesis is not on the boundary "
    "of the parameter space.  If this is not true, then the reported test is conservative."
)


# ---------------------------------------------------------------------------------------------
# parsing constraints
# ---------------------------------------------------------------------------------------------


@dataclass
class LinearForm:
    """``sum(weights[name] * name) + constant``."""

    weights: dict[str, float] = field(default_factory=dict)
    constant: float = 0.0

    def add(self, other: LinearForm, sign: float) -> None:
        for name, w in other.weights.items():
            self.weights[name] = self.weights.get(name, 0.0) + sign * w
        self.constant += sign * other.constant


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise OptionError(f"test: cannot read {text[pos:].strip()!r} in {text.strip()!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Resolver:
    """Maps the names a user writes to the labels of the estimated fixed effects."""

    def __init__(self, fit: MixedResult):
        self.depvar = fit.spec.response
        self.names = list(fit.design.fixed_names)
        self.unestimated = {
            c.label: c.status for c in fit.design.fixed_columns if c.status != "estimated"
        }

    def __call__(self, written: str) -> str:
        name = written
        if name.startswith("_b[") and name.endswith("]"):
            name = name[3:-1]
        equation = None
        if name.startswith("["):
            equation, _, name = name[1:].partition("]")
        elif ":" in name:
            equation, _, name = name.partition(":")
        if equation not in (None, "", self.depvar):
            raise OptionError(
                f"test: equation [{equation}] not found; the model's is [{self.depvar}]"
            )
        if name in self.names:
            return name
        if name in self.unestimated:
            raise OptionError(
                f"test: {name} is {self.unestimated[name]}, not an estimated coefficient"
            )
        known = ", ".join(self.names)
        raise OptionError(f"test: {written} not found; the coefficients are {known}")


def _side(tokens: list[tuple[str, str]], resolve: _Resolver, text: str) -> LinearForm:
    """A sum of terms ``[number *] name [* number]`` or ``number``."""
    form, sign, term, expect_operand = LinearForm(), 1.0, [], True
    for kind, value in tokens:
        if kind == "op" and value in ("+", "-"):
            if not expect_operand:
                form.add(_term(term, resolve, text), sign)
                sign, term = 1.0, []
            sign *= 1.0 if value == "+" else -1.0
            expect_operand = True
        elif kind == "op":
            if expect_operand:
                raise OptionError(f"test: misplaced {value!r} in {text!r}")
            expect_operand = True
        else:
            if not expect_operand:
                raise OptionError(f"test: missing operator before {value!r} in {text!r}")
            term.append((kind, value))
            expect_operand = False
    if expect_operand:
        raise OptionError(f"test: incomplete expression in {text!r}")
    form.add(_term(term, resolve, text), sign)
    return form


def _term(factors: list[tuple[str, str]], resolve: _Resolver, text: str) -> LinearForm:
    coefficient, names = 1.0, []
    for kind, value in factors:
        if kind == "num":
            coefficient *= float(value)
        else:
            names.append(resolve(value))
    if len(names) > 1:
        raise OptionError(f"test: {' * '.join(names)} is not linear in the coefficients ({text!r})")
    if names:
        return LinearForm({names[0]: coefficient})
    return LinearForm(constant=coefficient)


def _split_groups(text: str) -> list[str]:
    """``"(a = 1) (b = 0)"`` -> ``["a = 1", "b = 0"]``; other text stays whole."""
    stripped = text.strip()
    if not stripped.startswith("("):
        return [stripped]
    groups = re.findall(r"\(([^()]*)\)", stripped)
    if re.sub(r"\([^()]*\)", "", stripped).strip() or not groups:
        raise OptionError(f"test: cannot read {text!r}; write (exp = exp) (exp = exp)")
    return groups


def parse_constraints(fit: MixedResult, *hypotheses: str) -> list[LinearForm]:
    """Each hypothesis as ``weights . beta = constant`` (the constant on the right).

    Parameters
    ----------
    fit
        The fitted model (for the coefficient names).
    *hypotheses
        Texts as Stata's ``test`` takes them.

    Returns
    -------
    list of LinearForm
        One per constraint; ``constant`` is the right-hand side.
    """
    resolve = _Resolver(fit)
    out = []
    for hypothesis in hypotheses:
        for text in _split_groups(hypothesis):
            if "=" not in text:
                out.extend(_names_equal_zero(text, resolve))
                continue
            sides = text.split("=")
            if len(sides) != 2:
                raise OptionError(f"test: write one '=' per constraint: {text!r}")
            left = _side(_tokens(sides[0]), resolve, text)
            right = _side(_tokens(sides[1]), resolve, text)
            left.add(right, -1.0)
            form = LinearForm(left.weights, -left.constant)
            if not form.weights:
                raise OptionError(f"test: {text!r} involves no coefficient")
            out.append(form)
    if not out:
        raise OptionError("test: give a hypothesis, e.g. fit.test('homework = 1')")
    return out


def _names_equal_zero(text: str, resolve: _Resolver) -> list[LinearForm]:
    tokens = _tokens(text)
    if all(kind == "name" for kind, _ in tokens):
        return [LinearForm({resolve(value): 1.0}) for _, value in tokens]
    form = _side(tokens, resolve, text)
    if not form.weights:
        raise OptionError(f"test: {text!r} involves no coefficient")
    return [LinearForm(form.weights, -form.constant)]


# ---------------------------------------------------------------------------------------------
# Wald test
# ---------------------------------------------------------------------------------------------


def _weight_text(weight: float, first: bool) -> str:
    sign = "- " if weight < 0 else ("" if first else "+ ")
    size = abs(weight)
    return sign + ("" if size == 1 else fmt_g(size, 10) + "*")


def constraint_text(form: LinearForm, names: list[str], depvar: str) -> str:
    """Stata's display of a constraint: ``[math]homework - 2*[math]1.schtype = 0``."""
    parts = []
    for name in names:
        weight = form.weights.get(name, 0.0)
        if weight != 0:
            parts.append(f"{_weight_text(weight, not parts)}[{depvar}]{name}")
    return f"{' '.join(parts)} = {fmt_g(form.constant, 10)}"


@dataclass
class WaldTest:
    """A Wald test of linear constraints on the fixed effects."""

    constraints: list[str]
    chi2: float
    df: int
    p: float
    dropped: list[int] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"chi2": [self.chi2], "df": [self.df], "p": [self.p]})

    @property
    def text(self) -> str:
        lines = [f" ({i:2d})  {c}" for i, c in enumerate(self.constraints, start=1)]
        lines += [f"       Constraint {i} dropped" for i in self.dropped]
        lines += [
            "",
            f"{'':11}chi2({self.df:3d}) ={self.chi2:8.2f}",
            f"{'':9}Prob > chi2 ={self.p:10.4f}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text


def _independent_rows(matrix: np.ndarray) -> list[int]:
    """Rows kept in order, each only if it adds to the rank (Stata drops the others)."""
    kept: list[int] = []
    for i in range(matrix.shape[0]):
        trial = matrix[[*kept, i]]
        scale = max(np.abs(trial).max(), 1.0)
        if np.linalg.matrix_rank(trial, tol=_TOL_RANK * scale * trial.shape[1]) > len(kept):
            kept.append(i)
    return kept


def wald_test(fit: MixedResult, *hypotheses: str) -> WaldTest:
    """Wald chi2 test of linear hypotheses on the fixed effects (Stata's ``test``).

    Parameters
    ----------
    fit
        A fitted linear mixed model.
    *hypotheses
        ``"homework = 1"``, ``"homework"``, ``"homework 1.schtype"``, ``"homework = 2*1.schtype"``,
        ``"(homework = 1) (1.schtype = 0)"``; several arguments are tested jointly.

    Returns
    -------
    WaldTest
        ``chi2``, ``df``, ``p``, the constraints as Stata displays them; prints as Stata's output.

    Raises
    ------
    OptionError
        A name that is not an estimated coefficient, a nonlinear or unreadable expression.
    """
    names = list(fit.design.fixed_names)
    forms = parse_constraints(fit, *hypotheses)
    restriction = np.array([[f.weights.get(n, 0.0) for n in names] for f in forms])
    target = np.array([f.constant for f in forms])
    kept = _independent_rows(restriction)
    dropped = [i + 1 for i in range(len(forms)) if i not in kept]
    r, c = restriction[kept], target[kept]
    gap = r @ fit.estimates.beta - c
    middle = r @ fit.vcov.to_numpy() @ r.T
    chi2 = float(gap @ np.linalg.solve(middle, gap)) if kept else np.nan
    df = len(kept)
    p = float(stats.chi2.sf(chi2, df)) if df else np.nan
    texts = [constraint_text(f, names, fit.spec.response) for f in forms]
    return WaldTest(texts, chi2, df, p, dropped)


# ---------------------------------------------------------------------------------------------
# likelihood-ratio test
# ---------------------------------------------------------------------------------------------


@dataclass
class LrTest:
    """A likelihood-ratio test of a restricted model against an unrestricted one."""

    restricted: str
    unrestricted: str
    chi2: float
    df: int
    p: float
    boundary_note: bool

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"chi2": [self.chi2], "df": [self.df], "p": [self.p]})

    @property
    def text(self) -> str:
        stat = f"{self.chi2:.2f}"
        prob = f"{self.p:.4f}"
        width = max(len(stat), len(prob))
        lines = [
            "Likelihood-ratio test",
            f"Assumption: {self.restricted} nested within {self.unrestricted}",
            "",
            f"{f'LR chi2({self.df})':>11} = {stat:>{width}}",
            f"{'Prob > chi2':>11} = {prob:>{width}}",
        ]
        if self.boundary_note:
            lines += ["", textwrap.fill(BOUNDARY_NOTE, 78, subsequent_indent=" " * 6)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text


def _random_signature(fit: MixedResult) -> tuple:
    return tuple(
        (b.level.groups, b.level.crossed_factor, b.effect_names, b.level.covariance)
        for b in fit.design.blocks
    )


def _check_comparable(a: MixedResult, b: MixedResult) -> None:
    if a.nobs != b.nobs:
        raise OptionError(f"lrtest: observations differ: {a.nobs} vs. {b.nobs}")
    if a.spec.response != b.spec.response:
        raise OptionError(
            f"lrtest: the models have different responses ({a.spec.response}, {b.spec.response})"
        )
    if a.reml != b.reml:
        raise OptionError("lrtest: one model was fit by ML and the other by REML")
    if a.reml and list(a.design.fixed_names) != list(b.design.fixed_names):
        raise OptionError(
            "lrtest: LR tests based on REML are valid only when the fixed-effects "
            "specification is identical for both models"
        )


def lrtest(
    model1: MixedResult, model2: MixedResult, names: tuple[str, str] = ("model1", "model2")
) -> LrTest:
    """Likelihood-ratio test of two nested models, given in either order (Stata's ``lrtest``).

    Parameters
    ----------
    model1, model2
        Fits of the same response on the same observations; the one with fewer parameters is
        taken as the restricted model.
    names
        Names of ``model1`` and ``model2`` in the output (Stata shows the stored names).

    Returns
    -------
    LrTest
        ``chi2 = 2 (ll_unrestricted - ll_restricted)``, ``df`` the difference in the number of
        parameters, ``p``; Stata's boundary note when the models differ in their random effects.

    Raises
    ------
    OptionError
        Different observations or responses, ML against REML, REML fits with different fixed
        effects, equal numbers of parameters, or an unrestricted model that fits worse.
    """
    _check_comparable(model1, model2)
    if model1.df_model == model2.df_model:
        raise OptionError(
            f"lrtest: df(unrestricted) = df(restricted) = {model1.df_model}; "
            "the models are not nested"
        )
    pairs = sorted([(model1, names[0]), (model2, names[1])], key=lambda m: m[0].df_model)
    (restricted, r_name), (full, f_name) = pairs
    chi2 = 2.0 * (full.loglik - restricted.loglik)
    if chi2 < -1e-6 * max(1.0, abs(full.loglik)):
        raise OptionError(
            f"lrtest: {f_name} has more parameters but a lower log likelihood than {r_name}; "
            "the models are not nested"
        )
    chi2 = max(chi2, 0.0)
    df = full.df_model - restricted.df_model
    note = _random_signature(full) != _random_signature(restricted)
    return LrTest(r_name, f_name, chi2, df, float(stats.chi2.sf(chi2, df)), note)
