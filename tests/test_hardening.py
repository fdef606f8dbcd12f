"""Hostile inputs and faults: the only failure is the project's own error, one line, exit 2; outputs
are never half-written; the recorder never hangs or leaves a process behind."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_gen.cli import main
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.audit.engine import AuditLogEngine
from seccomp_gen.recorder.audit.inputs import Line
from seccomp_gen.recorder.audit.records import MalformedRecord, parse_header, syscall_event
from tests.support.process import cli, session_members

FUZZ = settings(max_examples=300, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _valid_recording() -> dict:
    return {"schema_version": 1, "complete": True, "exit_status": 0,
            "source": {"engine": "ptrace", "command": ["x"], "started": "", "duration_s": 0, "kernel": "",
                       "host_arch": "SCMP_ARCH_X86_64"},
            "syscalls": {"SCMP_ARCH_X86_64": {"read": {"count": 1, "first": {"pid": 1, "exe": "/x"}}}},
            "processes": []}


@FUZZ
@given(doc=_json)
def test_recording_reader_random_documents(doc: object) -> None:
    with contextlib.suppress(SeccompGenError):
        recording.loads(json.dumps(doc), "fuzz.json")


@FUZZ
@given(path=st.lists(st.sampled_from(["source", "syscalls", "SCMP_ARCH_X86_64", "read", "first", "count", "pid",
                                      "exe", "args", "0", "processes", "complete", "schema_version"]), max_size=4),
       value=_json)
def test_recording_reader_mutated_documents(path: list[str], value: object) -> None:
    doc: dict = _valid_recording()
    target = doc
    for key in path[:-1]:
        nxt = target.get(key) if isinstance(target, dict) else None
        if not isinstance(nxt, dict):
            break
        target = nxt
    if path and isinstance(target, dict):
        target[path[-1]] = value
    with contextlib.suppress(SeccompGenError):
        recording.loads(json.dumps(doc), "fuzz.json")


@FUZZ
@given(text=st.text(max_size=200))
def test_recording_reader_random_text(text: str) -> None:
    with contextlib.suppress(SeccompGenError):
        recording.loads(text, "fuzz.json")


# The profile reader's fuzz test is test_generate_profile.py::test_profile_reader_fails_only_with_its_own_error.


_AUDIT_PIECES = ["type=SECCOMP", "type=1326", "type=SYSCALL", "msg=audit(1700000000.1:5):", "audit(1.2:3):", "arch=",
                 "c000003e", "40000003", "deadbeef", "syscall=", "0", "99999999999", "-1", "pid=", "exe=", '"', "'",
                 "2F7573", "ZZ", "comm=", "code=", "0x7ffc0000", "a0=", "fffff", "ses=", " ", "=", "\\x00", "é"]


@FUZZ
@given(pieces=st.lists(st.sampled_from(_AUDIT_PIECES) | st.text(max_size=8), max_size=30))
def test_audit_record_parser(pieces: list[str]) -> None:
    line = "".join(pieces)
    header = parse_header(line)
    if header is not None and header.type_name in ("SECCOMP", "SYSCALL"):
        with contextlib.suppress(MalformedRecord):
            syscall_event(header)


@FUZZ
@given(lines=st.lists(st.lists(st.sampled_from(_AUDIT_PIECES), max_size=25).map("".join), max_size=20))
def test_audit_engine_on_random_lines(lines: list[str]) -> None:
    engine = AuditLogEngine(["fuzz"])
    engine.feed("fuzz", (Line("fuzz", n + 1, text) for n, text in enumerate(lines)))
    with contextlib.suppress(SeccompGenError):
        engine.finish()


_ARGS = ["record", "generate", "show", "verify", "check", "merge", "diff", "--audit-log", "-o", "-p", "--pid",
         "--engine", "log", "audit", "ptrace", "--name", "a/b", "x y", "--baseline", "nope", "--arch", "SCMP_ARCH_Z",
         "--cap", "CAP_NOPE", "--since", "yesterday", "--", "/nonexistent", "--profile", "--format", "junit", "-q",
         "--pin-cpu", "99", "--kill-after", "-1", "--rootfs", "/nonexistent", "\n", "$(rm -rf /)", "--out"]


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.sampled_from(_ARGS), max_size=7))
def test_cli_argument_handling(argv: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    if argv[:1] in (["record"], ["verify"], ["check"]) and ("--" in argv and "--audit-log" not in argv):
        argv = [a for a in argv if a != "--"]  # never launch arbitrary commands from the fuzzer
    work = tmp_path_factory.mktemp("cli")
    result = CliRunner().invoke(main, argv, catch_exceptions=True, env={"PWD": str(work)})
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exception)
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- outputs


def _sample_recording(tmp_path: Path) -> Path:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_valid_recording() | {"syscalls": {"SCMP_ARCH_X86_64": {
        name: {"count": 1, "first": {"pid": 1, "exe": "/x"}} for name in ("read", "write", "exit_group", "execve")}}}))
    return path


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))


def test_full_disk_leaves_no_partial_output(tmp_path: Path) -> None:
    rec = _sample_recording(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "generate", str(rec), "--name", "p", "--out", str(out)],
                          capture_output=True, text=True, timeout=60, preexec_fn=_limit_file_size)
    assert proc.returncode == 2 and "cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert list(out.iterdir()) == []  # all or nothing: no temp file, no profile without its MachineConfig


def test_output_symlink_and_directory_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    proc = cli("record", "-o", str(link), "--", "true")
    assert proc.returncode == 2 and "symlink" in proc.stderr
    assert target.read_text() == "keep"
    proc = cli("merge", str(_sample_recording(tmp_path)), "-o", str(tmp_path))
    assert proc.returncode == 2 and "directory" in proc.stderr


def test_device_output_is_refused_not_replaced(tmp_path: Path) -> None:
    proc = cli("record", "-o", "/dev/full", "--", "true")
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    assert Path("/dev/full").is_char_device()


@pytest.mark.parametrize("name", ["a;rm -rf x", "a\nb", "$(id)", "../x", "a b", ""])
def test_profile_names_with_metacharacters_are_refused(tmp_path: Path, name: str) -> None:
    proc = cli("generate", str(_sample_recording(tmp_path)), "--name", name, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists() or list((tmp_path / "o").iterdir()) == []


def test_sigpipe_on_stdout_ends_quietly(tmp_path: Path) -> None:
    """`show | head -c 10` of a table far larger than a pipe holds: the reader goes away mid-write,
    and seccomp-gen ends as a filter does (SIGPIPE, or 0), with nothing on stderr."""
    rec = _sample_recording(tmp_path)
    doc = json.loads(rec.read_text())
    for uses in doc["syscalls"].values():
        for use in uses.values():
            use["first"]["exe"] = "/opt/" + "x" * 40_000
    rec.write_text(json.dumps(doc))
    proc = subprocess.run(f"{sys.executable} -m seccomp_gen show {rec} | head -c 10 > /dev/null; "
                          f"echo status ${{PIPESTATUS[0]}}", shell=True, executable="/bin/bash",
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() in ("status 141", "status 0"), proc.stdout
    assert proc.stderr == ""


# ---------------------------------------------------------------- recorder under fault


Record = Callable[..., tuple[recording.Recording, int, str]]


def test_hundreds_of_quick_forks(record: Record) -> None:
    rec, code, _ = record("/bin/sh", "-c", "for i in $(seq 300); do /bin/true & done; wait")
    assert code == 0
    assert sum(1 for p in rec.processes if p.exe.endswith("/true")) == 300
    assert rec.complete


def test_tracee_exec_of_a_missing_file(record: Record) -> None:
    """The shell forks a child whose execve fails (ENOENT): that failed call is recorded, and the
    child is listed under the shell's exe, which it never left."""
    rec, code, _ = record("/bin/sh", "-c", "/nonexistent/prog; exit 0")
    plain, _, _ = record("/bin/sh", "-c", "exit 0")
    assert code == 0
    assert rec.syscalls["SCMP_ARCH_X86_64"]["execve"].count == plain.syscalls["SCMP_ARCH_X86_64"]["execve"].count + 1
    assert len(rec.processes) == 2 and len({p.exe for p in rec.processes}) == 1


