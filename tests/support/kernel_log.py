"""The kernel log as a node without auditd has it: the audit records (type=1326 SECCOMP) that
/dev/kmsg holds, read from a remembered position, and turned into what `oc adm node-logs --role
worker -u kernel` prints for a fleet (journal short lines, the node as the syslog hostname).

Used by tests/test_fleet_loop.py. The kernel prints audit records only when no audit daemon listens
(kauditd_printk_skb), asynchronously (kauditd's queue) and rate-limited by kernel.printk_ratelimit,
so a reader must know the records it waits for have arrived: `Marker` makes one SECCOMP record of a
known pid after the workload, and as kauditd prints its queue in order, the workload's records are
all in the log once the marker's is. Processes are told apart by audit session (`ses=`): a command
started through `new_session()` sets its loginuid, which gives it and everything it forks (podman,
conmon, the runtime, the container's processes) a fresh session id.
"""

from __future__ import annotations

import errno
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyseccomp

KMSG = Path("/dev/kmsg")
ACTIONS_LOGGED = Path("/proc/sys/kernel/seccomp/actions_logged")
UNSET = "4294967295"
#: `audit: type=1326 audit(1700000000.123:456): key=value ...` as kauditd_printk_skb prints it
RECORD = re.compile(r"audit: type=(?P<type>\d+) audit\((?P<sec>\d+)\.(?P<ms>\d+):(?P<serial>\d+)\): (?P<body>.*)")
FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
#: the marker's one logged call: none the busybox entrypoint makes
MARKER_SYSCALL = "getpriority"


def unusable() -> str | None:
    """Why the kernel log cannot carry this test's SECCOMP records here, or None."""
    if os.geteuid() != 0:
        return "reading /dev/kmsg and lifting kernel.printk_ratelimit need root"
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "auditd":
                    return "auditd runs: the kernel sends SECCOMP records to it, not to the kernel log"
            except OSError:
                continue
    try:
        logged = ACTIONS_LOGGED.read_text().split()
    except OSError as exc:
        return f"cannot read {ACTIONS_LOGGED} ({exc})"
    if "log" not in logged:
        return f"kernel.seccomp.actions_logged is {' '.join(logged)!r}: SCMP_ACT_LOG calls are not logged"
    return None


@dataclass(frozen=True)
class Record:
    """One audit record line of the kernel log: its message and the fields the test selects by."""

    message: str  # `audit: type=1326 audit(...): ...`, as the kernel printed it
    type: int
    epoch: float
    serial: int
    fields: dict[str, str]

    @classmethod
    def parse(cls, message: str) -> Record | None:
        found = RECORD.search(message)
        if found is None:
            return None
        fields = {k: v.strip('"') for k, v in FIELD.findall(found["body"])}
        epoch = int(found["sec"]) + int(found["ms"]) / 1000
        return cls(message[found.start():], int(found["type"]), epoch, int(found["serial"]), fields)


@dataclass
class KernelLog:
    """/dev/kmsg from the position it had when opened: every message printed after that."""

    fd: int = field(init=False)
    last_seq: int | None = None
    skipped: int = 0  # messages the ring overwrote before they were read (a seq gap or EPIPE)

    def __post_init__(self) -> None:
        self.fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.lseek(self.fd, 0, os.SEEK_END)

    def read_new(self) -> list[str]:
        """The messages printed since the last read (first lines only: continuation lines are
        the kernel's dictionary, not the message)."""
        messages: list[str] = []
        while True:
            try:
                data = os.read(self.fd, 16384)
            except BlockingIOError:
                return messages
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise
                self.skipped += 1
                continue
            prefix, _, rest = data.decode("utf-8", "surrogateescape").partition(";")
            seq = int(prefix.split(",")[1])
            if self.last_seq is not None and seq > self.last_seq + 1:
                self.skipped += seq - self.last_seq - 1
            self.last_seq = seq
            messages.append(rest.split("\n", 1)[0])

    def close(self) -> None:
        os.close(self.fd)


def new_session() -> None:
    """(preexec_fn) A fresh audit session for this child and all it forks: writing loginuid assigns one."""
    current = Path("/proc/self/loginuid").read_text().strip()
    Path("/proc/self/loginuid").write_text(current if current != UNSET else str(os.getuid()))


def marker() -> int:
    """A child that makes one SCMP_ACT_LOG call (MARKER_SYSCALL) and exits: its pid. Its record comes
    after every record the kernel queued before it."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
            flt.add_rule(pyseccomp.LOG, MARKER_SYSCALL)
            flt.load()
            os.getpriority(os.PRIO_PROCESS, 0)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return pid


def read_through_marker(log: KernelLog, timeout: float = 10) -> tuple[list[str], Record]:
    """Every message up to and including the record of a fresh marker process (AssertionError when
    it does not arrive: the kernel log dropped it)."""
    pid = str(marker())
    messages: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages += log.read_new()
        for at, message in enumerate(messages):
            record = Record.parse(message)
            if record is not None and record.type == 1326 and record.fields.get("pid") == pid:
                return messages[:at + 1], record
        time.sleep(0.05)
    raise AssertionError(f"the marker's SECCOMP record (pid {pid}) never reached the kernel log")


def journal(messages: list[str], nodes: tuple[str, ...]) -> str:
    """Kernel log messages as `oc adm node-logs --role worker -u kernel` prints them when every node
    in `nodes` logged the same ones (replicas): journalctl short lines, the node as the hostname, the
    nodes' lines merged in time order (a message that is no record keeps the time before it)."""
    lines = []
    epoch = time.time()
    for message in messages:
        record = Record.parse(message)
        epoch = record.epoch if record is not None else epoch
        stamp = time.strftime("%b %e %H:%M:%S", time.localtime(epoch))
        lines += [f"{stamp} {node} kernel: {message}" for node in nodes]
    return "".join(line + "\n" for line in lines)
