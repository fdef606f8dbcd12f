"""The audit reader's block fast path (recorder/audit/blocks.py) gives what the line loop gives.

A file is read a block at a time; a block of plain auditd lines takes the fast path, everything else
the line loop that AuditLogEngine.feed() always uses. So feeding the same file's lines through feed()
is an oracle: the Recordings, the messages and the errors must be identical."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_gen.recorder.audit import blocks
from seccomp_gen.recorder.audit.engine import AuditFilter, AuditLogEngine
from seccomp_gen.recorder.audit.inputs import read_lines
from seccomp_gen.recorder.audit.loss import SerialTracker
from tests.support.audit_reading import recorded

REPO = Path(__file__).resolve().parent.parent
FUZZ = settings(max_examples=250, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_SECCOMP = ('auid=0 uid=0 gid=0 ses=3 subj=unconfined pid=7 comm="app" exe="/usr/bin/app" sig=0 arch=c000003e '
            'syscall=41 compat=0 ip=0x7f0000001000 code=0x7ffc0000\x1dARCH=x86_64 SYSCALL=socket AUID="root"')
_SYSCALL = ('arch=c000003e syscall=41 success=yes exit=3 a0=2 a1=80002 a2=0 a3=0 items=0 ppid=1 pid=8 auid=0 uid=0 '
            'gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4 comm=6D7920617070 exe="/usr/sbin/srv" '
            'subj=unconfined key="sg"')
_OTHERS = ["cwd=\"/\"", "proctitle=2F7573722F7362696E2F737276", "pid=1 uid=0 msg='op=PAM:session_open acct=\"root\"'",
           "", "op=start ver=3.0.9 res=success", "audit_lost=3 lost=2"]
_TYPES = ["SECCOMP", "SECCOMP", "SYSCALL", "SYSCALL", "PROCTITLE", "USER_START", "CWD", "EOE"]
_ODD_TYPES = ["1326", "DAEMON_START"]  # a block with one of these is left to the line loop
#: Pieces spliced into record bodies: the layouts' corner cases and malformed records.
_PIECES = [" ", "  ", "\x1d", "\t", '"', "pid=", " pid=9", " comm=", " exe=", "ZZ", "2F6", "\u0663", "\xa0", "\u2028",
           "syscall=4294967296", "arch=1c000003e", "code=0x", "ppid=", " lost=1", "callbacks suppressed", "x=y"]


def _both_ways(path: Path, filt: AuditFilter | None = None, strict: bool = False) -> tuple[Any, Any]:
    """(what the block reader makes of the file, what the line loop makes of it)."""
    filt = filt or AuditFilter()
    blockwise = recorded(lambda e: e.read_input(str(path)), [str(path)], filt, strict)
    linewise = recorded(lambda e: e.feed(str(path), read_lines(str(path))), [str(path)], filt, strict)
    return blockwise, linewise


@st.composite
def _logs(draw: st.DrawFn) -> str:
    lines = []
    serial = draw(st.integers(1, 10**6))
    types = _TYPES + _ODD_TYPES if draw(st.booleans()) else _TYPES
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(types))
        body = {"SECCOMP": _SECCOMP, "1326": _SECCOMP, "SYSCALL": _SYSCALL}.get(kind) or draw(st.sampled_from(_OTHERS))
        if draw(st.integers(0, 20)) == 0:
            body = ""  # "type=SECCOMP msg=audit(...):" and the line ends
        for _ in range(draw(st.integers(0, 2))):
            at = draw(st.integers(0, len(body)))
            cut = draw(st.integers(0, 3))
            body = body[:at] + draw(st.sampled_from(_PIECES)) + body[at + cut:]
        serial += draw(st.sampled_from([0, 1, 1, 1, 2, -1, 5000, -200000]))
        stamp = draw(st.sampled_from(["1700000000.123", "1700000001.5", "1700000002", "1700000003.123"]))
        lines.append(f"type={kind} msg=audit({stamp}:{max(serial, 0)}):" + (f" {body}" if body else ""))
    return "\n".join(lines) + "\n"


_FILTERS = [AuditFilter(), AuditFilter(pids=frozenset({7})), AuditFilter(exes=frozenset({"/usr/sbin/srv"})),
            AuditFilter(comms=frozenset({"my app"})), AuditFilter(since=1700000001.0, until=1700000002.5),
            AuditFilter(sessions=frozenset({"3"})), AuditFilter(exec_gate_pid=7)]


@FUZZ
@given(text=_logs(), which=st.integers(0, len(_FILTERS) - 1), strict=st.booleans())
def test_random_auditd_logs_read_as_the_line_loop_reads_them(text: str, which: int, strict: bool,
                                                               tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(text, encoding="utf-8")
    blockwise, linewise = _both_ways(log, _FILTERS[which], strict)
    assert blockwise == linewise


def test_a_realistic_log_takes_the_fast_path_and_reads_the_same(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "audit.log"
    subprocess.run([sys.executable, str(REPO / "benchmarks/gen_audit_log.py"), str(log), "--mb", "1.5"], check=True,
                   capture_output=True)
    blockwise, linewise = _both_ways(log)
    assert blockwise == linewise and blockwise["recording"]["source"]["details"]["records_used"] > 2000
    monkeypatch.setattr(AuditLogEngine, "_take", lambda *_: pytest.fail("a plain auditd block left the fast path"))
    AuditLogEngine([str(log)]).record()


def test_a_record_with_an_empty_body_does_not_hide_the_next_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(f"type=SECCOMP msg=audit(1700000000.100:1):\ntype=SECCOMP msg=audit(1700000000.100:2): {_SECCOMP}\n"
                   f"type=SYSCALL msg=audit(1700000000.100:3):\ntype=SYSCALL msg=audit(1700000000.100:4): {_SYSCALL}\n")
    blockwise, linewise = _both_ways(log)
    assert blockwise == linewise
    assert blockwise["recording"]["source"]["details"]["records_used"] == 2
    assert [m.split(": ")[1] for m in blockwise["log"]] == [f"{log}:1", f"{log}:3"]


def test_layouts_fit_the_kernels_records_only() -> None:
    """The fast path reads the kernel's layouts; a body it does not fit goes to the general parser."""
    fits = [f"\ntype=SECCOMP msg=audit(1700000000.100:2): {_SECCOMP}", f"\ntype=SYSCALL msg=audit(1.5:3): {_SYSCALL}"]
    assert all(next(blocks.records(text)).group(5) or next(blocks.records(text)).group(12) for text in fits)
    odd = [fits[0].replace(" pid=", "\x1dpid="), fits[0].replace("syscall=41", "syscall=\u0663"),
           fits[1].replace(" comm=", "  comm="), fits[1].replace("items=0 ", "items=0  ")]
    for text in odd:
        match = next(blocks.records(text))
        assert match.group(5) is None and match.group(12) is None and match.end() == len(text)


@FUZZ
@given(steps=st.lists(st.sampled_from([0, 1, 1, 1, 1, 2, -1, -3, 40, 20000, -150000]), max_size=700),
       start=st.integers(0, 10**6))
def test_serial_runs_are_seen_as_one_by_one(steps: list[int], start: int) -> None:
    serials, serial = [], start
    for step in steps:
        serial = max(serial + step, 0)
        serials.append(serial)
    one_by_one, in_runs = SerialTracker(), SerialTracker()
    for serial in serials:
        one_by_one.see(serial)
    in_runs.see_all(serials)
    assert (in_runs.last, in_runs.holes, in_runs.final_missing, in_runs.gaps) == \
        (one_by_one.last, one_by_one.holes, one_by_one.final_missing, one_by_one.gaps)
