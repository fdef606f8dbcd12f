"""Complain mode against the real kernel: records logged under SCMP_ACT_LOG, read back from /dev/kmsg
(or auditd's log when it runs), equal what ptrace records for the same workload."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from tests.support.process import cli

Record = Callable[..., tuple[recording.Recording, int, str]]
RATELIMIT = Path("/proc/sys/kernel/printk_ratelimit")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="complain mode reads /dev/kmsg: needs root")


def _log_record(tmp_path: Path, *argv: str) -> tuple[recording.Recording, int, str]:
    out = tmp_path / "log.json"
    proc = cli("record", "--engine", "log", "-o", str(out), "--", *argv)
    assert out.exists(), proc.stderr
    return recording.load(out), proc.returncode, proc.stderr


@pytest.mark.parametrize(("name", "flags"), [("threads", ()), ("spawn", ()), ("int80", ()), ("hello", ("-m32",))])
def test_log_engine_equals_ptrace(name: str, flags: tuple[str, ...], workload: Callable[..., Path],
                                  record: Record, tmp_path: Path) -> None:
    binary = str(workload(name, *flags))
    traced, code, _ = record(binary)
    logged, log_code, stderr = _log_record(tmp_path, binary)
    assert log_code == code == 0, stderr
    if not logged.complete:
        pytest.skip(f"the kernel dropped records this run (reported: {logged.incomplete_reasons})")
    assert {a: set(u) for a, u in logged.syscalls.items()} == {a: set(u) for a, u in traced.syscalls.items()}
    assert all(use.actions == {"SCMP_ACT_LOG": use.count} for uses in logged.syscalls.values()
               for use in uses.values())


def test_shell_pipeline_and_exit_status(record: Record, tmp_path: Path) -> None:
    argv = ["/bin/sh", "-c", "ls / | wc -l > /dev/null; exit 3"]
    traced, _, _ = record(*argv)
    logged, code, stderr = _log_record(tmp_path, *argv)
    assert code == 3 and logged.exit_status == 3, stderr
    assert logged.source.engine == "log" and logged.source.details["audit_session"]
    if not logged.complete:
        pytest.skip(f"the kernel dropped records this run (reported: {logged.incomplete_reasons})")
    assert logged.names() == traced.names()


def test_printk_ratelimit_is_restored(tmp_path: Path) -> None:
    before = RATELIMIT.read_text()
    _log_record(tmp_path, "/bin/true")
    assert RATELIMIT.read_text() == before


def test_drops_are_detected_never_claimed_complete(tmp_path: Path, workload: Callable[..., Path]) -> None:
    """A 20000-call loop floods the kernel log: whatever arrives, a recording either has every call
    or says it is incomplete."""
    logged, code, stderr = _log_record(tmp_path, str(workload("getppid_loop")), "20000")
    assert code == 0
    count = logged.syscalls["SCMP_ARCH_X86_64"]["getppid"].count
    assert (count == 20000) == logged.complete, logged.incomplete_reasons
    assert count <= 20000
    assert ("seccomp-gen: incomplete:" in stderr) == (not logged.complete)


def test_other_processes_are_not_recorded(tmp_path: Path, workload: Callable[..., Path]) -> None:
    """A process logging under its own SCMP_ACT_LOG filter at the same time stays out: the command
    runs in its own audit session."""
    import subprocess
    import sys

    noise = subprocess.Popen([sys.executable, "-c", (
        "import pyseccomp, os, time\n"
        "f = pyseccomp.SyscallFilter(pyseccomp.LOG); f.load()\n"
        "for _ in range(40): os.sched_yield(); time.sleep(0.01)\n")])
    try:
        logged, code, _ = _log_record(tmp_path, str(workload("threads")))
    finally:
        noise.wait(timeout=30)
    assert code == 0
    if not logged.complete:
        pytest.skip(f"the kernel dropped records this run (reported: {logged.incomplete_reasons})")
    assert logged.syscalls["SCMP_ARCH_X86_64"]["sched_yield"].count == 4  # the workload's 4, not the noise
    assert all(p.exe != os.path.realpath(sys.executable) for p in logged.processes)
