"""verify, check, merge and diff against real runs: the kernel enforces, the tracer reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from tests.support.process import cli

X86_64 = "SCMP_ARCH_X86_64"


def _profile_for(tmp_path: Path, *argv: str, name: str = "p", drop: tuple[str, ...] = ()) -> Path:
    """Record argv, generate its profile (crio), optionally drop names from every rule."""
    rec = tmp_path / f"{name}.recording.json"
    proc = cli("record", "-q", "-o", str(rec), "--", *argv)
    assert rec.exists(), proc.stderr
    out = tmp_path / "out"
    proc = cli("generate", str(rec), "--name", name, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    path = out / f"{name}.json"
    if drop:
        doc = json.loads(path.read_text())
        for rule in doc["syscalls"]:
            rule["names"] = [n for n in rule["names"] if n not in drop]
        doc["syscalls"] = [r for r in doc["syscalls"] if r["names"]]
        path.write_text(json.dumps(doc))
    return path


def test_verify_passes_a_workload_under_its_own_profile(workload: Callable[..., Path], tmp_path: Path) -> None:
    binary = str(workload("threads"))
    profile = _profile_for(tmp_path, binary)
    proc = cli("verify", "--profile", str(profile), "--", binary)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "threads done\n"
    # crio answers clone3 with ENOSYS on purpose (glibc falls back to clone): reported, with its errno.
    assert "clone3" not in proc.stderr or "SCMP_ACT_ERRNO(38)" in proc.stderr


def test_verify_enforces_and_names_each_denied_call(workload: Callable[..., Path], tmp_path: Path) -> None:
    binary = str(workload("errno_probe"))
    profile = _profile_for(tmp_path, binary, drop=("getppid",))
    proc = cli("verify", "--profile", str(profile), "--", binary)
    assert proc.returncode == 0
    assert proc.stdout == "getppid errno 38\n"  # the profile's default answer (crio: ENOSYS), as the kernel gives it
    assert "1 denied syscalls: getppid(X86_64)" in proc.stderr
    assert "errno_probe" in proc.stderr and "SCMP_ACT_ERRNO(38)" in proc.stderr


def test_verify_complain_lets_denied_calls_succeed(workload: Callable[..., Path], tmp_path: Path) -> None:
    binary = str(workload("errno_probe"))
    profile = _profile_for(tmp_path, binary, drop=("getppid",))
    proc = cli("verify", "--complain", "--profile", str(profile), "--", binary)
    assert proc.returncode == 0 and proc.stdout == "getppid ok\n"
    assert "getppid(X86_64)" in proc.stderr


def test_verify_names_compat_calls_by_their_arch(workload: Callable[..., Path], tmp_path: Path) -> None:
    binary = str(workload("int80"))
    profile = _profile_for(tmp_path, binary)
    doc = json.loads(profile.read_text())
    assert doc["archMap"] == [{"architecture": X86_64, "subArchitectures": ["SCMP_ARCH_X86"]}]
    # Deny getpid: the i386 call (and the x86_64 one) are reported under their own arch.
    proc = cli("verify", "--profile", str(_profile_for(tmp_path, binary, name="q", drop=("getpid",))), "--", binary)
    assert "getpid(X86)" in proc.stderr and "getpid(X86_64)" in proc.stderr


def test_verify_passes_the_exit_status_through(workload: Callable[..., Path], tmp_path: Path) -> None:
    binary = str(workload("crash"))
    proc = cli("verify", "--profile", str(_profile_for(tmp_path, binary)), "--", binary)
    assert proc.returncode == 139 and "0 denied syscalls" in proc.stderr


def test_check_recordings_gate(workload: Callable[..., Path], tmp_path: Path) -> None:
    binary = str(workload("errno_probe"))
    profile = _profile_for(tmp_path, binary, drop=("getppid",))
    rec = tmp_path / "new.json"
    cli("record", "-q", "-o", str(rec), "--", binary)
    proc = cli("check", "--profile", str(profile), str(rec))
    assert proc.returncode == 1
    assert "getppid" in proc.stdout and "errno_probe" in proc.stdout and "ERRNO(38)" in proc.stdout
    doc = json.loads(cli("check", "--profile", str(profile), "--format", "json", str(rec)).stdout)
    assert [m["syscall"] for m in doc["missing"]] == ["getppid"]
    junit = ET.fromstring(cli("check", "--profile", str(profile), "--format", "junit", str(rec)).stdout)
    assert junit.get("failures") == "1" and junit.find("testcase/failure") is not None
    full = _profile_for(tmp_path, binary, name="full")
    ok = cli("check", "--profile", str(full), str(rec))
    assert ok.returncode == 0 and ok.stdout.startswith("ok:")


def test_check_a_command_run(workload: Callable[..., Path], tmp_path: Path) -> None:
    binary = str(workload("errno_probe"))
    profile = _profile_for(tmp_path, binary, drop=("getppid",))
    proc = cli("check", "--profile", str(profile), "--", binary)
    assert proc.returncode == 1 and "getppid" in proc.stdout
    assert "getppid ok" in proc.stdout  # complain mode: the command ran unhindered
    report = tmp_path / "check.xml"
    junit = cli("check", "--profile", str(profile), "--format", "junit", "--report", str(report), "--", binary)
    assert junit.returncode == 1 and junit.stdout == "getppid ok\n"  # the report stays out of CMD's output
    assert ET.parse(report).getroot().get("failures") == "1"
    clean = cli("check", "--profile", str(_profile_for(tmp_path, binary, name="ok")), "--", binary)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_check_honours_argument_rules(tmp_path: Path, workload: Callable[..., Path]) -> None:
    """socket(AF_VSOCK) is denied by containers-common's argument rule even though socket is allowed."""
    binary = str(workload("sockets"))
    rec = tmp_path / "r.json"
    cli("record", "-q", "-o", str(rec), "--", binary)
    doc = json.loads(rec.read_text())
    doc["syscalls"][X86_64]["socket"]["args"]["0"] = [2, 40]  # AF_INET and AF_VSOCK
    rec.write_text(json.dumps(doc))
    out = tmp_path / "out"
    cli("generate", str(rec), "--name", "s", "--out", str(out), "--baseline", "containers-common")
    proc = cli("check", "--profile", str(out / "s.json"), str(rec))
    assert proc.returncode == 1 and "socket" in proc.stdout


