"""Hardening of the audit-log reader: losses counted per boot, bounded decompression, a closed
stdin, and exe paths that are not UTF-8 (the hardening issue's audit findings).

Every log here is generated into tmp_path and read as a user would: through the engine or the CLI."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.audit.engine import AuditLogEngine
from seccomp_gen.recorder.audit.loss import SerialTracker
from seccomp_gen.recorder.recording import Recording

T0 = 1_700_000_000


def _syscall(serial: int, seconds: int, *, kernel: bool = False, nr: int = 39) -> str:
    """A SYSCALL record (getpid by default), in auditd's form or as the kernel log prints it."""
    body = (f"arch=c000003e syscall={nr} success=yes exit=3 a0=0 a1=0 a2=0 a3=0 items=0 ppid=1 pid=100 auid=0 "
            'uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4 comm="app" exe="/usr/bin/app"')
    if kernel:
        return f"[ {seconds - T0}.000001] audit: type=1300 audit({seconds}.250:{serial}): {body}"
    return f"type=SYSCALL msg=audit({seconds}.250:{serial}): {body}"


def _user(serial: int, seconds: int, *, kernel: bool = False) -> str:
    """A user-space event of its own: the log is a full trail, so a serial gap means lost records."""
    body = "pid=1 uid=0 auid=0 ses=1 msg='op=PAM:session_open acct=\"root\" res=success'"
    if kernel:
        return f"[ {seconds - T0}.000002] audit: type=1105 audit({seconds}.500:{serial}): {body}"
    return f"type=USER_START msg=audit({seconds}.500:{serial}): {body}"


