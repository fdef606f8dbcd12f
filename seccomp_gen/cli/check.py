"""`seccomp-gen check`: the CI gate, for recordings or for a run of CMD."""

from __future__ import annotations

import sys

import click

from seccomp_gen.cli.options import caps_option, load_profile, normalised_caps, profile_option, stderr


def _is_json_file(path: str) -> bool:
    """RECORDING... or -- CMD: a recording is a JSON document; a command is a program."""
    try:
        with open(path, "rb") as handle:
            return handle.read(64).lstrip()[:1] == b"{"
    except OSError:
        return False


@click.command(context_settings={"allow_interspersed_args": False})
@profile_option
@caps_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option("--report", "report_path", metavar="FILE",
              help="Write the report to FILE (atomically) instead of stdout.")
@click.argument("inputs", nargs=-1, required=True, type=click.UNPROCESSED, metavar="RECORDING... | -- CMD")
def check(profile_path: str, caps: tuple[str, ...], fmt: str, report_path: str | None,
          inputs: tuple[str, ...]) -> None:
    """CI gate: exit 1 listing each syscall the recordings (or a run of CMD) need that the profile lacks,
    3 when some call cannot be proven allowed (its recording lacks an argument the profile compares)
    or the recordings hold no syscall at all.

    \b
      seccomp-gen check --profile deploy/app.json new.recording.json
      seccomp-gen check --profile deploy/app.json --format junit -- make test > seccomp.xml
    """
    from seccomp_gen.ground.atomic import check_writable, write_atomic
    from seccomp_gen.prove import report
    from seccomp_gen.prove.check import check_recording, judge_denials
    from seccomp_gen.prove.host import context_for
    from seccomp_gen.prove.verify import run_verify
    from seccomp_gen.recorder import recording

    if report_path:
        check_writable(report_path)
    prof = load_profile(profile_path)
    ctx = context_for(prof, normalised_caps(caps))
    status = 0
    if not _is_json_file(inputs[0]):
        result = run_verify(prof, ctx, inputs, complain=True, log=stderr)
        found, status = judge_denials(prof, ctx, result.denied), result.exit_status or 0
        said = report.command_status(status)
        if said:
            stderr(said)
    else:
        rec = recording.merge([recording.load(path) for path in inputs])
        found = check_recording(prof, ctx, rec)
        for reason in rec.incomplete_reasons:
            stderr(f"seccomp-gen: warning: incomplete recording: {reason}")
    for note in found.notes:
        stderr(f"seccomp-gen: warning: {note}")
    text = report.judgement(found, fmt, f"seccomp-gen check {profile_path}")
    if report_path:
        write_atomic(report_path, text + "\n")
    else:
        click.echo(text)
    sys.exit(found.exit_status or status)
