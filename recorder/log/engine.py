"""Complain mode: run CMD under a SCMP_ACT_LOG filter and read back what the kernel logged.

Every syscall of CMD's process tree is allowed and logged as a type=1326 SECCOMP record, without
ptrace. The records are harvested from auditd's log when auditd runs, else from /dev/kmsg, where
the kernel's printk rate limit (10 lines per 5 s) would drop almost all of them: as root the
recorder lifts it (kernel.printk_ratelimit=0) for the run through a lease shared with concurrent
runs and recovered after a killed one (ratelimit.py). A watchdog process kills CMD's tree and gives
the lease back if the recorder itself is killed (watchdog.py).

Nothing here claims a complete recording it cannot prove: CMD's tree is bracketed by two marker
processes whose records must arrive, every audit serial number between them must be present, and
every drop message (suppressed callbacks, backlog, audit_lost, kmsg overrun) marks it incomplete.
CMD's tree is told apart from other processes by a fresh audit session: the launched child sets
its loginuid, which gives it (and everything it forks) a new `ses=`.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyseccomp

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.audit.engine import AuditFilter, AuditLogEngine
from seccomp_gen.recorder.audit.inputs import Line
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.launch import filters, signals, spawn
from seccomp_gen.recorder.launch.status import exec_error, shell_status
from seccomp_gen.recorder.log import ratelimit
from seccomp_gen.recorder.log.harvest import AuditdLogHarvester, Harvester, KmsgHarvester, auditd_running, session_of
from seccomp_gen.recorder.log.watchdog import Watchdog, guarding
from seccomp_gen.recorder.recording import Recording

PR_SET_CHILD_SUBREAPER = 36
#: How long to wait for the end marker's records after CMD's tree has exited.
MARKER_TIMEOUT_S = 5.0


def _log_filter() -> pyseccomp.SyscallFilter:
    """Every call allowed and logged, compat (int $0x80) calls too."""
    return filters.new_filter(pyseccomp.LOG)[0]


def _marker() -> int:
    """A process that loads the LOG filter and exits at once: its records bracket CMD's."""
    flt = _log_filter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            flt.load()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _new_audit_session() -> None:
    """Give this (child) process a fresh audit session id: writing loginuid assigns one."""
    try:
        current = Path("/proc/self/loginuid").read_text().strip()
        value = current if current != "4294967295" else str(os.getuid())
        Path("/proc/self/loginuid").write_text(value)
    except OSError:
        pass  # the parent notices: the records then carry the old session


def _spawn(command: Sequence[str], path: str, flt: pyseccomp.SyscallFilter, dog: Watchdog) -> spawn.Child:
    """CMD in a fresh audit session (reported to the watchdog), under the LOG filter."""

    def setup() -> None:
        _new_audit_session()
        dog.report_child()
        flt.load()

    return spawn.start(path, command, setup=setup)


def _reap_all(pid: int) -> int | None:
    """Wait for every child (orphans come back to a subreaper); the shell status of `pid`."""
    status: int | None = None
    while True:
        try:
            child, wstatus = os.waitpid(-1, 0)
        except ChildProcessError:
            return status
        if child == pid:
            status = shell_status(wstatus)


