"""Errors a user sees: each names the problem and where it is."""

from __future__ import annotations


class MultilevelError(Exception):
    """Base class of every error this package raises on purpose."""


class SpecSyntaxError(MultilevelError, SyntaxError):
    """A model command or formula that cannot be parsed.

    The message shows the text with a caret under the offending position::

        unbalanced parenthesis
          math ~ homework + (1 | schid
                            ^
    """

    def __init__(self, message: str, text: str = "", position: int | None = None):
        self.reason = message
        self.text_source = text
        self.position = position
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.text_source or self.position is None:
            return self.reason
        pos = max(0, min(self.position, len(self.text_source)))
        return f"{self.reason}\n  {self.text_source}\n  {' ' * pos}^"

    def __str__(self) -> str:
        return self._render()


class OptionError(MultilevelError, ValueError):
    """An unknown option, or an option with an impossible value."""


class DataError(MultilevelError, ValueError):
    """The data cannot support the model: unknown variable, non-numeric column, no groups, ..."""


class EstimationError(MultilevelError, RuntimeError):
    """The estimation could not be carried out (not merely: did not converge, which is reported)."""
