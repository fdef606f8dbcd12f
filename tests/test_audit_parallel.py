"""Reading a log on several cores (recorder/audit/parallel.py) gives the Recording one core gives.

The workers summarise byte ranges cut at line ends and this process applies the summaries in order;
the one-core path summarises the same blocks itself, and the line loop (feed()) reads every line
on its own, without summaries: all three must agree - recording, messages and errors - on every
fixture and on a generated log with losses, reboots, interleaved boots, other nodes, CR line ends,
over-long lines, malformed records, pids that change exe and a full process table. The chunk size
is made small so that range boundaries fall everywhere: inside events, next to over-long lines,
between boots.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen.recorder.audit import parallel
from seccomp_gen.recorder.audit import reader as audit_reader
from seccomp_gen.recorder.audit.engine import AuditFilter, AuditLogEngine
from seccomp_gen.recorder.audit.inputs import Limits, read_lines
from tests.support.audit_reading import recorded

REPO = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for d in ("audit", "node-logs") for p in (REPO / "tests/fixtures" / d).iterdir()
                  if p.suffix in (".log", ".txt", ".journal", ".gz") and not p.name.endswith(".expected.txt"))
_FILTERS = [AuditFilter(), AuditFilter(pids=frozenset({2101, 7})), AuditFilter(since=1700000100.0),
            AuditFilter(exes=frozenset({"/usr/sbin/nginx"})), AuditFilter(nodes=frozenset({"worker-1"}))]


def _with_jobs(jobs: int) -> Callable[[AuditLogEngine], None]:
    def read(engine: AuditLogEngine) -> None:
        engine.jobs = jobs
        for path in engine.inputs:
            engine.read_input(path)
    return read


def _three_ways(path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, filt: AuditFilter | None = None,
                strict: bool = False) -> tuple[Any, Any, Any]:
    """(several cores, one core, the line loop) for the file."""
    filt = filt or AuditFilter()
    monkeypatch.setattr(parallel, "CHUNK", chunk)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    several = recorded(_with_jobs(2), [str(path)], filt, strict)
    one = recorded(_with_jobs(1), [str(path)], filt, strict)
    lines = recorded(lambda e: e.feed(str(path), read_lines(str(path))), [str(path)], filt, strict)
    return several, one, lines


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_every_fixture_reads_the_same_on_several_cores(fixture: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for chunk in (97, 4096):
        several, one, lines = _three_ways(fixture, monkeypatch, chunk)
        assert several == one, chunk
        if fixture.suffix != ".gz":  # read_lines() reads gzip too; feed() is the oracle for plain files
            assert one == lines


def _event(rng: random.Random, serial: int, stamp: float, pid: int, exe: str) -> list[str]:
    head = f"msg=audit({stamp:.3f}:{serial}):"
    if rng.random() < 0.5:
        comm, nr, code = exe.rsplit("/", 1)[-1][:15], rng.choice([0, 1, 41, 257]), rng.choice(["7fff0000", "80000000"])
        return [f"type=SECCOMP {head} auid=0 uid=0 gid=0 ses=1 subj=system_u:system_r:container_t:s0:c1,c2 pid={pid} "
                f'comm="{comm}" exe="{exe}" sig=0 arch=c000003e syscall={nr} compat=0 ip=0x7f00 code=0x{code}']
    nr = rng.choice([16, 41, 72, 157, 202, 257])  # ioctl, socket, fcntl, prctl: arguments kept
    return [f"type=SYSCALL {head} arch=c000003e syscall={nr} success=yes exit=0 a0={rng.randrange(4):x} "
            f"a1={rng.randrange(0x80802):x} a2=0 a3=0 items=0 ppid={pid - 1} pid={pid} auid=0 uid=0 gid=0 euid=0 "
            f'suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm="x" exe="{exe}" key=(null)',
            f"type=PROCTITLE {head} proctitle=2F62696E2F78"]


def _hostile_log(seed: int) -> bytes:
    """An auditd log of two boots with lost events, interleaved runs, a restart, and odd lines."""
    rng = random.Random(seed)
    exes = ["/usr/sbin/nginx", "/usr/bin/redis-server", "/opt/my app/srv", "/usr/bin/python3.11"]
    boots = [[41_000, 1_700_000_000.0], [10, 1_700_000_500.0]]  # (next serial, time) of each boot
    out: list[bytes] = []
    for index in range(6000):
        boot = boots[1 if 2000 < index < 2600 and rng.random() < 0.5 else 0]  # a second boot's lines mixed in
        boot[0] += 1 if rng.random() > 0.002 else rng.randrange(2, 40)  # a few events lost
        boot[1] += rng.random() / 50
        pid = 2100 + rng.randrange(40 if index < 4000 else 4000)  # later: more processes than the table holds
        roll = rng.random()
        if 0.014 <= roll < 0.020:
            pid = 2100 + rng.randrange(40)  # a listed process, its pid written with a leading zero below
        exe = exes[(pid + (index // 1500)) % len(exes)]  # pids change exe (exec) now and then
        lines = _event(rng, boot[0], boot[1], pid, exe)
        if roll < 0.004:
            lines.append(f"type=DAEMON_START msg=audit({boot[1]:.3f}:{rng.randrange(9999)}): op=start res=success")
            boot[0] = rng.randrange(1, 50)  # auditd restarted: the serials start again
        elif roll < 0.008:
            lines = [line.replace(' pid=', '  pid=') for line in lines]  # out of the layout: the general parser
        elif roll < 0.010:
            lines = [lines[0] + ' key="unterminated']
        elif roll < 0.012:
            lines = ["", "", *lines]
        elif roll < 0.013:
            lines = ["kernel: audit: backlog limit exceeded", *lines]
        elif roll < 0.014:
            lines = [f"node=worker-1 {line}" for line in lines]
        elif roll < 0.020:
            lines = [line.replace(f" pid={pid} ", f" pid=0{pid} ") for line in lines]  # the same pid, written oddly
        out.extend(line.encode() for line in lines)
        if roll > 0.9995:
            out.append(b"type=USER_CMD msg=audit(1700000001.000:7): cmd=" + b"41" * (600 * 1024))  # over-long
        if 0.9985 < roll < 0.999 and index > 200:  # not in the first 4 KiB, which must look like text
            out.append(b'type=SECCOMP msg=audit(1700000001.000:8): pid=9 comm="\xff\xfe" exe="/bin/\xc3(" sig=0')
    text = b"\n".join(out)
    return text.replace(b"\n", b"\r\n", 40).replace(b"\r\n", b"\n", 20) + b"\n"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_log_with_losses_and_interleaved_events_reads_the_same(seed: int, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(_hostile_log(seed))
    monkeypatch.setattr(audit_reader, "MAX_PROCESSES", 60)
    for chunk, filt in ((1000, _FILTERS[seed % 2]), (300_000, _FILTERS[2 + seed % 3]), (65_536, AuditFilter())):
        several, one, lines = _three_ways(log, monkeypatch, chunk, filt)
        assert several == one and one == lines, (chunk, filt)
    details = several["recording"]["source"]["details"]  # the unfiltered reading: every case is in it
    assert details["processes_not_listed"] > 0 and details["malformed_records"] > 0 and details["nodes"]
    assert not several["recording"]["complete"]
    strict = _three_ways(log, monkeypatch, 4096, strict=True)
    assert strict[0] == strict[1] == strict[2] and "error" in strict[0]


def test_a_realistic_log_is_read_by_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's kind of log: the workers summarise every block, this process none."""
    log = tmp_path / "audit.log"
    subprocess.run([sys.executable, str(REPO / "benchmarks/gen_audit_log.py"), str(log), "--mb", "3"], check=True,
                   capture_output=True)
    several, one, lines = _three_ways(log, monkeypatch, 256 * 1024)
    assert several == one == lines and several["recording"]["source"]["details"]["records_used"] > 4000
    monkeypatch.setattr(AuditLogEngine, "_summarise", lambda *_: pytest.fail("a block was summarised here"))
    monkeypatch.setattr(AuditLogEngine, "_take", lambda *_: pytest.fail("a plain auditd block left the fast path"))
    engine = AuditLogEngine([str(log)])
    engine.jobs = 2
    engine.record()


