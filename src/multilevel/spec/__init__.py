"""Model specification: what a model is, and the two syntaxes that describe it.

:func:`parse_model` reads either Stata's syntax (``"math homework i.schtype || schid: homework"``)
or an lme4/brms formula (``"math ~ homework + C(schtype) + (homework | schid)"``); both give a
:class:`ModelSpec`.

Equality between the syntaxes: the same model written both ways gives equal specs apart from
``source``, once the formula's bare variables (``kind="auto"``, typed by the data as R does) are
resolved with :func:`resolve_auto_kinds`. Stata's bare variables are continuous, so the formula
counterpart of ``i.a`` is ``C(a)``, and that of ``a#b`` is ``C(a):C(b)``.
"""

from __future__ import annotations

from typing import Any

from .formula_syntax import parse_formula, resolve_auto_kinds
from .model_spec import (
    COVARIANCE_STRUCTURES,
    EstimationOptions,
    Factor,
    Family,
    ModelSpec,
    RandomLevel,
    Term,
)
from .options import COMMANDS
from .stata_syntax import parse_stata


def is_formula(text: str) -> bool:
    """Whether ``text`` is a formula (it contains ``~``) rather than Stata syntax."""
    return "~" in text


def parse_model(text: str, command: str = "mixed", **options: Any) -> ModelSpec:
    """Parse a model in Stata's syntax or as a formula.

    Parameters
    ----------
    text
        The model: formula syntax if it contains ``~``, Stata's syntax otherwise (without the
        command name: ``"math homework || schid:, reml"``).
    command
        One of ``mixed``, ``melogit``, ``meprobit``, ``mecloglog``, ``meologit``, ``meoprobit``,
        ``mepoisson``, ``menbreg``, ``meglm``; sets the family and link.
    **options
        Options as keyword arguments; each means what the same option written in the command
        means (``reml=True``, ``covariance="unstructured"``, ``level=90``, ``intpoints=12``,
        ``intmethod="laplace"``, ``offset="x"``, ``exposure="t"``, ``dfmethod="kroger"``,
        ``or_=True``/``irr=True``, ``family="binomial n"``, ``link="probit"``, ...). ``None``
        means not given. ``covariance`` applies to every random level whose covariance is not
        written in the text; ``noconstant=True`` removes the fixed constant.

    Returns
    -------
    ModelSpec

    Raises
    ------
    SpecSyntaxError
        Text that cannot be parsed, or an unknown or bad option written in it; the message shows
        the text with a caret under the problem.
    OptionError
        Unknown command, unknown or bad keyword option, options that contradict each other.
    """
    if is_formula(text):
        return parse_formula(text, command, **options)
    return parse_stata(text, command, **options)


__all__ = [
    "COMMANDS",
    "COVARIANCE_STRUCTURES",
    "EstimationOptions",
    "Factor",
    "Family",
    "ModelSpec",
    "RandomLevel",
    "Term",
    "is_formula",
    "parse_formula",
    "parse_model",
    "parse_stata",
    "resolve_auto_kinds",
]
