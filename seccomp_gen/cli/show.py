"""`seccomp-gen show RECORDING`: what a recording holds, as a table."""

from __future__ import annotations

import click

from seccomp_gen.cli.fast import shown


@click.command()
@click.argument("recording_file", metavar="RECORDING", type=click.Path(dir_okay=True))
def show(recording_file: str) -> None:
    """Print the syscalls of a Recording per architecture, with counts and first caller."""
    click.echo(shown(recording_file))