def _boot(serials: range, start: int, lost: range = range(0), *, kernel: bool = False) -> list[str]:
    """One boot's records, one per serial (every 100th a user event), `lost` left out; one second
    passes every 1000 serials from `start`."""
    return [(_user if serial % 100 == 0 else _syscall)(serial, start + serial // 1000, kernel=kernel)
            for serial in serials if serial not in lost]


def _read(tmp_path: Path, lines: list[str], name: str = "audit.log") -> Recording:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return AuditLogEngine([str(path)]).record()


def _missing(rec: Recording) -> list[str]:
    return [reason for reason in rec.incomplete_reasons + rec.warnings if "serial number(s) missing" in reason]


@pytest.mark.parametrize("kernel", [False, True], ids=["auditd", "kernel-log"])
def test_a_reboot_in_one_log_counts_the_losses_of_the_new_boot(tmp_path: Path, kernel: bool) -> None:
    """Serials 1..20000, a reboot, then 1..200 with 100..149 lost: a drop below the reorder window
    used to be taken as reordering, and the 50 lost records went unseen."""
    lines = _boot(range(1, 20_001), T0, kernel=kernel)
    lines += _boot(range(1, 201), T0 + 3600, range(100, 150), kernel=kernel)
    rec = _read(tmp_path, lines)
    assert not rec.complete
    assert [m.split(": ")[1] for m in _missing(rec)] == ["50 audit event serial number(s) missing in 1 gap(s)"]


def test_a_reboot_after_a_short_boot_is_told_by_the_time(tmp_path: Path) -> None:
    """Boot 1 ends at serial 3000 (within the reorder window of boot 2's serials): only the time,
    an hour later for lower serials, says boot 2 began."""
    rec = _read(tmp_path, _boot(range(1, 3001), T0) + _boot(range(1, 201), T0 + 3600, range(100, 150)))
    assert [m.split(": ")[1] for m in _missing(rec)] == ["50 audit event serial number(s) missing in 1 gap(s)"]


def test_daemon_start_begins_a_new_boot(tmp_path: Path) -> None:
    """A boot whose clock is behind (no later time to tell it by): auditd's DAEMON_START marks it."""
    start = "type=DAEMON_START msg=audit(1699990000.000:5000): op=start ver=3.0.9 format=enriched res=success"
    rec = _read(tmp_path, [*_boot(range(1, 3001), T0), start, *_boot(range(1, 201), T0 - 9000, range(100, 150))])
    assert [m.split(": ")[1] for m in _missing(rec)] == ["50 audit event serial number(s) missing in 1 gap(s)"]


def _interleave(a: list[str], b: list[str], chunk: int) -> list[str]:
    """a and b mixed, `chunk` lines of each in turn."""
    mixed: list[str] = []
    for start in range(0, max(len(a), len(b)), chunk):
        mixed += a[start:start + chunk] + b[start:start + chunk]
    return mixed


@pytest.mark.parametrize("chunk", [1, 7, 300, 5000])  # 5000: one boot after the other
@pytest.mark.parametrize("newer_first", [False, True])
def test_two_boots_interleaved_count_losses_within_each(tmp_path: Path, chunk: int, newer_first: bool) -> None:
    """Two boots' lines mixed (rotated files joined out of order, two nodes' logs merged): a jump
    between their serial ranges is no gap, 5 records lost in one boot are 5."""
    old = _boot(range(17_000_000, 17_003_000), T0 - 86_400 - 17_000)  # a long uptime
    new = _boot(range(1000, 4000), T0, range(1500, 1505))
    first, second = (new, old) if newer_first else (old, new)
    rec = _read(tmp_path, _interleave(first, second, chunk))
    assert [m.split(": ")[1] for m in _missing(rec)] == ["5 audit event serial number(s) missing in 1 gap(s)"]
    assert not rec.complete


@pytest.mark.parametrize("chunk", [1, 300])
def test_two_complete_boots_interleaved_are_complete(tmp_path: Path, chunk: int) -> None:
    rec = _read(tmp_path, _interleave(_boot(range(1, 3000), T0), _boot(range(17_000_000, 17_003_000), T0 - 90_000),
                                      chunk))
    assert rec.complete, rec.incomplete_reasons
    assert not _missing(rec)


FUZZ = settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(steps=st.lists(st.tuples(st.sampled_from([0, 1, 1, 1, 2, -1, -3, 40, 20_000, -15_000, -150_000]),
                                st.sampled_from([0, 0, 0, 1, 3600, -3600])), max_size=700))
def test_serial_runs_with_times_are_seen_as_one_by_one(steps: list[tuple[int, int]]) -> None:
    """see_all()'s runs give what see() gives serial by serial, times and boots included."""
    serials, stamps, serial, seconds = [], [], 10**6, T0
    for step, later in steps:
        serial, seconds = max(serial + step, 0), seconds + later
        serials.append(serial)
        stamps.append(seconds)
    one_by_one, in_runs = SerialTracker(), SerialTracker()
    for serial, stamp in zip(serials, stamps, strict=True):
        one_by_one.see(serial, stamp)
    in_runs.see_all(serials, stamps)
    assert (in_runs.last, in_runs.holes, in_runs.final_missing, in_runs.gaps, len(in_runs.boots)) == \
        (one_by_one.last, one_by_one.holes, one_by_one.final_missing, one_by_one.gaps, len(one_by_one.boots))


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seccomp_gen", *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


def _gzip_bomb(path: Path, mib: int) -> None:
    """A real record, then `mib` MiB of newlines: a few hundred KiB on disk."""
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write((_syscall(1, T0) + "\n").encode())
        newlines = b"\n" * (1 << 20)
        for _ in range(mib):
            handle.write(newlines)


def test_a_gzip_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    bomb, out = tmp_path / "audit.log.2.gz", tmp_path / "rec.json"
    _gzip_bomb(bomb, 100)
    proc = _cli("record", "--audit-log", str(bomb), "-o", str(out))
    assert proc.returncode == 2 and not out.exists(), proc.stderr
    assert proc.stderr.startswith(f"seccomp-gen: {bomb}: ") and "gzip bomb" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    read_anyway = _cli("record", "--audit-log", str(bomb), "--max-bytes", "0", "-o", str(out))  # no limit
    assert read_anyway.returncode == 0, read_anyway.stderr
    assert recording.load(str(out)).names() == {"getpid"}


def test_max_bytes_limits_a_plain_input(tmp_path: Path) -> None:
    log, out = tmp_path / "audit.log", tmp_path / "rec.json"
    log.write_text("\n".join(_boot(range(1, 20_000), T0)) + "\n")  # about 6 MiB
    proc = _cli("record", "--audit-log", str(log), "--max-bytes", "1M", "-o", str(out))
    assert proc.returncode == 2 and not out.exists(), proc.stderr
    assert proc.stderr == f"seccomp-gen: {log}: more than 1.0 MiB after decompression: stopped (the limit is " \
                          "--max-bytes; give a larger one, or 0 for none)\n"
    assert _cli("record", "--audit-log", str(log), "--max-bytes", "10M", "-o", str(out)).returncode == 0
    bad = _cli("record", "--audit-log", str(log), "--max-bytes", "ten", "-o", str(out))
    assert bad.returncode == 2 and "--max-bytes" in bad.stderr


def test_sizes_take_binary_suffixes() -> None:
    from seccomp_gen.recorder.audit.inputs import parse_size  # imported here: the other tests run without it

    assert [parse_size(t) for t in ("0", "1000", "512K", "10M", "1.5G", "2T", "10GiB", "3g")] == \
        [0, 1000, 512 << 10, 10 << 20, 3 << 29, 2 << 40, 10 << 30, 3 << 30]
    for bad in ("", "-1", "10X", "G", "1.2.3M"):
        with pytest.raises(ValueError, match="expected a size"):
            parse_size(bad)


def test_progress_counts_decompressed_bytes(tmp_path: Path) -> None:
    """A small .gz that decompresses to a big log shows progress too (it used to go by the size on disk)."""
    bomb = tmp_path / "audit.log.1.gz"
    _gzip_bomb(bomb, 12)
    messages: list[str] = []
    AuditLogEngine([str(bomb)], progress=messages.append).record()
    assert messages and all(m.startswith(f"{bomb}: ") and m.endswith(" read") for m in messages), messages
    assert "MiB read" in messages[-1]


def test_the_default_limits_stop_a_bomb_of_records_early(tmp_path: Path) -> None:
    bomb = tmp_path / "records.gz"
    line = (_syscall(1, T0) + "\n").encode() * 4096
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        for _ in range(100 * (1 << 20) // len(line)):
            handle.write(line)
    with pytest.raises(SeccompGenError, match="gzip bomb") as caught:
        AuditLogEngine([str(bomb)]).record()  # the default limits
    assert caught.value.path == str(bomb)


def test_stdin_closed_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    proc = subprocess.run(["sh", "-c", '"$0" -m seccomp_gen record --audit-log - -o "$1" <&-', sys.executable,
                           str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "seccomp-gen: -: standard input is closed: pipe the log in or give a file\n"


_NOT_UTF8_EXE = "2F746D702FC328617070"  # "/tmp/\xc3(app": a lone 0xc3 byte
_SECCOMP_BODY = (f"auid=0 uid=0 gid=0 ses=3 subj=unconfined pid=7 comm=\"app\" exe={_NOT_UTF8_EXE} sig=0 "
                 "arch=c000003e syscall=41 compat=0 ip=0x7f0000001000 code=0x7ffc0000")


@pytest.mark.parametrize("line", [f"type=SECCOMP msg=audit({T0}.123:4567): {_SECCOMP_BODY}",
                                  f"[   12.000001] audit: type=1326 audit({T0}.123:4567): {_SECCOMP_BODY}"],
                         ids=["auditd", "kernel-log"])
def test_an_exe_that_is_not_utf8_is_recorded_and_shown_escaped(tmp_path: Path, line: str) -> None:
    log, out = tmp_path / "audit.log", tmp_path / "rec.json"
    log.write_text(line + "\n")
    proc = _cli("record", "--audit-log", str(log), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "\\udcc3" in out.read_text(encoding="utf-8")  # the byte kept, as a JSON escape
    assert [p.exe for p in recording.load(str(out)).processes] == ["/tmp/\udcc3(app"]
    assert os.fsencode("/tmp/\udcc3(app") == b"/tmp/\xc3(app"
    shown = _cli("show", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "/tmp/\\xc3(app" in shown.stdout
