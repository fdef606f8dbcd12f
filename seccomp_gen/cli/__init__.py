"""The click CLI: maps flags to library calls and SeccompGenError to one line + exit status.

Each command lives in its own module here; nothing below this package imports click.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from seccomp_gen import __version__
from seccomp_gen.errors import SeccompGenError


class _Group(click.Group):
    """Turns domain errors into `seccomp-gen: message` and their exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeccompGenError as exc:
            click.echo(f"seccomp-gen: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            # `seccomp-gen ... | head`: end quietly, as a well-behaved filter does.
            sys.stderr.close()
            ctx.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seccomp-gen")
def main() -> None:
    """Record what a workload does; generate a least-privilege seccomp profile for it."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _register() -> None:
    from seccomp_gen.cli import generate, prove, record, show

    main.add_command(record.record)
    main.add_command(generate.generate)
    main.add_command(prove.verify)
    main.add_command(prove.check)
    main.add_command(prove.merge)
    main.add_command(prove.diff)
    main.add_command(prove.oci)
    main.add_command(show.show)


_register()
