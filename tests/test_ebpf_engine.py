"""The ebpf engine against the real kernel: its program passes the verifier, it records what the ptrace
engine (and strace) records, nothing outside its cgroup, and it leaves no cgroup behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import Recording
from tests.support.ebpf import remove_cgroup
from tests.support.ebpf import unavailable as ebpf_unavailable
from tests.support.process import cli, need_tool, strace_names

Record = Callable[..., tuple[Recording, int, str]]


_WHY = ebpf_unavailable()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=_WHY or "")


def _names(rec: Recording) -> dict[str, set[str]]:
    return {arch: set(uses) for arch, uses in rec.syscalls.items() if uses}


def _ebpf(tmp_path: Path, *argv: str, extra: tuple[str, ...] = ()) -> tuple[Recording, int, str]:
    out = tmp_path / "ebpf.json"
    proc = cli("record", "--engine", "ebpf", "-o", str(out), *extra, "--", *argv)
    assert out.exists(), proc.stderr
    return recording.load(out), proc.returncode, proc.stderr


def _leftover_cgroups(pid: int) -> list[Path]:
    from seccomp_gen.recorder.ebpf import cgroup
    from seccomp_gen.recorder.ebpf.engine import cgroup_dir_name

    path = cgroup.find_mount().path / cgroup_dir_name(pid)
    return [path] if path.exists() else []


# ---------------------------------------------------------------- the program


def test_program_passes_the_verifier() -> None:
    """Every variant (nested-cgroup check, compat skip map, watched arguments, gate) loads and attaches."""
    from seccomp_gen.ground import syscalls
    from seccomp_gen.recorder.ebpf import bpf, cgroup, program
    from seccomp_gen.recorder.ebpf.probe import Probe
    from seccomp_gen.recorder.watched import watched_for_token

    mount = cgroup.find_mount()
    fds_before = set(os.listdir("/proc/self/fd"))
    native = watched_for_token(syscalls.ARCH_TOKENS[syscalls.native_arch()])
    for level, skip, watched, gated in ((0, True, native, True), (None, False, {}, False)):
        with Probe(cgroup.cgroup_id(mount.path), level, skip=skip, watched=watched, gated=gated) as probe:
            assert probe.link is not None
            assert bool(probe.args) == bool(watched and probe.watched)
    assert set(os.listdir("/proc/self/fd")) == fds_before  # every map, the program and the link closed
    insns = program.sys_enter_program(program.ProgramSpec(1, 0, 3, 4, 5, [(41, 0)]))
    assert len(insns) % 8 == 0 and len(insns) // 8 < 200
    with pytest.raises(bpf.BpfError, match="verifier log"):
        bpf.prog_load_raw_tracepoint(program.mov64_reg(program.R0, program.R2) + program.exit_insn(), "sg_bad")


def test_no_privilege_is_one_clear_line() -> None:
    """The engine itself, in a root process whose capabilities were all dropped by the kernel."""
    setpriv = need_tool("setpriv", "util-linux")
    code = ("from seccomp_gen.ground.errors import SeccompGenError\n"
            "from seccomp_gen.recorder.ebpf import EbpfEngine\n"
            "try:\n    EbpfEngine(command=['/bin/true']).record()\n"
            "except SeccompGenError as exc:\n    print(exc)\n")
    proc = subprocess.run([setpriv, "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60)
    assert re.search(r"needs root \(or CAP_BPF and CAP_PERFMON\).*--engine ptrace", proc.stdout), proc.stderr


def test_no_privilege_from_the_cli() -> None:
    setpriv = "/usr/bin/setpriv"
    if not os.path.exists(setpriv):
        pytest.skip("setpriv not found: install the Debian package util-linux")
    outdir = tempfile.mkdtemp(prefix="sg-ebpf-")
    try:
        os.chmod(outdir, 0o1777)  # sticky, as /tmp is: seccomp-gen refuses a shared non-sticky directory
        proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                               sys.executable, "-m", "seccomp_gen", "record", "--engine", "ebpf", "-o",
                               f"{outdir}/r.json", "--", "/bin/true"], capture_output=True, text=True, timeout=60,
                              cwd=outdir)
    finally:
        for entry in Path(outdir).iterdir():
            entry.unlink()
        os.rmdir(outdir)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--engine ptrace" in proc.stderr, proc.stderr


# ---------------------------------------------------------------- launched commands


@pytest.mark.parametrize(("name", "flags"), [("threads", ()), ("spawn", ()), ("int80", ()), ("hello", ("-m32",))],
                         ids=["threads", "spawn", "int80", "hello-m32"])
def test_recorded_set_equals_ptrace_and_strace(name: str, flags: tuple[str, ...], workload: Callable[..., Path],
                                              record: Record, tmp_path: Path) -> None:
    binary = str(workload(name, *flags))
    traced, code, _ = record(binary)
    rec, ebpf_code, stderr = _ebpf(tmp_path, binary)
    assert ebpf_code == code == 0, stderr
    assert rec.source.engine == "ebpf" and rec.complete, stderr
    assert _names(rec) == _names(traced)
    assert rec.names() == strace_names([binary], tmp_path)
    pids = {p.pid for p in rec.processes}
    assert all(use.first.pid in pids and use.first.exe for uses in rec.syscalls.values() for use in uses.values())


def test_compat_calls_keep_their_real_arch(workload: Callable[..., Path], tmp_path: Path) -> None:
    """int $0x80 with eax=20 is i386 getpid; sys_enter alone would see 20 = x86_64 writev."""
    rec, code, stderr = _ebpf(tmp_path, str(workload("int80")))
    assert code == 0, stderr
    assert "getpid" in rec.names("SCMP_ARCH_X86")
    assert "writev" not in rec.names("SCMP_ARCH_X86_64")
    assert rec.syscalls["SCMP_ARCH_X86"]["getpid"].count == 1
    m32, code, _ = _ebpf(tmp_path, str(workload("hello", "-m32")))
    assert code == 0 and m32.source.details["compat_calls"].startswith("recorded through ptrace")
    assert m32.names("SCMP_ARCH_X86_64") == {"execve"} and "write" in m32.names("SCMP_ARCH_X86")


def test_counts_arguments_and_exit_status(workload: Callable[..., Path], tmp_path: Path) -> None:
    rec, code, _ = _ebpf(tmp_path, str(workload("getppid_loop")), "20000")
    assert code == 0
    assert rec.syscalls["SCMP_ARCH_X86_64"]["getppid"].count == 20000
    rec, code, _ = _ebpf(tmp_path, "/bin/sh", "-c", "python3 -c 'import socket; socket.socket()'; exit 3")
    assert code == 3 and rec.exit_status == 3
    assert 2 in rec.syscalls["SCMP_ARCH_X86_64"]["socket"].args[0]  # AF_INET, read from pt_regs


def test_recording_starts_at_execve_of_cmd(tmp_path: Path) -> None:
    rec, code, _ = _ebpf(tmp_path, "/bin/true")
    assert code == 0
    assert rec.syscalls["SCMP_ARCH_X86_64"]["execve"].count == 1
    assert {p.exe for p in rec.processes} == {"/usr/bin/true"}
    assert "seccomp" not in rec.names() and "prctl" not in rec.names()  # the recorder's set-up stays out


def test_a_program_outside_the_cgroup_leaves_no_trace(workload: Callable[..., Path], tmp_path: Path) -> None:
    noise = subprocess.Popen([str(workload("getppid_loop")), "50000000"])
    try:
        rec, code, stderr = _ebpf(tmp_path, "/bin/sleep", "0.5")
    finally:
        noise.kill()
        noise.wait()
    assert code == 0, stderr
    assert "getppid" not in rec.names()
    assert {p.exe for p in rec.processes} == {"/usr/bin/sleep"}
    assert {use.first.pid for uses in rec.syscalls.values() for use in uses.values()} == {rec.processes[0].pid}


def test_daemon_grandchild_is_waited_for(workload: Callable[..., Path], tmp_path: Path) -> None:
    marker = tmp_path / "done"
    rec, code, _ = _ebpf(tmp_path, str(workload("daemon")), str(marker))
    assert code == 0 and marker.exists()
    assert "sysinfo" in rec.names()


def test_cgroup_is_removed_after_the_run(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "seccomp_gen", "record", "-q", "--engine", "ebpf", "-o",
                             str(out), "--", "/bin/true"])
    assert proc.wait(timeout=60) == 0
    assert _leftover_cgroups(proc.pid) == []


@pytest.fixture
def recorder_of_sleep(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    # SIGINT at its default, as in a terminal: run in the background of a shell (`cmd &`), the test
    # would inherit it ignored, and the recorder rightly keeps it ignored for CMD (launch/signals.py)
    proc = subprocess.Popen([sys.executable, "-m", "seccomp_gen", "record", "--engine", "ebpf", "-o",
                             str(tmp_path / "r.json"), "--", "/bin/sleep", "30"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _wait_for_cgroup_member(recorder: subprocess.Popen[str], comm: str = "sleep", timeout: float = 20) -> Path:
    """The launched child is cloned into the cgroup before it execs CMD: wait until CMD runs there."""
    from seccomp_gen.recorder.ebpf import cgroup
    from seccomp_gen.recorder.ebpf.engine import cgroup_dir_name

    path = cgroup.find_mount().path / cgroup_dir_name(recorder.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(_comm(pid) == comm for pid in cgroup.procs(path)):
            return path
        time.sleep(0.02)
    raise AssertionError(f"nothing ever ran in {path}")


def test_sigint_to_the_recorder_removes_the_cgroup(recorder_of_sleep: subprocess.Popen[str],
                                                    tmp_path: Path) -> None:
    path = _wait_for_cgroup_member(recorder_of_sleep)
    member = recording_pid = int((path / "cgroup.procs").read_text().split()[0])
    recorder_of_sleep.send_signal(signal.SIGINT)
    code = recorder_of_sleep.wait(timeout=30)
    assert code == 128 + signal.SIGINT, recorder_of_sleep.stderr.read() if recorder_of_sleep.stderr else ""
    assert not path.exists()
    assert not Path(f"/proc/{member}").exists()
    rec = recording.load(tmp_path / "r.json")
    assert rec.complete and rec.source.details["stopped_by"] == "SIGINT"  # sleep ended as SIGINT ends it
    assert recording_pid in {p.pid for p in rec.processes}


# ---------------------------------------------------------------- a running cgroup


@pytest.fixture
def running_cgroup() -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    from seccomp_gen.recorder.ebpf import cgroup

    path = cgroup.find_mount().path / f"sg-test-{os.getpid()}"
    path.mkdir()
    proc = subprocess.Popen(["/bin/sh", "-c", "while :; do cat /dev/null; sleep 0.05; done"])
    try:
        (path / "cgroup.procs").write_text(str(proc.pid))
        yield path, proc
    finally:
        (path / "cgroup.kill").write_text("1")
        proc.wait()
        remove_cgroup(path)


def test_record_a_running_cgroup_for_a_duration(running_cgroup: tuple[Path, subprocess.Popen[bytes]],
                                                 tmp_path: Path) -> None:
    path, proc = running_cgroup
    out = tmp_path / "cg.json"
    started = time.monotonic()
    result = cli("record", "--engine", "ebpf", "--cgroup", path.name, "--duration", "1s", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert 0.9 < time.monotonic() - started < 30
    assert proc.poll() is None  # the workload keeps running: it was not restarted
    rec = recording.load(out)
    assert rec.source.engine == "ebpf" and rec.source.details["cgroup"] == str(path)
    assert {"execve", "clock_nanosleep", "wait4"} <= rec.names("SCMP_ARCH_X86_64")
    assert not rec.complete and "from the moment" in rec.incomplete_reasons[0]
    assert any("compat calls" in w for w in rec.warnings) and "not told apart" in rec.source.details["compat_calls"]
    assert proc.pid in {p.pid for p in rec.processes}
    assert json.loads(out.read_text())["source"]["details"]["stopped_by"] == "duration"


def test_cli_usage_errors(tmp_path: Path) -> None:
    out = str(tmp_path / "r.json")
    for args in (["--duration", "1s", "--", "/bin/true"],
                 ["--engine", "ptrace", "--cgroup", "/x", "--", "/bin/true"],
                 ["--engine", "ebpf", "--cgroup", "/x", "--", "/bin/true"],
                 ["--engine", "ebpf", "--cgroup", "/x", "--duration", "soon"],
                 ["--engine", "ebpf", "-p", "1"]):
        proc = cli("record", "-o", out, *args)
        assert proc.returncode == 2, (args, proc.stderr)
    proc = cli("record", "-o", out, "--engine", "ebpf", "--cgroup", "/no/such/cgroup", "--duration", "1s")
    assert proc.returncode == 2 and "no such cgroup" in proc.stderr


# ---------------------------------------------------------------- clone3 into the cgroup


_CLONE_PROBE = """
import os, sys
from seccomp_gen.recorder.launch.clone_into import fork_into_cgroup
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
pid = fork_into_cgroup(fd)
if pid == 0:
    with open("/proc/self/cgroup") as handle:
        line = [l for l in handle if l.startswith("0::")][0]
    os._exit(0 if line.strip().endswith("/" + os.path.basename(sys.argv[1])) else 3)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
