"""Priors of a Bayesian multilevel model: Stata's defaults, the user's changes, their validation.

Defaults (as ``bayes: mixed``): ``normal(0,10000)`` for every coefficient, ``igamma(.01,.01)`` for
every variance, ``iwishart(d,d+1,I(d))`` for an unstructured covariance matrix, ``uniform(-1,1)`` for
an exchangeable correlation. ``normalprior(sd)``, ``igammaprior(a b)`` and
``iwishartprior(df [S])`` change those defaults; ``prior({param}, dist)`` sets one prior.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import OptionError
from .distributions import ALIASES, MULTIVARIATE, POSITIVE_SUPPORT, SCALAR, Distribution
from .layout import LevelLayout, ModelLayout


class ImproperPosteriorWarning(UserWarning):
    """An improper prior that leaves the posterior improper."""


@dataclass
class PriorSet:
    """The prior of every parameter.

    ``coef`` maps a fixed-effect index to its scalar prior; ``coef_groups`` holds joint
    ``mvnormal`` priors on several coefficients; ``levels[k]`` maps a level's parameter names
    (``U0:sigma2``, ``U:rho``, or ``U:Sigma`` for the whole matrix) to priors; ``resid`` is the
    residual variance's prior. ``ancillary`` maps the Stata names of a generalized linear model's
    own parameters (``cut1``, ``lnalpha``, ``e.y:sigma2``) to priors.
    """

    coef: dict[int, Distribution]
    coef_groups: list[tuple[tuple[int, ...], Distribution]] = field(default_factory=list)
    levels: list[dict[str, Distribution]] = field(default_factory=list)
    resid: Distribution = field(default_factory=lambda: Distribution("igamma", (0.01, 0.01)))
    ancillary: dict[str, Distribution] = field(default_factory=dict)


# --- parsing ---------------------------------------------------------------------------------
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def _split_args(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _number(token: str, what: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise OptionError(f"prior {what}: {token!r} is not a number") from None


def _matrix(token: str, d: int, matrices: dict | None, what: str) -> np.ndarray:
    m = re.fullmatch(r"I\((\d+)\)", token.replace(" ", ""))
    if m:
        return np.eye(int(m.group(1)))
    if matrices and token in matrices:
        return np.asarray(matrices[token], float)
    raise OptionError(f"prior {what}: matrix {token!r} is not defined (use I({d}) or matrices=)")


def parse_distribution(text: str | Distribution, matrices: dict | None = None) -> Distribution:
    """Parse Stata's prior text (``"normal(0,100)"``, ``"iwishart(2,10,I(2))"``, ``"jeffreys"``).

    Raises
    ------
    OptionError
        An unknown distribution, a wrong number of arguments, or an impossible argument.
    """
    if isinstance(text, Distribution):
        _check_args(text)
        return text
    match = _CALL.match(str(text))
    if not match:
        raise OptionError(f"cannot read prior {text!r}")
    name = ALIASES.get(match.group(1).lower(), match.group(1).lower())
    args = _split_args(match.group(2) or "")
    if name in SCALAR:
        if name == "jeffreys" and args:
            return _checked(Distribution("jeffreys", (), int(_number(args[0], text))))
        if len(args) != SCALAR[name]:
            raise OptionError(f"prior {text}: {name}() takes {SCALAR[name]} arguments")
        return _checked(Distribution(name, tuple(_number(a, text) for a in args)))
    if name not in MULTIVARIATE:
        raise OptionError(f"unknown or unsupported prior distribution {name}() in {text!r}")
    if not args:
        raise OptionError(f"prior {text}: the dimension is missing")
    d = int(_number(args[0], text))
    if name in ("wishart", "iwishart"):
        if len(args) != 3:
            raise OptionError(f"prior {text}: {name}() takes (d, df, matrix)")
        dist = Distribution(name, (_number(args[1], text), _matrix(args[2], d, matrices, text)), d)
        return _checked(dist)
    rest = args[1:]
    if name == "mvn0":
        rest = ["0"] * d + rest
    if len(rest) == 2 and d > 1:  # one mean repeated
        rest = [rest[0]] * d + rest[1:]
    if len(rest) != d + 1:
        raise OptionError(f"prior {text}: mvnormal() takes (d, d means, covariance matrix)")
    mean = np.array([_number(a, text) for a in rest[:d]])
    cov = _matrix(rest[d], d, matrices, text)
    return _checked(Distribution("mvnormal", (mean, cov), d))


def _checked(dist: Distribution) -> Distribution:
    _check_args(dist)
    return dist


def _check_args(dist: Distribution) -> None:
    n, a = dist.name, dist.args
    bad = None
    positive = {
        "normal": [1],
        "t": [1, 2],
        "lognormal": [1],
        "gamma": [0, 1],
        "exponential": [0],
        "beta": [0, 1],
        "laplace": [1],
        "cauchy": [1],
        "chi2": [0],
        "pareto": [0, 1],
    }
    if n in positive:
        for i in positive[n]:
            if not float(a[i]) > 0:
                bad = f"argument {i + 1} must be positive"
    elif n == "igamma" and (float(a[0]) < 0 or float(a[1]) < 0):
        bad = "shape and scale must not be negative"
    elif n == "uniform" and not float(a[0]) < float(a[1]):
        bad = "the lower bound must be below the upper bound"
    elif n in ("wishart", "iwishart", "mvnormal"):
        mat = np.asarray(a[1], float)
        if mat.shape != (dist.dim, dist.dim):
            bad = f"the matrix is {mat.shape[0]}x{mat.shape[-1]}, not {dist.dim}x{dist.dim}"
        elif not np.allclose(mat, mat.T) or np.any(np.linalg.eigvalsh(mat) <= 0):
            bad = "the matrix must be symmetric positive definite"
        elif n != "mvnormal" and not float(a[0]) > dist.dim - 1:
            bad = f"the degrees of freedom must exceed {dist.dim - 1}"
    if bad:
        raise OptionError(f"impossible prior {dist}: {bad}")


# --- defaults and user priors ----------------------------------------------------------------
def _normal_default(normalprior) -> Distribution:
    sd = 100.0 if normalprior is None else float(normalprior)
    if not sd > 0:
        raise OptionError(f"normalprior({normalprior}): the standard deviation must be positive")
    return Distribution("normal", (0.0, sd * sd))


def _igamma_default(igammaprior) -> Distribution:
    if igammaprior is None:
        return Distribution("igamma", (0.01, 0.01))
    vals = igammaprior.split() if isinstance(igammaprior, str) else list(igammaprior)
    if len(vals) != 2:
        raise OptionError(f"igammaprior({igammaprior}) needs a shape and a scale")
    return _checked(Distribution("igamma", (float(vals[0]), float(vals[1]))))


def _iwishart_default(level: LevelLayout, iwishartprior, matrices) -> Distribution:
    d = level.q
    if iwishartprior is None:
        df, scale = d + 1.0, np.eye(d)
    else:
        vals = iwishartprior.split() if isinstance(iwishartprior, str) else iwishartprior
        vals = list(vals) if isinstance(vals, list | tuple) else [vals]
        df = float(vals[0])
        scale = np.eye(d) if len(vals) < 2 else vals[1]
        if isinstance(scale, str):
            scale = _matrix(scale, d, matrices, f"iwishartprior({iwishartprior})")
    return _checked(Distribution("iwishart", (df, np.asarray(scale, float)), d))


def default_priors(
    layout: ModelLayout,
    normalprior=None,
    igammaprior=None,
    iwishartprior=None,
    matrices: dict | None = None,
) -> PriorSet:
    """Stata's default priors, with the hyperparameters the three options change.

    A generalized linear model's own parameters get Stata's defaults too: flat priors on the
    cutpoints, the default normal prior on ``lnalpha`` (``lndelta``), the default inverse gamma on
    the variance of a Gaussian outcome.
    """
    normal = _normal_default(normalprior)
    igamma = _igamma_default(igammaprior)
    levels = []
    for lev in layout.levels:
        entry: dict[str, Distribution] = {}
        for param in lev.params():
            if param.kind == "rho":
                entry[param.name] = Distribution("uniform", (-1.0, 1.0))
            elif lev.structure == "unstructured" and lev.q > 1:
                entry[f"{lev.stub}:Sigma"] = _iwishart_default(lev, iwishartprior, matrices)
            else:
                entry[param.name] = igamma
        levels.append(entry)
    ancillary = {name: _ancillary_default(name, normal, igamma) for name in layout.ancillary_names}
    return PriorSet(
        coef=dict.fromkeys(range(layout.p), normal),
        levels=levels,
        resid=igamma,
        ancillary=ancillary,
    )


def _ancillary_default(name: str, normal: Distribution, igamma: Distribution) -> Distribution:
    if name.startswith("cut"):
        return Distribution("flat")
    return igamma if name.startswith("e.") else normal


def _resolve(ref: str, layout: ModelLayout) -> list[tuple]:
    """Slots named by one parameter reference (without braces)."""
    ref = ref.strip()
    dep = layout.depvar
    if ref in (f"{dep}:", dep + ":_all"):
        return [("coef", j) for j in range(layout.p)]
    eq, _, name = ref.rpartition(":")
    if eq in ("", dep) and name in layout.fixed_names:
        return [("coef", layout.fixed_names.index(name))]
    if ref in layout.ancillary_names:
        return [("anc", ref)]
    is_resid = ref in (layout.resid_name, "sigma2") or (eq == f"e.{dep}" and name == "sigma2")
    if is_resid and layout.has_residual:
        return [("resid",)]
    for k, lev in enumerate(layout.levels):
        matrix_names = {f"{lev.stub}:Sigma", f"{lev.stub}:Sigma,m", f"{lev.stub}:Sigma,matrix"}
        if ref.replace(" ", "") in matrix_names and lev.structure == "unstructured" and lev.q > 1:
            return [("level", k, f"{lev.stub}:Sigma")]
        for param in lev.params():
            if param.name == ref:
                if lev.structure == "unstructured" and lev.q > 1:
                    raise OptionError(
                        f"prior on {{{ref}}}: give the prior of the whole matrix "
                        f"{{{lev.stub}:Sigma,m}} (elements cannot get their own prior)"
                    )
                return [("level", k, ref)]
    raise OptionError(
        f"prior on unknown parameter {{{ref}}}; the model's parameters are "
        + ", ".join("{" + n + "}" for n in layout.names())
    )


def _refs(spec: str) -> list[str]:
    text = spec.strip()
    inner = re.findall(r"\{([^}]*)\}", text) if "{" in text else [text]
    refs = []
    for item in inner:
        if "," in item:  # {U:Sigma,m}
            refs.append(item)
        else:
            eq, _, names = item.rpartition(":")
            parts = names.split() or [""]
            refs.extend(f"{eq}:{p}" if eq else p for p in parts)
    return refs


def apply_prior(priors: PriorSet, layout: ModelLayout, spec: str, dist_text, matrices=None) -> None:
    """Set the prior of the parameters ``spec`` names (``"{math:homework}"``, ``"{U:Sigma,m}"``)."""
    dist = parse_distribution(dist_text, matrices)
    slots = [slot for ref in _refs(spec) for slot in _resolve(ref, layout)]
    if dist.name == "mvnormal":
        idx = tuple(s[1] for s in slots if s[0] == "coef")
        if len(idx) != len(slots) or len(idx) != dist.dim:
            raise OptionError(
                f"prior {dist} on {spec}: needs {dist.dim} coefficients, got {len(slots)} parameters"
            )
        for j in idx:
            priors.coef.pop(j, None)
        priors.coef_groups.append((idx, dist))
        return
    for slot in slots:
        _set_slot(priors, layout, slot, dist, spec)


def _set_slot(priors: PriorSet, layout: ModelLayout, slot: tuple, dist: Distribution, spec: str):
    where = f"prior {dist} on {spec}"
    if slot[0] == "level" and slot[2].endswith(":Sigma"):
        q = layout.levels[slot[1]].q
        if not dist.is_matrix and dist.name != "flat":
            raise OptionError(f"{where}: a covariance matrix needs a matrix prior (iwishart, ...)")
        if dist.dim is not None and dist.dim != q:
            raise OptionError(f"{where}: the dimension {dist.dim} is not the matrix's {q}")
        priors.levels[slot[1]][slot[2]] = dist
        return
    if dist.is_matrix:
        raise OptionError(f"{where}: a matrix prior for a scalar parameter")
    if slot[0] == "anc":
        if slot[1].startswith("e.") and not _allows_positive(dist):
            raise OptionError(f"{where}: the prior gives no positive values to a variance")
        priors.ancillary[slot[1]] = dist
        return
    if slot[0] == "coef":
        for group in [g for g in priors.coef_groups if slot[1] in g[0]]:
            priors.coef_groups.remove(group)
            for j in group[0]:
                priors.coef.setdefault(j, _normal_default(None))
        priors.coef[slot[1]] = dist
        return
    is_rho = slot[0] == "level" and slot[2].endswith(":rho")
    if not is_rho and not _allows_positive(dist):
        raise OptionError(f"{where}: the prior gives no positive values to a variance")
    if is_rho and dist.name == "uniform" and (dist.args[1] <= -1 or dist.args[0] >= 1):
        raise OptionError(f"{where}: the prior gives no values inside (-1, 1) to a correlation")
    if slot[0] == "resid":
        priors.resid = dist
    else:
        priors.levels[slot[1]][slot[2]] = dist


def _allows_positive(dist: Distribution) -> bool:
    if dist.name in POSITIVE_SUPPORT or dist.name in ("flat", "t", "normal", "laplace", "cauchy"):
        return True
    if dist.name in ("uniform",):
        return dist.args[1] > 0
    return dist.name == "beta"


def build_priors(
    layout: ModelLayout,
    priors: PriorSet | None = None,
    normalprior=None,
    igammaprior=None,
    iwishartprior=None,
    prior=None,
    matrices: dict | None = None,
) -> PriorSet:
    """The model's priors: ``priors`` if given, else the defaults; then each ``prior`` pair."""
    result = priors or default_priors(layout, normalprior, igammaprior, iwishartprior, matrices)
    pairs = list(prior.items()) if isinstance(prior, dict) else list(prior or [])
    for item in pairs:
        if isinstance(item, str) or len(item) != 2:
            raise OptionError(f"prior {item!r}: give a (parameter, distribution) pair")
        apply_prior(result, layout, item[0], item[1], matrices)
    warn_improper(result, layout)
    return result


