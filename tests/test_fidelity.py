"""A program under `record` (every engine) and `verify` sees what it sees unrecorded: its CPU
affinity, environment, fds, rlimits, signal state and umask - so a recording is production's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from tests.support.process import cli, need_tool, strace_names

ENGINES = ("ptrace", "log", "ebpf")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the log and ebpf engines need root")
#: What a process can see of its own state, printed by a shell.
STATE = ("ls -l /proc/self/fd | tail -n +2 | awk '{print $9, $10, $11}' | grep -v ' /proc/'"
         " | sed -E 's/:\\[[0-9]+\\]//'; ulimit -a; umask; "
         "grep -E '^(SigBlk|SigIgn|SigCgt|NoNewPrivs)' /proc/self/status; nproc; env | sort")


def _native(argv: list[str], env: dict[str, str] | None = None) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env).stdout


def _recorded(tmp_path: Path, engine: str, argv: list[str], env: dict[str, str] | None = None) -> str:
    out = tmp_path / f"{engine}.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "--engine", engine, "-o", str(out),
                           "--", *argv], capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0 and out.exists(), proc.stderr
    return proc.stdout


def _verified(tmp_path: Path, argv: list[str], env: dict[str, str] | None = None) -> str:
    """CMD under `verify` with a profile generated from its own recording."""
    rec = tmp_path / "v.json"
    assert cli("record", "-q", "-o", str(rec), "--", *argv).returncode == 0
    assert cli("generate", str(rec), "--name", "v", "--out", str(tmp_path / "v")).returncode == 0
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "verify", "--complain", "--profile",
                           str(tmp_path / "v" / "v.json"), "--", *argv], capture_output=True, text=True, timeout=180,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@root_only
@pytest.mark.parametrize("engine", ENGINES)
def test_process_state_is_the_native_one(engine: str, tmp_path: Path) -> None:
    """fds (the recorder's own are close-on-exec), rlimits, umask, signal mask and dispositions,
    the CPU count and the environment, as a shell sees them."""
    argv = ["/bin/sh", "-c", STATE]
    assert _recorded(tmp_path, engine, argv) == _native(argv)


@root_only
@pytest.mark.parametrize("engine", ENGINES)
def test_signals_the_caller_ignored_stay_ignored(engine: str, tmp_path: Path) -> None:
    """A caller that ignores signals (nohup: SIGHUP; make: glibc's internal 32 and 33, which no
    Python call can set): CMD starts with them ignored, recorded or not."""
    make = need_tool("make", "make")
    record = f"{sys.executable} -m seccomp_gen record -q --engine {engine} -o {tmp_path / 'r.json'} --"
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"all:\n\t@grep SigIgn /proc/self/status\n\t@{record} grep SigIgn /proc/self/status\n")
    proc = subprocess.run(["nohup", make, "-s", "-f", str(makefile)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    native, recorded = proc.stdout.splitlines()
    assert recorded == native and int(native.split()[1], 16) & (1 << (signal.SIGHUP - 1)), proc.stderr


def test_process_state_under_verify_is_the_native_one(tmp_path: Path) -> None:
    """The same, but no_new_privs: verify sets it on purpose, as restricted-v2's runtime does."""
    argv = ["/bin/sh", "-c", STATE.replace("|NoNewPrivs", "")]
    assert _verified(tmp_path, argv) == _native(argv)


@root_only
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("lang", [None, "C"])
def test_environment_is_byte_for_byte_the_callers(engine: str, lang: str | None, tmp_path: Path) -> None:
    """With LANG unset or C the interpreter coerces its own locale (PEP 538, LC_CTYPE=C.UTF-8): CMD
    must not inherit that."""
    env = {"PATH": "/usr/bin:/bin", "ODD": "x\x7fy z", **({"LANG": lang} if lang else {})}
    argv = ["/usr/bin/env"]
    recorded = _recorded(tmp_path, engine, argv, env=env)
    assert recorded == _native(argv, env=env)
    assert "LC_CTYPE" not in recorded


def test_environment_under_verify_is_the_callers(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    assert _verified(tmp_path, ["/usr/bin/env"], env=env) == _native(["/usr/bin/env"], env=env)


@pytest.mark.parametrize("pin", ["auto", "0"])
def test_a_pinned_recording_shows_the_original_affinity(pin: str, tmp_path: Path) -> None:
    """nproc (sched_getaffinity) prints the machine's count, not the one CPU the recording runs on;
    a task that sets its own affinity is answered by the kernel from then on, and so is its child."""
    script = ("import os; print(sorted(os.sched_getaffinity(0))); os.sched_setaffinity(0, {0}); "
              "print(sorted(os.sched_getaffinity(0))); pid = os.fork()\n"
              "if pid == 0: print(sorted(os.sched_getaffinity(0))); os._exit(0)\n"
              "os.waitpid(pid, 0)")
    argv = ["/usr/bin/python3", "-c", script]
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "--pin-cpu", pin, "-o", str(out),
                           "--", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _native(argv)
    rec = recording.load(out)
    assert rec.source.details["pinned_cpu"] is not None
    assert rec.syscalls["SCMP_ARCH_X86_64"]["sched_getaffinity"].count >= 3
    nproc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "--", "nproc"],
                           capture_output=True, text=True, timeout=60)
    assert nproc.stdout == _native(["nproc"]) == f"{len(os.sched_getaffinity(0))}\n"


