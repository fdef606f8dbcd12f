"""`seccomp-gen record`: flags -> a recorder engine -> an atomically written Recording."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from seccomp_gen.cli.options import stderr
from seccomp_gen.cli.runs import DEFAULT_KILL_AFTER_S, DEFAULT_OUTPUT, ebpf_launch, exit_as, record_runs, write

if TYPE_CHECKING:
    from seccomp_gen.recorder.audit import AuditLogEngine
    from seccomp_gen.recorder.interface import Engine


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        click.echo(f"\r{message}", err=True, nl=False)


def _pin_choice(value: str) -> int | None:
    """--pin-cpu auto|off|N -> the CPU to pin to (None: no pinning)."""
    allowed = sorted(os.sched_getaffinity(0))
    if value == "off":
        return None
    if value == "auto":
        from seccomp_gen.recorder.launch.pinning import auto_cpu

        return auto_cpu()
    if value.isdigit() and int(value) in allowed:
        return int(value)
    raise click.BadParameter(f"expected auto, off or one of the CPUs {allowed}", param_hint="--pin-cpu")


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    """--duration 10m | 1s | 1.5h | 500ms | 30 (seconds)."""
    if value is None:
        return None
    number, unit = value.rstrip("mshMSH"), value[len(value.rstrip("mshMSH")):].lower() or "s"
    try:
        seconds = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise click.BadParameter("expected a duration such as 30s, 10m, 2h or 500ms") from None
    if seconds <= 0:
        raise click.BadParameter("must be more than zero")
    return seconds


def _size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """--max-bytes 10G | 500M | 0 (no limit)."""
    if value is None:
        return None
    from seccomp_gen.recorder.audit.inputs import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _audit_engine(audit_logs: tuple[str, ...], pids: tuple[int, ...], exes: tuple[str, ...],
                  comms: tuple[str, ...], since: str | None, until: str | None, strict: bool,
                  max_bytes: int | None, log: Callable[[str], None],
                  where: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())) -> AuditLogEngine:
    """The engine of --audit-log; `where`: the --subj labels and --node names to keep."""
    from seccomp_gen.recorder.audit import AuditFilter, AuditLogEngine
    from seccomp_gen.recorder.audit.filter import parse_time
    from seccomp_gen.recorder.audit.inputs import Limits

    filt = AuditFilter(
        pids=frozenset(pids), exes=frozenset(exes), comms=frozenset(comms),
        since=parse_time(since) if since else None, until=parse_time(until) if until else None,
        subjects=frozenset(where[0]), nodes=frozenset(where[1]),
    )
    return AuditLogEngine(audit_logs, filt, strict=strict, log=log, progress=_progress, limits=Limits.of(max_bytes))


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("-o", "--output", default=DEFAULT_OUTPUT, show_default=True, metavar="FILE",
              help="Where to write the Recording (atomically).")
@click.option("--engine", type=click.Choice(["ptrace", "log", "audit", "ebpf"]), default=None,
              help="ptrace (default for a command), log (complain mode: a SCMP_ACT_LOG filter, records "
                   "harvested from auditd or the kernel log), audit (read --audit-log files), ebpf (a BPF "
                   "program counts the calls of a cgroup: near native speed; root).")
@click.option("-p", "--pid", "pids", type=int, multiple=True,
              help="Attach to this running process (ptrace); with --audit-log, keep only records of these pids.")
@click.option("--audit-log", "audit_logs", multiple=True, metavar="FILE",
              help="Read audit.log / rotated .gz / ausearch --raw / kernel or journal lines ('-' for stdin).")
@click.option("--exe", "exes", multiple=True, metavar="PATH", help="With --audit-log: only records of this exe.")
@click.option("--comm", "comms", multiple=True, metavar="NAME", help="With --audit-log: only records of this comm.")
@click.option("--subj", "subjs", multiple=True, metavar="LABEL",
              help="With --audit-log: only records of this subj= label, or of its SELinux level (s0:c123,c456: "
                   "one pod under CRI-O).")
@click.option("--node", "nodes", multiple=True, metavar="NAME",
              help="With --audit-log: only records of this node (oc adm node-logs prefix, journal hostname, node=).")
@click.option("--list-subjects", is_flag=True,
              help="With --audit-log: list the subj= labels the log holds (records, exe, comm, nodes); write nothing.")
@click.option("--since", metavar="TIME", help="With --audit-log: only records at or after TIME (ISO 8601, epoch, 10m).")
@click.option("--until", metavar="TIME", help="With --audit-log: only records at or before TIME.")
@click.option("--strict", is_flag=True, help="With --audit-log: a malformed record is an error (exit 2).")
@click.option("--max-bytes", callback=_size, metavar="SIZE",
              help="With --audit-log: most bytes read from one input, decompressed (500M, 10G; 0: no limit). "
                   "Default 16G, and a gzip input may not grow more than 200 times (a bomb).")
@click.option("--rootfs", metavar="DIR", type=click.Path(file_okay=False),
              help="Run CMD chrooted into an unpacked image root, in new mount and pid namespaces (ptrace).")
@click.option("--cgroup", "cgroup_path", metavar="PATH",
              help="With --engine ebpf: record this running cgroup v2 (a container's or pod's) instead of a command.")
@click.option("--container", metavar="NAME_OR_ID",
              help="With --engine ebpf: record this running container's cgroup (asked of --runtime-cli).")
@click.option("--runtime-cli", metavar="CMD",
              help='With --container: the CLI that knows it, with its global flags: podman (default), crictl, '
                   '"podman --root DIR --runroot DIR", "crictl --runtime-endpoint URL".')
@click.option("--duration", callback=_duration, metavar="TIME",
              help="With --cgroup or --container: stop after TIME (30s, 10m, 2h); default: at Ctrl-C/SIGTERM.")
@click.option("-q", "--quiet", is_flag=True, help="No messages from the recorder on stderr.")
@click.option("--pin-cpu", default="auto", show_default=True, metavar="auto|off|N",
              help="Run recorder and CMD on one CPU (ptrace stops are several times cheaper; CMD sees one CPU); "
                   "auto: the CPU the recorder starts on.")
@click.option("--kill-after", type=click.FloatRange(min=0), default=DEFAULT_KILL_AFTER_S, show_default=True,
              metavar="SECONDS",
              help="After SIGINT/SIGTERM, how long CMD gets to exit before its processes are killed (0: at once).")
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Run CMD N times and merge the runs; the recording lists calls seen in only some of them.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def record(output: str, engine: str | None, pids: tuple[int, ...], audit_logs: tuple[str, ...],
           exes: tuple[str, ...], comms: tuple[str, ...], subjs: tuple[str, ...], nodes: tuple[str, ...],
           list_subjects: bool, since: str | None, until: str | None, strict: bool, max_bytes: int | None,
           rootfs: str | None, cgroup_path: str | None, duration: float | None, quiet: bool,
           pin_cpu: str, kill_after: float, repeat: int, container: str | None, runtime_cli: str | None,
           command: tuple[str, ...]) -> None:
    """Record the syscalls of CMD and all its descendants, of a running process, or from audit logs.

    \b
      seccomp-gen record -o app.recording.json -- ./app --flag
      seccomp-gen record -o app.recording.json -p 1234
      seccomp-gen record --audit-log /var/log/audit/audit.log --exe /usr/bin/app -o app.recording.json
      oc adm node-logs --role worker --path=audit/audit.log | seccomp-gen record --audit-log - --list-subjects
      seccomp-gen record --engine log -o app.recording.json -- ./app
      seccomp-gen record --engine ebpf -o app.recording.json -- ./app
      seccomp-gen record --engine ebpf --cgroup /sys/fs/cgroup/unified/app.scope --duration 10m
      seccomp-gen record --engine ebpf --container web --runtime-cli podman --duration 30s

    With a command, exits with CMD's exit status (128+N when it died of signal N).
    """
    from seccomp_gen.ground.atomic import check_writable
    from seccomp_gen.recorder.interface import quiet as say_nothing

    log = say_nothing if quiet else stderr
    _check_container(engine, container, cgroup_path, runtime_cli)
    running = cgroup_path if container is None else container  # a running cgroup: given, or the container's
    engine = _engine_name(engine, audit_logs, running)
    # --max-bytes, like --strict, only goes with --audit-log
    audit_only = strict or max_bytes is not None or bool(subjs or nodes or list_subjects)
    _check_flags(engine, pids, audit_logs, exes, comms, since, until, audit_only, rootfs,
                 running, duration, repeat, command)
    if list_subjects:  # a table on stdout, no recording
        from seccomp_gen.recorder import report

        click.echo(report.subjects(_audit_engine(audit_logs, pids, exes, comms, since, until, strict, max_bytes,
                                                 log, (subjs, nodes)).subjects()))
        sys.exit(0)
    check_writable(output)  # fail before CMD runs, not after
    if engine == "audit":
        source: Engine = _audit_engine(audit_logs, pids, exes, comms, since, until, strict, max_bytes, log,
                                       (subjs, nodes))
    elif container is not None:
        source = _container_engine(container, runtime_cli, duration, log)
    else:
        source = _run_engine(engine, command, pids, rootfs, cgroup_path, duration, pin_cpu, kill_after, log)
    rec = record_runs(source, repeat, log)
    if engine == "audit" and sys.stderr.isatty() and not quiet:
        click.echo("\r", err=True, nl=False)
    write(rec, output, log)
    exit_as(rec, bool(command))


def _engine_name(engine: str | None, audit_logs: tuple[str, ...], cgroup_path: str | None) -> str:
    """--engine, or the engine the other flags imply."""
    if engine is not None:
        return engine
    return "audit" if audit_logs else "ebpf" if cgroup_path else "ptrace"


def _check_flags(engine: str, pids: tuple[int, ...], audit_logs: tuple[str, ...], exes: tuple[str, ...],
                 comms: tuple[str, ...], since: str | None, until: str | None, strict: bool, rootfs: str | None,
                 cgroup_path: str | None, duration: float | None, repeat: int, command: tuple[str, ...]) -> None:
    """Which flags go together: a usage error (exit 2) for every combination that does not."""
    if repeat > 1 and not command:
        raise click.UsageError("--repeat runs a command several times (not -p, --cgroup or --audit-log)")
    if (cgroup_path is not None or duration is not None) and engine != "ebpf":
        raise click.UsageError("--cgroup and --duration are for --engine ebpf")
    if duration is not None and cgroup_path is None:
        raise click.UsageError("--duration limits a --cgroup recording (a command is recorded until it exits)")
    if engine == "ebpf" and (pids or (cgroup_path is not None and command)):
        raise click.UsageError("--engine ebpf records a command after -- or a --cgroup PATH (not -p, not both)")
    if engine == "audit" or audit_logs:
        if engine != "audit" or command:
            raise click.UsageError("--audit-log reads logs: give no command and no other --engine")
        if not audit_logs:
            raise click.UsageError("--engine audit needs at least one --audit-log FILE")
    elif exes or comms or since or until or strict:
        raise click.UsageError("--exe, --comm, --subj, --node, --list-subjects, --since, --until, --strict and "
                               "--max-bytes are for --audit-log input")
    attach = engine == "ptrace" and bool(pids)
    if rootfs is not None and (engine != "ptrace" or attach):
        raise click.UsageError("--rootfs runs a command under the ptrace engine")
    if engine == "audit":
        return
    if attach and (command or len(pids) > 1):
        raise click.UsageError("give either one -p PID or a command after --, not both")
    if not attach and not command and cgroup_path is None:
        raise click.UsageError("nothing to record: give a command after -- (or -p PID, or --audit-log FILE)")
    if engine == "log" and pids:
        raise click.UsageError("--engine log runs a command; -p is for ptrace or --audit-log")


def _run_engine(engine: str, command: tuple[str, ...], pids: tuple[int, ...], rootfs: str | None,
                cgroup_path: str | None, duration: float | None, pin_cpu: str, kill_after: float,
                log: Callable[[str], None]) -> Engine:
    """The engine that runs (or attaches to, or watches) the workload."""
    if engine == "log":
        from seccomp_gen.recorder.log import LogEngine

        return LogEngine(command=command, log=log)
    if engine == "ebpf":
        if cgroup_path is None:
            return ebpf_launch(command, kill_after, log)
        from seccomp_gen.recorder.ebpf import EbpfEngine

        return EbpfEngine(command=command, cgroup=cgroup_path, duration_s=duration, grace_s=kill_after, log=log)
    from seccomp_gen.recorder.ptrace import PtraceEngine

    attach = bool(pids)
    return PtraceEngine(command=command, pid=pids[0] if attach else None,
                        pin_cpu=None if attach else _pin_choice(pin_cpu), grace_s=kill_after, rootfs=rootfs, log=log)


def _check_container(engine: str | None, container: str | None, cgroup_path: str | None,
                     runtime_cli: str | None) -> None:
    """--container is the ebpf engine's, instead of --cgroup; --runtime-cli only says how to find it."""
    if container is None:
        if runtime_cli is not None:
            raise click.UsageError("--runtime-cli says how to find a --container")
        return
    if engine not in (None, "ebpf"):
        raise click.UsageError("--container is for --engine ebpf")
    if cgroup_path is not None:
        raise click.UsageError("give --container or --cgroup, not both")


def _container_engine(container: str, runtime_cli: str | None, duration: float | None,
                      log: Callable[[str], None]) -> Engine:
    """The ebpf engine on a running container's cgroup, found with the runtime's CLI (podman by default)."""
    from seccomp_gen.recorder.ebpf import EbpfEngine
    from seccomp_gen.recorder.ebpf.container import split_cli

    return EbpfEngine(container=container, runtime_cli=split_cli(runtime_cli or "podman"), duration_s=duration,
                      log=log)
