"""Which audit records count: --pid/--exe/--comm/--subj/--node/--since/--until, and complain mode's own filters."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

from seccomp_gen.ground.errors import SeccompGenError

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])(?:\s*ago)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str) -> float:
    """--since/--until: ISO 8601 (local time unless it says), epoch seconds, or `10m`/`2h ago`."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        return time.time() - float(relative.group(1)) * _UNITS[relative.group(2)]
    try:
        return float(value.lstrip("@"))
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise SeccompGenError(f"cannot read time {text!r}: use ISO 8601 (2026-11-28T12:00:00), "
                              "epoch seconds, or an age such as 10m or 2h") from None


@dataclass(frozen=True)
class AuditFilter:
    """Which records count: all of them when every field is empty."""

    pids: frozenset[int] = frozenset()
    exes: frozenset[str] = frozenset()
    comms: frozenset[str] = frozenset()
    since: float | None = None
    until: float | None = None
    sessions: frozenset[str] = frozenset()
    #: Records of this pid count only from its first execve on (complain mode: the launcher's own
    #: calls between loading the filter and exec'ing CMD are not CMD's).
    exec_gate_pid: int | None = None
    exec_gate_exe: str | None = None
    exclude_pids: frozenset[int] = frozenset()
    #: --subj: full `subj=` labels or their SELinux levels (`s0:c123,c456`: CRI-O gives each pod its own).
    subjects: frozenset[str] = frozenset()
    #: --node: node names as the lines give them (node-logs prefix, syslog hostname, ausearch node=).
    nodes: frozenset[str] = frozenset()

    @property
    def selects_by_time_or_process(self) -> bool:
        """Whether a record in the kernel's layout may be dropped by its time, pid, exe or comm."""
        return bool(self.pids or self.exes or self.comms or self.exclude_pids or self.since is not None
                    or self.until is not None)

    def wants_process(self, pid: int, exe: str, comm: str) -> bool:
        """--pid/--exe/--comm and the excluded pids (sessions are asked of the record's text)."""
        return (pid not in self.exclude_pids and (not self.pids or pid in self.pids)
                and (not self.exes or exe in self.exes) and (not self.comms or comm in self.comms))

    def wants_time(self, timestamp: float) -> bool:
        return (self.since is None or timestamp >= self.since) and (self.until is None or timestamp <= self.until)

    def wants_subject(self, subj: str | None) -> bool:
        """--subj: the label itself, or its level exactly (s0:c1,c2 is not s0:c1,c23)."""
        return not self.subjects or (subj is not None and (subj in self.subjects or level_of(subj) in self.subjects))

    def wants_node(self, node: str | None) -> bool:
        return not self.nodes or node in self.nodes


def level_of(label: str) -> str | None:
    """The level (MLS/MCS range) of an SELinux context `user:role:type:level`; None for another
    kind of label. The level itself holds colons (`s0:c123,c456`), so only the first three split."""
    parts = label.split(":", 3)
    return parts[3] if len(parts) == 4 else None
