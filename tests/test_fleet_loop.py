"""The fleet loop end to end, real parts only: lab recording -> learning profile -> production
replicas under it in podman -> the kernel's SECCOMP records as the nodes' logs -> a recording of
them -> the next profile, which production needs and the lab-only one is not enough for.

- A busybox image's entrypoint is `/bin/sh -c SCRIPT sh MODE`: MODE=lab greets and sorts; MODE=prod
  also runs `sync`, `nproc`, `free`, `ionice`, `uname` and `stat`, some of which make calls the lab
  run never makes (sync, sched_getaffinity, sysinfo, ioprio_get: checked on `seccomp-gen record` of
  both modes).
- The lab run is recorded outside any container (`record --rootfs`); `generate --on-miss log` makes
  the learning profile (crun, which takes SECCOMP_FILTER_FLAG_LOG). The prod entrypoint runs in
  podman under that unmodified profile and must print what it printed outside.
- No auditd runs here, so the kernel prints SECCOMP records to its log, rate-limited: the test holds
  the printk_ratelimit lease (recorder/log/ratelimit.py, a private state directory) while it reads.
  The container runs in an audit session of its own (loginuid set for the podman command), so its
  records are told apart from any other process's; a marker process's record closes the read.
  Every kernel message of that window - the marker's record and any other process's among them -
  goes into the node log as the node printed it, for `--exe` to select from.
- Those kernel lines become `oc adm node-logs --role worker -u kernel` output of two replicas, one on
  worker-a and one on worker-b (the same records - the same serials - under each node).
  `record --audit-log --exe /bin/busybox` reads them: the calls the lab missed, seen on both nodes.
- `generate lab.json prod.json` reports them in `added_by_later_recordings`, `diff` of the lab-only
  and the new enforcing profile names them, the new profile runs the prod entrypoint in podman and
  the lab-only one does not (the control: production really needed them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen.recorder.log.ratelimit import Holder, Lease
from tests.support import images
from tests.support import kernel_log as klog
from tests.support import podman as podman_support
from tests.support.oci import RunResult, missing_tool

pytestmark = [pytest.mark.loaders]

RUNTIME = "crun"
GENERATE = ("--name", "app", "--runtime", RUNTIME, "--allow-privilege-escalation")
NODES = ("worker-a", "worker-b")
BUSYBOX = "/bin/busybox"  # the exe the kernel prints for the container's processes: the path inside it
#: podman's environment for a container without --env (what the recordings see too)
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C"}
SCRIPT = ("read -r g < /etc/greeting; echo \"$g\"; printf '%s\\n' b a | sort | tr a-z A-Z; "
          "if [ \"$1\" = prod ]; then busybox sync && echo synced; echo \"cpus: $(busybox nproc)\"; "
          "busybox free > /dev/null && echo mem; busybox ionice -p $$; busybox uname -s; "
          "busybox stat -c %s /etc/greeting; fi; echo \"done $1\"")
FILES: dict[str, bytes | Path] = {"/etc/greeting": b"hello from the fleet\n"}


def entrypoint(mode: str) -> list[str]:
    return ["/bin/sh", "-c", SCRIPT, "sh", mode]


def seccomp_gen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seccomp_gen", *args], capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)


def names(recording: Path) -> set[str]:
    doc: dict[str, Any] = json.loads(recording.read_text())
    return set(doc["syscalls"].get("SCMP_ARCH_X86_64", {}))


@dataclass
class Lab:
    """What the lab gives production: the image, the recordings made outside, the first profiles."""

    work: Path
    podman: podman_support.Podman
    image: str
    lab: Path  # the lab recording
    prod_printed: str  # what the prod entrypoint prints (recorded outside a container)
    prod_only: set[str]  # the calls `record` of the prod entrypoint makes that the lab run does not
    learning: Path  # generate --on-miss log of the lab recording
    lab_enforcing: Path  # generate of the lab recording alone


def _record_outside(work: Path, root: Path, mode: str) -> tuple[Path, str]:
    out = work / f"{mode}-outside.json"
    proc = seccomp_gen("record", "-q", "-o", str(out), "--rootfs", str(root), "--", *entrypoint(mode),
                       env={**os.environ, **ENV})
    assert proc.returncode == 0 and out.exists(), proc.stderr
    return out, proc.stdout


def _generate(work: Path, tag: str, *args: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    proc = seccomp_gen("generate", *args, *GENERATE, "--out", str(work / tag))
    assert proc.returncode == 0, proc.stderr
    return work / tag / "app.json", proc


def _skip_reason() -> str | None:
    return (missing_tool("busybox") or podman_support.missing(RUNTIME) or klog.unusable()
            or (None if sys.platform == "linux" and os.uname().machine == "x86_64" else "x86_64 only"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Steps 1-2: the image, the lab recording, its learning and enforcing profiles; the podman
    session is closed and the host checked unchanged at the end, whatever happened."""
    why = _skip_reason()
    if why:
        pytest.skip(why)
    work = tmp_path_factory.mktemp("fleet")
    before = podman_support.host_state()
    session = podman_support.Podman(tmp_path_factory.mktemp("podman"))  # runroot: < 50 characters
    try:
        tar = images.busybox_tar(work, FILES)
        root = work / "root"
        root.mkdir()
        with tarfile.open(tar) as archive:
            archive.extractall(root, filter="fully_trusted")
        lab_rec, lab_printed = _record_outside(work, root, "lab")
        prod_rec, prod_printed = _record_outside(work, root, "prod")
        assert lab_printed.endswith("done lab\n") and "synced\ncpus: " in prod_printed, (lab_printed, prod_printed)
        prod_only = names(prod_rec) - names(lab_rec)
        assert {"sync", "sched_getaffinity", "sysinfo", "ioprio_get"} <= prod_only, prod_only
        learning, gen = _generate(work, "learning", str(lab_rec), "--on-miss", "log")
        assert "SECCOMP_FILTER_FLAG_LOG" in json.loads(learning.read_text()).get("flags", []), gen.stdout
        lab_enforcing, _ = _generate(work, "lab-enforcing", str(lab_rec))
        image = session.import_image(tar, "seccomp-gen-fleet")
        yield Lab(work, session, image, lab_rec, prod_printed, prod_only, learning, lab_enforcing)
    finally:
        problems = session.close()
        changed = [key for key, value in podman_support.host_state().items() if before[key] != value]
        assert not (problems or changed), f"forced {problems}; host changed: {changed}"


