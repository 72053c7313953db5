"""Reading command lines as Stata does: do-file lines, comments, and the parts of one command.

A do-file is split into statements: ``///`` joins a line to the next, ``//`` (after a blank or at
the start of a line) and ``/* ... */`` are comments, and a line starting with ``*`` is a comment.
One statement is then read as Stata's general syntax::

    command [varlist | newvar = exp] [if exp] [in range] [weight] [using filename] [, options]

where parentheses, brackets, braces and quotes nest, so ``prior({e.math:sigma2}, jeffreys)`` is one
option and a comma inside it does not start the options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import RC_SYNTAX, CommandError, UnsupportedError

_CLOSING = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = set(_CLOSING.values())


# ---------------------------------------------------------------------------------------------
# do-file statements
# ---------------------------------------------------------------------------------------------


@dataclass
class Statement:
    """One command of a do-file, or a comment line.

    ``lines`` are the physical lines as written (echoed in the output), ``text`` the command with
    comments removed and continuation lines joined, ``number`` the line it starts on.
    """

    number: int
    lines: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def is_comment(self) -> bool:
        return not self.text.strip()


def _strip_line(raw: str, in_block: bool) -> tuple[str, bool, bool]:
    """Remove the comments of one physical line.

    Returns the code left, whether the statement continues on the next line (``///`` or an open
    ``/*``), and whether a block comment is still open at the end of the line.
    """
    out: list[str] = []
    i, quote = 0, False
    while i < len(raw):
        if in_block:
            end = raw.find("*/", i)
            if end < 0:
                return "".join(out), True, True
            i, in_block = end + 2, False
            out.append(" ")
            continue
        char = raw[i]
        if char == '"':
            quote = not quote
        elif not quote:
            at_blank = i == 0 or raw[i - 1].isspace()
            if raw.startswith("///", i) and at_blank:
                return "".join(out), True, False
            if raw.startswith("//", i) and at_blank:
                return "".join(out), False, False
            if raw.startswith("/*", i):
                in_block, i = True, i + 2
                continue
        out.append(char)
        i += 1
    return "".join(out), False, in_block


def statements(source: str) -> list[Statement]:
    """Split a do-file into statements (commands and comment lines) in order.

    Parameters
    ----------
    source
        The do-file's text.

    Returns
    -------
    list of Statement
        Blank lines are left out; comment lines come back as statements with empty ``text`` so
        they can be echoed.
    """
    result: list[Statement] = []
    current: Statement | None = None
    in_block = False
    star_comment = False
    for number, raw in enumerate(source.splitlines(), start=1):
        if current is None:
            if not raw.strip() and not in_block:
                continue
            current = Statement(number)
            star_comment = raw.lstrip().startswith("*")
        current.lines.append(raw)
        if star_comment:
            # A `*` comment ends with its line unless that line ends in `///`.
            if re.search(r"(^|\s)///", raw):
                continue
            result.append(current)
            current = None
            continue
        code, continues, in_block = _strip_line(raw, in_block)
        current.text += code if not current.text else " " + code.strip()
        if not continues:
            current.text = current.text.strip()
            result.append(current)
            current = None
    if current is not None:
        current.text = "" if star_comment else current.text.strip()
        result.append(current)
    return result


# ---------------------------------------------------------------------------------------------
# scanning at the top level (outside brackets and quotes)
# ---------------------------------------------------------------------------------------------


def top_level_mask(text: str) -> list[bool]:
    """For each character, whether it lies outside every bracket pair and string.

    Raises
    ------
    CommandError
        Brackets that do not match, or a string without its closing quote.
    """
    mask: list[bool] = []
    stack: list[str] = []
    quote = False
    for char in text:
        if quote:
            mask.append(False)
            quote = char != '"'
            continue
        if char == '"':
            mask.append(False)
            quote = True
        elif char in _CLOSING:
            mask.append(False)
            stack.append(_CLOSING[char])
        elif char in _CLOSERS:
            if not stack or stack.pop() != char:
                raise CommandError(f"unmatched '{char}' in: {text}", 132)
            mask.append(False)
        else:
            mask.append(not stack)
    if stack:
        raise CommandError(f"unmatched '{_opening(stack[-1])}' in: {text}", 132)
    if quote:
        raise CommandError(f"unmatched quote in: {text}", 132)
    return mask


def _opening(closer: str) -> str:
    return next(k for k, v in _CLOSING.items() if v == closer)


def find_top(text: str, target: str, start: int = 0) -> int:
    """Position of the first top-level occurrence of ``target`` at or after ``start``, or -1."""
    mask = top_level_mask(text)
    for i in range(start, len(text) - len(target) + 1):
        if mask[i] and text.startswith(target, i):
            return i
    return -1


def split_top(text: str, separator: str) -> list[str]:
    """Split at every top-level ``separator`` (parts not stripped)."""
    mask = top_level_mask(text)
    parts, start, i = [], 0, 0
    while i <= len(text) - len(separator):
        if mask[i] and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
        else:
            i += 1
    parts.append(text[start:])
    return parts


def split_options(text: str) -> tuple[str, str | None]:
    """``"main , options"`` -> ``("main", "options")``; ``None`` when there is no comma."""
    position = find_top(text, ",")
    if position < 0:
        return text.strip(), None
    return text[:position].strip(), text[position + 1 :].strip()


def words(text: str) -> list[str]:
    """Split at top-level blanks, keeping ``name(...)``, ``{...}`` and ``"..."`` whole."""
    mask = top_level_mask(text)
    out, current = [], []
    for char, top in zip(text, mask, strict=True):
        if top and char.isspace():
            if current:
                out.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        out.append("".join(current))
    return out


def unquote(text: str) -> str:
    """Remove one pair of enclosing double quotes (Stata's ``"..."`` and compound quotes)."""
    text = text.strip()
    if text.startswith('`"') and text.endswith("\"'"):
        return text[2:-2]
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def strip_parens(text: str) -> str:
    """``"(a b)"`` -> ``"a b"`` when the parentheses enclose the whole text."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")") and _encloses(text):
        return text[1:-1].strip()
    return text


def _encloses(text: str) -> bool:
    """Whether the parenthesis opening ``text`` closes at its last character."""
    depth, quote = 0, False
    for i, char in enumerate(text):
        if char == '"':
            quote = not quote
        elif not quote:
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and i < len(text) - 1:
                return False
    return True


# ---------------------------------------------------------------------------------------------
# command words and options, with minimal abbreviations
# ---------------------------------------------------------------------------------------------


def resolve_word(word: str, table: Mapping[str, int], what: str) -> str | None:
    """The full name that ``word`` abbreviates in ``{name: shortest length}``, or ``None``.

    ``what`` names the kind of thing, for the message when ``word`` abbreviates several names.
    """
    lowered = word.lower()
    if lowered in table:
        return lowered
    matches = [
        name for name, least in table.items() if name.startswith(lowered) and len(lowered) >= least
    ]
    if len(matches) > 1:
        raise CommandError(f"{what} {word} is ambiguous: {', '.join(sorted(matches))}")
    return matches[0] if matches else None


@dataclass(frozen=True)
class Option:
    """An option a command takes: its name, shortest abbreviation and argument.

    ``arg`` is ``"none"`` (a flag), ``"required"`` (``name(arg)``) or ``"optional"``; ``repeat``
    lets it be given several times (its value is then a list).
    """

    name: str
    least: int | None = None
    arg: str = "none"
    repeat: bool = False

    @property
    def shortest(self) -> int:
        return len(self.name) if self.least is None else self.least


def option_table(*options: Option) -> dict[str, Option]:
    return {option.name: option for option in options}


_OPTION_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)")


def option_items(text: str | None) -> list[tuple[str, str | None]]:
    """``"cov(un) reml"`` -> ``[("cov", "un"), ("reml", None)]`` (arguments as written)."""
    items: list[tuple[str, str | None]] = []
    for word in words(text or ""):
        match = _OPTION_WORD.match(word)
        if match is None:
            raise CommandError(f"invalid option syntax: {word}")
        name, rest = match.group(1), word[match.end() :]
        if not rest:
            items.append((name, None))
        elif rest.startswith("(") and rest.endswith(")"):
            items.append((name, rest[1:-1].strip()))
        else:
            raise CommandError(f"invalid option syntax: {word}")
    return items


def parse_options(text: str | None, table: Mapping[str, Option], command: str) -> dict:
    """Read a command's options against its table.

    Returns ``{full name: value}``: ``True`` for a flag, the argument text for an option with an
    argument (``True`` for an optional argument not given), a list for a repeatable option.

    Raises
    ------
    UnsupportedError
        An option the command does not take; the message names the option and the command.
    CommandError
        A flag given an argument, or an option missing its argument.
    """
    least = {name: option.shortest for name, option in table.items()}
    found: dict = {}
    for word, value in option_items(text):
        name = resolve_word(word, least, "option")
        if name is None:
            raise UnsupportedError(f"option {word} not allowed with {command}", RC_SYNTAX)
        option = table[name]
        if option.arg == "none" and value is not None:
            raise CommandError(f"option {name} takes no argument")
        if option.arg == "required" and value is None:
            raise CommandError(f"option {name}() requires an argument")
        setting = True if value is None else value
        if option.repeat:
            found.setdefault(name, []).append(setting)
        elif name in found and found[name] != setting:
            raise CommandError(f"option {name}() given twice")
        else:
            found[name] = setting
    return found


def number_option(value, name: str, integer: bool = False) -> float:
    """The numeric argument of option ``name``, as a float (or an int when ``integer``)."""
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        raise CommandError(f"option {name}() needs a number, not {value!r}") from None
    if integer:
        if number != int(number):
            raise CommandError(f"option {name}() needs a whole number, not {value!r}")
        return int(number)
    return number


# ---------------------------------------------------------------------------------------------
# the general syntax: main part, if, in, weight, using, options
# ---------------------------------------------------------------------------------------------


@dataclass
class Parts:
    """A command's arguments split as Stata's general syntax reads them."""

    main: str = ""
    if_exp: str | None = None
    in_range: str | None = None
    weight: str | None = None
    using: str | None = None
    options: str | None = None


_KEYWORDS = ("if", "in", "using")


def _keyword_positions(text: str) -> dict[str, int]:
    """Where each of ``if``, ``in``, ``using`` and a ``[weight]`` starts at the top level."""
    mask = top_level_mask(text)
    found: dict[str, int] = {}
    for match in re.finditer(r"(?<![\w.])(if|in|using)(?=[\s(\"]|$)", text):
        if mask[match.start()] and match.group(1) not in found:
            found[match.group(1)] = match.start()
    for i, char in enumerate(text):
        if char == "[" and (i == 0 or text[i - 1].isspace()) and _top_before(mask, i):
            found.setdefault("weight", i)
            break
    return found


def _top_before(mask: list[bool], i: int) -> bool:
    return i == 0 or mask[i - 1]


def parse_parts(text: str, allowed: tuple[str, ...] = ("if", "in")) -> Parts:
    """Split a command's arguments into main part, ``if``, ``in``, weight, ``using``, options.

    Parameters
    ----------
    text
        Everything after the command word.
    allowed
        Which of ``"if"``, ``"in"``, ``"using"``, ``"weight"`` the command takes.

    Raises
    ------
    UnsupportedError
        A part the command does not take (weights are not supported by any command).
    """
    head, options = split_options(text)
    positions = _keyword_positions(head)
    parts = Parts(options=options)
    order = sorted(positions.items(), key=lambda item: item[1])
    main_end = order[0][1] if order else len(head)
    parts.main = head[:main_end].strip()
    for k, (key, start) in enumerate(order):
        end = order[k + 1][1] if k + 1 < len(order) else len(head)
        body = head[start:end].strip()
        if key != "weight":
            body = body[len(key) :].strip()
            if not body:
                raise CommandError(f"{key} requires an argument")
        if key not in allowed:
            what = "weights" if key == "weight" else key
            raise UnsupportedError(f"{what} not allowed here: {head.strip()}", 101)
        setattr(parts, "if_exp" if key == "if" else "in_range" if key == "in" else key, body)
    return parts
