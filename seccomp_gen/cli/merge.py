"""`seccomp-gen merge`: recordings unioned into one."""

from __future__ import annotations

import click

from seccomp_gen.cli.options import stderr


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="RECORDING...")
@click.option("-o", "--output", required=True, metavar="FILE", help="The merged recording (written atomically).")
def merge(inputs: tuple[str, ...], output: str) -> None:
    """Merge recordings: the union of syscalls, counts summed, first callers kept."""
    from seccomp_gen.ground.atomic import check_writable
    from seccomp_gen.recorder import recording

    check_writable(output)
    merged = recording.merge([recording.load(path) for path in inputs])
    recording.dump(merged, output)
    stderr(f"seccomp-gen: merged {len(inputs)} recording(s): {sum(len(u) for u in merged.syscalls.values())} "
           f"distinct syscalls -> {output}")
