"""`record --audit-log`: every input form, filters, loss evidence, and bad input.

Record lines here follow the kernel's own format (see tests/fixtures/audit/ for logs the kernel of a
test machine really wrote; test_audit_fixtures.py reads those)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from seccomp_gen.recorder.audit import AuditLogEngine
from tests.support.process import cli

X86_64, X86 = "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"


def seccomp(serial: int, nr: int, *, pid: int = 100, arch: str = "c000003e", exe: str = '"/usr/bin/app"',
            comm: str = '"app"', code: str = "0x7ffc0000", ts: str = "1700000000.100", kernel: bool = False) -> str:
    body = (f"auid=0 uid=0 gid=0 ses=3 pid={pid} comm={comm} exe={exe} sig=0 arch={arch} syscall={nr} "
            f"compat={int(arch == '40000003')} ip=0x7f0000001000 code={code}")
    if kernel:
        return f"[  {serial}.000001] audit: type=1326 audit({ts}:{serial}): {body}"
    return f"type=SECCOMP msg=audit({ts}:{serial}): {body}"


def syscall_rec(serial: int, nr: int, *, pid: int = 200, a0: str = "2", a1: str = "80002") -> str:
    return (f"type=SYSCALL msg=audit(1700000000.200:{serial}): arch=c000003e syscall={nr} success=yes exit=3 "
            f"a0={a0} a1={a1} a2=0 a3=0 items=0 ppid=1 pid={pid} auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
            f'egid=0 sgid=0 fsgid=0 tty=(none) ses=3 comm="srv" exe="/usr/sbin/srv" key="sg"')


def read(tmp_path: Path, *lines: str, args: tuple[str, ...] = (), name: str = "audit.log"
         ) -> tuple[recording.Recording | None, subprocess.CompletedProcess[str]]:
    log = tmp_path / name
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "rec.json"
    out.unlink(missing_ok=True)
    proc = cli("record", "--audit-log", str(log), "-o", str(out), *args)
    return (recording.load(out) if out.exists() else None), proc


def test_seccomp_and_syscall_records_with_noise(tmp_path: Path) -> None:
    rec, proc = read(
        tmp_path,
        'type=USER_START msg=audit(1700000000.050:1): pid=1 uid=0 msg=\'op=PAM:session_open acct="root" res=success\'',
        seccomp(2, 0), seccomp(3, 257), seccomp(4, 0),
        'type=AVC msg=audit(1700000000.150:5): avc:  denied  { read } for  pid=7 comm="x"',
        syscall_rec(6, 41),
        "type=PROCTITLE msg=audit(1700000000.200:6): proctitle=2F7573722F7362696E2F737276",
        "type=EOE msg=audit(1700000000.200:6): ",
        "this line is not an audit record",
    )
    assert rec is not None, proc.stderr
    assert rec.syscalls[X86_64]["read"].count == 2
    assert rec.syscalls[X86_64]["read"].actions == {"SCMP_ACT_LOG": 2}
    assert rec.syscalls[X86_64]["openat"].first.exe == "/usr/bin/app"
    assert rec.syscalls[X86_64]["socket"].args == {0: (2,), 1: (0x80002,), 2: (0,)}  # the SYSCALL record's a0-a2
    assert rec.source.engine == "audit" and rec.complete
    assert rec.source.details["non_audit_lines"] == 1 and rec.source.details["other_audit_records"] == 4


def test_kernel_journal_and_ausearch_forms(tmp_path: Path) -> None:
    journal = "Nov 28 12:00:00 node1 kernel: " + seccomp(10, 39, kernel=True).split("] ", 1)[1]
    rec, proc = read(tmp_path, seccomp(8, 0, kernel=True), seccomp(9, 1, kernel=True), journal,
                     "node=worker-1 " + seccomp(11, 60), "----")
    assert rec is not None, proc.stderr
    assert {"read", "write", "getpid", "exit"} == rec.names(X86_64)
    assert rec.source.details["nodes"] == ["node1", "worker-1"]  # the journal's hostname is its node


def test_i386_and_aarch64_records_are_named_from_their_own_tables(tmp_path: Path) -> None:
    # i386 20 is getpid (x86_64 20 is writev); aarch64 172 is getpid, 56 openat.
    rec, proc = read(tmp_path, seccomp(1, 20, arch="40000003"), seccomp(2, 172, arch="c00000b7"),
                     seccomp(3, 56, arch="c00000b7"))
    assert rec is not None, proc.stderr
    assert rec.names(X86) == {"getpid"}
    assert rec.names("SCMP_ARCH_AARCH64") == {"getpid", "openat"}
    assert "writev" not in rec.names()


def test_hex_encoded_exe_and_comm(tmp_path: Path) -> None:
    exe = b"/tmp/my app/run me".hex().upper()
    rec, proc = read(tmp_path, seccomp(1, 0, exe=exe, comm=b"run me".hex().upper()),
                     args=("--comm", "run me"))
    assert rec is not None, proc.stderr
    assert rec.syscalls[X86_64]["read"].first.exe == "/tmp/my app/run me"


def test_actions_of_denials_are_kept(tmp_path: Path) -> None:
    rec, proc = read(tmp_path, seccomp(1, 0, code="0x00050001"), seccomp(2, 62, code="0x80000000"),
                     seccomp(3, 39, code="0x00030000"), seccomp(4, 0, code="0x7ffc0000"))
    assert rec is not None, proc.stderr
    uses = rec.syscalls[X86_64]
    assert uses["read"].actions == {"SCMP_ACT_ERRNO": 1, "SCMP_ACT_LOG": 1}
    assert uses["kill"].actions == {"SCMP_ACT_KILL_PROCESS": 1}
    assert uses["getpid"].actions == {"SCMP_ACT_TRAP": 1}


def test_filters_pid_exe_comm_and_time(tmp_path: Path) -> None:
    lines = (seccomp(1, 0, pid=1, ts="1700000000.0"), seccomp(2, 1, pid=2, ts="1700000100.0"),
             seccomp(3, 2, pid=3, exe='"/bin/other"', comm='"other"', ts="1700000200.0"))
    rec, _ = read(tmp_path, *lines, args=("--pid", "2"))
    assert rec is not None and rec.names() == {"write"}
    rec, _ = read(tmp_path, *lines, args=("--exe", "/bin/other"))
    assert rec is not None and rec.names() == {"open"}
    rec, _ = read(tmp_path, *lines, args=("--comm", "app"))
    assert rec is not None and rec.names() == {"read", "write"}
    rec, _ = read(tmp_path, *lines, args=("--since", "1700000050", "--until", "@1700000150"))
    assert rec is not None and rec.names() == {"write"}
    rec, proc = read(tmp_path, *lines, args=("--pid", "99"))
    assert rec is None and proc.returncode == 2 and "matched the filters" in proc.stderr


def test_rotated_gz_stdin_and_several_inputs_merge(tmp_path: Path) -> None:
    rotated = tmp_path / "audit.log.1"
    with gzip.open(rotated, "wt") as handle:
        handle.write(seccomp(1, 0) + "\n" + seccomp(2, 1) + "\n")
    current = tmp_path / "audit.log"
    current.write_text(seccomp(3, 2) + "\n")
    out = tmp_path / "rec.json"
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "record", "--audit-log", str(rotated),
                           "--audit-log", str(current), "--audit-log", "-", "-o", str(out)],
                          input=seccomp(4, 3) + "\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert recording.load(out).names() == {"read", "write", "open", "close"}


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        ("[ 5.1] kauditd_printk_skb: 12 callbacks suppressed", "printk rate limit"),
        ("[ 5.1] audit: audit_lost=3 audit_rate_limit=0 audit_backlog_limit=64", "audit_lost"),
        ("[ 5.1] audit: backlog limit exceeded", "backlog"),
        ("type=DAEMON_END msg=audit(1700000000.300:9): op=terminate auid=0 pid=1 res=success lost=4",
         "lost="),
    ],
)
def test_loss_evidence_marks_the_recording_incomplete(tmp_path: Path, evidence: str, reason: str) -> None:
    rec, proc = read(tmp_path, seccomp(1, 0), evidence, seccomp(2, 1))
    assert rec is not None, proc.stderr
    assert not rec.complete and any(reason in r for r in rec.incomplete_reasons)
    assert "incomplete" in proc.stderr


def test_serial_gaps_in_a_full_trail_mark_incomplete(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, seccomp(10, 0, kernel=True), seccomp(11, 0, kernel=True), seccomp(15, 1, kernel=True))
    assert rec is not None and not rec.complete
    assert "3 audit event serial number(s) missing" in rec.incomplete_reasons[0]


def test_out_of_order_serials_are_not_gaps(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, *(seccomp(s, 0, kernel=True) for s in (10, 12, 11, 13, 15, 14)))
    assert rec is not None and rec.complete


def test_serial_gaps_in_a_filtered_log_only_warn(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, seccomp(10, 0), seccomp(20, 1))  # ausearch -m SECCOMP output has gaps
    assert rec is not None and rec.complete
    assert any("filtered" in w for w in rec.warnings)


def test_unknown_arch_and_out_of_range_number_are_kept(tmp_path: Path) -> None:
    rec, proc = read(tmp_path, seccomp(1, 7, arch="deadbeef"), seccomp(2, 99999))
    assert rec is not None, proc.stderr
    assert rec.names("audit_arch_deadbeef") == {"syscall_7"}
    assert rec.names(X86_64) == {"syscall_99999"}
    assert "warning" in proc.stderr


def test_malformed_records_are_reported_and_skipped_or_fatal_with_strict(tmp_path: Path) -> None:
    bad = [seccomp(2, 0).replace('comm="app"', 'comm="app'),  # unterminated quote
           seccomp(3, 0, exe="2F7573722"),  # odd-length hex
           seccomp(4, 0).replace("syscall=0 ", ""),  # no syscall=
           seccomp(5, 0).replace("arch=c000003e", "arch=zz")]
    rec, proc = read(tmp_path, seccomp(1, 1), *bad)
    assert rec is not None and rec.names() == {"write"}
    assert proc.returncode == 0
    for line in (3, 4, 5):
        assert f"audit.log:{line}: malformed audit record" in proc.stderr
    rec, proc = read(tmp_path, seccomp(1, 1), *bad, args=("--strict",))
    assert rec is None and proc.returncode == 2
    assert proc.stderr.strip().startswith("seccomp-gen: ") and "audit.log:2:" in proc.stderr


def test_very_long_line_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    with log.open("w") as handle:
        handle.write(seccomp(1, 0) + "\n")
        handle.write("type=SECCOMP msg=audit(1700000000.1:2): " + "x" * (3 * 1024 * 1024) + "\n")
        handle.write(seccomp(3, 1) + "\n")
    out = tmp_path / "rec.json"
    proc = cli("record", "--audit-log", str(log), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "audit.log:2: line longer than" in proc.stderr
    assert recording.load(out).names() == {"read", "write"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no SECCOMP (1326) or SYSCALL (1300) audit record found"),
        (b"hello\nworld\n", "no SECCOMP (1326) or SYSCALL (1300) audit record found"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file"),
        (b"\xff\xfe\xfa garbage \xff" * 20, "binary file"),
    ],
)
def test_inputs_that_hold_no_records(tmp_path: Path, content: bytes, message: str) -> None:
    log = tmp_path / "in.log"
    log.write_bytes(content)
    out = tmp_path / "rec.json"
    proc = cli("record", "--audit-log", str(log), "-o", str(out))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for path, message in ((tmp_path / "nope.log", "no such file"), (tmp_path, "is a directory")):
        proc = cli("record", "--audit-log", str(path), "-o", str(tmp_path / "r.json"))
        assert proc.returncode == 2 and message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_audit_log_with_a_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = cli("record", "--audit-log", str(tmp_path / "x"), "--", "true")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_process_table_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs of whole fleets name millions of pids: the Recording lists a bounded number of them
    (memory stays constant) and says how many it left out; every syscall is still counted."""
    from seccomp_gen.recorder.audit import reader as audit_reader
    from seccomp_gen.recorder.audit.inputs import Line

    monkeypatch.setattr(audit_reader, "MAX_PROCESSES", 5)
    reader = AuditLogEngine(["many"])
    reader.feed("many", (Line("many", n + 1, seccomp(n + 1, 0, pid=1000 + n)) for n in range(50)))
    rec = reader.finish()
    assert len(rec.processes) == 5 and rec.source.details["processes_not_listed"] == 45
    assert rec.syscalls[X86_64]["read"].count == 50
