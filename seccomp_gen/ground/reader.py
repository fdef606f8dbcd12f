"""The strict-reader base that the Recording and Profile readers share.

A decoded JSON document is checked field by field; every failure is a SeccompGenError naming the
file and, where it can be found, the line of the offending key (`needle` is the text to look for,
usually the quoted key). Subclasses add their own fields and may locate lines more precisely.
"""

from __future__ import annotations

import re
from typing import Any

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.jsonio import line_of

U64 = 2**64


class StrictReader:
    """Field checks for one document: `text` is its source (for line numbers), `path` its file."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path

    def line_for(self, needle: str | None) -> int | None:
        """The line to report for `needle` (its first occurrence in the whole text)."""
        return line_of(self.text, needle) if needle else None

    def fail(self, message: str, needle: str | None = None) -> SeccompGenError:
        return SeccompGenError(message, path=self.path, line=self.line_for(needle))

    def obj(self, value: Any, what: str, needle: str | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be an object", needle)
        return value

    def keys(self, doc: dict[str, Any], allowed: frozenset[str], what: str) -> None:
        """Unknown keys are errors: a misspelt key must never be silently ignored."""
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise self.fail(f"unknown key {unknown[0]!r} in {what} (known: {', '.join(sorted(allowed))})",
                            f'"{unknown[0]}"')

    def int_(self, value: Any, what: str, needle: str | None = None, minimum: int = 0) -> int:
        """An integer in [minimum, 2**64), as the Recording format has them."""
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value >= U64:
            raise self.fail(f"{what} must be an integer >= {minimum} and < 2**64", needle)
        return value

    def uint(self, value: Any, what: str, needle: str, upper: int = U64) -> int:
        """An integer in [0, upper), as the profile format has them."""
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < upper:
            raise self.fail(f"{what} must be an integer from 0 to {upper - 1}", needle)
        return value

    def str_(self, value: Any, what: str, needle: str | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{what} must be a string", needle)
        return value

    def bool_(self, value: Any, what: str, needle: str | None = None) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{what} must be true or false", needle)
        return value

    def strs(self, value: Any, what: str, needle: str | None = None,
             pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        """A list of strings, each matching `pattern` when one is given."""
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{what} must be a list of strings", needle)
        if pattern is not None:
            for item in value:
                if not pattern.match(item):
                    raise self.fail(f"{what}: invalid entry {item!r}", f'"{item}"' if len(item) < 80 else needle)
        return tuple(value)
