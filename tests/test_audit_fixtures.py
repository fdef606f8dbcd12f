"""The audit-log reader on logs the kernel of a test machine really wrote (tests/fixtures/audit/,
see its README for how each was made)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import Recording
from tests.support.process import cli

FIXTURES = Path(__file__).parent / "fixtures" / "audit"
WORK = "/tmp/seccomp-gen-fixtures/work"
#: What the fixtures' small C workload (`work`, dynamic glibc) calls, from its own records.
WORK_NAMES = {"access", "arch_prctl", "brk", "close", "execve", "exit_group", "getpid", "getppid", "mmap",
              "mprotect", "munmap", "newfstatat", "openat", "pread64", "prlimit64", "read", "rseq",
              "set_robust_list", "set_tid_address", "write"}
X86_64, X86, AARCH64 = "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"


def read(tmp_path: Path, *names: str, args: tuple[str, ...] = ()) -> tuple[Recording, str]:
    out = tmp_path / "rec.json"
    inputs = [a for name in names for a in ("--audit-log", str(FIXTURES / name))]
    proc = cli("record", *inputs, "-o", str(out), *args)
    assert proc.returncode == 0, proc.stderr
    return recording.load(out), proc.stderr


def expected(name: str) -> set[str]:
    return set((FIXTURES / name).read_text().split())


@pytest.mark.parametrize("name", ["kmsg-seccomp-log.txt", "journal-style.txt"])
def test_kernel_log_equals_what_strace_saw(tmp_path: Path, name: str) -> None:
    rec, _ = read(tmp_path, name)
    assert rec.names(X86_64) == expected("kmsg-seccomp-log.expected.txt")
    assert rec.complete
    assert all(set(use.actions) == {"SCMP_ACT_LOG"} for use in rec.syscalls[X86_64].values())


def test_suppressed_callbacks_and_the_serial_gap_mark_incomplete(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, "kmsg-suppressed.txt")
    assert not rec.complete
    reasons = " ".join(rec.incomplete_reasons)
    assert "rate limit" in reasons and "1115 audit event serial number(s) missing" in reasons
    assert rec.source.details["suppressed_callbacks"] == 1115


def test_auditd_log_with_syscall_rules_and_noise(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, "audit.log", args=("--exe", WORK))
    assert rec.names(X86_64) == WORK_NAMES
    assert rec.complete, rec.incomplete_reasons  # DAEMON_* records carry auditd's own serials: no false gap
    # The SYSCALL records of the openat/getpid/execve rule are counted with the SECCOMP ones.
    assert rec.syscalls[X86_64]["openat"].count >= 2


def test_rotated_gz_and_current_log_merge(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, "audit.log.1.gz", "audit.log")
    assert {"/usr/bin/true", WORK} <= {p.exe for p in rec.processes}
    assert rec.complete, rec.incomplete_reasons


def test_ausearch_raw_output_reads_like_the_log(tmp_path: Path) -> None:
    from_log, _ = read(tmp_path, "audit.log")
    from_ausearch, _ = read(tmp_path, "ausearch-raw.txt")
    assert from_ausearch.names() == from_log.names()
    assert from_ausearch.complete  # ausearch -m leaves out whole events: gaps are expected there


def test_i386_records(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, "i386-seccomp.log")
    assert {"mmap2", "set_thread_area", "ugetrlimit", "getpid", "getppid", "getuid"} <= rec.names(X86)
    assert "writev" not in rec.names()  # i386 getpid (20) is not x86_64 writev
    assert {p.exe for p in rec.processes} == {"/tmp/seccomp-gen-fixtures/work32", "/tmp/seccomp-gen-fixtures/int80"}


def test_hex_encoded_exe_comm_and_filters(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, "hex-fields.log", args=("--comm", "my prog"))
    assert rec.names(X86_64) == WORK_NAMES
    assert {p.exe for p in rec.processes} == {"/tmp/seccomp gen test/my prog"}


def test_denials_keep_their_actions(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, "denials.log")
    actions = {name: set(use.actions) for name, use in rec.syscalls[X86_64].items()}
    assert actions["getpid"] >= {"SCMP_ACT_ERRNO"}
    assert {a for acts in actions.values() for a in acts} == {
        "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_KILL_THREAD"}


def test_aarch64_log_on_an_x86_64_host(tmp_path: Path) -> None:
    rec, _ = read(tmp_path, "aarch64.log")
    assert rec.arches() == [AARCH64]
    assert rec.names(AARCH64) == expected("aarch64.expected.txt")
    only_work, _ = read(tmp_path, "aarch64.log", args=("--exe", WORK))
    assert only_work.names(AARCH64) == expected("aarch64.expected.txt") - {"sendto"}


def test_malformed_fixture(tmp_path: Path) -> None:
    rec, stderr = read(tmp_path, "malformed.log")
    assert {"openat", "close", "read", "write", "syscall_99999"} <= rec.names(X86_64)
    assert rec.names("audit_arch_deadbeef")
    assert stderr.count("malformed audit record skipped") == 3
    assert rec.source.details["non_audit_lines"] == 4
    strict = cli("record", "--strict", "--audit-log", str(FIXTURES / "malformed.log"), "-o", str(tmp_path / "s.json"))
    assert strict.returncode == 2 and "malformed.log:3" in strict.stderr


def test_interpreted_ausearch_output_is_refused_with_advice(tmp_path: Path) -> None:
    proc = cli("record", "--audit-log", str(FIXTURES / "ausearch-interpreted.txt"), "-o", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and "ausearch --raw" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "r.json").exists()


def test_fast_path_agrees_with_the_general_parser_on_every_real_record() -> None:
    """The reader's one-regex fast path for the kernel's own record layouts must give exactly what
    the general tokenizer gives, on every SECCOMP/SYSCALL record the kernel wrote."""
    import gzip

    from seccomp_gen.recorder.audit.records import MalformedRecord, fast_event, general_event, parse_header

    checked = 0
    for path in FIXTURES.iterdir():
        if path.suffix not in (".log", ".txt", ".gz") or "expected" in path.name:
            continue
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for line in raw.decode("utf-8", "surrogateescape").split("\n"):
            header = parse_header(line)
            if header is None or header.type_name not in ("SECCOMP", "SYSCALL"):
                continue
            try:
                fast = fast_event(header.type_name, header.body)
            except MalformedRecord:
                fast = None
            if fast is None:
                continue
            assert fast == general_event(header.type_name, header.body), line
            checked += 1
    assert checked > 300
