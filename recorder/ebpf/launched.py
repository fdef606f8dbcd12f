"""`record --engine ebpf -- CMD`: CMD in a fresh cgroup, counted from its execve on.

CMD is started by the ptrace engine's traced run under a filter that ALLOWs every native call and
TRACEs execve/execveat and every call of another arch. At the seccomp stop of CMD's own execve the
gate opens (CMD is moved into the cgroup first when the kernel could not create it there), so that
execve is the first call counted; compat calls stop in the tracer, are recorded under their real
arch and dropped from the BPF counts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyseccomp

from seccomp_gen.ground import syscalls
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.ebpf import cgroup
from seccomp_gen.recorder.ebpf.probe import Probe, add_counts
from seccomp_gen.recorder.interface import Log
from seccomp_gen.recorder.launch import filters, proc, spawn
from seccomp_gen.recorder.ptrace import record_command, with_own_filter_warning
from seccomp_gen.recorder.ptrace.constants import TRACE_MARK
from seccomp_gen.recorder.recording import Recording

_EXECS = ("execve", "execveat")


def _compat_filter() -> tuple[pyseccomp.SyscallFilter, bool]:
    """ALLOW native calls, TRACE execve/execveat (to open the gate at CMD's exec) and every call of
    another arch."""
    trace = pyseccomp.TRACE(TRACE_MARK)
    flt, nnp = filters.new_filter(pyseccomp.ALLOW, bad_arch=trace)
    for name in _EXECS:
        flt.add_rule(trace, name)
    return flt, nnp


class _Stops:
    """The tracer's hook: opens the gate at CMD's execve, names the exe of later execs' first
    calls, and records compat calls (which the BPF program then drops)."""

    def __init__(self, cg: Path, probe: Probe, collector: Collector) -> None:
        native = syscalls.native_arch()
        self.cg, self.probe, self.collector = cg, probe, collector
        self.token = syscalls.ARCH_TOKENS[native]
        self.execs = {nr for nr in (syscalls.number_of(native, n) for n in _EXECS) if nr is not None}
        self.moved: list[int] = []
        self.exe_at_first: dict[int, str] = {}  # nr -> exe of its first caller, when it exec'd since

    def __call__(self, tid: int, tgid: int, exe: str, arch_token: int, nr: int, args: tuple[int, ...],
                 _data: int) -> None:
        if arch_token == self.token and nr in self.execs:
            if not self.moved:  # CMD's own execve: from here on it and its descendants count
                if tgid not in cgroup.procs(self.cg, recursive=False):
                    cgroup.move(self.cg, tgid)  # the kernel could not clone it there
                self.probe.open_gate()
                self.moved.append(tgid)
            else:  # calls this process made first were made by its current exe
                for first in self.probe.first_calls_of(tgid):
                    self.exe_at_first.setdefault(first, exe)
            return
        self.probe.mark_compat(tid)
        self.collector.add(arch_token, nr, tgid, exe, args)


def record_launched(command: Sequence[str], *, grace_s: float, log: Log, engine: str) -> Recording:
    """Record `command` and its descendants with the BPF program, scoped by a fresh cgroup."""
    path = spawn.resolve_command(command)
    mount = cgroup.find_mount()
    trace_filter = _compat_filter()
    collector = Collector()
    with cgroup.fresh(mount, cgroup_dir_name()) as cg, cgroup.opened(cg) as cg_fd:
        with Probe(cgroup.cgroup_id(cg), cgroup.level_of(mount, cg), skip=True,
                   watched=collector.watched, gated=True) as probe:
            stops = _Stops(cg, probe, collector)
            try:
                traced = record_command(command, log=log, grace_s=grace_s, trace_filter=trace_filter,
                                        on_trace=stops, engine=engine, cgroup_fd=cg_fd)
            finally:
                probe.detach()
            exes = {p.pid: p.exe for p in traced.processes}

            def exe_of(nr: int, pid: int) -> str:
                return stops.exe_at_first.get(nr) or exes.get(pid) or proc.read_exe(pid) or os.path.realpath(path)

            add_counts(collector, probe, exe_of)
        leftovers = cgroup.procs(cg)
    for reason in traced.incomplete_reasons:
        collector.mark_incomplete(reason)
    if leftovers:
        collector.warn(f"processes {leftovers} were still in the cgroup after the traced tree ended; killed")
    rec = collector.build(engine=engine, command=command, exit_status=traced.exit_status,
                          processes=traced.processes, details=_details(cg, trace_filter[1], traced))
    return with_own_filter_warning(rec)


def _details(cg: Path, nnp: bool, traced: Recording) -> dict[str, Any]:
    stopped = {k: v for k, v in traced.source.details.items() if k == "stopped_by"}
    return {
        **stopped,
        "mode": "bpf raw_tracepoint sys_enter, scoped by cgroup v2",
        "cgroup": str(cg),
        "compat_calls": "recorded through ptrace (seccomp RET_TRACE for other arches) and dropped from the "
                        "BPF counts",
        "provenance": "first pid per syscall from BPF; its exe as of that call (the tracer stops at every "
                      "native execve and attributes the calls the process made first so far to its exe then)",
        "no_new_privs": nnp,
    }


def cgroup_dir_name(pid: int | None = None) -> str:
    """The name of a launched run's cgroup directory (for tests and for cleaning up by hand)."""
    return f"seccomp-gen-{os.getpid() if pid is None else pid}"
