"""With a real auditd (started by the test, with a private config, and stopped again): complain mode
harvests from its log, and the same log read back offline gives the ptrace recording's set."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from tests.support.process import cli, need_tool

Record = Callable[..., tuple[recording.Recording, int, str]]


def _status() -> dict[str, str]:
    out = subprocess.run(["auditctl", "-s"], capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def _auditd_pid() -> int:
    return int(_status().get("pid", "0").split()[0])


@pytest.fixture
def auditd(tmp_path: Path) -> Iterator[Path]:
    """A running auditd writing to a log under tmp_path; the machine is restored afterwards."""
    if os.geteuid() != 0:
        pytest.skip("starting auditd needs root")
    need_tool("auditd", "auditd")
    need_tool("auditctl", "auditd")
    if _auditd_pid():
        pytest.skip("an auditd is already running: not touching it")
    before = _status()
    conf_dir = tmp_path / "auditd"
    conf_dir.mkdir(mode=0o750)
    log = conf_dir / "audit.log"
    template = Path("/etc/audit/auditd.conf")
    text = template.read_text() if template.exists() else "log_format = ENRICHED\nflush = INCREMENTAL_ASYNC\n"
    text = re.sub(r"(?m)^\s*log_file\s*=.*$", "", text) + f"\nlog_file = {log}\n"
    (conf_dir / "auditd.conf").write_text(text)
    os.chmod(conf_dir / "auditd.conf", 0o640)
    subprocess.run(["auditd", "-c", str(conf_dir)], check=True, timeout=30)
    try:
        deadline = time.monotonic() + 15
        while not _auditd_pid() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _auditd_pid(), "auditd did not start"
        subprocess.run(["auditctl", "-b", "8192"], capture_output=True, check=False)
        yield log
    finally:
        pid = _auditd_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        subprocess.run(["auditctl", "-D"], capture_output=True, check=False)
        subprocess.run(["auditctl", "-e", before.get("enabled", "0").split()[0]], capture_output=True, check=False)
        subprocess.run(["auditctl", "-b", before.get("backlog_limit", "64").split()[0]], capture_output=True,
                       check=False)


def test_complain_mode_through_auditd_equals_ptrace(auditd: Path, workload: Callable[..., Path], record: Record,
                                                    tmp_path: Path) -> None:
    binary = str(workload("spawn"))
    out = tmp_path / "log.json"
    proc = cli("record", "--engine", "log", "-o", str(out), "--", binary)
    assert proc.returncode == 0, proc.stderr
    logged = recording.load(out)
    assert logged.source.details["harvested_from"] == "auditd"
    traced, _, _ = record(binary)
    assert logged.complete, logged.incomplete_reasons
    assert {a: set(u) for a, u in logged.syscalls.items()} == {a: set(u) for a, u in traced.syscalls.items()}
    # The same audit trail, read back offline and filtered to the workload's session, says the same.
    session = logged.source.details["audit_session"]
    offline = tmp_path / "offline.json"
    proc = cli("record", "--audit-log", str(auditd), "-o", str(offline), "--exe", os.path.realpath(binary))
    assert proc.returncode == 0, proc.stderr
    names_offline = recording.load(offline).names()
    assert names_offline <= logged.names() and {"clone3", "vfork", "sysinfo", "getpgid"} <= names_offline
    assert session, logged.warnings
