"""What a plain block of auditd's lines holds, worked out without the reader's state: a BlockSummary.

The reader's order-dependent state - serial trackers, the collector's first callers, the process
table, statistics - is only ever changed by AuditReader.apply() (reader.py), in the order of the
blocks. Everything a block's own text decides - its headers, which records are in the kernel's
layout, their counts by key, the first caller of each key, the processes' transitions, the lines
that may report a loss - is summarised here, by a pure function of the text, the filter and the
record tables. That split is what lets the reader summarise blocks on several cores
(parallel.py) and still give the recording the one-core path gives, byte for byte: both paths
apply the same summaries in the same order, only where summarise() runs differs.

Line numbers in a summary are relative to its block (1 = its first line): the one-core path knows
a block's first line number, the parallel path only once the blocks before are counted.
"""

from __future__ import annotations

import functools
from array import array
from typing import NamedTuple

from seccomp_gen.recorder.audit import blocks
from seccomp_gen.recorder.audit.bulk import summarise_uniform
from seccomp_gen.recorder.audit.filter import AuditFilter
from seccomp_gen.recorder.audit.inputs import Block
from seccomp_gen.recorder.audit.loss import may_report_loss
from seccomp_gen.recorder.audit.records import type_name
from seccomp_gen.recorder.audit.steps import Line, Segment, Step, Totals
from seccomp_gen.recorder.audit.tables import tables

_TARGET_TYPES = frozenset({"SECCOMP", "SYSCALL"})
# How the fast path treats a record type as written: a SECCOMP/SYSCALL record, an event of its own
# (the log is an unfiltered trail), another record, or one it leaves to the line loop.
TARGET, STANDALONE, OTHER, ODD = "target", "standalone", "other", "odd"
_INF = float("inf")
_STAMP_MAX = "9999999999.999~"  # sorts after every 10.3-digit timestamp

class BlockSummary(NamedTuple):
    """A plain block's contribution to the reader's state (applied by AuditReader.apply)."""

    lines: int
    loss_lines: list[tuple[int, str]]  # (line within the block, text) of lines with a loss word
    standalone: bool  # a record type that is an event of its own: an unfiltered trail
    serials: array[int]
    seconds: array[int]  # each line's seconds when they have 10 digits, else 0 (blocks.Scan)
    steps: list[Step]  # in the order of the records
    other_records: int
    matched: int
    filtered: int
    low: float  # the earliest and latest time of a matched record in a Segment (inf/-inf: none)
    high: float
    unlisted: int = 0  # records of pids the full process table does not list (How.listed)


class Blank(NamedTuple):
    """A block of newlines only (counted, not read)."""

    lines: int


class RawLines(NamedTuple):
    """A block that is not plain auditd lines: the reader's line loop reads it."""

    texts: list[str | None]  # None: a line longer than MAX_LINE (skipped)
    loss_words: bool  # the block's text holds a word of a loss message

    @property
    def lines(self) -> int:
        return len(self.texts)


Item = BlockSummary | Blank | RawLines


class How(NamedTuple):
    """What a summary depends on besides the text: the filter, whether every record goes to the
    general parser, the decoder's memos, and - once the process table is full, when its pids can no
    longer change - the listed pids (the records of any other pid are then only counted)."""

    filt: AuditFilter
    general: bool
    decoder: blocks.Decoder
    listed: frozenset[str] | None = None


def item_of(block: Block, how: How) -> Item:
    """What the reader does with `block`, as a value: a summary, a count of blank lines, or the
    lines for the line loop."""
    if block.plain:
        if not block.text.strip("\n"):
            return Blank(block.count)
        found = summarise(block.text, how)
        if found is not None:
            return found
    return RawLines(block.lines, may_report_loss(block.text))


@functools.lru_cache(maxsize=1024)
def kind_of(type_text: str) -> str:
    """How the fast path treats a record type as written (types are few: memoised)."""
    name = type_name(type_text)
    if name in _TARGET_TYPES:
        return TARGET if type_text == name else ODD  # "1326": the line loop handles numbers
    audit = tables()
    if name.startswith(audit.serial_exempt):
        return ODD  # not in the serial check: left to the line loop
    return STANDALONE if name.startswith(audit.standalone) else OTHER


def summarise(text: str, how: How) -> BlockSummary | None:
    """The summary of a plain block's text (its lines joined by "\\n"); None when a line of it is
    not an auditd line of an ordinary type (the reader's line loop then reads the block)."""
    found = blocks.scan_text(text)
    if found is None:
        return None
    kinds = {kind_of(name) for name in found.types}
    if ODD in kinds:
        return None
    filt, general, decoder = how.filt, how.general, how.decoder
    loss_lines = ([(index, line) for index, line in enumerate(text.split("\n"), 1) if may_report_loss(line)]
                  if may_report_loss(text) else [])
    filtering = filt.selects_by_time_or_process
    unlisted = 0
    if general:
        steps, totals = _all_lines(found.text), (0, 0, _INF, -_INF)
        used = len(steps)
    else:
        uniform = None if filtering else summarise_uniform(found.text, decoder, how.listed)
        if uniform is not None:
            steps, used, totals, unlisted = uniform
        else:
            steps, used, totals = _records(found.text, filt, filtering, decoder)
    matched, filtered, low, high = totals
    return BlockSummary(len(found.serials), loss_lines, STANDALONE in kinds, found.serials, found.seconds, steps,
                        len(found.serials) - used, matched, filtered, low, high, unlisted)


