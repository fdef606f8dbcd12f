"""`seccomp-gen generate`: recordings + baseline + context flags -> profile, OpenShift artifacts, report.

A thin layer: the flags become a generator.run.Request (imported lazily so `--help` stays fast);
the artifact set is written as one change; the report renders through generator/report.py.
"""

from __future__ import annotations

import click


@click.command()
@click.argument("recordings", nargs=-1, required=True, metavar="RECORDING...")
@click.option("--name", required=True, help="Profile name: NAME.json, and the name of the SCC and objects.")
@click.option("--baseline", default="crio", show_default=True, metavar="crio|containers-common|moby|FILE",
              help="The runtime/default profile never to be looser than, or a profile file.")
@click.option("--runtime", type=click.Choice(["crun", "runc"]), default=None,
              help="The OCI runtime whose own post-filter syscalls are added [default: the baseline's loader's: "
                   "crio -> crun (OpenShift), moby -> runc (dockerd, containerd)].")
@click.option("--spo-api-version", type=click.Choice(["v1", "v1beta1"]), default="v1", show_default=True,
              help="apiVersion of NAME.seccompprofile.yaml (v1beta1 for security-profiles-operator before 1.0).")
@click.option("--no-new-privileges/--allow-privilege-escalation", "no_new_privileges", default=True,
              show_default=True, help="Whether the container runs with no-new-privileges (restricted-v2 does).")
@click.option("--cap", "caps", multiple=True, metavar="CAP_X",
              help="Grant a capability (repeatable): rules gated on it apply, and the SCC allows it.")
@click.option("--arch", "arches", multiple=True, metavar="ARCH",
              help="Filter architectures (libseccomp names; default: those the recordings saw).")
@click.option("--allow-arch", "allow_arches", multiple=True, metavar="ARCH",
              help="Allow an architecture the baseline does not cover (a widening, reported).")
@click.option("--role", default="worker", show_default=True, help="MachineConfigPool role for the MachineConfig.")
@click.option("--out", "out_dir", default=".", show_default=True, metavar="DIR", help="Directory for the artifacts.")
@click.option("--allow-extra", "allow_extra", multiple=True, metavar="NAME",
              help="Allow an observed syscall the baseline denies, on purpose (flagged in report and rule).")
@click.option("--narrow-args", is_flag=True,
              help="Restrict socket, ioctl, prctl, fcntl... to the argument values recorded (see the report).")
@click.option("--on-miss", type=click.Choice(["deny", "log"]), default="deny", show_default=True,
              help="log: a learning profile - calls the baseline allows but no recording saw are allowed and logged.")
@click.option("--fail-on-extra", is_flag=True,
              help="Exit 1 when the workload made syscalls the profile does not allow (files are still written).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="Report format on stdout (markdown: a summary for CI job summaries).")
@click.option("--default-errno", default=None, metavar="ERRNO",
              help="Override the baseline's defaultErrnoRet (a name such as EPERM, or a number).")
def generate(
    recordings: tuple[str, ...],
    name: str,
    baseline: str,
    runtime: str | None,
    spo_api_version: str,
    no_new_privileges: bool,
    caps: tuple[str, ...],
    arches: tuple[str, ...],
    allow_arches: tuple[str, ...],
    role: str,
    out_dir: str,
    allow_extra: tuple[str, ...],
    narrow_args: bool,
    on_miss: str,
    fail_on_extra: bool,
    fmt: str,
    default_errno: str | None,
) -> None:
    """Generate a least-privilege seccomp profile from RECORDING(s), never looser than the baseline,
    plus its MachineConfig, SCC, pod securityContext, SeccompProfile and node-disruption patch."""
    from seccomp_gen.generator import report, report_markdown
    from seccomp_gen.generator.run import Request
    from seccomp_gen.generator.run import generate as run_generate
    from seccomp_gen.ground.artifact_set import write_set

    result, files = run_generate(Request(recordings, name, baseline, runtime, no_new_privileges, caps, arches,
                                         role, allow_extra, default_errno, allow_arches, spo_api_version,
                                         narrow_args, on_miss))
    written = [str(path) for path in write_set(out_dir, files)]
    render = {"json": report.to_json_text, "markdown": report_markdown.to_markdown}.get(fmt, report.to_text)
    click.echo(render(name, result.findings, written), nl=False)
    if fail_on_extra and result.findings.extras:
        names = ", ".join(sorted({d.name for d in result.findings.extras}))
        click.echo(f"seccomp-gen: observed syscalls the profile does not allow: {names}", err=True)
        raise SystemExit(1)
