"""How a command's failure reaches the user: one line on stderr and an exit status, never a traceback.

Shared by the click group (app.py) and the click-free fast paths (fast.py), so `seccomp-gen show`
fails the same way whichever of them ran it. Imports nothing heavy: it is on the start-up path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable

from seccomp_gen.ground.errors import CommandNotExecutable, CommandNotFound, SeccompGenError
from seccomp_gen.ground.text import printable

#: Exit statuses, chosen here only: bad input or a refused operation is 2 (as click's usage errors);
#: a command that does not exist or cannot be executed exits as a shell would.
EXIT_ERROR = 2
EXIT_STATUS: tuple[tuple[type[SeccompGenError], int], ...] = ((CommandNotFound, 127), (CommandNotExecutable, 126))
#: Errors of a write to a full or failing device: files seccomp-gen writes name themselves
#: (SeccompGenError with a path), so one of these without a file name is standard output's.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})



class Failed(Exception):
    """The command failed and its message is out: exit with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def exit_status(exc: SeccompGenError) -> int:
    """The exit status for a domain error."""
    return next((code for kind, code in EXIT_STATUS if isinstance(exc, kind)), EXIT_ERROR)


def to_stderr(line: str) -> None:
    """A line on stderr as click.echo(err=True) writes it to a stream that is not misconfigured
    (fast.py runs only then)."""
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def guarded(action: Callable[[], object], echo_err: Callable[[str], None] = to_stderr) -> object:
    """Run a command and flush stdout (here, not at exit: a full disk must be an error, not a
    traceback); a domain error, a closed pipe, a full stdout or exhausted memory is told with
    `echo_err` and raises Failed."""
    def _say(message: str) -> None:
        echo_err(f"seccomp-gen: {message}")

    try:
        result = action()
        sys.stdout.flush()
        return result
    except SeccompGenError as exc:
        _say(printable(str(exc)))
        raise Failed(exit_status(exc)) from None
    except BrokenPipeError:
        # `seccomp-gen ... | head`: end quietly, as a well-behaved filter does.
        sys.stderr.close()
        raise Failed(0) from None
    except OSError as exc:
        if exc.filename is not None or exc.errno not in _OUTPUT_ERRNOS:
            raise
        drop_stdout()
        _say(f"cannot write to standard output: {exc.strerror}")
        raise Failed(EXIT_ERROR) from None
    except MemoryError:
        _say("out of memory (is an input far larger than it should be?)")
        raise Failed(EXIT_ERROR) from None


def drop_stdout() -> None:
    """Point fd 1 at /dev/null, so the interpreter's own flush at exit does not fail again."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
