"""Fleet logs: what `oc adm node-logs` prints for several nodes, per-node provenance, and choosing one
pod by its SELinux MCS level (--subj), one node (--node), or listing the labels (--list-subjects).

The OpenShift-format fixtures are tests/fixtures/node-logs/ (see its README: modelled, with MCS
labels); the real-kernel part reformats tests/fixtures/audit/ (records this VM's kernel wrote; no LSM
here, so no subj=) the way node-logs prints it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import Caller, SyscallUse
from tests.support.process import cli

FIXTURES = Path(__file__).parent / "fixtures"
NODE_LOGS = FIXTURES / "node-logs"
X86_64 = "SCMP_ARCH_X86_64"
A, B = "ip-10-0-1-23.ec2.internal", "ip-10-0-2-45.ec2.internal"
WEB, WEB_LEVEL = "system_u:system_r:container_t:s0:c12,c34", "s0:c12,c34"
BATCH_LEVEL = "s0:c12,c345"
#: nginx of pod web, on both nodes (accept4 on A, sendfile on B); python of pod batch, on A only.
WEB_CALLS = {"execve", "openat", "mmap", "close", "socket", "accept4", "sendfile", "epoll_wait", "read", "write",
             "writev"}
BATCH_CALLS = {"getrandom", "futex", "clone3"}


def run(log: Path, *args: str, out: Path) -> tuple[recording.Recording | None, subprocess.CompletedProcess[str]]:
    out.unlink(missing_ok=True)
    proc = cli("record", "--audit-log", str(log), "-o", str(out), *args)
    return (recording.load(out) if out.exists() else None), proc


def lines(name: str) -> list[str]:
    return (NODE_LOGS / name).read_text().splitlines()


def write(tmp_path: Path, name: str, text_lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in text_lines))
    return path


def _node_of(line: str) -> str:
    return A if A in line else B


def interleaved(text_lines: list[str]) -> list[str]:
    """The two nodes' lines alternating one by one (`oc adm node-logs --unify`, or two logs merged)."""
    a = [line for line in text_lines if _node_of(line) == A]
    b = [line for line in text_lines if _node_of(line) == B]
    mixed = [line for pair in zip(a, b, strict=False) for line in pair]
    return mixed + a[len(b):] + b[len(a):]


def forms(tmp_path: Path) -> dict[str, Path]:
    """The same records in every form node-logs (or a user) gives them."""
    audit, journal = lines("workers-audit.log"), lines("workers-kernel.journal")
    return {
        "node-prefixed audit.log, node after node": NODE_LOGS / "workers-audit.log",
        "node-prefixed audit.log, interleaved": write(tmp_path, "mixed.log", interleaved(audit)),
        "journal -u kernel (hostname)": NODE_LOGS / "workers-kernel.journal",
        "journal with node prefixes": write(tmp_path, "prefixed.journal", [f"{_node_of(x)} {x}" for x in journal]),
    }


