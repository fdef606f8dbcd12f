"""Attaching to a running process: every thread seized, PTRACE_SYSCALL mode, a clean detach.

No filter can be added to a process from outside, so attached tracees stop at syscall entry and
exit (PTRACE_SYSCALL) and the entry stops are counted.
"""

from __future__ import annotations

import os
import signal

from ptrace import PtraceError
from ptrace.binding.func import ptrace

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.launch import signals
from seccomp_gen.recorder.launch.status import shell_status
from seccomp_gen.recorder.ptrace.constants import FOLLOW_OPTIONS, PTRACE_INTERRUPT, PTRACE_SEIZE
from seccomp_gen.recorder.ptrace.permissions import ptrace_denied_reason
from seccomp_gen.recorder.ptrace.tracer import TRACER_SIGNALS, Tracer
from seccomp_gen.recorder.recording import Recording


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

    with signals.handling(tracer.on_signal, TRACER_SIGNALS):
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
