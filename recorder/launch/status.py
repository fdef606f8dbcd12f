"""Exit statuses as a shell reports them, and the errors for a command that cannot be run."""

from __future__ import annotations

import os

from seccomp_gen.ground import kernel
from seccomp_gen.ground.errors import CommandNotExecutable, CommandNotFound, SeccompGenError

#: What a shell exits with when the command does not exist / cannot be executed.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
#: A death by signal N is reported as this plus N.
SIGNAL_BASE = 128


def shell_status(status: int | None) -> int | None:
    """A wait status as a shell reports it: the exit code, or 128+N for death by signal N."""
    if status is None:
        return None
    if os.WIFSIGNALED(status):
        return SIGNAL_BASE + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def shell_status_of_returncode(returncode: int) -> int:
    """subprocess's returncode (-N for signal N) as a shell reports it."""
    return SIGNAL_BASE - returncode if returncode < 0 else returncode


def exec_exit_code(err: int | None) -> int:
    """What a child whose exec failed with `err` exits with, as a shell's child does."""
    return EXIT_NOT_FOUND if err == kernel.ENOENT else EXIT_NOT_EXECUTABLE


def exec_error(command: str, err: int) -> SeccompGenError:
    """The error for an exec that failed with `err`: not found (127) or not executable (126)."""
    kind = CommandNotFound if err == kernel.ENOENT else CommandNotExecutable
    return kind(f"{command}: cannot execute: {os.strerror(err)}")
