"""`seccomp-gen generate`: recordings + baseline + context flags -> profile, OpenShift artifacts, report.

A thin layer: flags become library calls (generator.*, imported lazily so `--help` stays fast),
SeccompGenError becomes one line and exit 2 (in cli/__init__.py). Every check runs and every
artifact renders in memory before the first file is written.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("recordings", nargs=-1, required=True, metavar="RECORDING...")
@click.option("--name", required=True, help="Profile name: NAME.json, and the name of the SCC and objects.")
@click.option("--baseline", default="crio", show_default=True, metavar="crio|containers-common|moby|FILE",
              help="The runtime/default profile never to be looser than, or a profile file.")
@click.option("--runtime", type=click.Choice(["crun", "runc"]), default="crun", show_default=True,
              help="The OCI runtime whose own post-filter syscalls are added (OpenShift: crun).")
@click.option("--no-new-privileges/--allow-privilege-escalation", "no_new_privileges", default=True,
              show_default=True, help="Whether the container runs with no-new-privileges (restricted-v2 does).")
@click.option("--cap", "caps", multiple=True, metavar="CAP_X",
              help="Grant a capability (repeatable): rules gated on it apply, and the SCC allows it.")
@click.option("--arch", "arches", multiple=True, metavar="ARCH",
              help="Filter architectures (libseccomp names; default: those the recordings saw).")
@click.option("--role", default="worker", show_default=True, help="MachineConfigPool role for the MachineConfig.")
@click.option("--out", "out_dir", default=".", show_default=True, metavar="DIR", help="Directory for the artifacts.")
@click.option("--allow-extra", "allow_extra", multiple=True, metavar="NAME",
              help="Allow an observed syscall the baseline denies, on purpose (flagged in report and rule).")
@click.option("--fail-on-extra", is_flag=True,
              help="Exit 1 when the workload made syscalls the profile does not allow (files are still written).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Report format on stdout.")
@click.option("--default-errno", default=None, metavar="ERRNO",
              help="Override the baseline's defaultErrnoRet (a name such as EPERM, or a number).")
def generate(
    recordings: tuple[str, ...],
    name: str,
    baseline: str,
    runtime: str,
    no_new_privileges: bool,
    caps: tuple[str, ...],
    arches: tuple[str, ...],
    role: str,
    out_dir: str,
    allow_extra: tuple[str, ...],
    fail_on_extra: bool,
    fmt: str,
    default_errno: str | None,
) -> None:
    """Generate a least-privilege seccomp profile from RECORDING(s), never looser than the baseline,
    plus its MachineConfig, SCC, pod securityContext, SeccompProfile and node-disruption patch."""
    from seccomp_gen.generator import baselines, context, emit, report
    from seccomp_gen.generator.minimise import minimise
    from seccomp_gen.generator.profile import parse_errno
    from seccomp_gen.ground.atomic import check_writable, write_all_atomic
    from seccomp_gen.ground.errors import SeccompGenError
    from seccomp_gen.ground.jsonio import dumps_stable
    from seccomp_gen.recorder import recording

    emit.validate_name(name)
    emit.validate_role(role)
    errno = parse_errno(default_errno) if default_errno is not None else None
    loaded = [recording.load(path) for path in recordings]
    merged = recording.merge(loaded)
    base = baselines.load(baseline)
    ctx = context.build(
        recorded_arches=merged.arches(),
        host_arches=[r.source.host_arch for r in loaded if r.source.host_arch],
        arches=arches,
        caps=caps,
        runtime=runtime,
        no_new_privileges=no_new_privileges,
    )
    result = minimise(merged, base, ctx, allow_extra=allow_extra, default_errno=errno)
    files = emit.render(name, result, role)

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SeccompGenError("--out is not a directory", path=str(out))
    if out.is_dir():
        for filename in files:
            check_writable(out / filename)
    else:
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise SeccompGenError(f"--out: directory {parent} does not exist", path=str(out))
        try:
            out.mkdir()
        except OSError as exc:
            raise SeccompGenError(f"cannot create --out directory: {exc.strerror}", path=str(out)) from None
    write_all_atomic({out / filename: data for filename, data in files.items()})

    written = [str(out / f) for f in files]
    if fmt == "json":
        click.echo(dumps_stable(report.to_json(name, result.findings, written)), nl=False)
    else:
        click.echo(report.to_text(name, result.findings, written), nl=False)
    if fail_on_extra and result.findings.extras:
        names = ", ".join(sorted({d.name for d in result.findings.extras}))
        click.echo(f"seccomp-gen: observed syscalls the profile does not allow: {names}", err=True)
        raise SystemExit(1)
