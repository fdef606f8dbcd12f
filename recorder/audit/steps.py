"""The values a block summary is made of (summary.py, bulk.py), applied by AuditReader.apply()."""

from __future__ import annotations

from typing import NamedTuple

from seccomp_gen.recorder.audit.blocks import Key

#: One count key's records in a Segment: (collector key, argument values (() unless watched), how
#: many, first caller's pid, first caller's exe).
Counted = tuple[Key, tuple[int, ...], int, int, str]
#: A process seen in a Segment: (pid, ppid or None, exe, records) - one per change of (ppid, exe)
#: of that pid; the records between two changes change nothing (ProcessTable.apply).
Transition = tuple[int, int | None, str, int]
#: (records matched, filtered out, earliest time, latest time (inf, -inf: none)).
Totals = tuple[int, int, float, float]


class Segment(NamedTuple):
    """Records in the kernel's layout, between two that are not: their counts and processes."""

    counts: list[Counted]
    transitions: list[Transition]


class Line(NamedTuple):
    """A SECCOMP/SYSCALL record the layout does not fit: the reader's general parser takes it."""

    text: str
    number: int  # within the block


Step = Segment | Line