FORMS = ["node-prefixed audit.log, node after node", "node-prefixed audit.log, interleaved",
         "journal -u kernel (hostname)", "journal with node prefixes"]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_keeps_the_nodes_of_each_syscall(tmp_path: Path, form: str) -> None:
    rec, proc = run(forms(tmp_path)[form], out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    uses = rec.syscalls[X86_64]
    assert uses["accept4"].nodes == (A,) and uses["sendfile"].nodes == (B,)
    assert uses["read"].nodes == (A, B) and uses["getrandom"].nodes == (A,)
    assert rec.source.details["nodes"] == [A, B]
    # A: 12 nginx + 4 batch + conmon's SYSCALL; B: 12 nginx + conmon's SYSCALL
    assert rec.source.details["records_per_node"] == {A: 17, B: 13}
    # the nodes' serials overlap and interleave: per node they are complete
    assert rec.complete, rec.incomplete_reasons
    assert not [w for w in rec.warnings if "missing" in w]
    written = json.loads((tmp_path / "rec.json").read_text())
    assert written["syscalls"][X86_64]["sendfile"]["nodes"] == [B]


@pytest.mark.parametrize("form", FORMS)
def test_a_gap_on_one_node_is_reported_for_that_node(tmp_path: Path, form: str) -> None:
    source = forms(tmp_path)[form].read_text().splitlines()
    lost = next(i for i, line in enumerate(source) if _node_of(line) == B and "syscall=40 " in line)
    rec, proc = run(write(tmp_path, "lost.log", source[:lost] + source[lost + 1:]), out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    assert not rec.complete
    missing = [r for r in rec.incomplete_reasons if "missing" in r]
    assert len(missing) == 1 and f"node {B}: 1 audit event serial number(s) missing in 1 gap(s)" in missing[0]
    assert "sendfile" not in rec.names(X86_64)


@pytest.mark.parametrize("subj", [WEB, WEB_LEVEL])
def test_subj_selects_one_pod_by_label_or_level(tmp_path: Path, subj: str) -> None:
    rec, proc = run(NODE_LOGS / "workers-audit.log", "--subj", subj, out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    assert rec.names(X86_64) == WEB_CALLS  # not batch's: its level s0:c12,c345 starts with s0:c12,c34
    assert {p.exe for p in rec.processes} == {"/usr/sbin/nginx"}
    assert rec.source.details["records_per_node"] == {A: 12, B: 12}


def test_the_other_pod_by_its_level_with_its_denial(tmp_path: Path) -> None:
    rec, proc = run(NODE_LOGS / "workers-kernel.journal", "--subj", BATCH_LEVEL, out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    assert rec.names(X86_64) == BATCH_CALLS
    assert rec.syscalls[X86_64]["clone3"].actions == {"SCMP_ACT_ERRNO": 1}
    assert all(use.nodes == (A,) for use in rec.syscalls[X86_64].values())


def test_node_selects_one_node(tmp_path: Path) -> None:
    rec, proc = run(forms(tmp_path)["journal with node prefixes"], "--node", B, out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    assert rec.names(X86_64) == (WEB_CALLS - {"accept4"}) | {"execve"}  # conmon's execve SYSCALL too
    assert rec.source.details["records_per_node"] == {B: 13}


def test_list_subjects_shows_labels_levels_programs_and_nodes(tmp_path: Path) -> None:
    out = tmp_path / "rec.json"
    proc = cli("record", "--audit-log", str(NODE_LOGS / "workers-audit.log"), "--list-subjects", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not out.exists()
    rows = {row.split()[0]: row.split() for row in proc.stdout.splitlines() if row.startswith("system_u")}
    assert rows[WEB][1:4] == [WEB_LEVEL, "24", "/usr/sbin/nginx"] and f"{A}, {B}" in " ".join(rows[WEB])
    batch = rows["system_u:system_r:container_t:s0:c12,c345"]
    assert batch[1:5] == [BATCH_LEVEL, "4", "/usr/bin/python3.11", "python3"] and batch[5:] == [A]
    assert rows["system_u:system_r:container_runtime_t:s0"][1:3] == ["s0", "2"]
    assert "3 label(s)" in proc.stdout


def test_list_subjects_with_a_node_filter(tmp_path: Path) -> None:
    proc = cli("record", "--audit-log", str(NODE_LOGS / "workers-kernel.journal"), "--list-subjects", "--node", B)
    assert proc.returncode == 0, proc.stderr
    assert "s0:c12,c345" not in proc.stdout and WEB_LEVEL in proc.stdout and "2 label(s)" in proc.stdout


@pytest.mark.parametrize(("args", "named", "held"), [
    (("--subj", "s0:c12,c3"), "--subj s0:c12,c3", WEB),  # a prefix of a level is no level
    (("--subj", "system_u:system_r:container_t:s0:c1,c2"), "--subj system_u", "3 subj= labels"),
    (("--node", "ip-10-0-9-9.ec2.internal"), "--node ip-10-0-9-9.ec2.internal", f"2 nodes: {A}, {B}"),
    (("--node", "ip-10-0-1-23"), "--node ip-10-0-1-23", A),  # names match whole
    (("--subj", WEB_LEVEL, "--subj", "s0:c99,c100"), "--subj s0:c99,c100", WEB),  # one wrong of two
])
def test_a_wrong_label_or_node_is_one_line_exit_2_and_no_recording(tmp_path: Path, args: tuple[str, ...],
                                                                   named: str, held: str) -> None:
    rec, proc = run(NODE_LOGS / "workers-audit.log", *args, out=tmp_path / "rec.json")
    assert rec is None and proc.returncode == 2
    message = proc.stderr.strip()
    assert "\n" not in message and named in message and held in message and "no recording written" in message


def test_subj_on_a_log_without_labels_says_so(tmp_path: Path) -> None:
    rec, proc = run(FIXTURES / "audit" / "audit.log", "--subj", "s0", out=tmp_path / "rec.json")
    assert rec is None and proc.returncode == 2
    assert "no record carries subj=" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("flag", [("--subj", "s0"), ("--node", "n"), ("--list-subjects",)])
def test_the_new_filters_are_for_audit_logs(flag: tuple[str, ...]) -> None:
    proc = cli("record", *flag, "--", "true")
    assert proc.returncode == 2 and "are for --audit-log input" in proc.stderr


# ---------------------------------------------------------------- records the kernel wrote

WORK = "/tmp/seccomp-gen-fixtures/work"  # the workload of tests/fixtures/audit/audit.log


def test_real_auditd_log_with_two_node_prefixes_selects_the_workload(tmp_path: Path) -> None:
    """audit.log as node-logs prints it for two nodes that ran the same workload (same serials on
    both: each node numbers its own), interleaved line by line; --exe selects the container."""
    real = (FIXTURES / "audit" / "audit.log").read_text().splitlines()
    two = [f"{node} {line}" for line in real for node in (A, B)]
    alone, proc = run(FIXTURES / "audit" / "audit.log", "--exe", WORK, out=tmp_path / "alone.json")
    assert alone is not None, proc.stderr
    rec, proc = run(write(tmp_path, "fleet.log", two), "--exe", WORK, out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    assert rec.names(X86_64) == alone.names(X86_64) and len(alone.names(X86_64)) == 20
    assert all(use.nodes == (A, B) and use.count == 2 * alone.syscalls[X86_64][name].count
               for name, use in rec.syscalls[X86_64].items())
    assert rec.source.details["records_per_node"] == {A: 40, B: 40}
    assert rec.complete == alone.complete and not alone.syscalls[X86_64]["read"].nodes
    listed = cli("record", "--audit-log", str(tmp_path / "fleet.log"), "--list-subjects")
    assert listed.returncode == 0 and listed.stdout.startswith("subj") and "(no subj=)" in listed.stdout


def test_real_kernel_log_as_journal_of_two_hosts_selects_by_pid(tmp_path: Path) -> None:
    """kmsg-seccomp-log.txt (kauditd's printk lines) as `-u kernel` prints it for two hosts, with a
    serial missing on one of them: that host's loss is reported, the other's records are complete."""
    real = [line.split("] ", 1)[1] for line in (FIXTURES / "audit" / "kmsg-seccomp-log.txt").read_text().splitlines()]
    journal = sorted([f"Nov 28 12:41:28 {A} kernel: {line}" for line in real]
                     + [f"Nov 28 12:41:28 {B} kernel: {line}" for index, line in enumerate(real) if index != 5])
    pid = real[0].split(" pid=", 1)[1].split()[0]
    rec, proc = run(write(tmp_path, "kernel.journal", journal), "--pid", pid, out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    expected = set((FIXTURES / "audit" / "kmsg-seccomp-log.expected.txt").read_text().split())
    assert rec.names(X86_64) == expected
    where = f"{tmp_path / 'kernel.journal'}: node {B}"
    assert [r for r in rec.incomplete_reasons if "missing" in r] == [
        f"{where}: 1 audit event serial number(s) missing in 1 gap(s): records were lost"]


# ---------------------------------------------------------------- the Recording format


def _with_nodes(rec: recording.Recording, nodes: tuple[str, ...]) -> recording.Recording:
    use = SyscallUse(1, Caller(1, "/x"), nodes=nodes)
    return recording.Recording(rec.source, 0, True, {X86_64: {"read": use}})


def test_nodes_round_trip_merge_and_old_recordings(tmp_path: Path) -> None:
    rec, proc = run(NODE_LOGS / "workers-audit.log", out=tmp_path / "rec.json")
    assert rec is not None, proc.stderr
    assert recording.loads(recording.dumps(rec)) == rec
    merged = recording.merge([_with_nodes(rec, (B,)), _with_nodes(rec, (A,)), _with_nodes(rec, ())])
    assert merged.syscalls[X86_64]["read"].nodes == (A, B)
    old = json.loads(recording.dumps(_with_nodes(rec, ())))
    assert "nodes" not in old["syscalls"][X86_64]["read"]  # nothing new written without nodes
    assert recording.loads(json.dumps(old)).syscalls[X86_64]["read"].nodes == ()


@pytest.mark.parametrize("bad", [[B, A], [A, A], [""], "node", [1]])
def test_bad_nodes_are_refused_with_the_line(tmp_path: Path, bad: object) -> None:
    doc = json.loads(recording.dumps(_with_nodes(_base(), (A,))))
    doc["syscalls"][X86_64]["read"]["nodes"] = bad
    with pytest.raises(SeccompGenError, match=r"syscalls\.SCMP_ARCH_X86_64\.read\.nodes") as caught:
        recording.loads(json.dumps(doc, indent=1), "rec.json")
    assert caught.value.path == "rec.json" and caught.value.line is not None


def _base() -> recording.Recording:
    source = recording.Source("audit", (), "2025-11-28T12:00:00+00:00", 0.0, "6.1", X86_64)
    return recording.Recording(source, 0, True, {})
