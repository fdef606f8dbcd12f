"""Attaching to a running process: every thread seized, PTRACE_SYSCALL mode, a clean detach.

No filter can be added to a process from outside, so attached tracees stop at syscall entry and
exit (PTRACE_SYSCALL) and the entry stops are counted.
"""

from __future__ import annotations

import os
import signal

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.launch import proc, signals
from seccomp_gen.recorder.launch.status import shell_status
from seccomp_gen.recorder.ptrace.constants import FOLLOW_OPTIONS, PTRACE_INTERRUPT, PTRACE_SEIZE
from seccomp_gen.recorder.ptrace.permissions import ptrace_denied_reason
from seccomp_gen.recorder.ptrace.syscall_info import ptrace_check, ptrace_errno
from seccomp_gen.recorder.ptrace.tracer import TRACER_SIGNALS, Tracer
from seccomp_gen.recorder.recording import Recording


def descendants(root: int) -> list[int]:
    """The processes below `root` now (children, their children...), from every /proc/PID/status."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ids = proc.read_ids(int(entry))
            if ids is not None and ids[0] == int(entry):
                children.setdefault(ids[1], []).append(int(entry))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _threads(pid: int) -> set[int]:
    try:
        return {int(t) for t in os.listdir(f"/proc/{pid}/task")}
    except FileNotFoundError:
        return set()


def _attach_tree(tracer: Tracer, pid: int) -> int:
    """Seize every thread of `pid` and of every process below it, re-scanning until nothing new
    appears (what they fork once seized is followed by the kernel), then interrupt each so it
    enters PTRACE_SYSCALL mode at its first stop. Returns how many processes were attached."""
    if not _threads(pid):
        raise SeccompGenError(f"cannot trace process {pid}: no such process")
    processes = {pid}
    while True:
        tree = [pid, *descendants(pid)]
        new = [(p, tid) for p in tree for tid in sorted(_threads(p)) if tid not in tracer.tasks]
        if not new:
            return len(processes)
        for owner, tid in new:
            refused = ptrace_errno(PTRACE_SEIZE, tid, 0, FOLLOW_OPTIONS)
            if refused:
                if tid == pid or not tracer.tasks:
                    tracer.detach_all()
                    raise SeccompGenError(ptrace_denied_reason(refused, pid))
                continue  # a thread or process that exited meanwhile
            tracer.add_task(tid)
            processes.add(owner)
            ptrace_check(PTRACE_INTERRUPT, tid)


def record_pid(pid: int, *, log: Log = quiet) -> Recording:
    """Attach to a running process, its threads and every process below it (and what they fork
    from now on); record
    until it exits or until SIGINT/SIGTERM, then detach cleanly: the process keeps running."""
    if pid <= 0 or pid == os.getpid():
        raise SeccompGenError(f"cannot trace process {pid}")
    collector = Collector()
    tracer = Tracer(collector, seccomp_mode=False, log=log)
    tracer.main_pid = pid

    def on_interrupt(signum: int) -> None:
        log(f"seccomp-gen: {signal.Signals(signum).name}: detaching from process {pid}")
        tracer.detach_all()

    with signals.handling(tracer.on_signal, TRACER_SIGNALS):
        attached = _attach_tree(tracer, pid)
        collector.mark_incomplete(
            f"attached to running process {pid} and {attached - 1} process(es) below it: calls they made before "
            "the attach are not recorded (start-up, configuration loading, workers forked earlier)")
        tracer.run(on_interrupt)
    proc = tracer.processes.get(pid)
    return collector.build(
        engine="ptrace",
        command=proc.argv if proc else (str(pid),),
        exit_status=shell_status(tracer.main_status),
        processes=list(tracer.processes.values()),
        details={"mode": "syscall-stop", "attached_pid": pid, "attached_processes": attached},
    )
