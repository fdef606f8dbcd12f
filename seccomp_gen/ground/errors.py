"""The one family of domain errors. Imports nothing; exit statuses are chosen only by the CLI.

Every failure a user can act on is a SeccompGenError (or a subclass that says what kind it is),
printed as one line, never as a traceback. `path` and `line` locate bad input.
"""

from __future__ import annotations


class SeccompGenError(Exception):
    """A failure the user can act on: bad input, a refused operation, a missing permission."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"


class CommandNotFound(SeccompGenError):
    """The command to run does not exist (a shell answers 127)."""


class CommandNotExecutable(SeccompGenError):
    """The command exists but cannot be executed (a shell answers 126)."""