def run_prod(lab: Lab, profile: Path, session_file: Path | None = None, timeout: float = 60) -> RunResult:
    """`podman run` of the prod entrypoint under `profile`, as Podman.run does; with `session_file`
    the podman command first takes a fresh audit session and writes its id there."""

    def fresh_session() -> None:
        assert session_file is not None
        klog.new_session()
        session_file.write_text(Path("/proc/self/sessionid").read_text())

    return lab.podman.run(lab.image, RUNTIME, entrypoint("prod"), profile, False, timeout,
                          preexec_fn=fresh_session if session_file is not None else None)


@dataclass
class Production:
    """What the replicas logged: the kernel lines taken, the node log made of them, its recording."""

    records: list[klog.Record]  # the container's SECCOMP records
    marker: klog.Record  # another process's record on the node
    node_log: Path
    recording: Path


def _replica_under_learning(lab: Lab) -> tuple[list[str], klog.Record, str]:
    """Step 3: the prod entrypoint under the learning profile with the kernel log's rate limit
    lifted; the kernel messages printed meanwhile, the marker's record, and the container's session."""
    lease = Lease(state_dir=lab.work / "lease")
    holder = Holder.of(os.getpid())
    session_file = lab.work / "sessionid"
    lease.acquire(holder)
    try:
        log = klog.KernelLog()
        try:
            result = run_prod(lab, lab.learning, session_file)
            assert (result.returncode, result.stdout.decode()) == (0, lab.prod_printed), result.why()
            messages, marker = klog.read_through_marker(log)
            assert not log.skipped, f"/dev/kmsg overwrote {log.skipped} messages before they were read"
        finally:
            log.close()
    finally:
        lease.release(holder)
    assert not (lab.work / "lease" / "printk_ratelimit.json").exists()
    return messages, marker, session_file.read_text().strip()


