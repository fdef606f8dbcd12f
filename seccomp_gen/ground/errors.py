"""The one domain error type: only the CLI turns it into a message and an exit status."""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


class SeccompGenError(Exception):
    """A failure the user can act on: printed as one line, never as a traceback.

    `path` and `line` locate bad input; `exit_code` is what the CLI exits with (2 for bad input,
    127 for a command that does not exist, as a shell does).
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, exit_code: int = EXIT_USAGE
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.exit_code = exit_code

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"