def warn_improper(priors: PriorSet, layout: ModelLayout) -> None:
    """Warn about improper priors that leave the posterior improper.

    A flat or Jeffreys prior (or ``igamma(0,0)``) on a random-effects variance or covariance
    matrix gives a posterior with infinite mass near zero variance: the likelihood stays bounded
    away from zero there.
    """
    for lev, entry in zip(layout.levels, priors.levels, strict=True):
        for name, dist in entry.items():
            improper = not dist.is_proper or (
                dist.name == "igamma" and min(float(dist.args[0]), float(dist.args[1])) == 0
            )
            if improper and not name.endswith(":rho"):
                shown = name + (",m" if name.endswith(":Sigma") else "")
                warnings.warn(
                    f"prior {dist} on {{{shown}}} (level {lev.label}) is improper and leaves the "
                    "posterior improper; the draws do not describe a posterior distribution",
                    ImproperPosteriorWarning,
                    stacklevel=3,
                )


def design_order(priors: PriorSet, layout: ModelLayout) -> PriorSet:
    """A copy whose covariance-matrix priors are expressed in the design's order of effects.

    Stata orders a level's effects U0 (intercept), U1, ...; the design lists slopes first.
    """
    levels = []
    for lev, entry in zip(layout.levels, priors.levels, strict=True):
        new = dict(entry)
        for key, dist in entry.items():
            if dist.name in ("iwishart", "wishart"):
                order = list(lev.stata_order)
                scale = np.empty_like(np.asarray(dist.args[1], float))
                scale[np.ix_(order, order)] = dist.args[1]
                new[key] = Distribution(dist.name, (dist.args[0], scale), dist.dim, str(dist))
        levels.append(new)
    return PriorSet(
        dict(priors.coef), list(priors.coef_groups), levels, priors.resid, dict(priors.ancillary)
    )
