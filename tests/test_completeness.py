"""Completeness tells the truth: attach takes the whole tree, a run that ends on its own after a
forwarded signal is complete, a kill leaves nothing behind, repeated runs show timing-dependent calls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seccomp_gen.recorder import recording
from tests.support.process import cli, session_members


def _recorder(out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "seccomp_gen", "record", "-o", str(out), *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_attach_records_children_that_were_already_running(workload: Callable[..., Path], tmp_path: Path) -> None:
    family = subprocess.Popen([str(workload("family"))], start_new_session=True)
    try:
        _wait_for(lambda: len(session_members(family.pid)) == 3)
        out = tmp_path / "a.json"
        recorder = subprocess.Popen([sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", str(out), "-p",
                                     str(family.pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(timeout=30) == 0, recorder.stderr.read() if recorder.stderr else ""
        rec = recording.load(out)
        assert "getpgid" in rec.names()  # only the children call it
        assert {p.pid for p in rec.processes} == set(session_members(family.pid))
        assert not rec.complete and "2 process(es) below it" in rec.incomplete_reasons[0]
        assert rec.source.details["attached_processes"] == 3
        assert len(session_members(family.pid)) == 3  # detached: they keep running
    finally:
        os.killpg(family.pid, signal.SIGKILL)
        family.wait()


def test_a_server_that_exits_on_sigterm_gives_a_complete_recording(tmp_path: Path) -> None:
    server = tmp_path / "server.py"
    server.write_text("import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
                      "print('up', flush=True)\nwhile True:\n    time.sleep(0.05)\n")
    out = tmp_path / "s.json"
    recorder = _recorder(out, "--", sys.executable, str(server))
    assert recorder.stdout is not None and recorder.stdout.readline() == "up\n"
    recorder.send_signal(signal.SIGTERM)
    assert recorder.wait(timeout=30) == 0
    rec = recording.load(out)
    assert rec.complete and rec.exit_status == 0 and rec.source.details["stopped_by"] == "SIGTERM"


def test_kill_after_zero_kills_at_once(workload: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    recorder = _recorder(out, "--kill-after", "0", "--", str(workload("ignore_term")))
    _wait_for(lambda: len(session_members(recorder.pid)) >= 2)
    time.sleep(0.2)
    started = time.monotonic()
    recorder.send_signal(signal.SIGTERM)
    assert recorder.wait(timeout=30) == 128 + signal.SIGKILL
    assert time.monotonic() - started < 2.0  # not the default 5 s grace
    rec = recording.load(out)
    assert not rec.complete and "SIGKILL after SIGTERM" in rec.incomplete_reasons[0]


def test_a_fork_storm_leaves_no_process_after_the_kill(tmp_path: Path) -> None:
    """Children forked while the kill is under way are killed as they are reported."""
    out = tmp_path / "f.json"
    storm = "f() { if [ $1 -gt 0 ]; then f $(($1-1)) & f $(($1-1)) & fi; exec sleep 30; }; f 8"
    recorder = _recorder(out, "--kill-after", "0", "--", "/bin/sh", "-c", storm)
    try:
        _wait_for(lambda: len(session_members(recorder.pid)) >= 40)
        started = time.monotonic()
        recorder.send_signal(signal.SIGTERM)
        recorder.wait(timeout=60)
        assert time.monotonic() - started < 10  # no straggler kept it waiting (each would sleep 30 s)
        time.sleep(0.5)  # the killed tracees are reaped by init
        assert session_members(recorder.pid) == []
    finally:
        for pid in session_members(recorder.pid):
            os.kill(pid, signal.SIGKILL)


def test_repeated_runs_list_the_calls_seen_in_only_some(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    script = f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; [ $n = 1 ] && ls / >/dev/null; :"
    out = tmp_path / "r.json"
    proc = cli("record", "--repeat", "3", "-o", str(out), "--", "/bin/sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    rec = recording.load(out)
    assert rec.runs == 3 and counter.read_text() == "3\n"
    some = rec.in_some_runs()["SCMP_ARCH_X86_64"]
    assert some["getdents64"] == 1 and "execve" not in some
    assert "seen in only some of 3 runs" in proc.stderr and "getdents64(X86_64) 1/3" in proc.stderr
    report = cli("generate", str(out), "--name", "r", "--out", str(tmp_path / "o")).stdout
    assert "Seen in only some of 3 runs" in report and "getdents64(X86_64):1/3" in report
    assert recording.load(out) == recording.loads(out.read_text())
