"""A small tokenizer shared by the Stata-syntax and formula-syntax parsers.

Every token keeps its position in the source text so that errors can point at it with a caret.
Characters the grammar does not know become ``"other"`` tokens rather than errors: option arguments
such as ``residuals(ar 1, t(time))`` are taken as raw text, and only the parser knows whether a
stray character is an error where it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecSyntaxError

# Order matters: two-character operators before their one-character prefixes.
_TOKEN_PATTERN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"[^"]*"|'[^']*'|`[^`]*`)
  | (?P<op>\|\||\#\#|[|#:,().~+\-*/=\[\]{}])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = {v: k for k, v in _OPENING.items()}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind (``name``, ``number``, ``string``, ``op``, ``other``, ``end``),
    its text and its start offset in the source."""

    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def is_op(self, *texts: str) -> bool:
        return self.kind == "op" and self.text in texts


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, dropping white space, and append an ``end`` token.

    Parameters
    ----------
    text
        The model text.

    Returns
    -------
    list of Token
        The tokens in order; the last one has kind ``"end"`` and starts at ``len(text)``.
    """
    tokens = [
        Token(match.lastgroup, match.group(), match.start())
        for match in _TOKEN_PATTERN.finditer(text)
        if match.lastgroup != "space"
    ]
    tokens.append(Token("end", "", len(text)))
    return tokens


def syntax_error(message: str, text: str, position: int) -> SpecSyntaxError:
    """A :class:`SpecSyntaxError` showing ``text`` with a caret under ``position``."""
    return SpecSyntaxError(message, text, position)


def match_brackets(tokens: list[Token], text: str) -> dict[int, int]:
    """Pair every opening bracket with its closing one.

    Parameters
    ----------
    tokens
        Output of :func:`tokenize` for ``text``.
    text
        The source, for error messages.

    Returns
    -------
    dict
        Index of each opening bracket token -> index of its closing token.

    Raises
    ------
    SpecSyntaxError
        On a closing bracket without an opening one, a mismatched pair, or an unclosed bracket
        (the caret points at the offending bracket).
    """
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for index, token in enumerate(tokens):
        if token.kind != "op":
            continue
        if token.text in _OPENING:
            stack.append(index)
        elif token.text in _CLOSING:
            if not stack:
                raise syntax_error(
                    f"unbalanced parenthesis: '{token.text}' without a matching "
                    f"'{_CLOSING[token.text]}'",
                    text,
                    token.start,
                )
            opening = stack.pop()
            if _OPENING[tokens[opening].text] != token.text:
                raise syntax_error(
                    f"unbalanced parenthesis: '{tokens[opening].text}' closed by '{token.text}'",
                    text,
                    token.start,
                )
            pairs[opening] = index
    if stack:
        opening = tokens[stack[-1]]
        raise syntax_error(
            f"unbalanced parenthesis: '{opening.text}' is never closed", text, opening.start
        )
    return pairs