def test_merge_and_diff(workload: Callable[..., Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    cli("record", "-q", "-o", str(a), "--", str(workload("threads")))
    cli("record", "-q", "-o", str(b), "--", str(workload("errno_probe")))
    merged = tmp_path / "m.json"
    assert cli("merge", str(a), str(b), "-o", str(merged)).returncode == 0
    ra, rb, rm = recording.load(a), recording.load(b), recording.load(merged)
    assert rm.names() == ra.names() | rb.names()
    execs = [r.syscalls[X86_64]["execve"].count for r in (ra, rb, rm)]
    assert execs[2] == execs[0] + execs[1]
    same = cli("diff", str(a), str(a))
    assert same.returncode == 0 and "no differences" in same.stdout
    changed = cli("diff", "--format", "json", str(a), str(merged))
    assert changed.returncode == 1
    added = {c["subject"] for c in json.loads(changed.stdout) if c["kind"] == "added"}
    assert f"{X86_64}/sched_yield" not in added and f"{X86_64}/getppid" in added
    pa = _profile_for(tmp_path, str(workload("threads")), name="pa")
    pb = tmp_path / "pb.json"
    doc = json.loads(pa.read_text())
    doc["syscalls"][0]["names"].append("ptrace")
    pb.write_text(json.dumps(doc))
    proc = cli("diff", str(pa), str(pb))
    assert proc.returncode == 1 and "ptrace" in proc.stdout and "added" in proc.stdout
    mixed = cli("diff", str(a), str(pa))
    assert mixed.returncode == 2 and "not of one kind" in mixed.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [("{ not json", "invalid JSON"), ('{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": '
                                     '"SCMP_ARCH_Z80"}], "syscalls": []}', "Z80")],
)
def test_verify_and_check_bad_profiles(tmp_path: Path, content: str, message: str) -> None:
    profile = tmp_path / "bad.json"
    profile.write_text(content)
    for command in ("verify", "check"):
        proc = cli(command, "--profile", str(profile), "--", "true")
        assert proc.returncode == 2 and message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_verify_missing_command_is_127(workload: Callable[..., Path], tmp_path: Path) -> None:
    profile = _profile_for(tmp_path, str(workload("errno_probe")))
    proc = cli("verify", "--profile", str(profile), "--", "no-such-command-xyz")
    assert proc.returncode == 127 and "command not found" in proc.stderr


def test_oci_prints_the_resolved_linux_seccomp(tmp_path: Path) -> None:
    proc = cli("oci", str(Path(__file__).parent.parent / "samples/nostat/seccomp-nostat.json"))
    assert proc.returncode == 0, proc.stderr
    spec = json.loads(proc.stdout)
    assert spec["architectures"] == [X86_64] and spec["defaultErrnoRet"] == 38
    assert all(set(rule) <= {"names", "action", "errnoRet", "args"} for rule in spec["syscalls"])
    with_cap = json.loads(cli("oci", "--cap", "SYS_ADMIN",
                              str(Path(__file__).parent.parent / "samples/nostat/seccomp-nostat.json")).stdout)
    assert with_cap["syscalls"] != spec["syscalls"]  # CAP_SYS_ADMIN-gated rules resolve differently
