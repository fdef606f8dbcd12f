"""Hostile inputs and faults, round 2 (issue 16): each case is run through the real CLI as a user or
an attacker would, and the only acceptable failure is the project's own one-line error, exit 2.

The file imports nothing of seccomp_gen on purpose: `PYTHONPATH=<old checkout> pytest` runs the same
cases against an older version, to show which of them it fails.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.process import cli

REPO = Path(__file__).parent.parent
SAMPLE = REPO / "samples" / "nostat" / "nostat.recording.json"
SAMPLE_PROFILE = REPO / "samples" / "nostat" / "seccomp-nostat.json"
CRIO = REPO / "generator" / "baselines" / "crio.json"


def _one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, a single `seccomp-gen: ...` line on stderr naming `words`, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seccomp-gen: "), proc.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]


def _sample() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SAMPLE.read_text())
    return doc


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


# ---------------------------------------------------------------- a profile looser than the baseline


def test_an_arch_the_baseline_lacks_is_refused_then_reported(tmp_path: Path) -> None:
    base = json.loads(SAMPLE_PROFILE.read_text())
    assert base["archMap"] == [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}]
    baseline = _write(tmp_path / "x86_64-only.json", base)
    doc = _sample()
    doc["syscalls"]["SCMP_ARCH_X86"] = {"write": {"count": 1, "first": {"pid": 1, "exe": "/app32"}}}
    rec = _write(tmp_path / "rec.json", doc)
    out = tmp_path / "out"
    refused = cli("generate", str(rec), "--name", "p", "--baseline", str(baseline), "--out", str(out))
    _one_line_error(refused, "SCMP_ARCH_X86", "--allow-arch")
    assert not (out / "p.json").exists()
    allowed = cli("generate", str(rec), "--name", "p", "--baseline", str(baseline), "--out", str(out),
                  "--allow-arch", "SCMP_ARCH_X86", "--format", "json")
    assert allowed.returncode == 0, allowed.stderr
    report = json.loads(allowed.stdout)
    assert report["widened_arches"] == ["SCMP_ARCH_X86"]
    assert any("SCMP_ARCH_X86" in w and "widening" in w for w in report["warnings"])


def test_a_directory_anyone_may_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # world-writable, not sticky: another user could swap our files
    proc = cli("generate", str(SAMPLE), "--name", "p", "--out", str(shared))
    _one_line_error(proc, "writable by every user")
    assert list(shared.iterdir()) == []
    rec = cli("record", "-o", str(shared / "r.json"), "--", "/bin/true")
    _one_line_error(rec, "writable by every user")
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)  # like /tmp: others cannot rename our files there
    assert cli("generate", str(SAMPLE), "--name", "p", "--out", str(sticky)).returncode == 0


def test_written_files_keep_their_mode_through_the_descriptor(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("generate", str(SAMPLE), "--name", "p", "--out", str(out)).returncode == 0
    for path in out.iterdir():
        assert stat.S_IMODE(path.lstat().st_mode) == 0o644 and path.is_file() and not path.is_symlink()


# ---------------------------------------------------------------- tracebacks and unbounded reads


def test_a_huge_duration_is_refused_with_its_line(tmp_path: Path) -> None:
    doc = _sample()
    doc["source"]["duration_s"] = 10**400
    rec = _write(tmp_path / "rec.json", doc)
    for args in (("show", str(rec)), ("generate", str(rec), "--name", "p", "--out", str(tmp_path / "o"))):
        _one_line_error(cli(*args), str(rec), "digits")


@pytest.mark.parametrize("where", ["syscalls", "comment"])
def test_a_profile_nested_100k_deep_is_refused(tmp_path: Path, where: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    rule = '{"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": ' + deep + "}" if where == "comment" else deep
    prof = tmp_path / "deep.json"
    prof.write_text('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [' + rule + "]}")
    for args in (("oci", str(prof)), ("check", "--profile", str(prof), str(SAMPLE)),
                 ("verify", "--profile", str(prof), "--", "/bin/true"),
                 ("generate", str(SAMPLE), "--name", "p", "--baseline", str(prof), "--out", str(tmp_path / "o")),
                 ("diff", str(prof), str(SAMPLE_PROFILE))):
        _one_line_error(cli(*args), str(prof), "nested")


def _limited(limit: int) -> Any:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_before_any_read(tmp_path: Path, device: str) -> None:
    cases = (("show", device), ("check", "--profile", device, str(SAMPLE)),
             ("verify", "--profile", device, "--", "/bin/true"),
             ("generate", str(SAMPLE), "--name", "p", "--baseline", device, "--out", str(tmp_path / "o")))
    for args in cases:
        # a 1 GiB address-space limit: an unbounded read would end in MemoryError, not a refusal
        _one_line_error(cli(*args, timeout=60, preexec_fn=_limited(1 << 30)), device, "character device")


def test_a_fifo_without_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _one_line_error(cli("show", str(fifo), timeout=20), str(fifo))


def test_a_pipe_is_read_bounded(tmp_path: Path) -> None:
    """`show <(cat rec.json)`: a pipe holds a document as well as a file does."""
    proc = subprocess.run(["bash", "-c", f'{sys.executable} -m seccomp_gen show <(cat "{SAMPLE}")'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "distinct syscalls" in proc.stdout, proc.stderr


@pytest.mark.parametrize("name", ["syscall_99999999999", "syscall_" + "9" * 4000])
def test_an_impossible_syscall_number_is_refused(tmp_path: Path, name: str) -> None:
    doc = _sample()
    doc["syscalls"]["SCMP_ARCH_X86_64"][name] = {"count": 1, "first": {"pid": 1, "exe": "/x"}}
    rec = _write(tmp_path / "rec.json", doc)
    _one_line_error(cli("check", "--profile", str(SAMPLE_PROFILE), str(rec)), str(rec))


@pytest.mark.parametrize("command", [
    ("show", str(SAMPLE)),
    ("check", "--profile", str(SAMPLE_PROFILE), str(SAMPLE)),
    ("diff", str(SAMPLE_PROFILE), str(SAMPLE_PROFILE)),
    ("generate", str(SAMPLE), "--name", "p", "--out", "{tmp}"),
], ids=["show", "check", "diff", "generate"])
def test_a_full_stdout_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    args = [a.replace("{tmp}", str(tmp_path / "o")) for a in command]
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "seccomp_gen", *args], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    _one_line_error(proc, "standard output", "No space left")


# ---------------------------------------------------------------- outputs the tool must read back


def test_merge_refuses_a_duration_json_cannot_hold(tmp_path: Path) -> None:
    doc = _sample()
    a = _write(tmp_path / "a.json", doc)
    text = json.dumps(doc).replace('"duration_s": 0.006', '"duration_s": 1e400')
    b = tmp_path / "b.json"
    b.write_text(text)
    merged = tmp_path / "m.json"
    _one_line_error(cli("merge", "-o", str(merged), str(a), str(b)), str(b), "1e400")
    assert not merged.exists()


def test_merge_saturates_counts_that_load_accepts(tmp_path: Path) -> None:
    doc = _sample()
    for use in doc["syscalls"]["SCMP_ARCH_X86_64"].values():
        use["count"] = 2**64 - 1
    a = _write(tmp_path / "a.json", doc)
    merged = tmp_path / "m.json"
    proc = cli("merge", "-o", str(merged), str(a), str(a))
    assert proc.returncode == 0, proc.stderr
    counts = {u["count"] for u in json.loads(merged.read_text())["syscalls"]["SCMP_ARCH_X86_64"].values()}
    assert counts == {2**64 - 1}
    assert cli("show", str(merged)).returncode == 0


def test_unknown_action_names_are_refused(tmp_path: Path) -> None:
    doc = _sample()
    doc["syscalls"]["SCMP_ARCH_X86_64"]["read"]["actions"] = {"SCMP_ACT_MAYBE": 3}
    rec = _write(tmp_path / "rec.json", doc)
    _one_line_error(cli("show", str(rec)), str(rec), "SCMP_ACT_MAYBE")


# ---------------------------------------------------------------- artifact sets that must not mix


def _two_recordings(tmp_path: Path) -> tuple[Path, Path]:
    doc = _sample()
    a = _write(tmp_path / "a.json", doc)
    doc["syscalls"]["SCMP_ARCH_X86_64"]["getpid"] = {"count": 1, "first": {"pid": 1, "exe": "/x"}}
    return a, _write(tmp_path / "b.json", doc)


def _slow_writes(tmp_path: Path, mode: str, runs: int) -> dict[str, Any]:
    a, b = _two_recordings(tmp_path)
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "support" / "slow_writes.py"), mode, str(runs),
                           str(tmp_path / "out"), "p", str(a), str(b)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    verdict: dict[str, Any] = json.loads(proc.stdout)
    return verdict


def test_sigkill_at_any_point_never_leaves_a_mixed_set(tmp_path: Path) -> None:
    verdict = _slow_writes(tmp_path, "kill", 200)
    assert verdict == {"runs": 200, "mixed": 0, "temps_after_next_run": [], "whole_after_next_run": True}


def test_concurrent_runs_into_one_directory_never_mix(tmp_path: Path) -> None:
    verdict = _slow_writes(tmp_path, "race", 30)
    assert verdict == {"runs": 30, "mixed": 0, "incomplete": 0, "temps": []}


def test_a_failed_temp_file_names_its_path(tmp_path: Path) -> None:
    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))  # every write past 64 bytes fails (EFBIG)
    out = tmp_path / "out"
    out.mkdir()
    proc = cli("generate", str(SAMPLE), "--name", "p", "--out", str(out), preexec_fn=small_files)
    _one_line_error(proc, str(out / "p.json"), "cannot write")
    assert [p.name for p in out.iterdir()] == []


# ---------------------------------------------------------------- misleading answers


def test_a_notify_baseline_is_not_called_unloadable(tmp_path: Path) -> None:
    base = json.loads(CRIO.read_text())["profile"]
    base["listenerPath"] = "/run/agent.sock"
    base["syscalls"].append({"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"})
    baseline = _write(tmp_path / "notify.json", base)
    doc = _sample()
    doc["syscalls"]["SCMP_ARCH_X86_64"]["getpid"] = {"count": 1, "first": {"pid": 1, "exe": "/x"}}
    rec = _write(tmp_path / "rec.json", doc)
    out = tmp_path / "out"
    proc = cli("generate", str(rec), "--name", "p", "--baseline", str(baseline), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "p.json").read_text())["listenerPath"] == "/run/agent.sock"


def test_a_zombie_and_a_traced_process_are_named_as_such(tmp_path: Path) -> None:
    zombie = subprocess.Popen(["/bin/true"])
    time.sleep(0.3)  # exited, not yet reaped
    try:
        _one_line_error(cli("record", "-p", str(zombie.pid), "-o", str(tmp_path / "z.json")), "zombie")
    finally:
        zombie.wait()
    target = subprocess.Popen(["sleep", "60"])
    tracer = subprocess.Popen(["strace", "-qq", "-o", os.devnull, "-p", str(target.pid)])
    try:
        deadline = time.monotonic() + 10
        while f"TracerPid:\t{tracer.pid}" not in Path(f"/proc/{target.pid}/status").read_text():
            assert time.monotonic() < deadline, "strace did not attach"
            time.sleep(0.05)
        proc = cli("record", "-p", str(target.pid), "-o", str(tmp_path / "t.json"))
        _one_line_error(proc, "already traced", str(tracer.pid))
    finally:
        for p in (tracer, target):
            p.kill()
            p.wait()


# ---------------------------------------------------------------- untrusted text


_HOSTILE_EXE = "/tmp/\x1b]0;owned\x07\x1b[2J\u202eexe\nfake line"


def test_show_escapes_terminal_controls(tmp_path: Path) -> None:
    doc = _sample()
    doc["source"]["command"] = [_HOSTILE_EXE]
    for use in doc["syscalls"]["SCMP_ARCH_X86_64"].values():
        use["first"]["exe"] = _HOSTILE_EXE
    rec = _write(tmp_path / "rec.json", doc)
    proc = cli("show", str(rec))
    assert proc.returncode == 0, proc.stderr
    for char in "\x1b\x07\u202e":
        assert char not in proc.stdout
    assert "fake line" not in "".join(line for line in proc.stdout.splitlines() if line.startswith("fake"))
    assert "\\x1b]0;owned" in proc.stdout and "\\u202e" in proc.stdout


def test_non_utf8_argv_and_path_are_recorded_losslessly(tmp_path: Path) -> None:
    odd = tmp_path.as_posix().encode() + b"/tr\xffue"
    os.symlink("/bin/true", odd)
    rec = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(rec), "--",
                           "/bin/echo", b"\xff\xfe".decode("utf-8", "surrogateescape")],
                          capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == b"\xff\xfe\n", proc.stderr[-2000:]
    assert json.loads(rec.read_bytes())["source"]["command"][1] == "\udcff\udcfe"
    rec2 = tmp_path / "r2.json"
    proc = subprocess.run([sys.executable.encode(), b"-m", b"seccomp_gen", b"record", b"-q", b"-o", bytes(rec2),
                           b"--", odd], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = cli("show", str(rec2))
    assert shown.returncode == 0 and "tr\\xffue" in shown.stdout, shown.stderr