def test_small_files_pipes_and_gzip_stay_on_one_core(tmp_path: Path) -> None:
    small = tmp_path / "small.log"
    small.write_text("type=SECCOMP msg=audit(1700000000.100:2): pid=7 comm=\"a\" exe=\"/a\" sig=0\n")
    assert not parallel.worth_it(str(small), Limits())
    assert not parallel.worth_it("-", Limits())
    assert not parallel.worth_it(str(REPO / "tests/fixtures/audit/audit.log.1.gz"), Limits())


def test_every_loss_message_holds_a_needle_the_pre_check_looks_for() -> None:
    """Lines are searched with the loss regexes only when they hold a needle (loss.may_report_loss):
    a needle that a message can lack would hide that loss."""
    from seccomp_gen.recorder.audit.loss import LossEvidence, may_report_loss
    from seccomp_gen.recorder.audit.tables import tables

    examples = ["kauditd_printk_skb: 12 callbacks suppressed", "audit: audit_lost=5 audit_rate_limit=0",
                "audit: backlog limit exceeded", "audit: rate limit exceeded", "audit: kauditd hold queue overflow",
                "audit: printk limit exceeded", "type=DAEMON_END msg=audit(1.0:2): lost=3",
                "auditd[812]: Audit daemon is low on disk space for logging, dropping events"]
    patterns = tables().loss_patterns
    for pattern in patterns:
        assert pattern.needle in pattern.regex.pattern.replace("\\", ""), pattern.regex.pattern
    for example in examples:
        found = LossEvidence()
        found.scan(example, "x:1")
        assert may_report_loss(example) and found.messages, example
    assert {p.what for p in patterns} == {w for e in examples for w in _matched(e)}


def _matched(text: str) -> set[str]:
    from seccomp_gen.recorder.audit.tables import tables

    return {p.what for p in tables().loss_patterns if p.regex.search(text)}
