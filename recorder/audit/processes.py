"""The audit reader's process table: each pid's parent and latest exe, in bounded memory."""

from __future__ import annotations

from seccomp_gen.recorder.audit.steps import Transition

#: At most this many processes are listed in the Recording (the syscall table is bounded anyway).
MAX_PROCESSES = 10_000


class ProcessTable:
    """pid -> (ppid, exe), in the order pids first came; the latest exe after an exec, the first
    parent that is known. Records of pids that found the table full are counted, not listed."""

    def __init__(self, limit: int = MAX_PROCESSES) -> None:
        self.limit = limit
        self.table: dict[int, tuple[int, str]] = {}
        self.not_listed = 0
        self._listed: frozenset[str] | None = None

    @property
    def listed_when_full(self) -> frozenset[str] | None:
        """The listed pids (as the logs write them) once the table is full: then they never change,
        and a summary may count the records of every other pid instead of listing them."""
        if self._listed is None and len(self.table) >= self.limit:
            self._listed = frozenset(map(str, self.table))
        return self._listed

    def note(self, pid: int, ppid: int | None, exe: str, records: int = 1) -> None:
        """`records` records of `pid` with this parent (None: the record does not say) and exe.
        The same record again changes nothing, so a run of them is noted once (summary.py)."""
        known = self.table.get(pid)
        if known is None:
            if len(self.table) >= self.limit:
                self.not_listed += records  # memory stays bounded on logs of whole fleets
                return
            self.table[pid] = (ppid or 0, exe)
        elif known[1] != exe or (not known[0] and ppid):
            self.table[pid] = (ppid or known[0], exe)

    def apply(self, transitions: list[Transition]) -> None:
        for pid, ppid, exe, records in transitions:
            self.note(pid, ppid, exe, records)
