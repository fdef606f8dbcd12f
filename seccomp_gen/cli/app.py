"""The click app: maps flags to library calls and SeccompGenError to one line + exit status.

Each command lives in its own module here; nothing below this package imports click. The console
script starts in seccomp_gen.cli.run, which answers `--version` and `show FILE` without loading
click (fast.py) and hands everything else to `main` here.
"""

from __future__ import annotations

import importlib
import signal
from typing import Any

import click

from seccomp_gen import __version__
from seccomp_gen.cli.outcome import Failed, guarded

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


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


class _Group(click.Group):
    """Turns domain errors into `seccomp-gen: message` and their exit code, never a traceback
    (outcome.guarded); loads each command's module on first use (see COMMANDS)."""

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
            return guarded(lambda: super(_Group, self).invoke(ctx), _echo_err)
        except Failed as failed:
            ctx.exit(failed.status)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seccomp-gen")
def main() -> None:
    """Record what a workload does; generate a least-privilege seccomp profile for it."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