try:
    fork_into_cgroup(os.open("/", os.O_RDONLY | os.O_DIRECTORY))
except OSError as exc:
    print(exc.errno)
"""


def test_fork_into_cgroup_starts_the_child_there() -> None:
    """clone3(CLONE_INTO_CGROUP) from Python: the child is born in the cgroup (no migration, whose
    RCU wait was the engine's largest fixed cost) and exits normally; a fd that is not a cgroup v2
    directory is refused with an OSError, which the launcher answers with a plain fork."""
    from seccomp_gen.recorder.ebpf import cgroup

    with cgroup.fresh(cgroup.find_mount(), f"seccomp-gen-test-{os.getpid()}") as path:
        proc = subprocess.run([sys.executable, "-c", _CLONE_PROBE, str(path)], capture_output=True, text=True,
                              timeout=30)
    assert proc.returncode == 0, proc.stderr
    status, refused = proc.stdout.split()
    assert status == "0"
    assert int(refused) != 0


def test_launch_without_clone3_moves_the_child_at_exec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the kernel cannot clone into the cgroup (before 5.7, or a threaded caller), the child is
    forked as usual and moved at its execve: the recording is the same, set-up calls excluded."""
    from seccomp_gen.recorder.ebpf.engine import EbpfEngine
    from seccomp_gen.recorder.launch import spawn

    def unsupported(_fd: int) -> int:
        raise OSError(38, "ENOSYS")

    monkeypatch.setattr(spawn, "fork_into_cgroup", unsupported)
    moved = EbpfEngine(command=["/bin/true"]).record()
    cloned, code, _ = _ebpf(tmp_path, "/bin/true")
    assert code == 0 and moved.exit_status == 0
    counts = {arch: {n: u.count for n, u in uses.items()} for arch, uses in moved.syscalls.items()}
    assert counts == {arch: {n: u.count for n, u in uses.items()} for arch, uses in cloned.syscalls.items()}
    launcher_only = {"rt_sigaction", "seccomp", "prctl"}  # the child's set-up before CMD's execve
    assert not launcher_only & set(counts["SCMP_ARCH_X86_64"])
