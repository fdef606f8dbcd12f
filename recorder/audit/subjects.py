"""What a log holds, by subject label: for `record --list-subjects` and for the error when a --subj
or --node filter matches nothing.

CRI-O gives every pod its own SELinux MCS level (`container_t:s0:c123,c456`) and SECCOMP records
carry it in `subj=`, so the label tells one pod's records from another's on a node where pids and
exe paths repeat; a user who does not know the level picks it from this table (exe, comm, nodes).
Memory stays bounded on fleet logs: at most MAX_LABELS labels and a few examples of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.audit.filter import AuditFilter, level_of

MAX_LABELS = 10_000
MAX_EXAMPLES = 3
#: The error naming what a log holds shows at most this many of its labels or nodes (one line).
MAX_SHOWN = 8


@dataclass
class Subject:
    """The records of one `subj=` label (None: records without one, e.g. on a node without an LSM)."""

    label: str | None
    records: int = 0
    exes: list[str] = field(default_factory=list)
    comms: list[str] = field(default_factory=list)
    nodes: set[str] = field(default_factory=set)

    @property
    def level(self) -> str | None:
        return level_of(self.label) if self.label is not None else None


class Inventory:
    """The labels and nodes of the SECCOMP/SYSCALL records read: `seen_*` before the filters (what
    the log holds), `subjects` of the records the filters kept (what --list-subjects shows)."""

    def __init__(self) -> None:
        self.subjects: dict[str | None, Subject] = {}
        self.seen_subjects: set[str] = set()
        self.seen_nodes: set[str] = set()
        self.unlisted = 0  # records of labels beyond MAX_LABELS

    def saw(self, subj: str | None, node: str | None) -> None:
        """A record read, before the filters."""
        if subj is not None and len(self.seen_subjects) < MAX_LABELS:
            self.seen_subjects.add(subj)
        if node is not None and len(self.seen_nodes) < MAX_LABELS:
            self.seen_nodes.add(node)

    def add(self, subj: str | None, node: str | None, exe: str, comm: str) -> None:
        """A record the filters kept."""
        found = self.subjects.get(subj)
        if found is None:
            if len(self.subjects) >= MAX_LABELS:
                self.unlisted += 1
                return
            found = self.subjects[subj] = Subject(subj)
        found.records += 1
        if exe and exe not in found.exes and len(found.exes) < MAX_EXAMPLES:
            found.exes.append(exe)
        if comm and comm not in found.comms and len(found.comms) < MAX_EXAMPLES:
            found.comms.append(comm)
        if node is not None and len(found.nodes) < MAX_LABELS:
            found.nodes.add(node)

    def rows(self) -> list[Subject]:
        """The labels, most records first."""
        return sorted(self.subjects.values(), key=lambda s: (-s.records, s.label or ""))

    def check(self, filt: AuditFilter, inputs: str) -> None:
        """SeccompGenError naming the first --subj or --node value that matches no record, and
        what the log holds instead: a typo must not leave a pod or a node out unnoticed."""
        for wanted in sorted(filt.subjects):
            if not any(AuditFilter(subjects=frozenset({wanted})).wants_subject(s) for s in self.seen_subjects):
                held = _listed(self.seen_subjects, "subj= labels", "no record carries subj= (no LSM on the node?)")
                hint = " (--list-subjects shows them with their programs)" if self.seen_subjects else ""
                raise SeccompGenError(f"{inputs}: --subj {wanted} matches no SECCOMP/SYSCALL record; {held}{hint}; "
                                      "no recording written")
        for wanted in sorted(filt.nodes):
            if wanted not in self.seen_nodes:
                held = _listed(self.seen_nodes, "nodes", "its lines name no node")
                raise SeccompGenError(f"{inputs}: --node {wanted} matches no SECCOMP/SYSCALL record; {held}; "
                                      "no recording written")


def _listed(values: set[str], what: str, none: str) -> str:
    if not values:
        return f"the log holds none: {none}"
    shown = sorted(values)[:MAX_SHOWN]
    more = f" and {len(values) - len(shown)} more" if len(values) > len(shown) else ""
    return f"the log holds {len(values)} {what}: {', '.join(shown)}{more}"