@dataclass
class LogEngine:
    """Engine "log": complain-mode recording of a launched command."""

    command: Sequence[str]
    log: Log = field(default=quiet)
    name: str = "log"
    #: Where the printk lease lives (tests pass a private directory).
    printk_state_dir: Path = ratelimit.STATE_DIR

    def _harvester(self) -> Harvester:
        if auditd_running():
            return AuditdLogHarvester()
        try:
            return KmsgHarvester()
        except OSError as exc:
            raise SeccompGenError(f"cannot read /dev/kmsg ({exc.strerror}) and auditd is not running: "
                                  "run as root or use --engine ptrace") from None

    def _run_tree(self, path: str, flt: pyseccomp.SyscallFilter, dog: Watchdog) -> tuple[int, int | None, str | None]:
        """Run CMD and wait for its whole tree (orphans reparent to us as subreaper)."""
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        interrupted: list[int] = []
        child = _spawn(self.command, path, flt, dog)
        pid = child.pid

        def forward(signum: int, _frame: object) -> None:
            interrupted.append(signum)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

        status: int | None = None
        try:
            with signals.handling(forward):
                status = _reap_all(pid)
        finally:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        exec_errno = child.exec_errno()
        if exec_errno is not None:
            raise exec_error(self.command[0], exec_errno)
        stopped_by = signal.Signals(interrupted[0]).name if interrupted else None
        return pid, status, stopped_by

    def record(self) -> Recording:
        started = datetime.now(UTC)
        path = spawn.resolve_command(self.command)
        flt = _log_filter()
        harvester = self._harvester()
        lease = ratelimit.Lease(self.printk_state_dir, log=self.log)
        holder = ratelimit.Holder.of(os.getpid())
        # The watchdog first: it is forked before the harvester's thread exists.
        with guarding(on_orphaned=lambda: lease.release(holder)) as dog, \
                lease.held(holder) if isinstance(harvester, KmsgHarvester) else contextlib.nullcontext():
            harvester.start()
            try:
                start_marker = _marker()
                pid, status, stopped_by = self._run_tree(path, flt, dog)
                end_marker = _marker()
                arrived = self._await(harvester, end_marker)
            finally:
                harvester.stop()
        rec = self._build(harvester, pid, status, stopped_by, start_marker, end_marker, arrived)
        duration = (datetime.now(UTC) - started).total_seconds()
        return dataclasses.replace(rec, source=dataclasses.replace(
            rec.source, started=started.isoformat(timespec="seconds"), duration_s=duration))

    @staticmethod
    def _await(harvester: Harvester, marker: int) -> bool:
        needle = f" pid={marker} "
        deadline = time.monotonic() + MARKER_TIMEOUT_S
        seen = 0
        while time.monotonic() < deadline:
            lines = harvester.lines
            if any(needle in line for line in lines[seen:]):
                return True
            seen = max(0, len(lines) - 1)
            time.sleep(0.01)
        return False

    def _build(self, harvester: Harvester, pid: int, status: int | None, stopped_by: str | None,
               start_marker: int, end_marker: int, arrived: bool) -> Recording:
        lines = harvester.lines
        start_needle, end_needle = f" pid={start_marker} ", f" pid={end_marker} "
        first = next((i for i, line in enumerate(lines) if start_needle in line), None)
        last = next((i for i in range(len(lines) - 1, -1, -1) if end_needle in lines[i]), len(lines) - 1)
        window = lines[first or 0: last + 1]
        pid_needle = f" pid={pid} "
        session = next((session_of(line) for line in window if pid_needle in line), None)
        marker_session = next((session_of(line) for line in window if start_needle in line or end_needle in line),
                              None)
        tagged = session is not None and session != marker_session
        launcher = os.path.realpath(sys.executable)
        filt = AuditFilter(sessions=frozenset({session}) if tagged and session else frozenset(),
                           exclude_pids=frozenset({start_marker, end_marker}),
                           exec_gate_pid=pid, exec_gate_exe=launcher)
        engine = AuditLogEngine([harvester.name], filt, log=self.log)
        engine.feed(harvester.name, (Line(harvester.name, n + 1, text) for n, text in enumerate(window)))
        for reason in harvester.lost:
            engine.collector.mark_incomplete(reason)
        if first is None:
            engine.collector.mark_incomplete("the start marker's audit records never arrived: records were dropped")
        if not arrived:
            engine.collector.mark_incomplete(
                f"the end marker's audit records did not arrive within {MARKER_TIMEOUT_S:g} s: records were dropped")
        if not tagged:
            engine.collector.warn("could not give the command its own audit session (loginuid): records of other "
                                  "processes logging under SCMP_ACT_LOG at the same time may be included")
        # Passed on to CMD, a signal ends the run as it would end it in production: the tree was
        # waited for to its end (under the LOG filter it runs without the recorder), so it is complete.
        details = {"harvested_from": harvester.name, "audit_session": session if tagged else None,
                   **({"stopped_by": stopped_by} if stopped_by else {})}
        try:
            return engine.finish(engine=self.name, command=self.command, exit_status=status, extra_details=details)
        except SeccompGenError as exc:
            reasons = "; ".join(engine.collector.incomplete_reasons) or "no drop was detected"
            raise SeccompGenError(f"no audit record of the command arrived ({reasons}); "
                                  "try --engine ptrace, or run auditd") from exc
