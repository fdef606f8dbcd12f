"""`seccomp-gen show RECORDING`: what a recording holds, as a table."""

from __future__ import annotations

import click


@click.command()
@click.argument("recording_file", metavar="RECORDING", type=click.Path(dir_okay=True))
def show(recording_file: str) -> None:
    """Print the syscalls of a Recording per architecture, with counts and first caller."""
    from tabulate import tabulate

    from seccomp_gen.recorder import recording

    rec = recording.load(recording_file)
    src = rec.source
    click.echo(f"{recording_file}: engine {src.engine}, command {' '.join(src.command) or '-'}, "
               f"exit status {rec.exit_status}, {'complete' if rec.complete else 'INCOMPLETE'}")
    for reason in rec.incomplete_reasons:
        click.echo(f"  incomplete: {reason}")
    for warning in rec.warnings:
        click.echo(f"  warning: {warning}")
    rows = [
        (arch, name, use.count, use.first.pid, use.first.exe,
         " ".join(f"arg{i}={','.join(hex(v) for v in vals)}" for i, vals in use.args.items()))
        for arch in rec.arches()
        for name, use in sorted(rec.syscalls[arch].items())
    ]
    click.echo(tabulate(rows, headers=["arch", "syscall", "count", "first pid", "first exe", "args"]))
    click.echo(f"{sum(len(rec.syscalls[a]) for a in rec.arches())} distinct syscalls, "
               f"{rec.total_calls()} calls, {len(rec.processes)} processes")
