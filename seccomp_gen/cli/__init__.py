"""The click CLI: maps flags to library calls and SeccompGenError to one line + exit status.

Each command lives in its own module here; nothing below this package imports click.
"""

from __future__ import annotations

import importlib
import signal
import sys
from typing import Any

import click

from seccomp_gen import __version__
from seccomp_gen.ground.errors import CommandNotExecutable, CommandNotFound, SeccompGenError

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
            return super().invoke(ctx)
        except SeccompGenError as exc:
            click.echo(f"seccomp-gen: {exc}", err=True)
            ctx.exit(exit_status(exc))
        except BrokenPipeError:
            # `seccomp-gen ... | head`: end quietly, as a well-behaved filter does.
            sys.stderr.close()
            ctx.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seccomp-gen")
def main() -> None:
    """Record what a workload does; generate a least-privilege seccomp profile for it."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
