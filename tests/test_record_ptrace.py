"""The ptrace recorder against real processes: what "misses nothing" means, one behaviour a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seccomp_gen.recorder import recording

X86_64, X86 = "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"
Record = Callable[..., tuple[recording.Recording, int, str]]


def test_recording_starts_at_execve_of_cmd(record: Record) -> None:
    rec, code, _ = record("/bin/true")
    assert code == 0
    names = rec.names()
    # The recorder's child set-up (pipe read, filter load) never shows; CMD's execve does, once.
    assert not names & {"seccomp", "prctl", "rt_sigprocmask"}
    assert rec.syscalls[X86_64]["execve"].count == 1
    assert [p.exe for p in rec.processes] == [os.path.realpath("/bin/true")]
    assert rec.complete and rec.exit_status == 0


def test_threads_are_followed(workload: Callable[..., Path], record: Record) -> None:
    rec, code, _ = record(str(workload("threads")))
    assert code == 0
    assert rec.syscalls[X86_64]["sched_yield"].count == 4
    assert {"clone3", "futex"} <= rec.names(X86_64)


def test_fork_vfork_posix_spawn_clone3_children_are_followed(workload: Callable[..., Path], record: Record) -> None:
    rec, code, _ = record(str(workload("spawn")))
    assert code == 0
    assert {"getpgid", "sysinfo", "vfork", "clone3", "wait4"} <= rec.names(X86_64)
    assert rec.syscalls[X86_64]["execve"].count == 3  # spawn itself, posix_spawn'd true, vfork'd true
    assert sum(1 for p in rec.processes if p.exe.endswith("/true")) == 2


def test_daemon_grandchild_is_recorded(workload: Callable[..., Path], record: Record, tmp_path: Path) -> None:
    marker = tmp_path / "daemon.done"
    rec, code, _ = record(str(workload("daemon")), str(marker))
    assert code == 0
    # The recorder waited for the orphaned grandchild, which made its calls 300 ms after its parents left.
    assert marker.read_text() == "done\n"
    assert {"setsid", "nanosleep" if "nanosleep" in rec.names() else "clock_nanosleep", "sysinfo"} <= rec.names()
    assert len(rec.processes) == 3


def test_multithreaded_process_that_execs(workload: Callable[..., Path], record: Record) -> None:
    rec, code, _ = record(str(workload("thread_exec")))
    assert code == 0
    assert "pause" in rec.names() and rec.syscalls[X86_64]["execve"].count == 2
    assert rec.processes[0].exe == os.path.realpath("/bin/true")


def test_int80_calls_are_named_from_the_i386_table(workload: Callable[..., Path], record: Record) -> None:
    rec, code, _ = record(str(workload("int80")))
    assert code == 0  # the i386 getpid really ran and returned the pid
    assert rec.syscalls[X86]["getpid"].count == 1
    assert set(rec.syscalls[X86]) == {"getpid"}
    assert "writev" not in rec.names()  # 20 in the x86_64 table
    assert "getpid" in rec.syscalls[X86_64]


def test_m32_binary_records_only_i386(workload: Callable[..., Path], record: Record) -> None:
    rec, code, _ = record(str(workload("hello", "-m32")))
    assert code == 0
    # execve is entered by the 64-bit recorder child and so is an x86_64 call; all else is i386.
    assert set(rec.syscalls[X86_64]) == {"execve"}
    assert {"mmap2", "write", "exit_group", "set_thread_area"} <= rec.names(X86)


def test_group_stop_and_signals_behave_as_untraced(workload: Callable[..., Path], record: Record) -> None:
    rec, code, stderr = record(str(workload("signals")))
    assert code == 0, f"signals workload failed with {code}: {stderr}"
    assert {"kill", "wait4", "rt_sigaction"} <= rec.names()


def test_crash_exit_status_is_128_plus_signal(workload: Callable[..., Path], record: Record) -> None:
    rec, code, _ = record(str(workload("crash")))
    assert code == 128 + signal.SIGSEGV
    assert rec.exit_status == 128 + signal.SIGSEGV
    assert "getppid" in rec.names()


def test_exit_status_passes_through(record: Record) -> None:
    rec, code, _ = record("/bin/sh", "-c", "exit 7")
    assert code == 7 and rec.exit_status == 7


def test_unknown_syscall_number_is_kept_with_a_warning(workload: Callable[..., Path], record: Record) -> None:
    rec, code, stderr = record(str(workload("unknown_nr")))
    assert code == 0
    assert rec.syscalls[X86_64]["syscall_1000"].count == 1
    assert any("1000" in w for w in rec.warnings) and "syscall_1000" in stderr


def test_watched_argument_values_are_kept(workload: Callable[..., Path], record: Record) -> None:
    rec, _, _ = record(str(workload("sockets")))
    uses = rec.syscalls[X86_64]
    assert uses["socket"].args == {0: (2,), 1: (2,), 2: (0,)}  # AF_INET, SOCK_DGRAM, protocol 0
    assert uses["socketpair"].args[0] == (1,)  # AF_UNIX
    assert uses["personality"].args == {0: (0xFFFFFFFF,)}
    assert uses["clone"].args == {0: (0x11,)}  # SIGCHLD: a fork-like clone


def test_stdio_untouched_and_quiet(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-o", str(out), "--", "cat"],
                          input="through the tracer\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == "through the tracer\n"
    assert "syscalls" in proc.stderr
    quiet = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "--", "true"],
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == ""


def _traced_child(recorder: subprocess.Popen[str], timeout: float = 10) -> int:
    """The pid of the recorder's traced child, once it has exec'd."""
    deadline = time.monotonic() + timeout
    path = Path(f"/proc/{recorder.pid}/task/{recorder.pid}/children")
    while time.monotonic() < deadline:
        kids = path.read_text().split() if path.exists() else []
        for kid in kids:
            try:
                if "python" not in os.readlink(f"/proc/{kid}/exe"):
                    return int(kid)
            except OSError:
                pass
        time.sleep(0.02)
    raise AssertionError("the recorder started no child")


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def _start_recorder(out: Path, *argv: str, extra: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "seccomp_gen", "record", "-o", str(out), *extra, "--", *argv],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_writes_incomplete_recording_and_leaves_no_tracee(
        workload: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    # A generous grace period: on a loaded machine the forwarded SIGTERM must win over the SIGKILL.
    rec_proc = _start_recorder(out, str(workload("ticker")), "0", extra=("--kill-after", "30"))
    try:
        child = _traced_child(rec_proc)
        time.sleep(0.3)
        rec_proc.send_signal(signal.SIGTERM)
        code = rec_proc.wait(timeout=30)
    finally:
        rec_proc.kill()
    assert _gone(child)
    rec = recording.load(out)
    assert rec.complete and rec.source.details["stopped_by"] == "SIGTERM"  # it ended as SIGTERM ends it
    assert "getppid" in rec.names()
    assert code == 128 + signal.SIGTERM  # the command's own status: it died of the forwarded SIGTERM


def test_tracee_ignoring_sigterm_is_killed_after_grace(workload: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    rec_proc = _start_recorder(out, str(workload("ignore_term")), extra=("--kill-after", "0.5"))
    try:
        child = _traced_child(rec_proc)
        time.sleep(0.2)
        started = time.monotonic()
        rec_proc.send_signal(signal.SIGTERM)
        code = rec_proc.wait(timeout=30)
        assert time.monotonic() - started < 10
    finally:
        rec_proc.kill()
    assert _gone(child)
    assert code == 128 + signal.SIGKILL
    assert not recording.load(out).complete


def test_sigkilled_recorder_takes_its_tracees_with_it(workload: Callable[..., Path], tmp_path: Path) -> None:
    rec_proc = _start_recorder(tmp_path / "r.json", str(workload("ticker")), "0")
    try:
        child = _traced_child(rec_proc)
        rec_proc.kill()
        rec_proc.wait(timeout=10)
        assert _gone(child), "a tracee ran on after its recorder died (PTRACE_O_EXITKILL)"
    finally:
        rec_proc.kill()
    assert not (tmp_path / "r.json").exists()


def _status_field(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split()[1]
    raise AssertionError(field)


def test_attach_records_all_threads_then_detaches_cleanly(workload: Callable[..., Path], tmp_path: Path) -> None:
    target = subprocess.Popen([str(workload("ticker")), "0", "with-thread"])
    out = tmp_path / "r.json"
    try:
        time.sleep(0.1)
        rec_proc = subprocess.Popen([sys.executable, "-m", "seccomp_gen", "record", "-o", str(out),
                                     "-p", str(target.pid)], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while _status_field(target.pid, "TracerPid") == "0" and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        rec_proc.send_signal(signal.SIGINT)
        assert rec_proc.wait(timeout=30) == 0, rec_proc.stderr.read() if rec_proc.stderr else ""
        time.sleep(0.1)
        for tid in os.listdir(f"/proc/{target.pid}/task"):  # every thread: untraced, running on
            assert _status_field(int(tid), "TracerPid") == "0"
            assert _status_field(int(tid), "State") in ("S", "R")
        assert target.poll() is None
    finally:
        target.kill()
        target.wait()
    rec = recording.load(out)
    assert {"getppid", "getuid", "clock_nanosleep"} <= rec.names()  # both threads were traced
    assert not rec.complete  # calls before the attach are not in it, and it says so


def test_attach_records_until_the_process_exits(workload: Callable[..., Path], tmp_path: Path) -> None:
    target = subprocess.Popen([str(workload("ticker")), "25"])
    out = tmp_path / "r.json"
    try:
        proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-o", str(out),
                               "-p", str(target.pid)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert target.wait(timeout=10) == 5
    finally:
        target.kill()
    rec = recording.load(out)
    assert "exit_group" in rec.names() and rec.exit_status == 5


def test_workload_with_its_own_seccomp_filter_is_flagged(workload: Callable[..., Path], record: Record) -> None:
    rec, code, stderr = record(str(workload("own_filter")))
    assert code == 0  # the workload's filter really denied getppid
    assert "getppid" not in rec.names()  # the kernel answered before our RET_TRACE: unseen ...
    assert any("own seccomp filter" in w for w in rec.warnings)  # ... and the recording says so
    assert "own seccomp filter" in stderr


def test_rootfs_runs_the_entrypoint_as_pid_1_in_its_own_root(tmp_path: Path) -> None:
    import shutil

    from tests.support.process import compile_c

    if os.geteuid() != 0:
        import pytest

        pytest.skip("--rootfs needs root (namespaces, chroot)")
    root = tmp_path / "rootfs"
    for sub in ("bin", "dev", "proc"):
        (root / sub).mkdir(parents=True)
    binary = compile_c(tmp_path, "rootfs_app", "-static")
    shutil.copy(binary, root / "bin" / "app")
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-o", str(out), "--rootfs", str(root),
                           "--", "app"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "pid 1 entries 5 devnull 1\n"  # ., .., bin, dev, proc: the image's root
    rec = recording.load(out)
    assert {"getdents64", "getpid", "write", "execve"} <= rec.names()
    assert not rec.names() & {"unshare", "chroot", "mount", "wait4"}  # the set-up is not the entrypoint's
    assert [p.argv for p in rec.processes] == [("app",)]
    # exe as the workload, its container's audit records and `--exe` name it, not the host's path
    assert [p.exe for p in rec.processes] == ["/bin/app"]
    assert {u.first.exe for u in rec.syscalls["SCMP_ARCH_X86_64"].values()} == {"/bin/app"}
    assert "/rootfs" not in Path("/proc/self/mounts").read_text()  # nothing leaked into the host