def test_tracee_that_calls_ptrace_traceme(workload: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = cli("record", "-o", str(out), "--", str(workload("traceme")), timeout=60)
    assert proc.returncode == 0 and proc.stdout == "traceme EPERM\n"
    assert "ptrace" in recording.load(out).names()


def test_no_process_left_behind_after_an_interrupted_recording(tmp_path: Path) -> None:
    """CMD stops itself (SIGSTOP) with two children running; SIGTERM to the recorder: after the
    grace period every traced process is killed, none of its session survives it."""
    out = tmp_path / "r.json"
    recorder = subprocess.Popen(
        [sys.executable, "-m", "seccomp_gen", "record", "-q", "--kill-after", "0.5", "-o", str(out), "--",
         "/bin/sh", "-c", "sleep 60 & sleep 60 & kill -STOP $$; wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len(session_members(recorder.pid)) < 4 and time.monotonic() < deadline:  # recorder, sh, 2 sleeps
            time.sleep(0.05)
        assert len(session_members(recorder.pid)) >= 4
        recorder.send_signal(signal.SIGTERM)
        assert recorder.wait(timeout=30) != 0
        time.sleep(0.5)  # the killed tracees are reaped by init
        assert session_members(recorder.pid) == []
        assert not recording.load(out).complete
    finally:
        for pid in session_members(recorder.pid):
            os.kill(pid, signal.SIGKILL)


_VALUE = st.sampled_from(['"x"', '"a b"', "6D792070726F67", "2F7", "(null)", "?", '"', "0", "zz", "-1", "", "0x1f",
                          "40000003", "c000003e", "99999999999999999999"])


@FUZZ
@given(values=st.lists(_VALUE, min_size=8, max_size=8), extra=st.sampled_from(["", " subj=unconfined", " x=\"y"]),
       kind=st.sampled_from(["SECCOMP", "SYSCALL"]))
def test_audit_fast_path_never_disagrees(values: list[str], extra: str, kind: str) -> None:
    """Random values in the kernel's own layouts: the fast path either declines or agrees with the
    general parser (same event, or the general parser finds the record malformed)."""
    from seccomp_gen.recorder.audit.records import fast_event, general_event

    pid, comm, exe, arch, nr, code, a0, ppid = values
    if kind == "SECCOMP":
        body = (f"auid=0 uid=0 gid=0 ses=1{extra} pid={pid} comm={comm} exe={exe} sig=0 arch={arch} syscall={nr} "
                f"compat=0 ip=0x1 code=0x{code}")
    else:
        body = (f"arch={arch} syscall={nr} success=yes exit=0 a0={a0} a1=1 a2=2 a3=3 items=0 ppid={ppid} pid={pid}"
                f" auid=0 uid=0 ses=1{extra} comm={comm} exe={exe} key=(null)")
    try:
        fast = fast_event(kind, body)
    except MalformedRecord:
        with contextlib.suppress(MalformedRecord):
            general_event(kind, body)
            raise AssertionError("the fast path refused a record the general parser accepts") from None
        return
    if fast is None or fast.arch_token >= 2**32 or fast.nr >= 2**32:
        return
    assert fast == general_event(kind, body)