def _foreign(messages: list[str], session: str) -> list[str]:
    """Records of another container's busybox in the window (a concurrent test): `--exe` could not
    tell them from the replica's."""
    return [m for m in messages if (r := klog.Record.parse(m)) is not None
            and r.fields.get("exe") == BUSYBOX and r.fields.get("ses") != session]


@pytest.fixture(scope="module")
def production(lab: Lab) -> Production:
    """Steps 3-4: the kernel log of the replica's run, as it is (every message of the window), as two
    nodes' `oc adm node-logs -u kernel` output; `record --audit-log --exe` of it. A window that another
    busybox container logged into as well is run again."""
    for _ in range(3):
        messages, marker, session = _replica_under_learning(lab)
        assert session != klog.UNSET
        if not _foreign(messages, session):
            break
    else:
        raise AssertionError(f"other busybox containers logged in every window: {_foreign(messages, session)[:3]}")
    records = [r for m in messages if (r := klog.Record.parse(m)) is not None
               and r.type == 1326 and r.fields.get("ses") == session]
    assert records, f"the container (ses={session}) logged nothing: {messages[-10:]}"
    assert {r.fields.get("exe") for r in records} == {BUSYBOX}, {r.fields.get("exe") for r in records}
    node_log = lab.work / "prod.log"
    node_log.write_text(klog.journal(messages, NODES))
    recording = lab.work / "prod.json"
    proc = seccomp_gen("record", "--audit-log", str(node_log), "-o", str(recording), "--exe", BUSYBOX)
    assert proc.returncode == 0, proc.stderr
    return Production(records, marker, node_log, recording)


def test_production_logged_only_what_the_lab_missed_on_both_nodes(lab: Lab, production: Production) -> None:
    doc: dict[str, Any] = json.loads(production.recording.read_text())
    assert doc["complete"] is True, doc.get("incomplete_reasons", doc)
    calls = doc["syscalls"]["SCMP_ARCH_X86_64"]
    assert set(calls) == lab.prod_only, (sorted(calls), sorted(lab.prod_only))
    for name, use in calls.items():
        assert (use["nodes"], use["first"]["exe"]) == (list(NODES), BUSYBOX), (name, use)
    per_node = doc["source"]["details"]["records_per_node"]
    assert per_node == {node: len(production.records) for node in NODES}, per_node
    assert klog.MARKER_SYSCALL not in calls  # the marker (another exe on the node) is filtered out
    unfiltered = lab.work / "prod-unfiltered.json"
    proc = seccomp_gen("record", "--audit-log", str(production.node_log), "-o", str(unfiltered))
    assert proc.returncode == 0 and klog.MARKER_SYSCALL in names(unfiltered), proc.stderr


def test_the_next_profile_adds_them_and_runs_production(lab: Lab, production: Production) -> None:
    profile, gen = _generate(lab.work, "next", str(lab.lab), str(production.recording), "--format", "json")
    added = {c["name"]: c for c in json.loads(gen.stdout)["added_by_later_recordings"]}
    assert set(added) == lab.prod_only, sorted(added)
    for call in added.values():
        assert (call["nodes"], call["first_exe"], call["recording"]) == \
            (list(NODES), BUSYBOX, str(production.recording)), call
    diff = seccomp_gen("diff", str(lab.lab_enforcing), str(profile))
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert all(name in diff.stdout for name in lab.prod_only), diff.stdout
    result = run_prod(lab, profile)
    assert (result.returncode, result.stdout.decode()) == (0, lab.prod_printed), result.why()


def test_the_lab_only_profile_does_not_run_production(lab: Lab) -> None:
    """The control: production needed what it added - the lab-only enforcing profile denies it."""
    result = run_prod(lab, lab.lab_enforcing)
    assert not result.timed_out, result.why()
    assert result.stdout.decode() != lab.prod_printed, result.why()
    errno_ret = json.loads(lab.lab_enforcing.read_text())["defaultErrnoRet"]
    assert f"ioprio_get: {os.strerror(errno_ret)}" in result.stderr.decode(), result.why()  # busybox ionice
