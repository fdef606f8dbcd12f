"""`verify`, `check`, `merge` and `diff`: proving a profile against real runs and recordings."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from seccomp_gen.ground.errors import EXIT_USAGE, SeccompGenError

if TYPE_CHECKING:
    from seccomp_gen.generator.profile import Profile
    from seccomp_gen.prove.verify import Lack


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _load_profile(path: str) -> Profile:
    from seccomp_gen.generator import profile as profile_io
    from seccomp_gen.prove.verify import require_profile_arch

    prof = profile_io.load(path)
    require_profile_arch(prof)
    return prof


def _lack_rows(lacks: Sequence[Lack]) -> list[tuple[str, str, int, int, str, str]]:
    return [(lack.arch, lack.name, lack.use.count, lack.use.first.pid, lack.use.first.exe, lack.answer)
            for lack in lacks]


def _render_lacks(lacks: Sequence[Lack], fmt: str, suite: str, checked: int) -> str:
    from tabulate import tabulate

    if fmt == "json":
        return json.dumps({"missing": [
            {"arch": lack.arch, "syscall": lack.name, "count": lack.use.count,
             "first": {"pid": lack.use.first.pid, "exe": lack.use.first.exe}, "answer": lack.answer,
             "args": list(lack.args)} for lack in lacks], "checked": checked}, indent=2, sort_keys=True)
    if fmt == "junit":
        return _junit(lacks, suite, checked)
    if lacks:
        return f"{len(lacks)} syscall(s) the profile does not allow:\n" + tabulate(
            _lack_rows(lacks), headers=["arch", "syscall", "count", "first pid", "first exe", "profile answers"])
    return f"ok: the profile allows all {checked} syscall(s)" if checked >= 0 else "ok: nothing was denied"


def _junit(lacks: Sequence[Lack], suite: str, checked: int) -> str:
    from xml.sax.saxutils import quoteattr  # costs 25 ms at start-up: only when asked for

    cases = []
    for lack in lacks:
        message = quoteattr(f"{lack.name} ({lack.arch}) is not allowed: {lack.answer}; first called by "
                            f"{lack.use.first.exe} (pid {lack.use.first.pid}), {lack.use.count} call(s)")
        cases.append(f'  <testcase classname="seccomp-gen.{lack.arch}" name={quoteattr(lack.name)}>\n'
                     f"    <failure message={message}/>\n  </testcase>")
    if not lacks:
        cases.append('  <testcase classname="seccomp-gen" name="profile allows every recorded syscall"/>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name={quoteattr(suite)} '
            f'tests="{max(len(lacks), 1)}" failures="{len(lacks)}">\n' + "\n".join(cases) + "\n</testsuite>")


_caps = click.option("--cap", "caps", multiple=True, metavar="CAP_X",
                     help="A capability the container has (rules gated on it apply).")
_profile = click.option("--profile", "profile_path", required=True, metavar="FILE",
                        help="The seccomp profile (Docker/OCI JSON).")


@click.command(context_settings={"allow_interspersed_args": False})
@_profile
@_caps
@click.option("--complain", is_flag=True, help="Let denied calls succeed; only report them.")
@click.option("--allow-privilege-escalation", is_flag=True,
              help="Load the filter without no_new_privs (as a runtime does without it).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def verify(profile_path: str, caps: tuple[str, ...], complain: bool, allow_privilege_escalation: bool,
           command: tuple[str, ...]) -> None:
    """Run CMD with the profile enforced by the kernel; report every denied syscall.

    \b
      seccomp-gen verify --profile deploy/app.json -- ./app --flag
    """
    from seccomp_gen.generator.context import normalise_cap
    from seccomp_gen.prove.verify import context_for, lacks_from_denials, run_verify

    prof = _load_profile(profile_path)
    ctx = context_for(prof, [normalise_cap(c) for c in caps], not allow_privilege_escalation)
    result = run_verify(prof, ctx, command, complain=complain, log=_stderr)
    lacks = lacks_from_denials(result.denied)
    if lacks:
        names = ", ".join(f"{lack.name}({lack.arch.removeprefix('SCMP_ARCH_')})" for lack in lacks)
        _stderr(f"seccomp-gen: {len(lacks)} denied syscalls{' (allowed: --complain)' if complain else ''}: {names}")
        for lack in lacks:
            _stderr(f"seccomp-gen:   {lack.name} ({lack.arch}): {lack.answer}, {lack.use.count} call(s), first by "
                    f"{lack.use.first.exe} (pid {lack.use.first.pid})")
    else:
        _stderr("seccomp-gen: 0 denied syscalls")
    sys.exit(result.exit_status or 0)


def _is_json_file(path: str) -> bool:
    """RECORDING... or -- CMD: a recording is a JSON document; a command is a program."""
    try:
        with open(path, "rb") as handle:
            return handle.read(64).lstrip()[:1] == b"{"
    except OSError:
        return False


@click.command(context_settings={"allow_interspersed_args": False})
@_profile
@_caps
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option("--report", metavar="FILE", help="Write the report to FILE (atomically) instead of stdout.")
@click.argument("inputs", nargs=-1, required=True, type=click.UNPROCESSED, metavar="RECORDING... | -- CMD")
@click.pass_context
def check(ctx_: click.Context, profile_path: str, caps: tuple[str, ...], fmt: str, report: str | None,
          inputs: tuple[str, ...]) -> None:
    """CI gate: exit 1 listing each syscall the recordings (or a run of CMD) need that the profile lacks.

    \b
      seccomp-gen check --profile deploy/app.json new.recording.json
      seccomp-gen check --profile deploy/app.json --format junit -- make test > seccomp.xml
    """
    from seccomp_gen.generator.context import normalise_cap
    from seccomp_gen.prove.verify import check_recording, context_for, run_verify
    from seccomp_gen.recorder import recording

    if report:
        from seccomp_gen.ground.atomic import check_writable

        check_writable(report)
    prof = _load_profile(profile_path)
    ctx = context_for(prof, [normalise_cap(c) for c in caps])
    run_command = not _is_json_file(inputs[0])
    status = 0
    if run_command:
        result = run_verify(prof, ctx, inputs, complain=True, log=_stderr)
        # What was denied, judged like a recording (ENOSYS answers with an allowed fallback are fine).
        lacks, status = check_recording(prof, ctx, result.denied), result.exit_status or 0
        checked = -1
        if status:
            _stderr(f"seccomp-gen: the command exited with status {status}")
    else:
        rec = recording.merge([recording.load(path) for path in inputs])
        lacks, checked = check_recording(prof, ctx, rec), sum(len(u) for u in rec.syscalls.values())
        for reason in rec.incomplete_reasons:
            _stderr(f"seccomp-gen: warning: incomplete recording: {reason}")
    text = _render_lacks(lacks, fmt, f"seccomp-gen check {profile_path}", checked)
    if report:
        from seccomp_gen.ground.atomic import write_atomic

        write_atomic(report, text + "\n")
    else:
        click.echo(text)
    sys.exit(1 if lacks else status)


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
    _stderr(f"seccomp-gen: merged {len(inputs)} recording(s): {sum(len(u) for u in merged.syscalls.values())} "
            f"distinct syscalls -> {output}")


def _kind(path: str) -> str:
    from seccomp_gen.ground.jsonio import loads_strict, read_text

    doc = loads_strict(read_text(path), path)
    if isinstance(doc, dict) and "schema_version" in doc:
        return "recording"
    if isinstance(doc, dict) and "defaultAction" in doc:
        return "profile"
    raise SeccompGenError("neither a seccomp-gen recording nor a seccomp profile", path=path)


@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(old: str, new: str, fmt: str) -> None:
    """Compare two profiles or two recordings; exit 1 when they differ, as diff(1) does."""
    from tabulate import tabulate

    from seccomp_gen.generator import profile as profile_io
    from seccomp_gen.prove import diff as differ
    from seccomp_gen.recorder import recording

    kinds = {_kind(old), _kind(new)}
    if len(kinds) != 1:
        raise SeccompGenError(f"{old} and {new} are not of one kind (a profile and a recording)", exit_code=EXIT_USAGE)
    if kinds == {"profile"}:
        changes = differ.diff_profiles(profile_io.load(old), profile_io.load(new))
    else:
        changes = differ.diff_recordings(recording.load(old), recording.load(new))
    if fmt == "json":
        click.echo(json.dumps(differ.to_json(changes), indent=2))
    elif changes:
        click.echo(tabulate([(c.kind, c.subject, c.old, c.new) for c in changes],
                            headers=["", "what", old, new], maxcolwidths=[None, None, 50, 50]))
    else:
        click.echo("no differences")
    sys.exit(1 if changes else 0)


@click.command()
@click.argument("profile_path", metavar="PROFILE")
@_caps
def oci(profile_path: str, caps: tuple[str, ...]) -> None:
    """Print PROFILE resolved for this host as an OCI runtime-spec `linux.seccomp` object.

    runc and crun read config.json's `linux.seccomp`, not the Docker format: this resolves the
    archMap and the includes/excludes as CRI-O and containerd do (capabilities from --cap).
    """
    from seccomp_gen.generator.context import normalise_cap
    from seccomp_gen.prove import oci as oci_spec
    from seccomp_gen.prove.verify import context_for

    prof = _load_profile(profile_path)
    ctx = context_for(prof, [normalise_cap(c) for c in caps])
    click.echo(json.dumps(oci_spec.linux_seccomp(prof, ctx), indent=2, sort_keys=True))
