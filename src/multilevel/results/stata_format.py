"""Numbers and names formatted exactly as Stata prints them in its output.

Stata's display formats are ``%w.dg`` (general), ``%w.df`` (fixed), ``%w.de`` (exponential), each
optionally with ``c`` for thousands separators. The rules implemented here:

``%w.0g``
    Shows as many digits as fit in ``w - 2`` positions: Stata sets aside one position for a
    sign and one for a decimal point whether or not the number has them. Numbers below one in
    magnitude drop the leading zero (``.2265586``); trailing zeros after the decimal point are
    dropped (``4.04633``, not ``4.046330``). When fixed notation would show fewer significant
    digits than exponential notation (``w - 6`` mantissa digits), or the integer part does not fit,
    the number is shown as ``d.dde+XX`` (``1.23e+08``, ``3.25e-66``), keeping the mantissa's
    zeros (``1.80e-12``).
``%w.dg`` with ``d > 0``
    As ``%w.0g`` with at most ``d`` significant digits after leading zeros (at least two),
    never dropping digits of the integer part: ``%10.4g`` shows ``.001621`` and ``1.022``.
``%w.df``
    Fixed decimals with the leading zero kept (``0.0081``). A number too wide for ``w`` switches
    to ``%w.(w-7)e``, as Stata does (``%8.2f`` of 190000 is ``1.9e+05``).
missing
    ``None``, NaN and infinities (which Stata cannot hold) print as ``.``.

Functions ending in a number-to-text conversion return the bare text; :func:`format_number`
pads it to the format's width the way ``display %9.0g`` does.
"""

from __future__ import annotations

import math
import re
from numbers import Real

MISSING = "."

_FORMAT_RE = re.compile(r"^%(-)?(\d+)\.(\d+)([gfe])(c?)$")


def is_missing(x: object) -> bool:
    """Whether ``x`` is a value Stata prints as missing (``None``, NaN, pd.NA, an infinity).

    Parameters
    ----------
    x : object
        Any scalar.

    Returns
    -------
    bool
    """
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))  # pd.NA raises TypeError on float()
    except (TypeError, ValueError):
        return True


def fmt_g(x: float | None, width: int = 9, digits: int = 0, comma: bool = False) -> str:
    """Format ``x`` as Stata's ``%{width}.{digits}g`` (or ``gc``), without padding.

    Parameters
    ----------
    x : float or None
        The number; missing values give ``"."``.
    width : int, default 9
        The format's width ``w``; ``w - 2`` positions are available for digits.
    digits : int, default 0
        The format's ``d``: 0 shows all digits that fit, ``d > 0`` at most ``d`` significant ones
        (at least two) after the leading zeros of a number below one.
    comma : bool, default False
        Thousands separators where they fit in the digit positions, as ``%w.0gc``.

    Returns
    -------
    str
        For example ``fmt_g(1.9820923) == "1.982092"``, ``fmt_g(-0.36716702) == "-.367167"``,
        ``fmt_g(123456789) == "1.23e+08"``.
    """
    if is_missing(x):
        return MISSING
    value = float(x)
    if value == 0.0:
        return "0"
    magnitude = abs(value)
    positions = max(width - 2, 1)
    max_sig = max(digits, 2) if digits > 0 else 0
    fixed = _fixed_candidate(magnitude, positions, max_sig)
    expo = _exponential_candidate(magnitude, width, max_sig)
    if fixed is None or (magnitude < 1 and expo[1] > fixed[1]):
        text = expo[0]
    else:
        text = _tidy_fixed(fixed[0], positions, comma)
    return "-" + text if value < 0 else text


def _fixed_candidate(magnitude: float, positions: int, max_sig: int) -> tuple[str, int] | None:
    """The widest fixed rendering of ``magnitude`` within ``positions`` digits, with its digit count.

    Returns ``None`` when even the integer part does not fit.
    """
    for decimals in range(positions, -1, -1):
        text = f"{magnitude:.{decimals}f}"
        integer, _, fraction = text.partition(".")
        n_integer = 0 if integer == "0" else len(integer)
        if n_integer + decimals > positions:
            continue
        significant = len(((integer if n_integer else "") + fraction).lstrip("0"))
        if max_sig and significant > max_sig and decimals > 0:
            continue
        return text, significant
    return None


def _exponential_candidate(magnitude: float, width: int, max_sig: int) -> tuple[str, int]:
    """``magnitude`` as ``d.dde+XX`` filling ``width - 1`` positions, with its digit count."""
    mantissa_digits = max(width - 6, 1)
    if max_sig:
        mantissa_digits = min(mantissa_digits, max_sig)
    text = f"{magnitude:.{mantissa_digits - 1}e}"
    if len(text.partition("e")[2]) > 3:  # a three-digit exponent takes one mantissa digit
        mantissa_digits = max(mantissa_digits - 1, 1)
        text = f"{magnitude:.{mantissa_digits - 1}e}"
    return text, mantissa_digits


