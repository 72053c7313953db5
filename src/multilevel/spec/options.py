"""Model options: the option table (with Stata's minimal abbreviations), their values, and the
assembly of a :class:`~multilevel.spec.model_spec.ModelSpec` from what a parser found.

An option written in the command (``, reml cov(un)``) and the same option given as a Python keyword
argument (``reml=True, covariance="un"``) go through the same table and the same value checks, so
they mean the same thing. Giving one option twice with different values (in the text, as keywords or
one of each) is an error rather than a silent precedence rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import OptionError, SpecSyntaxError
from .model_spec import EstimationOptions, Family, ModelSpec, RandomLevel, Term

ME_COMMANDS = frozenset(
    {"melogit", "meprobit", "mecloglog", "meologit", "meoprobit", "mepoisson", "menbreg", "meglm"}
)
COMMANDS = frozenset({"mixed"}) | ME_COMMANDS
_ALL = COMMANDS
_MIXED = frozenset({"mixed"})
_BINARY = frozenset({"melogit", "meprobit", "mecloglog"})
_COUNT = frozenset({"mepoisson", "menbreg", "meglm"})

# Family and link each command fits; meglm takes them from its family() and link() options.
COMMAND_FAMILIES: dict[str, tuple[str, str] | None] = {
    "mixed": ("gaussian", "identity"),
    "melogit": ("bernoulli", "logit"),
    "meprobit": ("bernoulli", "probit"),
    "mecloglog": ("bernoulli", "cloglog"),
    "meologit": ("ordinal", "logit"),
    "meoprobit": ("ordinal", "probit"),
    "mepoisson": ("poisson", "log"),
    "menbreg": ("nbinomial", "log"),
    "meglm": None,
}

# meglm's default link for each family, and the links it allows (Stata's meglm table).
_CANONICAL_LINK = {
    "gaussian": "identity",
    "bernoulli": "logit",
    "binomial": "logit",
    "ordinal": "logit",
    "poisson": "log",
    "nbinomial": "log",
}
_ALLOWED_LINKS = {
    "gaussian": ("identity", "log"),
    "bernoulli": ("logit", "probit", "cloglog"),
    "binomial": ("logit", "probit", "cloglog"),
    "ordinal": ("logit", "probit", "cloglog"),
    "poisson": ("log",),
    "nbinomial": ("log",),
}

# Value words with the length of their shortest accepted abbreviation.
COVARIANCE_CHOICES = (("independent", 3), ("exchangeable", 2), ("identity", 2), ("unstructured", 2))
INTMETHOD_CHOICES = (("mvaghermite", 2), ("mcaghermite", 2), ("ghermite", 2), ("laplace", 2))
DFMETHOD_CHOICES = (
    ("residual", 3),
    ("repeated", 3),
    ("anova", 5),
    ("satterthwaite", 3),
    ("kroger", 2),
)
FAMILY_CHOICES = (
    ("gaussian", 3),
    ("bernoulli", 4),
    ("binomial", 3),
    ("nbinomial", 2),
    ("ordinal", 3),
    ("poisson", 3),
)
LINK_CHOICES = (("identity", 2), ("log", 3), ("logit", 5), ("probit", 5), ("cloglog", 3))
DISPERSION_CHOICES = (("mean", 1), ("constant", 1))


class OptionProblem(Exception):
    """An option that cannot be used; the caller turns it into a user-facing error.

    ``in_value`` says whether the problem lies in the option's argument (the caret then points
    there) rather than in its name.
    """

    def __init__(self, message: str, in_value: bool = False):
        super().__init__(message)
        self.message = message
        self.in_value = in_value


@dataclass(frozen=True)
class OptionDef:
    """One option: its full name, how short it may be written, whether it takes an argument
    ``name(arg)``, where it may be written and which commands accept it.

    ``scopes`` holds ``"fixed"`` (fixed-effects equation), ``"level"`` (a random-effects
    equation) and/or ``"global"`` (after the last equation, or a keyword argument). ``value``
    says how an argument or extra setting is read: ``"flag"``, ``"int"``, ``"float"``, ``"text"``.
    """

    name: str
    min_len: int
    takes_arg: bool = False
    scopes: frozenset[str] = frozenset({"global"})
    commands: frozenset[str] = _ALL
    value: str = "flag"
    extra: bool = False  # recorded in EstimationOptions.extra (display or maximization setting)


# Display and maximization settings: they change no estimate, and are kept for the reporting and
# optimizer code in EstimationOptions.extra.
_DISPLAY_FLAGS = (
    ("variance", 3),
    ("stddeviations", 6),
    ("noretable", 5),
    ("nofetable", 5),
    ("estmetric", 4),
    ("noheader", 4),
    ("nogroup", 4),
    ("nostderr", 5),
    ("nolrtest", 4),
    ("nolog", 5),
    ("log", 3),
    ("allbaselevels", 7),
    ("baselevels", 10),
    ("noemptycells", 12),
    ("noomitted", 9),
    ("difficult", 3),
    ("emonly", 6),
    ("emlog", 5),
    ("matsqrt", 7),
    ("matlog", 6),
)
_MAXIMIZE_SETTINGS = (
    ("iterate", 4, "int"),
    ("tolerance", 3, "float"),
    ("ltolerance", 4, "float"),
    ("nrtolerance", 5, "float"),
    ("emiterate", 6, "int"),
    ("emtolerance", 5, "float"),
    ("technique", 4, "text"),
)
# Stata options this package does not implement: named in the error instead of "unknown option".
_NOT_SUPPORTED = ("residuals", "vce", "constraints", "from", "startvalues", "pweight", "fweight")


def _defs() -> dict[str, OptionDef]:
    fixed_global = frozenset({"fixed", "global"})
    level = frozenset({"level"})
    table = [
        OptionDef("noconstant", 3, scopes=frozenset({"fixed", "level"})),
        OptionDef("offset", 6, True, fixed_global, ME_COMMANDS, "text"),
        OptionDef("exposure", 3, True, fixed_global, _COUNT, "text"),
        OptionDef("covariance", 3, True, level, value="text"),
        OptionDef("collinear", 3, scopes=level, extra=True),
        OptionDef("reml", 4, commands=_MIXED),
        OptionDef("mle", 2, commands=_MIXED),
        OptionDef("dfmethod", 3, True, commands=_MIXED, value="text"),
        OptionDef("level", 1, True, value="float"),
        OptionDef("intmethod", 4, True, commands=ME_COMMANDS, value="text"),
        OptionDef("intpoints", 4, True, commands=ME_COMMANDS, value="int"),
        OptionDef("laplace", 7, commands=ME_COMMANDS),
        OptionDef("or", 2, commands=frozenset({"melogit", "meologit", "meglm"})),
        OptionDef("irr", 3, commands=frozenset({"mepoisson", "menbreg", "meglm"})),
        OptionDef("eform", 5, commands=frozenset({"meglm"})),
        OptionDef("family", 3, True, commands=frozenset({"meglm"}), value="text"),
        OptionDef("link", 4, True, commands=frozenset({"meglm"}), value="text"),
        OptionDef("binomial", 5, True, commands=_BINARY, value="text"),
        OptionDef("dispersion", 4, True, commands=frozenset({"menbreg"}), value="text"),
    ]
    table += [OptionDef(name, min_len, extra=True) for name, min_len in _DISPLAY_FLAGS]
    table += [
        OptionDef(name, min_len, True, value=value, extra=True)
        for name, min_len, value in _MAXIMIZE_SETTINGS
    ]
    return {d.name: d for d in table}


OPTIONS: dict[str, OptionDef] = _defs()
# Python cannot take ``or=`` as a keyword argument.
_KEYWORD_ALIASES = {"or_": "or"}


def choose(word: str, choices: tuple[tuple[str, int], ...], what: str) -> str:
    """Resolve a possibly abbreviated word against ``choices`` (full word, shortest abbreviation).

    Parameters
    ----------
    word
        What was written (case-insensitive).
    choices
        Accepted full words with the length of their shortest accepted abbreviation.
    what
        Name of the thing chosen, for the message.

    Returns
    -------
    str
        The full word.

    Raises
    ------
    OptionProblem
        If ``word`` matches no choice or more than one.
    """
    word = word.strip().lower()
    matches = [
        full for full, shortest in choices if full.startswith(word) and len(word) >= shortest
    ]
    if word in matches:
        return word
    if len(matches) == 1:
        return matches[0]
    valid = ", ".join(full for full, _ in choices)
    raise OptionProblem(f"unknown {what} '{word}'; expected one of {valid}", in_value=True)


def covariance_name(word: Any) -> str:
    """Full name of a covariance structure written as ``un``, ``ind``, ``exch``, ..."""
    if not isinstance(word, str):
        raise OptionProblem(f"covariance must be a name, not {word!r}", in_value=True)
    return choose(word, COVARIANCE_CHOICES, "covariance structure")


def resolve_option(word: str, command: str) -> OptionDef:
    """The option a (possibly abbreviated) name refers to.

    Raises
    ------
    OptionProblem
        For an unknown or ambiguous name, or an option the command does not take.
    """
    lowered = word.lower()
    lowered = _KEYWORD_ALIASES.get(lowered, lowered)
    if lowered in OPTIONS:
        defn = OPTIONS[lowered]
    else:
        matches = [
            d for d in OPTIONS.values() if d.name.startswith(lowered) and len(lowered) >= d.min_len
        ]
        if len(matches) != 1:
            if lowered in _NOT_SUPPORTED:
                raise OptionProblem(f"option {lowered}() is not supported")
            raise OptionProblem(f"unknown option '{word}'")
        defn = matches[0]
    if command not in defn.commands:
        raise OptionProblem(f"option {defn.name} is not allowed with {command}")
    return defn


def _text(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OptionProblem(f"option {label} needs a name or word", in_value=True)
    return value.strip()


def _varname(value: Any, label: str) -> str:
    name = _text(value, label)
    if not name.replace("_", "a").isalnum() or name[0].isdigit():
        raise OptionProblem(f"option {label} needs one variable name, not '{name}'", in_value=True)
    return name


def _number(value: Any, label: str, kind: str) -> int | float:
    """Read an int or float argument from text or a Python number."""
    if isinstance(value, bool):
        raise OptionProblem(f"option {label} needs a number", in_value=True)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionProblem(
            f"option {label} needs a number, not '{value}'", in_value=True
        ) from None
    if kind == "int":
        if number != int(number):
            raise OptionProblem(f"option {label} needs a whole number", in_value=True)
        return int(number)
    return number


@dataclass
class LevelDraft:
    """A random level as parsed, before defaults are filled in (covariance None: not written)."""

    groups: tuple[str, ...]
    terms: tuple[str, ...] = ()
    constant: bool = True
    covariance: str | None = None
    crossed_factor: str | None = None

    @property
    def n_effects(self) -> int:
        return 1 if self.crossed_factor else len(self.terms) + int(self.constant)


@dataclass
class OptionCollector:
    """Collects option settings for one model and detects contradictions."""

    command: str
    values: dict[str, tuple[Any, str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def set(self, key: str, value: Any, label: str) -> None:
        """Record ``key = value``, written as option ``label``; a different earlier value is an
        error."""
        if key in self.values and self.values[key][0] != value:
            raise OptionProblem(f"option {label} contradicts option {self.values[key][1]}")
        self.values[key] = (value, label)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values[key][0] if key in self.values else default

    def apply(self, defn: OptionDef, value: Any) -> None:
        """Apply a fixed-equation or global option (``value`` is True/False for a flag, the
        argument text or a Python value otherwise)."""
        if defn.takes_arg and (value is None or isinstance(value, bool)):
            raise OptionProblem(f"option {defn.name}() needs an argument")
        if not defn.takes_arg and not isinstance(value, bool):
            raise OptionProblem(f"option {defn.name} takes no argument; use {defn.name}=True")
        if defn.extra:
            self._apply_extra(defn, value)
        else:
            _HANDLERS[defn.name](self, value, defn.name)

    def _apply_extra(self, defn: OptionDef, value: Any) -> None:
        if defn.value in ("int", "float"):
            value = _number(value, defn.name, defn.value)
        elif defn.value == "text":
            value = _text(value, defn.name)
        elif value is False:
            return
        if defn.name in self.extra and self.extra[defn.name] != value:
            raise OptionProblem(f"option {defn.name} given twice with different values")
        self.extra[defn.name] = value

    def apply_keywords(self, keywords: dict[str, Any]) -> None:
        """Apply options given as Python keyword arguments (``None`` means not given).

        Raises
        ------
        OptionError
            For an unknown option or a bad value.
        """
        for key, value in keywords.items():
            if value is None:
                continue
            try:
                defn = resolve_option(key, self.command)
                if defn.name == "covariance":
                    self.set("covariance", covariance_name(value), "covariance")
                else:
                    self.apply(defn, value)
            except OptionProblem as problem:
                raise OptionError(problem.message) from None


def _set_level(c: OptionCollector, value: Any, label: str) -> None:
    level = _number(value, label, "float")
    if not 10.0 <= level <= 99.99:
        raise OptionProblem("level() must be between 10 and 99.99", in_value=True)
    c.set("level", level, label)


def _set_intpoints(c: OptionCollector, value: Any, label: str) -> None:
    points = _number(value, label, "int")
    if points < 1:
        raise OptionProblem("intpoints() must be at least 1", in_value=True)
    c.set("intpoints", points, label)


def _set_family(c: OptionCollector, value: Any, label: str) -> None:
    words = _text(value, label).split()
    if words[0].lower() == "gamma":
        raise OptionProblem("family(gamma) is not supported", in_value=True)
    name = choose(words[0], FAMILY_CHOICES, "family")
    argument = " ".join(words[1:])
    if argument and name not in ("binomial", "nbinomial"):
        raise OptionProblem(f"family({name}) takes no argument", in_value=True)
    c.set("family", name, label)
    if name == "binomial":
        c.set("trials", _trials(argument or 1, label), label)
    elif name == "nbinomial" and argument:
        c.set("dispersion", choose(argument, DISPERSION_CHOICES, "dispersion"), label)


def _trials(value: Any, label: str) -> str | int:
    """Binomial trials: a variable name or a positive whole number."""
    if isinstance(value, str) and not value.strip()[:1].isdigit():
        return _varname(value, label)
    trials = _number(value, label, "int")
    if trials < 1:
        raise OptionProblem("the number of binomial trials must be at least 1", in_value=True)
    return trials


def _set_binomial(c: OptionCollector, value: Any, label: str) -> None:
    c.set("family", "binomial", label)
    c.set("trials", _trials(value, label), label)


_HANDLERS = {
    "noconstant": lambda c, v, lab: c.set("constant", not v, lab),
    "reml": lambda c, v, lab: c.set("reml", bool(v), lab),
    "mle": lambda c, v, lab: c.set("reml", not v, lab),
    "dfmethod": lambda c, v, lab: c.set(
        "dfmethod", choose(_text(v, lab), DFMETHOD_CHOICES, "dfmethod"), lab
    ),
    "level": _set_level,
    "intmethod": lambda c, v, lab: c.set(
        "intmethod", choose(_text(v, lab), INTMETHOD_CHOICES, "intmethod"), lab
    ),
    "intpoints": _set_intpoints,
    "laplace": lambda c, v, lab: c.set("intmethod", "laplace", lab) if v else None,
    "or": lambda c, v, lab: c.set("eform", bool(v), lab),
    "irr": lambda c, v, lab: c.set("eform", bool(v), lab),
    "eform": lambda c, v, lab: c.set("eform", bool(v), lab),
    "offset": lambda c, v, lab: c.set("offset", _varname(v, lab), lab),
    "exposure": lambda c, v, lab: c.set("exposure", _varname(v, lab), lab),
    "family": _set_family,
    "link": lambda c, v, lab: c.set("link", choose(_text(v, lab), LINK_CHOICES, "link"), lab),
    "binomial": _set_binomial,
    "dispersion": lambda c, v, lab: c.set(
        "dispersion", choose(_text(v, lab), DISPERSION_CHOICES, "dispersion"), lab
    ),
}


def _family(collector: OptionCollector) -> Family:
    """The response family from the command and the family-related options."""
    fixed = COMMAND_FAMILIES[collector.command]
    if fixed is None:
        name = collector.get("family", "gaussian")
        link = collector.get("link", _CANONICAL_LINK[name])
        if link not in _ALLOWED_LINKS[name]:
            raise OptionError(f"link({link}) is not allowed with family({name})")
    else:
        name, link = fixed
        name = collector.get("family", name)  # binomial() turns a Bernoulli command binomial
    dispersion = collector.get("dispersion", "mean")
    return Family(name=name, link=link, trials=collector.get("trials"), dispersion=dispersion)


def _estimation_options(collector: OptionCollector) -> EstimationOptions:
    get = collector.get
    if get("offset") and get("exposure"):
        raise OptionError("only one of offset() and exposure() may be given")
    dfmethod = get("dfmethod")
    if dfmethod in ("kroger", "satterthwaite") and not get("reml", False):
        raise OptionError(f"dfmethod({dfmethod}) requires reml")
    return EstimationOptions(
        reml=get("reml", False),
        intmethod=get("intmethod"),
        intpoints=get("intpoints"),
        dfmethod=dfmethod,
        level=get("level", 95.0),
        eform=get("eform", False),
        offset=get("offset"),
        exposure=get("exposure"),
        extra=tuple(sorted(collector.extra.items())),
    )


def _finish_level(draft: LevelDraft, default_covariance: str | None) -> RandomLevel:
    """Fill in the covariance: as written; else the keyword default; else Stata's default
    (identity for one effect, independent for several)."""
    if draft.crossed_factor is not None:
        covariance = "identity"
    elif draft.covariance is not None:
        covariance = draft.covariance
    elif default_covariance is not None:
        covariance = default_covariance
    else:
        covariance = "identity" if draft.n_effects == 1 else "independent"
    return RandomLevel(
        groups=draft.groups,
        terms=draft.terms,
        constant=draft.constant,
        covariance=covariance,
        crossed_factor=draft.crossed_factor,
    )


def check_command(command: str) -> None:
    """Raise :class:`OptionError` unless ``command`` is a supported model command."""
    if command not in COMMANDS:
        valid = ", ".join(sorted(COMMANDS))
        raise OptionError(f"unknown command '{command}'; expected one of {valid}")


def build_spec(
    response: str,
    fixed: list[Term],
    levels: list[LevelDraft],
    collector: OptionCollector,
    source: str,
) -> ModelSpec:
    """Assemble the final :class:`ModelSpec` once the text and the keyword options are in.

    Repeated fixed terms are kept once, at their first position.

    Raises
    ------
    OptionError
        For options that contradict each other (offset with exposure, a link the family does not
        allow, ``dfmethod(kroger)`` without REML).
    """
    default_covariance = collector.get("covariance")
    return ModelSpec(
        response=response,
        fixed=tuple(dict.fromkeys(fixed)),
        constant=collector.get("constant", True),
        levels=tuple(_finish_level(draft, default_covariance) for draft in levels),
        family=_family(collector),
        options=_estimation_options(collector),
        command=collector.command,
        source=source,
    )


def problem_to_error(
    problem: OptionProblem, text: str, name_position: int, value_position: int | None
) -> SpecSyntaxError:
    """A caret error for a problem with an option written in ``text``."""
    position = value_position if problem.in_value and value_position is not None else name_position
    return SpecSyntaxError(problem.message, text, position)


__all__ = [
    "COMMANDS",
    "COMMAND_FAMILIES",
    "OPTIONS",
    "LevelDraft",
    "OptionCollector",
    "OptionDef",
    "OptionProblem",
    "build_spec",
    "check_command",
    "choose",
    "covariance_name",
    "problem_to_error",
    "resolve_option",
]
