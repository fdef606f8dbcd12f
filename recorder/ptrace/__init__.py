"""The ptrace engine: record a launched command (one stop per syscall) or attach to a pid.

Public entry points: `record_command(argv, ...)` and `record_pid(pid, ...)`, or the `PtraceEngine`
that wraps them for the Engine protocol.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pyseccomp
from ptrace import PtraceError
from ptrace.binding.func import ptrace

from seccomp_gen.ground.errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, SeccompGenError
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.ptrace.constants import FOLLOW_OPTIONS, PTRACE_INTERRUPT, PTRACE_SEIZE
from seccomp_gen.recorder.ptrace.launch import read_exec_error, spawn_traced
from seccomp_gen.recorder.ptrace.permissions import ptrace_denied_reason
from seccomp_gen.recorder.ptrace.tracer import TraceHandler, Tracer
from seccomp_gen.recorder.recording import Recording

__all__ = ["PtraceEngine", "record_command", "record_pid", "shell_status"]

#: Seconds the launched command gets to exit after the recorder forwarded SIGINT/SIGTERM to it.
DEFAULT_GRACE_S = 5.0
_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)


def shell_status(status: int | None) -> int | None:
    """A wait status as a shell reports it: the exit code, or 128+N for death by signal N."""
    if status is None:
        return None
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


@contextlib.contextmanager
def _signals_to(tracer: Tracer) -> Iterator[None]:
    previous = {signum: signal.signal(signum, tracer.on_signal) for signum in _HANDLED}
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _pinned(cpu: int | None) -> Iterator[None]:
    """Run the recorder (and so every tracee it forks) on one CPU: ptrace stops are much cheaper
    when tracer and tracee do not bounce between CPUs (see README, "Speed")."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def auto_cpu() -> int:
    """The CPU `--pin-cpu auto` picks: the one the recorder runs on now, if it may use it.

    The scheduler put us there, so it is a CPU with room; always taking the first allowed CPU
    would stack every recorder of a parallel CI job (pytest-xdist, make -j) on CPU 0.
    """
    allowed = sorted(os.sched_getaffinity(0))
    try:
        with open("/proc/self/stat", "rb") as handle:
            # Field 39 ("processor"), counted after the parenthesised comm, which may hold spaces.
            current = int(handle.read().rsplit(b")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return allowed[0]
    return current if current in allowed else allowed[0]


def _terminal_sent(signum: int) -> bool:
    """True when a terminal's Ctrl-C already delivered SIGINT to CMD (same foreground group)."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


#: prctl option that installs a seccomp filter (linux/prctl.h PR_SET_SECCOMP).
PR_SET_SECCOMP = 22


def _with_own_filter_warning(rec: Recording) -> Recording:
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


def record_command(
    command: Sequence[str],
    *,
    pin_cpu: int | None = None,
    log: Log = quiet,
    grace_s: float = DEFAULT_GRACE_S,
    rootfs: str | None = None,
    trace_filter: tuple[pyseccomp.SyscallFilter, bool] | None = None,
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
    tracer = Tracer(collector, seccomp_mode=True, log=log, on_trace=on_trace)
    with _pinned(pin_cpu):
        pid, err_fd, nnp = spawn_traced(command, rootfs, trace_filter, cgroup_fd)
        tracer.main_pid = pid
        tracer.add_task(pid, execed=on_trace is not None)
        forwarded: list[int] = []

        def on_interrupt(signum: int) -> None:
            if signum == signal.SIGALRM or forwarded:
                log("seccomp-gen: killing the traced processes")
                collector.mark_incomplete("the recorder stopped the traced processes with SIGKILL")
                tracer.kill_all()
                return
            collector.mark_incomplete(f"recording interrupted by {signal.Signals(signum).name}")
            forwarded.append(signum)
            if not _terminal_sent(signum):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
            log(f"seccomp-gen: {signal.Signals(signum).name}: waiting up to {grace_s:g} s for the command")
            signal.setitimer(signal.ITIMER_REAL, grace_s)

        with _signals_to(tracer):
            tracer.run(on_interrupt)
    exec_errno = read_exec_error(err_fd)
    if exec_errno is not None:
        code = EXIT_NOT_FOUND if exec_errno == 2 else EXIT_NOT_EXECUTABLE
        raise SeccompGenError(f"{command[0]}: cannot execute: {os.strerror(exec_errno)}", exit_code=code)
    details = {"mode": "seccomp-trace", "pinned_cpu": pin_cpu, "no_new_privs": nnp, "rootfs": rootfs}
    return _with_own_filter_warning(collector.build(
        engine=engine,
        command=command,
        exit_status=shell_status(tracer.main_status),
        processes=list(tracer.processes.values()),
        details=details,
    ))


def _attach_all_threads(tracer: Tracer, pid: int) -> None:
    """Seize every thread of `pid`, re-scanning until no new thread appears, then interrupt each so
    it enters PTRACE_SYSCALL mode at its first stop."""
    while True:
        try:
            tids = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
        except FileNotFoundError:
            raise SeccompGenError(f"cannot trace process {pid}: no such process") from None
        new = tids - set(tracer.tasks)
        if not new:
            break
        for tid in sorted(new):
            try:
                ptrace(PTRACE_SEIZE, tid, 0, FOLLOW_OPTIONS)
            except PtraceError as exc:
                if tid == pid or not tracer.tasks:
                    tracer.detach_all()
                    raise SeccompGenError(ptrace_denied_reason(exc.errno or 0, pid)) from None
                continue  # a thread that exited meanwhile
            tracer.add_task(tid)
            ptrace(PTRACE_INTERRUPT, tid)


def record_pid(pid: int, *, log: Log = quiet) -> Recording:
    """Attach to a running process and its threads (and children it forks from now on); record
    until it exits or until SIGINT/SIGTERM, then detach cleanly: the process keeps running."""
    if pid <= 0 or pid == os.getpid():
        raise SeccompGenError(f"cannot trace process {pid}")
    collector = Collector()
    collector.mark_incomplete(
        f"attached to running process {pid}: calls it made before the attach are not recorded")
    tracer = Tracer(collector, seccomp_mode=False, log=log)
    tracer.main_pid = pid

    def on_interrupt(signum: int) -> None:
        log(f"seccomp-gen: {signal.Signals(signum).name}: detaching from process {pid}")
        tracer.detach_all()

    with _signals_to(tracer):
        _attach_all_threads(tracer, pid)
        tracer.run(on_interrupt)
    proc = tracer.processes.get(pid)
    return collector.build(
        engine="ptrace",
        command=proc.argv if proc else (str(pid),),
        exit_status=shell_status(tracer.main_status),
        processes=list(tracer.processes.values()),
        details={"mode": "syscall-stop", "attached_pid": pid},
    )


@dataclass(frozen=True)
class PtraceEngine:
    """The Engine-protocol face of this module."""

    command: Sequence[str] = ()
    pid: int | None = None
    pin_cpu: int | None = None
    grace_s: float = DEFAULT_GRACE_S
    rootfs: str | None = None
    log: Callable[[str], None] = field(default=quiet)
    name: str = "ptrace"

    def record(self) -> Recording:
        if self.pid is not None:
            return record_pid(self.pid, log=self.log)
        return record_command(self.command, pin_cpu=self.pin_cpu, log=self.log, grace_s=self.grace_s,
                              rootfs=self.rootfs)