def _tidy_fixed(text: str, positions: int, comma: bool) -> str:
    """Drop trailing zeros and a leading ``0.``, and add separators where they fit."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("0."):
        text = text[1:]
    if comma:
        integer, dot, fraction = text.partition(".")
        grouped = f"{int(integer):,}" if integer else integer
        if len(grouped) + len(fraction) <= positions:
            text = grouped + dot + fraction
    return text


def fmt_f(x: float | None, decimals: int, width: int | None = None, comma: bool = False) -> str:
    """Format ``x`` as Stata's ``%{width}.{decimals}f`` (or ``fc``), without padding.

    Parameters
    ----------
    x : float or None
        The number; missing values give ``"."``.
    decimals : int
        Digits after the decimal point (the leading zero is kept: ``0.0081``).
    width : int, optional
        The format's width; a result wider than this switches to ``%{width}.{width-7}e`` as Stata
        does. ``None`` never switches.
    comma : bool, default False
        Thousands separators (``12,500``).

    Returns
    -------
    str
    """
    if is_missing(x):
        return MISSING
    value = float(x)
    text = f"{value:,.{decimals}f}" if comma else f"{value:.{decimals}f}"
    if width is not None and len(text) > width:
        text = fmt_e(value, max(width - 7, 0))
    return text


def fmt_e(x: float | None, decimals: int) -> str:
    """Format ``x`` as Stata's ``%w.{decimals}e`` without padding (``1.00e+07``).

    Parameters
    ----------
    x : float or None
        The number; missing values give ``"."``.
    decimals : int
        Mantissa digits after the decimal point.

    Returns
    -------
    str
    """
    if is_missing(x):
        return MISSING
    return f"{float(x):.{decimals}e}"


def fmt_int(x: float | None, comma: bool = True) -> str:
    """Format a count as Stata's ``%10.0fc`` does, without padding (``12,500``).

    Parameters
    ----------
    x : float or None
        The count; missing values give ``"."``.
    comma : bool, default True
        Thousands separators.

    Returns
    -------
    str
    """
    return fmt_f(x, 0, comma=comma)


def fmt_z(z: float | None) -> str:
    """A z or t statistic as Stata's coefficient tables print it (two decimals: ``-2.15``)."""
    return fmt_f(z, 2, width=8)


def fmt_p(p: float | None) -> str:
    """A p-value as Stata's coefficient tables print it (``%5.3f``: ``0.027``)."""
    return fmt_f(p, 3, width=5)


def format_number(x: float | None, fmt: str) -> str:
    """Format ``x`` with a Stata display format, padded to the format's width.

    Parameters
    ----------
    x : float or None
        The number; missing values give ``"."`` right-aligned.
    fmt : str
        A Stata numeric format: ``"%9.0g"``, ``"%10.4g"``, ``"%8.2f"``, ``"%10.0fc"``,
        ``"%9.2e"``; a ``-`` after ``%`` left-aligns.

    Returns
    -------
    str
        The text, right-aligned in ``w`` columns (wider only when the number cannot fit).

    Raises
    ------
    ValueError
        If ``fmt`` is not a numeric format this module knows.
    """
    match = _FORMAT_RE.match(fmt)
    if match is None:
        raise ValueError(f"not a Stata numeric display format: {fmt!r}")
    left, width_text, digits_text, kind, comma_flag = match.groups()
    width, digits, comma = int(width_text), int(digits_text), bool(comma_flag)
    if kind == "g":
        text = fmt_g(x, width, digits, comma)
    elif kind == "f":
        text = fmt_f(x, digits, width, comma)
    else:
        text = fmt_e(x, digits)
    return text.ljust(width) if left else text.rjust(width)


def abbreviate(name: str, width: int = 12) -> str:
    """Shorten a name to ``width`` characters as Stata's ``abbrev()`` does.

    The result keeps the first ``width - 2`` characters, a ``~`` and the last character
    (``abbrev("displacement", 8) == "displa~t"``). In a factor-variable name such as
    ``2.verylongname`` only the variable part is shortened, so the level stays readable.

    Parameters
    ----------
    name : str
        The name to shorten.
    width : int, default 12
        The most characters the result may have (at least 5, as in Stata).

    Returns
    -------
    str
    """
    width = max(width, 5)
    if len(name) <= width:
        return name
    prefix, dot, variable = name.rpartition(".")
    if dot and prefix and len(prefix) + 1 + 5 <= width and "#" not in name:
        return prefix + dot + abbreviate(variable, width - len(prefix) - 1)
    return name[: width - 2] + "~" + name[-1]


def is_number(x: object) -> bool:
    """Whether ``x`` is a real number (not text, not a boolean)."""
    return isinstance(x, Real) and not isinstance(x, bool)
