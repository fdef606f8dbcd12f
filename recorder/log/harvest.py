"""Where the kernel's audit records go, read while the command runs: /dev/kmsg or auditd's log.

Each harvester starts at the current end of its source, reads in a thread (fast, so the kernel's
ring buffer does not overrun), and counts evidence of loss it can see itself (kmsg overruns and
sequence gaps, a log file rotated away).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import threading
import time
from pathlib import Path

_AUDITD_CONF = Path("/etc/audit/auditd.conf")
_DEFAULT_AUDIT_LOG = "/var/log/audit/audit.log"


class Harvester:
    """Collects raw lines from one source in a background thread."""

    name = "?"

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lost: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"harvest-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        raise NotImplementedError


class KmsgHarvester(Harvester):
    """Reads /dev/kmsg records ("PRI,SEQ,TS,FLAGS;message") from its current end."""

    name = "kmsg"

    def __init__(self) -> None:
        super().__init__()
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)
        self.last_seq: int | None = None
        self.overruns = 0
        self.skipped = 0

    def stop(self) -> None:
        super().stop()
        if self.overruns or self.skipped:
            self.lost.append(f"/dev/kmsg overran {self.overruns} time(s): {self.skipped} kernel log records were "
                             "overwritten before they could be read (a busy program outruns the kernel log; "
                             "run auditd, or use --engine ptrace)")

    def _run(self) -> None:
        with contextlib.suppress(OSError):  # root: read ahead of the workload, or the ring overruns
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -15)
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        try:
            while True:
                try:
                    data = os.read(self.fd, 8192)
                except BlockingIOError:
                    if self._stop.is_set():
                        return
                    poller.poll(50)  # wake as soon as the kernel logs the next record
                    continue
                except OSError as exc:
                    if exc.errno == errno.EPIPE:  # the ring buffer overwrote records we had not read
                        self.overruns += 1
                        continue
                    raise
                self._take(data.decode("utf-8", "surrogateescape"))
        finally:
            os.close(self.fd)

    def _take(self, record: str) -> None:
        prefix, _, rest = record.partition(";")
        fields = prefix.split(",")
        if len(fields) >= 2 and fields[1].isdigit():
            seq = int(fields[1])
            if self.last_seq is not None and seq > self.last_seq + 1:
                self.skipped += seq - self.last_seq - 1
            self.last_seq = seq
        message = rest.split("\n", 1)[0]  # continuation lines (" KEY=value") follow the first
        self.lines.append(message)


def _auditd_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "auditd":
                    return int(entry.name)
    return None


def auditd_running() -> bool:
    """True when an auditd process exists (it then receives the records instead of the kernel log)."""
    return _auditd_pid() is not None


def auditd_log_path() -> str:
    """The log_file of the running auditd: its `-c DIR` config if it was started with one, else
    /etc/audit/auditd.conf, else auditd's default."""
    conf = _AUDITD_CONF
    pid = _auditd_pid()
    if pid is not None:
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"-c" in argv[:-1]:
                conf = Path(argv[argv.index(b"-c") + 1].decode()) / "auditd.conf"
    try:
        for line in conf.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "log_file" and value.strip():
                return value.strip()
    except OSError:
        pass
    return _DEFAULT_AUDIT_LOG


class AuditdLogHarvester(Harvester):
    """Tails auditd's log file from its current end, following a rotation."""

    name = "auditd"

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.path = path or auditd_log_path()
        self.handle = open(self.path, "rb")  # noqa: SIM115 - closed in _run
        self.handle.seek(0, os.SEEK_END)
        self._partial = b""

    def _drain(self) -> bool:
        data = self.handle.read()
        if not data:
            return False
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        self.lines.extend(line.decode("utf-8", "surrogateescape") for line in complete)
        return True

    def _rotated(self) -> bool:
        try:
            return os.stat(self.path).st_ino != os.fstat(self.handle.fileno()).st_ino
        except FileNotFoundError:
            return False

    def _run(self) -> None:
        try:
            while True:
                if self._drain():
                    continue
                if self._rotated():
                    self._drain()
                    self.handle.close()
                    self.handle = open(self.path, "rb")  # noqa: SIM115 - the new file, from its start
                    continue
                if self._stop.is_set():
                    return
                time.sleep(0.005)
        finally:
            self.handle.close()


_SES = re.compile(r"(?:^|\s)ses=(\d+)")  # not old-ses= of LOGIN records


def session_of(line: str) -> str | None:
    match = _SES.search(line)
    return match.group(1) if match else None