def _all_lines(text: str) -> list[Step]:
    """Every SECCOMP/SYSCALL record for the general parser (filters that need more than the layout)."""
    lines = blocks.LineCounter(text, 0)
    steps: list[Step] = []
    for match in blocks.records(text):
        start = match.start() + 1
        steps.append(Line(text[start: match.end()], lines.number(start)))
    return steps


class _Open:
    """The Segment being filled by _records(): counts by key in the order keys came, transitions."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts: dict[tuple[blocks.Key, tuple[int, ...]], tuple[int, str]] = {}  # -> first caller
        self.numbers: dict[tuple[blocks.Key, tuple[int, ...]], int] = {}
        self.transitions: list[tuple[int, int | None, str]] = []
        self.records: list[int] = []  # of each transition
        self.latest: dict[int, int] = {}  # pid -> the index of its latest transition

    def close(self, steps: list[Step]) -> None:
        if self.counts or self.transitions:
            counts = [(key, args, self.numbers[key, args], pid, exe) for (key, args), (pid, exe) in self.counts.items()]
            transitions = [(*t, n) for t, n in zip(self.transitions, self.records, strict=True)]
            steps.append(Segment(counts, transitions))
        self.reset()


def _records(text: str, filt: AuditFilter, filtering: bool, decoder: blocks.Decoder
             ) -> tuple[list[Step], int, Totals]:
    """The records of a scanned block one by one, in order (any block _uniform() does not take):
    (steps, records, (matched, filtered, earliest, latest))."""
    steps: list[Step] = []
    segment, lines, quotes = _Open(), blocks.LineCounter(text, 0), text.count
    keys, names_memo, out_of_range = decoder.keys, decoder.names, blocks.OUT_OF_RANGE
    used = matched = filtered = 0
    low, high, first, last = _INF, -_INF, _STAMP_MAX, ""
    timestamp = 0.0
    for match in blocks.records(text):
        used += 1
        groups = match.groups()
        if groups[0]:
            pid_text, names_text, texts, ppid_text = groups[4], groups[5], (groups[6], groups[7]), None
        else:
            pid_text, names_text, texts, ppid_text = groups[11], groups[12], (groups[8], None), groups[10]
        start, end = match.span()
        entry, names = out_of_range, None
        if pid_text is not None and not quotes('"', start, end) % 2:  # odd: an unterminated quote
            entry = keys.get(texts) or decoder.key(texts)
            names = names_memo.get(names_text) or decoder.names_of(names_text)
        if entry is out_of_range or names is None:
            segment.close(steps)  # not in the layout: the general parser decides
            steps.append(Line(text[start + 1: end], lines.number(start + 1)))
            continue
        (count_key, watched), (comm, exe) = entry, names
        if watched:
            count_key = (count_key[0], blocks.arguments(groups[9]))
        stamp, pid = groups[1], int(pid_text)
        if filtering or not stamp:
            timestamp = blocks.stamp_time(stamp) if stamp else blocks.timestamp(groups[2], groups[3])
            if filtering and not (filt.wants_time(timestamp) and filt.wants_process(pid, exe, comm)):
                filtered += 1
                continue
        matched += 1
        if stamp:
            first, last = (stamp if stamp < first else first), (stamp if stamp > last else last)
        else:
            low, high = min(low, timestamp), max(high, timestamp)
        _count(segment, count_key, pid, int(ppid_text) if ppid_text is not None else None, exe or comm)
    segment.close(steps)
    if last:
        low, high = min(low, blocks.stamp_time(first)), max(high, blocks.stamp_time(last))
    return steps, used, (matched, filtered, low, high)


def _count(segment: _Open, count_key: tuple[blocks.Key, tuple[int, ...]], pid: int, ppid: int | None,
           exe: str) -> None:
    """One record into the open segment: its key's count (the first caller kept), its process."""
    number = segment.numbers.get(count_key)
    if number is None:
        segment.counts[count_key] = (pid, exe)  # the first caller of this key in the segment
        segment.numbers[count_key] = 1
    else:
        segment.numbers[count_key] = number + 1
    index = segment.latest.get(pid)
    if index is not None and segment.transitions[index][1:] == (ppid, exe):
        segment.records[index] += 1  # the same again: changes nothing (ProcessTable.note)
        return
    segment.latest[pid] = len(segment.transitions)
    segment.transitions.append((pid, ppid, exe))
    segment.records.append(1)


