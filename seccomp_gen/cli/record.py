"""`seccomp-gen record`: flags -> a recorder engine -> an atomically written Recording."""

from __future__ import annotations

import os
import sys

import click

DEFAULT_OUTPUT = "seccomp-gen.recording.json"


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _quiet(_message: str) -> None:
    pass


def _pin_choice(value: str) -> int | None:
    """--pin-cpu auto|off|N -> the CPU to pin to (None: no pinning)."""
    allowed = sorted(os.sched_getaffinity(0))
    if value == "off":
        return None
    if value == "auto":
        return allowed[0]
    if value.isdigit() and int(value) in allowed:
        return int(value)
    raise click.BadParameter(f"expected auto, off or one of the CPUs {allowed}", param_hint="--pin-cpu")


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("-o", "--output", default=DEFAULT_OUTPUT, show_default=True, metavar="FILE",
              help="Where to write the Recording (atomically).")
@click.option("-p", "--pid", type=int, default=None, help="Attach to a running process instead of running CMD.")
@click.option("-q", "--quiet", is_flag=True, help="No messages from the recorder on stderr.")
@click.option("--pin-cpu", default="auto", show_default=True, metavar="auto|off|N",
              help="Run recorder and CMD on one CPU (ptrace stops are several times cheaper; CMD sees one CPU).")
@click.option("--kill-after", type=click.FloatRange(min=0), default=5.0, show_default=True, metavar="SECONDS",
              help="After SIGINT/SIGTERM, how long CMD gets to exit before its processes are killed.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def record(output: str, pid: int | None, quiet: bool, pin_cpu: str, kill_after: float,
           command: tuple[str, ...]) -> None:
    """Record the syscalls of CMD and all its descendants (or of a running process with -p).

    \b
      seccomp-gen record -o app.recording.json -- ./app --flag
      seccomp-gen record -o app.recording.json -p 1234

    Exits with CMD's exit status (128+N when it died of signal N).
    """
    from recorder import recording
    from recorder.ptrace import PtraceEngine
    from seccomp_gen.atomic import check_writable

    log = _quiet if quiet else _stderr
    if pid is not None and command:
        raise click.UsageError("give either -p PID or a command after --, not both")
    if pid is None and not command:
        raise click.UsageError("nothing to record: give a command after -- (or -p PID)")
    check_writable(output)  # fail before CMD runs, not after
    engine = PtraceEngine(command=command, pid=pid, pin_cpu=None if pid else _pin_choice(pin_cpu),
                          grace_s=kill_after, log=log)
    rec = engine.record()
    recording.dump(rec, output)
    for warning in rec.warnings:
        log(f"seccomp-gen: warning: {warning}")
    for reason in rec.incomplete_reasons:
        log(f"seccomp-gen: incomplete: {reason}")
    distinct = sum(len(uses) for uses in rec.syscalls.values())
    log(f"seccomp-gen: {rec.total_calls()} syscalls ({distinct} distinct, arches: "
        f"{', '.join(rec.arches()) or 'none'}) from {len(rec.processes)} processes in "
        f"{rec.source.duration_s:.2f} s -> {output}")
    # Launched: exit as CMD did. Attached: the process is not ours; success is having recorded it.
    sys.exit(0 if pid is not None else rec.exit_status or 0)
