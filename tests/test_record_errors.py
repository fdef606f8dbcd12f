"""Bad input to `record`: one clear line, the right exit status, nothing half-done, no traceback."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pyseccomp
import pytest

from tests.support.process import cli


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_command_not_found_exits_127(tmp_path: Path) -> None:
    proc = cli("record", "-o", str(tmp_path / "r.json"), "--", "no-such-command-xyz")
    assert proc.returncode == 127
    assert _one_line_error(proc) == "seccomp-gen: no-such-command-xyz: command not found"
    assert not (tmp_path / "r.json").exists()


def test_unwritable_output_fails_before_the_command_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    proc = cli("record", "-o", str(tmp_path / "missing-dir" / "r.json"), "--", "touch", str(marker))
    assert proc.returncode == 2
    assert "missing-dir" in _one_line_error(proc)
    assert not marker.exists()


def test_output_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    proc = cli("record", "-o", str(tmp_path), "--", "true")
    assert proc.returncode == 2 and "directory" in _one_line_error(proc)


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = cli("record", "-o", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_attach_to_missing_pid(tmp_path: Path) -> None:
    proc = cli("record", "-o", str(tmp_path / "r.json"), "-p", "4194303")
    assert proc.returncode == 2
    assert "no such process" in _one_line_error(proc)


def _deny_ptrace() -> None:
    """Runs in the recorder's process before exec: a seccomp filter that refuses ptrace, as a
    container's runtime/default profile does."""
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.add_rule(pyseccomp.ERRNO(errno.EPERM), "ptrace")
    flt.load()


def test_ptrace_blocked_by_seccomp_says_why(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "-o", str(tmp_path / "r.json"),
                           "--", "true"], capture_output=True, text=True, timeout=60, preexec_fn=_deny_ptrace)
    assert proc.returncode == 2
    line = _one_line_error(proc)
    assert line.startswith("seccomp-gen: ptrace not permitted") and "seccomp" in line
    assert not (tmp_path / "r.json").exists()


def test_ptrace_without_privilege_says_why(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user")
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*as_nobody, sys.executable, "-c", "import seccomp_gen.cli"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("the unprivileged user cannot read this checkout's virtualenv")
    # Attaching to a root process as an unprivileged user is refused by the kernel.
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           sys.executable, "-m", "seccomp_gen", "record", "-o", "/tmp/nobody-r.json",
                           "-p", "1"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 2
    assert "ptrace not permitted" in _one_line_error(proc)
