"""The click CLI: maps flags to library calls and SeccompGenError to one line + exit status.

Each command lives in its own module here; nothing below this package imports click.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import sys
from typing import Any

import click

from seccomp_gen import __version__
from seccomp_gen.ground.errors import CommandNotExecutable, CommandNotFound, SeccompGenError
from seccomp_gen.ground.text import printable

#: Exit statuses, chosen here only: bad input or a refused operation is 2 (as click's usage errors);
#: a command that does not exist or cannot be executed exits as a shell would.
EXIT_ERROR = 2
EXIT_STATUS: tuple[tuple[type[SeccompGenError], int], ...] = ((CommandNotFound, 127), (CommandNotExecutable, 126))


def exit_status(exc: SeccompGenError) -> int:
    """The exit status for a domain error."""
    return next((code for kind, code in EXIT_STATUS if isinstance(exc, kind)), EXIT_ERROR)

#: command name -> (module under seccomp_gen.cli, function): a command's module (and what it imports)
#: loads only when that command runs, so `record` does not pay for the generator's imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "record": ("record", "record"),
    "generate": ("generate", "generate"),
    "verify": ("verify", "verify"),
    "check": ("check", "check"),
    "merge": ("merge", "merge"),
    "diff": ("diff", "diff"),
    "oci": ("oci", "oci"),
    "show": ("show", "show"),
}


class _Group(click.Group):
    """Turns domain errors into `seccomp-gen: message` and their exit code, never a traceback;
    loads each command's module on first use (see COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module = importlib.import_module(f"seccomp_gen.cli.{where[0]}")
        command: click.Command = getattr(module, where[1])
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # here, not at exit: a full disk must be an error, not a traceback
            return result
        except SeccompGenError as exc:
            click.echo(f"seccomp-gen: {printable(str(exc))}", err=True)
            ctx.exit(exit_status(exc))
        except BrokenPipeError:
            # `seccomp-gen ... | head`: end quietly, as a well-behaved filter does.
            sys.stderr.close()
            ctx.exit(0)
        except OSError as exc:
            if exc.filename is not None or exc.errno not in _OUTPUT_ERRNOS:
                raise
            _drop_stdout()
            click.echo(f"seccomp-gen: cannot write to standard output: {exc.strerror}", err=True)
            ctx.exit(EXIT_ERROR)
        except MemoryError:
            click.echo("seccomp-gen: out of memory (is an input far larger than it should be?)", err=True)
            ctx.exit(EXIT_ERROR)


#: Errors of a write to a full or failing device: files seccomp-gen writes name themselves
#: (SeccompGenError with a path), so one of these without a file name is standard output's.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _drop_stdout() -> None:
    """Point fd 1 at /dev/null, so the interpreter's own flush at exit does not fail again."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seccomp-gen")
def main() -> None:
    """Record what a workload does; generate a least-privilege seccomp profile for it."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
