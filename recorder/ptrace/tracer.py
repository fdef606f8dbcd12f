"""The tracer loop: one waitpid(-1, __WALL) loop over every tracee, as strace runs it.

Two modes share the loop:
- "seccomp" (a launched command): the child loads a filter answering SECCOMP_RET_TRACE for every
  syscall of every arch, and tracees run under PTRACE_CONT, so each syscall costs one stop
  (PTRACE_EVENT_SECCOMP) instead of two (entry and exit under PTRACE_SYSCALL).
- "syscall" (attach to a running pid): no filter can be added from outside, so tracees run under
  PTRACE_SYSCALL and the entry stops are counted.

Tracees are seized (PTRACE_SEIZE), so group-stops are reported as PTRACE_EVENT_STOP and parked with
PTRACE_LISTEN: a process stopped by SIGSTOP stays stopped until someone sends SIGCONT, exactly as
without the recorder. Every other signal is passed on to the tracee at its signal-delivery-stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from seccomp_gen.recorder.collector import Collector, Slot
from seccomp_gen.recorder.interface import Log
from seccomp_gen.recorder.launch import proc, signals
from seccomp_gen.recorder.ptrace.affinity import AffinityView, ExitHook
from seccomp_gen.recorder.ptrace.constants import (
    GROUP_STOP_SIGNALS,
    NEW_CHILD_EVENTS,
    PTRACE_EVENT_EXEC,
    PTRACE_EVENT_STOP,
    PTRACE_GET_SYSCALL_INFO,
    PTRACE_INTERRUPT,
    PTRACE_LISTEN,
    PTRACE_SYSCALL_INFO_ENTRY,
    PTRACE_SYSCALL_INFO_SECCOMP,
    SECCOMP_STOP,
    SYSCALL_STOP,
    WALL,
)
from seccomp_gen.recorder.ptrace.syscall_info import SIZE as INFO_SIZE
from seccomp_gen.recorder.ptrace.syscall_info import (
    SyscallInfoReader,
    fast_ptrace,
    geteventmsg,
    ptrace_errno,
    ptrace_error,
    raw_ptrace,
    read_key,
)
from seccomp_gen.recorder.recording import Process

#: The tracer's signals: the interrupts, and the alarm that ends the grace period.
TRACER_SIGNALS = (*signals.INTERRUPTS, signal.SIGALRM)

PTRACE_CONT = 7
PTRACE_DETACH = 17
PTRACE_SYSCALL = 24
#: A waitpid status is (stop << 8) | 0x7f for a ptrace-stop: compared whole on the hot path.
_STOPPED = 0x7F

#: (tid, tgid, exe, arch token, nr, args, SECCOMP_RET_DATA) of a seccomp stop, for modes other than
#: recording: `verify` answers denied calls itself instead of counting every call.
TraceHandler = Callable[[int, int, str, int, int, tuple[int, ...], int], None]


class Interrupted(Exception):
    """Raised out of waitpid by the recorder's SIGINT/SIGTERM/SIGHUP/SIGALRM handler."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass(slots=True)
class _Task:
    """Per-thread state. `tgid` keys the process table; `execed` is False for a launched child
    until its execve of CMD succeeds, so the recorder's own set-up is never counted."""

    tid: int
    tgid: int
    execed: bool = True


def _read_status_ids(tid: int) -> tuple[int, int]:
    """(Tgid, PPid) of a task from /proc; (tid, 0) when it is already gone."""
    return proc.read_ids(tid) or (tid, 0)


