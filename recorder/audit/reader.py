"""The audit reader's loops: a block of auditd's own lines at a time, else line by line.

Both paths give the same Recording (tests/test_audit_blocks.py): the block path reads plain
auditd blocks with two regex passes (blocks.py) and hands each block's counts to the collector in
the order the records came; the line loop parses what is unusual. Loss evidence, serial gaps,
malformed records and the process table are kept here; engine.py turns them into a Recording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import count, repeat

from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.audit import blocks, parallel
from seccomp_gen.recorder.audit.filter import AuditFilter
from seccomp_gen.recorder.audit.inputs import MAX_LINE, Block, Limits, Line, read_blocks
from seccomp_gen.recorder.audit.loss import BOOT_MARKERS, LossEvidence, Trails, may_report_loss
from seccomp_gen.recorder.audit.processes import MAX_PROCESSES, ProcessTable
from seccomp_gen.recorder.audit.records import (
    HEADER,
    Header,
    MalformedRecord,
    SyscallEvent,
    event_of,
    header_of,
    node_of,
    subject_of,
    type_name,
)
from seccomp_gen.recorder.audit.steps import Line as RecordLine
from seccomp_gen.recorder.audit.subjects import Inventory
from seccomp_gen.recorder.audit.summary import Blank, BlockSummary, How, RawLines
from seccomp_gen.recorder.audit.summary import item_of as summary_item
from seccomp_gen.recorder.audit.tables import tables
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.recording import Process

#: An `ausearch -i` record: its timestamp is a local date, its fields are interpreted.
INTERPRETED = re.compile(r"type=\w+ msg=audit\(\d+/\d+/\d+ ")
__all__ = ["MAX_PROCESSES", "MAX_REPORTED", "AuditReader"]
_TARGET_TYPES = frozenset({"SECCOMP", "SYSCALL"})
MAX_REPORTED = 20


@dataclass
class _Stats:
    lines: int = 0
    not_audit: int = 0
    other_records: int = 0
    matched: int = 0
    filtered_out: int = 0
    malformed: int = 0
    long_lines: int = 0
    interpreted: int = 0  # `ausearch -i` lines: dates, names and users rewritten, not readable back
    first_ts: float | None = None
    last_ts: float | None = None
    nodes: set[str] = field(default_factory=set)
    records_per_node: dict[str, int] = field(default_factory=dict)  # records used, by the node the line names


class AuditReader:
    """Reads audit log inputs into a Collector, with the statistics the Recording reports.

    A plain block of auditd's lines is summarised (summary.py: on this core, or on several by
    parallel.py) and the summary applied (apply()); any other block goes through the line loop
    (_take). Only apply(), _take() and _record() change the reader's state, in the input's order.
    """

    def __init__(self, inputs: Sequence[str], filt: AuditFilter | None = None, *, strict: bool = False,
                 log: Log | None = None, progress: Log | None = None, limits: Limits | None = None) -> None:
        if not inputs:
            raise SeccompGenError("no audit log given")
        self.inputs = list(inputs)
        self.filt = filt or AuditFilter()
        self.strict = strict
        self.log = log or quiet
        self.progress = progress
        self.limits = limits or Limits()  # bytes one input may yield, decompressed (--max-bytes)
        self.collector = Collector()
        self.loss = LossEvidence()
        self.stats = _Stats()
        self._processes = ProcessTable(MAX_PROCESSES)  # Processes only at the end
        self.tables = tables()
        self._exec_seen = False
        self._decoder = blocks.Decoder()
        self.jobs = parallel.default_jobs()  # processes that summarise blocks (1: this one only)
        f = self.filt
        self.inventory = Inventory()
        #: Every record through _record(): a label or node filter, or the inventory, needs its subj=/node.
        self._general = bool(f.sessions or f.subjects or f.nodes or f.exec_gate_pid is not None)

    @property
    def general(self) -> bool:
        """Whether every record goes through _record() (filters that need more than the layout)."""
        return self._general

    def list_subjects(self) -> None:
        """Keep the inventory of labels (--list-subjects): every record then takes the general path."""
        self._general = True

    def _malformed(self, where: str, why: str) -> None:
        self.stats.malformed += 1
        if self.strict:
            raise SeccompGenError(f"malformed audit record: {why}", path=where.rsplit(":", 1)[0],
                                  line=int(where.rsplit(":", 1)[1]))
        if self.stats.malformed <= MAX_REPORTED:
            self.log(f"seccomp-gen: {where}: malformed audit record skipped: {why}")

    def _wanted(self, event_pid: int, exe: str, comm: str, fields_ses: str | None) -> bool:
        f = self.filt
        return f.wants_process(event_pid, exe, comm) and (not f.sessions or fields_ses in f.sessions)

    def read_input(self, path: str) -> None:
        """Like feed(), a block of lines at a time: a plain block of auditd's own lines is
        summarised and applied, any other block goes through the line loop. A big regular file is
        summarised on several cores (parallel.py), with the same result."""
        trails, number = Trails(), 0
        if self.jobs > 1 and parallel.worth_it(path, self.limits):
            items = parallel.summaries(path, self, self.jobs)
        else:
            items = (self._summarise(block) for block in read_blocks(path, self.progress, self.limits))
        for item in items:
            self.take_item(item, path, number, trails)
            number += item.lines
        self._end_input(path, trails)

    def _summarise(self, block: Block) -> BlockSummary | Blank | RawLines:
        """What parallel.py's workers make of a block (summary.item_of), on this core."""
        return summary_item(block, How(self.filt, self._general, self._decoder, self._processes.listed_when_full))

    def take_item(self, item: BlockSummary | Blank | RawLines, path: str, number: int, trails: Trails) -> None:
        """Apply one block's item; `number`: the number of the line before the block."""
        if isinstance(item, BlockSummary):
            self.apply(item, path, number, trails)
        elif isinstance(item, Blank):  # blank lines (a bomb of newlines): as _take() counts them
            self.stats.lines += item.lines
            self.stats.not_audit += item.lines
        else:
            self._take(zip(repeat(path), count(number + 1), item.texts), trails, item.loss_words)

    def apply(self, summary: BlockSummary, path: str, number: int, trails: Trails) -> None:
        """A plain block's summary, into the reader's state, as _take() would take its lines."""
        self.stats.lines += summary.lines
        for index, line in summary.loss_lines:
            self.loss.scan(line, f"{path}:{number + index}")
        trail = trails.of(None)  # auditd's own lines, no node prefix
        trail.unfiltered = trail.unfiltered or summary.standalone
        trail.serials.see_all(summary.serials, summary.seconds)
        add, processes = self.collector.add, self._processes
        for step in summary.steps:
            if isinstance(step, RecordLine):
                self._record_line(step.text, path, number + step.number)
                continue
            for (token, nr, action), args, records, pid, exe in step.counts:
                add(token, nr, pid, exe, args, action=action, count=records)
            processes.apply(step.transitions)
        processes.not_listed += summary.unlisted
        stats = self.stats
        stats.other_records += summary.other_records
        stats.matched, stats.filtered_out = stats.matched + summary.matched, stats.filtered_out + summary.filtered
        if summary.matched:
            low, high = summary.low, summary.high
            stats.first_ts = low if stats.first_ts is None else min(stats.first_ts, low)
            stats.last_ts = high if stats.last_ts is None else max(stats.last_ts, high)

    def _record_line(self, line: str, path: str, number: int) -> None:
        match = HEADER.search(line)
        assert match is not None  # the line starts with its header
        self._record(header_of(line, match, type_name(match.group(2))), path, number)

    def feed(self, path: str, lines: Iterable[Line]) -> None:
        """Take the lines of one input (its serial numbers are checked for gaps within each boot)."""
        trails = Trails()
        self._take(((line.path, line.number, line.text) for line in lines), trails, True)
        self._end_input(path, trails)

    def _take(self, numbered: Iterable[tuple[str, int, str | None]], trails: Trails, loss_words: bool) -> None:
        """The hot loop, once per line: one header regex search; fields only for SECCOMP/SYSCALL.
        Serials are checked per node (the line's prefix names it), as every node counts its own."""
        stats, loss, search = self.stats, self.loss, HEADER.search
        serial_exempt, standalone = self.tables.serial_exempt, self.tables.standalone
        for line_path, number, text in numbered:
            stats.lines += 1
            if text is None:
                self._long_line(line_path, number)
                continue
            if loss_words and may_report_loss(text):
                loss.scan(text, f"{line_path}:{number}")
            match = search(text)
            if match is None:
                stats.not_audit += 1
                if "audit(" in text and INTERPRETED.search(text):
                    stats.interpreted += 1
                continue
            name = type_name(match.group(2))
            trail = trails.of(node_of(text, match) if match.start() else None)
            if name not in _TARGET_TYPES:
                stats.other_records += 1
                if name.startswith(serial_exempt):  # auditd's own counter, not the kernel's serials
                    if name in BOOT_MARKERS:
                        trail.serials.new_boot()
                    continue
                # Only records that are events of their own show an unfiltered trail: `ausearch -m
                # SECCOMP,SYSCALL` keeps PROCTITLE, PATH... of the events it selects.
                trail.unfiltered = trail.unfiltered or name.startswith(standalone)
            seconds = match.group(3)  # as the block path reads them (blocks.Scan.seconds)
            trail.serials.see(int(match.group(5)), int(seconds) if len(seconds) == 10 else None)
            if name not in _TARGET_TYPES:
                continue
            header = header_of(text, match, name)
            trail.unfiltered = trail.unfiltered or header.kernel_format
            self._record(header, line_path, number)

    def _long_line(self, path: str, number: int) -> None:
        self.stats.long_lines += 1
        self.log(f"seccomp-gen: {path}:{number}: line longer than {MAX_LINE} bytes skipped")
        if self.strict:
            raise SeccompGenError(f"line longer than {MAX_LINE} bytes", path=path, line=number)

    def _end_input(self, path: str, trails: Trails) -> None:
        for message, lost in trails.findings(path):
            if lost:
                self.collector.mark_incomplete(f"{message}: records were lost")
            else:
                self.collector.warn(f"{message} (expected if the log was filtered, e.g. by ausearch -m)")

    def _record(self, header: Header, path: str, number: int) -> None:
        filt, stats, timestamp = self.filt, self.stats, header.timestamp
        subj = subject_of(header.body) if self._general else None
        self.inventory.saw(subj, header.node)  # what the log holds, whatever the filters keep
        if (filt.since is not None or filt.until is not None) and not filt.wants_time(timestamp):
            stats.filtered_out += 1
            return
        try:
            event = event_of(header.type_name, header.body)
        except MalformedRecord as exc:
            self._malformed(f"{path}:{number}", str(exc))
            return
        ses = None
        if filt.sessions:
            found = re.search(r"(?:^|\s)ses=(\d+)", header.body)
            ses = found.group(1) if found else None
        if not (filt.wants_subject(subj) and filt.wants_node(header.node)):
            stats.filtered_out += 1
            return
        self._use(event, timestamp, header.node, ses, subj)

    def _use(self, event: SyscallEvent, timestamp: float, node: str | None, ses: str | None,
             subj: str | None = None) -> None:
        """Count a parsed record that is in the time range, if the other filters keep it."""
        filt, stats = self.filt, self.stats
        if not self._wanted(event.pid, event.exe, event.comm, ses):
            stats.filtered_out += 1
            return
        if event.pid == filt.exec_gate_pid and not self._gate_open(event):
            stats.filtered_out += 1
            return
        stats.matched += 1
        stats.first_ts = timestamp if stats.first_ts is None else min(stats.first_ts, timestamp)
        stats.last_ts = timestamp if stats.last_ts is None else max(stats.last_ts, timestamp)
        if node:
            stats.nodes.add(node)
            stats.records_per_node[node] = stats.records_per_node.get(node, 0) + 1
        if self._general:
            self.inventory.add(subj, node, event.exe, event.comm)
        exe = event.exe or event.comm
        self.collector.add(event.arch_token, event.nr, event.pid, exe, event.args, action=event.action, node=node)
        self._processes.note(event.pid, event.ppid, exe)

    @property
    def processes(self) -> dict[int, Process]:
        """The processes seen so far (at most MAX_PROCESSES), by pid, in the order they came."""
        return {pid: Process(pid, ppid, exe, ()) for pid, (ppid, exe) in self._processes.table.items()}

    @property
    def listed_when_full(self) -> frozenset[str] | None:
        """The process table's pids once it is full (ProcessTable.listed_when_full)."""
        return self._processes.listed_when_full

    @property
    def processes_not_listed(self) -> int:
        """Records of processes that found the table full (memory stays bounded on fleets' logs)."""
        return self._processes.not_listed

    def _gate_open(self, event: SyscallEvent) -> bool:
        """True from the gated pid's execve on; also from its first record under another exe, in
        case the execve record itself was lost."""
        if not self._exec_seen:
            arch = syscalls.arch_of_token(event.arch_token, event.nr)
            name = syscalls.name_of(arch, event.nr) if arch else None
            launcher = self.filt.exec_gate_exe
            self._exec_seen = name in ("execve", "execveat") or bool(launcher and event.exe and event.exe != launcher)
        return self._exec_seen