def test_a_jvm_sizes_itself_as_in_production(tmp_path: Path) -> None:
    java = need_tool("java", "openjdk-17-jre-headless")
    argv = [java, "-XshowSettings:system", "-version"]

    def cpu_line(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if "CPU Count" in line]

    native = subprocess.run(argv, capture_output=True, text=True, timeout=120).stderr
    out = tmp_path / "j.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "--", *argv],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0
    assert cpu_line(proc.stderr) == cpu_line(native) and cpu_line(native)


@pytest.fixture(scope="module")
def go_spinner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = need_tool("go", "golang-go")
    work = tmp_path_factory.mktemp("go")
    binary = work / "spin"
    env = {**os.environ, "HOME": str(work), "GOCACHE": str(work / "cache"), "GOPATH": str(work / "path"),
           "GOFLAGS": "-mod=mod", "GO111MODULE": "off"}
    source = Path(__file__).parent / "workloads" / "spin.go"
    proc = subprocess.run([go, "build", "-o", str(binary), str(source)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return binary


def test_a_go_program_sizes_its_scheduler_as_in_production(go_spinner: Path, tmp_path: Path) -> None:
    """Go reads GOMAXPROCS from the affinity mask: the recording runs the scheduler production runs,
    so the preemption signals (tgkill) plain runs send are in every recording."""
    native = _native([str(go_spinner)])
    uses_tgkill = "tgkill" in strace_names([str(go_spinner)], tmp_path)
    for _ in range(3):
        out = tmp_path / "g.json"
        proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "--",
                               str(go_spinner)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout == native, proc.stderr
        if uses_tgkill:
            assert "tgkill" in recording.load(out).names()


def test_recording_holds_what_the_program_did(tmp_path: Path) -> None:
    """The environment fix changes what is recorded: a recorded `ls` under LANG=C opens no locale
    archive that the plain run does not open."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C"}
    out = tmp_path / "ls.json"
    strace = need_tool("strace", "strace")
    log = tmp_path / "strace.out"
    subprocess.run([strace, "-f", "-qq", "-e", "trace=openat", "-o", str(log), "ls", "/"], env=env,
                   capture_output=True, timeout=60)
    native_opens = log.read_text().count("openat(")
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "--", "ls", "/"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert recording.load(out).syscalls["SCMP_ARCH_X86_64"]["openat"].count == native_opens