class Tracer:
    """Runs the stop loop until the last tracee is gone (or the user interrupts)."""

    def __init__(self, collector: Collector, *, seccomp_mode: bool, log: Log,
                 on_trace: TraceHandler | None = None, affinity: AffinityView | None = None) -> None:
        self.collector = collector
        self.on_trace = on_trace
        self.seccomp_mode = seccomp_mode
        self.resume_request = PTRACE_CONT if seccomp_mode else PTRACE_SYSCALL
        self.log = log
        self.tasks: dict[int, _Task] = {}
        self.processes: dict[int, Process] = {}
        self.exes: dict[int, str] = {}  # tgid -> current executable
        self.main_pid: int | None = None
        self.main_status: int | None = None
        self.pending_execve: dict[int, tuple[int, int, tuple[int, ...]]] = {}
        self.info = SyscallInfoReader()
        self.interrupted: int | None = None
        self._in_wait = False
        #: A pinned run shows CMD its original CPU affinity (affinity.py); tid -> what to do at the
        #: exit of the intercepted call it is in.
        self.affinity = affinity
        self.intercepted = affinity.keys if affinity is not None else frozenset()
        self.exit_hooks: dict[int, ExitHook] = {}
        self.killing = False  # after kill_all(): every new task is killed at once
        #: The hot path's state: the tids whose calls are counted (execed tasks), and the calls that
        #: need nothing but a count, keyed as read_key reads a stop: (op, arch token, nr) -> slot.
        self.counted: set[int] = set()
        self.fast: dict[tuple[int, int, int], Slot] = {}
        self.counted_op = PTRACE_SYSCALL_INFO_SECCOMP if seccomp_mode else PTRACE_SYSCALL_INFO_ENTRY

    # ------------------------------------------------------------ bookkeeping

    def add_task(self, tid: int, *, execed: bool | None = None, parent: int | None = None) -> _Task:
        """Start tracking `tid`. A new task inherits "execed" from the task that created it (its
        thread group leader, or the parent process), so a launcher's helper processes created before
        CMD's execve stay out of the recording too."""
        tgid, ppid = _read_status_ids(tid)
        creator = self.tasks.get(parent if parent is not None else (tgid if tgid != tid else ppid))
        if execed is None:
            execed = creator.execed if creator is not None else True
        task = _Task(tid, tgid, execed)
        self.tasks[tid] = task
        if execed:
            self.counted.add(tid)
        if self.killing:
            with contextlib.suppress(ProcessLookupError):
                os.kill(tid, signal.SIGKILL)
        if self.affinity is not None:
            self.affinity.new_task(tid, creator.tid if creator is not None else None)
        if tgid not in self.exes:
            exe = proc.read_exe(tgid) or (self.exes.get(creator.tgid, "") if creator is not None else "")
            self.exes[tgid] = exe
            if execed:
                self.processes[tgid] = Process(tgid, ppid, exe, proc.read_argv(tgid))
        return task

    def _resume(self, tid: int, sig: int = 0, request: int | None = None) -> None:
        if request is None:  # a task between an intercepted call's entry and exit keeps stopping at the exit
            request = PTRACE_SYSCALL if tid in self.exit_hooks else self.resume_request
        # ESRCH: gone (SIGKILLed); its exit is reported by waitpid.
        if raw_ptrace(request, tid, 0, sig) < 0 and ctypes.get_errno() != errno.ESRCH:
            raise ptrace_error(request, tid)

    # ------------------------------------------------------------ signals

    def on_signal(self, signum: int, _frame: object) -> None:
        """Signal handler: remember the request; break out of waitpid only while waiting in it."""
        self.interrupted = signum
        if self._in_wait:
            raise Interrupted(signum)

    # ------------------------------------------------------------ the loop

    def run(self, on_interrupt: Callable[[int], None]) -> None:
        """Dispatch stops until no tracee is left; `on_interrupt(signum)` handles Ctrl-C & co.

        Syscall stops of recorded tasks are handled right here with the fewest Python operations:
        that path runs once per syscall of the workload (the recorder's whole cost on syscall-heavy
        programs). A call seen before that needs nothing but a count (no watched argument, no
        affinity to hide) is one lookup in `fast`; the others go to _first_of() (counted with
        their first caller and arguments), every other report to dispatch().
        """
        tasks, counted, buf, mem = self.tasks, self.counted, self.info.buffer, self.info.memory
        key_of, lookup = read_key, self.fast.get
        call, waitpid, wall, get_info, size = fast_ptrace, os.waitpid, WALL, PTRACE_GET_SYSCALL_INFO, INFO_SIZE
        resume = self.resume_request
        stop_kind = SECCOMP_STOP if self.seccomp_mode else SYSCALL_STOP
        hot = (stop_kind << 8) | _STOPPED if self.on_trace is None else -1  # verify: every stop dispatched
        while tasks:
            if self.interrupted is not None:
                signum, self.interrupted = self.interrupted, None
                on_interrupt(signum)
                continue
            self._in_wait = True  # the signal handler may raise Interrupted out of waitpid
            try:
                tid, status = waitpid(-1, wall)
            except ChildProcessError:
                break
            except Interrupted:
                continue
            finally:
                self._in_wait = False
            if status == hot and tid in counted:
                if call(get_info, tid, size, buf) < 0 and not self.info.fetch(tid):
                    continue  # SIGKILLed meanwhile: its exit is reported next
                slot = lookup(key_of(mem))
                if slot is not None:
                    slot.count += 1
                    request = resume
                else:
                    request = self._first_of(tasks[tid], key_of(mem))
                if call(request, tid, 0, 0) < 0:
                    self._resume(tid, 0, request)  # again, for its errno: ESRCH (gone) is no error
                continue
            self.dispatch(tid, status)

    def _first_of(self, task: _Task, key: tuple[int, int, int]) -> int:
        """A counted stop whose call is not in `fast` (first seen, watched, or intercepted): count
        it in full; a call that needs no more than a count from now on joins `fast`."""
        op, token, nr = key
        pair = (token, nr)
        slots, watched = self.collector.slots, self.collector.watched
        slot = slots.get(pair)
        if slot is None or pair in watched or pair in self.intercepted:
            request = self._syscall(task, fetched=True)
            slot = slots.get(pair)
            if slot is None or pair in self.collector.watched or pair in self.intercepted:
                return request
        elif op == self.counted_op:
            slot.count += 1
            request = self.resume_request
        else:
            return self.resume_request  # PTRACE_SYSCALL's exit stops: not counted
        if op == self.counted_op:
            self.fast[key] = slot
        return request

    def dispatch(self, tid: int, status: int) -> None:
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            self._gone(tid, status)
            return
        if not os.WIFSTOPPED(status):
            return
        task = self.tasks.get(tid)
        if task is None:  # a new child whose stop overtook its parent's fork event
            task = self.add_task(tid)
        stop = status >> 8
        if stop in (SECCOMP_STOP, SYSCALL_STOP):
            hook = self.exit_hooks.pop(tid, None) if stop == SYSCALL_STOP else None
            if hook is not None:  # the exit of a call intercepted at its seccomp stop
                self._exit_stop(tid, hook)
            else:
                self._resume(tid, 0, self._syscall(task))
            return
        event = status >> 16
        sig = stop & 0xFF
        if event == 0:  # signal-delivery-stop: pass the signal on, as if no tracer were here
            self._resume(tid, sig)
        elif event == PTRACE_EVENT_STOP:
            if sig in GROUP_STOP_SIGNALS:
                self._resume(tid, 0, PTRACE_LISTEN)  # stay stopped until SIGCONT
            else:
                self._resume(tid)  # new task's first stop, or PTRACE_INTERRUPT
        elif event in NEW_CHILD_EVENTS:
            child = geteventmsg(tid)
            if child not in self.tasks:
                self.add_task(child, parent=tid)
            self._resume(tid)
        elif event == PTRACE_EVENT_EXEC:
            self._exec(task)
            self._resume(tid)
        else:
            self._resume(tid)

    def _syscall(self, task: _Task, *, fetched: bool = False) -> int:
        """Count a syscall stop (or hand it to `on_trace`); returns the ptrace request to resume with."""
        if not fetched and not self.info.fetch(task.tid):
            return self.resume_request  # SIGKILLed meanwhile: nothing to count, its exit comes next
        op, token, nr, args, ret_data = self.info.full()
        if not self.seccomp_mode and op != PTRACE_SYSCALL_INFO_ENTRY:
            return self.resume_request  # PTRACE_SYSCALL also stops at syscall exit; count each call once
        if self.on_trace is not None:
            self.on_trace(task.tid, task.tgid, self.exes.get(task.tgid, ""), token, nr, args, ret_data)
            return self.resume_request
        if not task.execed:
            # The launched child before CMD's execve: only the execve itself will count, once it
            # has succeeded (PTRACE_EVENT_EXEC follows).
            self.pending_execve[task.tid] = (token, nr, args)
            return self.resume_request
        self.collector.add(token, nr, task.tgid, self.exes.get(task.tgid, ""), args)
        if self.affinity is not None and (token, nr) in self.intercepted:
            hook = self.affinity.at_entry(task.tid, (token, nr), args)
            if hook is not None:
                self.exit_hooks[task.tid] = hook
                return PTRACE_SYSCALL  # stop again at its exit
        return self.resume_request

    def _exit_stop(self, tid: int, hook: ExitHook) -> None:
        """At the syscall-exit stop of an intercepted call: run its hook with the return value."""
        if self.info.fetch(tid):
            value = self.info.exit_value()
            if value is not None:
                hook(value)
        self._resume(tid, 0, PTRACE_CONT)

    def _exec(self, task: _Task) -> None:
        former = geteventmsg(task.tid)
        if former != task.tid:
            # A non-leader thread exec'd: it took over the leader's tid and its old tid is gone
            # without an exit report.
            self.tasks.pop(former, None)
            self.counted.discard(former)
            self.pending_execve.pop(former, None)
        exe = proc.read_exe(task.tid)
        self.exes[task.tgid] = exe
        old = self.processes.get(task.tgid)
        ppid = old.ppid if old else _read_status_ids(task.tid)[1]
        self.processes[task.tgid] = Process(task.tgid, ppid, exe, proc.read_argv(task.tid))
        pending = self.pending_execve.pop(task.tid, None) or self.pending_execve.pop(former, None)
        if not task.execed:
            task.execed = True
            self.counted.add(task.tid)
            if pending is not None:
                token, nr, args = pending
                self.collector.add(token, nr, task.tgid, exe, args)

    def _gone(self, tid: int, status: int) -> None:
        self.tasks.pop(tid, None)
        self.counted.discard(tid)
        self.exit_hooks.pop(tid, None)
        if self.affinity is not None:
            self.affinity.gone(tid)
        self.pending_execve.pop(tid, None)
        if tid == self.main_pid:
            self.main_status = status

    # ------------------------------------------------------------ ending early

    def kill_all(self) -> None:
        """SIGKILL every tracee (they carry our RET_TRACE filter and cannot run on untraced); a
        task that shows up afterwards (forked just before) is killed as it is reported."""
        self.killing = True
        for tid in list(self.tasks):
            with contextlib.suppress(ProcessLookupError):
                os.kill(tid, signal.SIGKILL)

    def detach_all(self) -> None:
        """Stop every tracee with PTRACE_INTERRUPT and detach it, re-injecting a pending signal."""
        for tid in list(self.tasks):
            ptrace_errno(PTRACE_INTERRUPT, tid)  # fails only for a task that is gone
        for tid in list(self.tasks):
            sig = 0
            while ptrace_errno(PTRACE_DETACH, tid, 0, sig) == errno.ESRCH:
                # Not stopped yet (or gone): take its next report.
                try:
                    pid, status = os.waitpid(tid, WALL)
                except ChildProcessError:
                    break
                if pid == 0 or os.WIFEXITED(status) or os.WIFSIGNALED(status):
                    break
                if os.WIFSTOPPED(status) and (status >> 16) == 0 and (status >> 8) not in (
                    SYSCALL_STOP, SECCOMP_STOP):
                    sig = os.WSTOPSIG(status)  # a signal-delivery-stop: hand the signal back
            self.tasks.pop(tid, None)
            self.counted.discard(tid)
