"""`seccomp-gen show RECORDING`: what a recording holds, as a table."""

from __future__ import annotations

import click


@click.command()
@click.argument("recording_file", metavar="RECORDING", type=click.Path(dir_okay=True))
def show(recording_file: str) -> None:
    """Print the syscalls of a Recording per architecture, with counts and first caller."""
    from seccomp_gen.recorder import recording, report

    click.echo(report.table(recording.load(recording_file), recording_file))
