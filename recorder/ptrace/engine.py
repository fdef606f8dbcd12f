"""The ptrace engine's launched run: CMD under the RET_TRACE filter, every descendant followed.

`record_command` runs CMD seized (seize.py) and drives the stop loop (tracer.py) until the last
tracee has gone; interrupts are passed on to CMD and, after a grace period, end the tree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.launch import signals
from seccomp_gen.recorder.launch.pinning import pinned
from seccomp_gen.recorder.launch.rootfs import inside
from seccomp_gen.recorder.launch.signals import DEFAULT_GRACE_S
from seccomp_gen.recorder.launch.status import exec_error, shell_status
from seccomp_gen.recorder.ptrace.affinity import AffinityView
from seccomp_gen.recorder.ptrace.attach import record_pid
from seccomp_gen.recorder.ptrace.seize import TraceFilter, spawn_traced
from seccomp_gen.recorder.ptrace.tracer import TRACER_SIGNALS, TraceHandler, Tracer
from seccomp_gen.recorder.recording import Caller, Recording

#: prctl option that installs a seccomp filter (linux/prctl.h PR_SET_SECCOMP).
PR_SET_SECCOMP = 22


def with_own_filter_warning(rec: Recording) -> Recording:
    """Warn when the workload installed a seccomp filter of its own: calls that filter answers with
    ERRNO, KILL, TRAP or USER_NOTIF take precedence over our RET_TRACE and never reach the recorder."""
    installers = [
        use.first for uses in rec.syscalls.values() for name, use in uses.items()
        if name == "seccomp" or (name == "prctl" and PR_SET_SECCOMP in use.args.get(0, ()))
    ]
    if not installers:
        return rec
    first = installers[0]
    warning = (f"process {first.pid} ({first.exe}) installed its own seccomp filter: calls that filter "
               "denies are not seen by the recorder (record the workload with its sandbox disabled to see them)")
    return dataclasses.replace(rec, warnings=(*rec.warnings, warning))


class _Interrupts:
    """What SIGINT/SIGTERM/SIGHUP and the grace alarm do to a launched run: the first is passed on
    to CMD and starts the grace period (none with --kill-after 0); the alarm or a second signal kills
    every tracee. A tree that exits on its own within the grace period is a complete recording."""

    def __init__(self, tracer: Tracer, collector: Collector, pid: int, grace_s: float, log: Log) -> None:
        self.tracer, self.collector, self.pid, self.grace_s, self.log = tracer, collector, pid, grace_s, log
        self.forwarded: list[int] = []

    def __call__(self, signum: int) -> None:
        if signum == signal.SIGALRM or self.forwarded or self.grace_s <= 0:
            if not self.forwarded:
                self.forwarded.append(signum)
            self.log("seccomp-gen: killing the traced processes")
            self.collector.mark_incomplete(f"the recorder stopped the traced processes with SIGKILL after "
                                           f"{self.stopped_by}: calls they would have made are missing")
            self.tracer.kill_all()
            return
        self.forwarded.append(signum)
        if not signals.terminal_sent(signum):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)
        self.log(f"seccomp-gen: {signal.Signals(signum).name}: waiting up to {self.grace_s:g} s for the command")
        signal.setitimer(signal.ITIMER_REAL, self.grace_s)

    @property
    def stopped_by(self) -> str | None:
        """The signal that stopped the run (passed on to CMD), or None."""
        return signal.Signals(self.forwarded[0]).name if self.forwarded else None


def record_command(
    command: Sequence[str],
    *,
    pin_cpu: int | None = None,
    log: Log = quiet,
    grace_s: float = DEFAULT_GRACE_S,
    rootfs: str | None = None,
    trace_filter: TraceFilter | None = None,
    on_trace: TraceHandler | None = None,
    engine: str = "ptrace",
    cgroup_fd: int | None = None,
) -> Recording:
    """Run `command` under the tracer and return what it and all its descendants did.

    Recording starts at the execve of `command`. The recorder waits for the last tracee (a daemon's
    grandchild included). SIGINT/SIGTERM/SIGHUP to the recorder are passed on to the command; if it
    has not ended `grace_s` seconds later (or at a second signal) every tracee is SIGKILLed, since
    none can run without the tracer. The recording is then marked incomplete.

    `trace_filter` and `on_trace` turn the recorder into other tracers: `verify` loads the profile
    under test with its denials turned into SECCOMP_RET_TRACE and answers them in `on_trace`, so only
    denied calls stop and the Recording holds what was denied. `cgroup_fd` creates the command in
    that cgroup v2 directory when the kernel can (the ebpf engine's scope).
    """
    collector = Collector()
    # Pinned, CMD is shown the affinity it would have had (affinity.py); verify's tracer does not pin.
    affinity = AffinityView(os.sched_getaffinity(0)) if pin_cpu is not None and on_trace is None else None
    tracer = Tracer(collector, seccomp_mode=True, log=log, on_trace=on_trace, affinity=affinity)
    with pinned(pin_cpu):
        child, nnp = spawn_traced(command, rootfs, trace_filter, cgroup_fd)
        tracer.main_pid = child.pid
        tracer.add_task(child.pid, execed=on_trace is not None)
        interrupts = _Interrupts(tracer, collector, child.pid, grace_s, log)
        with signals.handling(tracer.on_signal, TRACER_SIGNALS):
            tracer.run(interrupts)
    exec_errno = child.exec_errno()
    if exec_errno is not None:
        raise exec_error(command[0], exec_errno)
    details = {"mode": "seccomp-trace", "pinned_cpu": pin_cpu, "no_new_privs": nnp, "rootfs": rootfs,
               **({"stopped_by": interrupts.stopped_by} if interrupts.stopped_by else {})}
    rec = with_own_filter_warning(collector.build(
        engine=engine,
        command=command,
        exit_status=shell_status(tracer.main_status),
        processes=list(tracer.processes.values()),
        details=details,
    ))
    return rec if rootfs is None else _exes_inside(rec, rootfs)


def _exes_inside(rec: Recording, rootfs: str) -> Recording:
    """Exe paths as the chrooted workload (and its container's audit records) name them."""
    uses = {arch: {name: dataclasses.replace(use, first=Caller(use.first.pid, inside(use.first.exe, rootfs)))
                   for name, use in by_name.items()} for arch, by_name in rec.syscalls.items()}
    processes = tuple(dataclasses.replace(p, exe=inside(p.exe, rootfs)) for p in rec.processes)
    return dataclasses.replace(rec, syscalls=uses, processes=processes)


@dataclass(frozen=True)
class PtraceEngine:
    """The Engine-protocol face of the ptrace engine: a launched command, or an attached pid."""

    command: Sequence[str] = ()
    pid: int | None = None
    pin_cpu: int | None = None
    grace_s: float = DEFAULT_GRACE_S
    rootfs: str | None = None
    log: Log = field(default=quiet)
    name: str = "ptrace"

    def record(self) -> Recording:
        if self.pid is not None:
            return record_pid(self.pid, log=self.log)
        return record_command(self.command, pin_cpu=self.pin_cpu, log=self.log, grace_s=self.grace_s,
                              rootfs=self.rootfs)
