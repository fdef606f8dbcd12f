"""`seccomp-gen diff`: two profiles or two recordings compared."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(old: str, new: str, fmt: str) -> None:
    """Compare two profiles or two recordings; exit 1 when they differ, as diff(1) does."""
    from seccomp_gen.generator import profile as profile_io
    from seccomp_gen.ground.errors import SeccompGenError
    from seccomp_gen.prove import diff as differ
    from seccomp_gen.prove import report
    from seccomp_gen.recorder import recording

    kinds = {differ.kind_of(old), differ.kind_of(new)}
    if len(kinds) != 1:
        raise SeccompGenError(f"{old} and {new} are not of one kind (a profile and a recording)")
    if kinds == {"profile"}:
        changes = differ.diff_profiles(profile_io.load(old), profile_io.load(new))
    else:
        changes = differ.diff_recordings(recording.load(old), recording.load(new))
    click.echo(report.changes(changes, fmt, old, new))
    sys.exit(1 if changes else 0)
