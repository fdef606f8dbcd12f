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
from typing import Any

from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.audit import blocks
from seccomp_gen.recorder.audit.filter import AuditFilter
from seccomp_gen.recorder.audit.inputs import MAX_LINE, Block, Limits, Line, read_blocks
from seccomp_gen.recorder.audit.loss import BOOT_MARKERS, LossEvidence, Trails, may_report_loss
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
from seccomp_gen.recorder.audit.subjects import Inventory
from seccomp_gen.recorder.audit.tables import tables
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.recording import Process

#: An `ausearch -i` record: its timestamp is a local date, its fields are interpreted.
INTERPRETED = re.compile(r"type=\w+ msg=audit\(\d+/\d+/\d+ ")
#: At most this many processes are listed in the Recording (the syscall table is bounded anyway).
MAX_PROCESSES = 10_000
_TARGET_TYPES = frozenset({"SECCOMP", "SYSCALL"})
MAX_REPORTED = 20
# How the fast path treats a record type (_kind): a SECCOMP/SYSCALL record, an event of its own (the
# log is an unfiltered trail), another record, or one it leaves to the line loop (with its block).
_TARGET, _STANDALONE, _OTHER, _ODD = "target", "standalone", "other", "odd"
_KINDS_MAX = 1024
_INF = float("inf")
_STAMP_MAX = "9999999999.999~"  # sorts after every 10.3-digit timestamp (see _take_records)


@dataclass
class _Stats:
    lines: int = 0
    not_audit: int = 0
    other_records: int = 0
    matched: int = 0
    filtered_out: int = 0
    malformed: int = 0
    long_lines: int = 0
    processes_not_listed: int = 0
    interpreted: int = 0  # `ausearch -i` lines: dates, names and users rewritten, not readable back
    first_ts: float | None = None
    last_ts: float | None = None
    nodes: set[str] = field(default_factory=set)
    records_per_node: dict[str, int] = field(default_factory=dict)  # records used, by the node the line names


class AuditReader:
    """Reads audit log inputs into a Collector, with the statistics the Recording reports.

    The block path's hot loop (_take_records) reads a record in the kernel's layout from the
    regex's groups as records.event_of() reads it and counts it as _use() counts it, with the
    running totals kept in locals until the end of the block; any other record (and all of them
    when a filter needs more than the layout's fields) goes through _record() as in the line loop,
    the collector's counts handed over first so it sees the records in their order.
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
        self._processes: dict[int, tuple[int, str]] = {}  # pid -> (ppid, exe): Processes only at the end
        self.tables = tables()
        self._exec_seen = False
        self._kinds: dict[str, str] = {}
        self._decoder = blocks.Decoder()
        self._counts: dict[tuple[blocks.Key, tuple[int, ...]], list[Any]] = {}  # see _take_records()
        f = self.filt
        self._filtering = bool(f.pids or f.exes or f.comms or f.exclude_pids or f.since is not None
                               or f.until is not None)
        self.inventory = Inventory()
        #: Every record through _record(): a label or node filter, or the inventory, needs its subj=/node.
        self._general = bool(f.sessions or f.subjects or f.nodes or f.exec_gate_pid is not None)

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
        return (event_pid not in f.exclude_pids and (not f.pids or event_pid in f.pids)
                and (not f.exes or exe in f.exes) and (not f.comms or comm in f.comms)
                and (not f.sessions or fields_ses in f.sessions))

    def read_input(self, path: str) -> None:
        """Like feed(), a block of lines at a time: a block of auditd's own lines takes the fast
        path (blocks.py), any other block the line loop. Loss messages are looked for only in the
        blocks whose text holds one of their words (most blocks hold none)."""
        trails = Trails()
        number = 0
        for block in read_blocks(path, self.progress, self.limits):
            if block.plain and not block.text.strip("\n"):  # blank lines (a bomb of newlines): as _take() counts them
                self.stats.lines += block.count
                self.stats.not_audit += block.count
            elif not self._take_block(block, path, number, trails):
                self._take(zip(repeat(path), count(number + 1), block.lines), trails, may_report_loss(block.text))
            number += block.count
        self._end_input(path, trails)

    def _take_block(self, block: Block, path: str, number: int, trails: Trails) -> bool:
        """What _take() does with the lines of `block`, done a block at a time; False (nothing
        done) when the block is not plain auditd lines of ordinary types."""
        found = blocks.scan(block)
        if found is None:
            return False
        kinds = [self._kind(name) for name in found.types]
        if _ODD in kinds:
            return False
        self.stats.lines += block.count
        if may_report_loss(block.text):
            for index, line in enumerate(block.lines, number + 1):
                assert line is not None  # a plain block has no over-long line
                self.loss.scan(line, f"{path}:{index}")
        trail = trails.of(None)  # auditd's own lines, no node prefix
        trail.unfiltered = trail.unfiltered or _STANDALONE in kinds
        trail.serials.see_all(found.serials, found.seconds)
        used = self._take_records(found.text, path, number)
        self.stats.other_records += block.count - used
        return True

    def _kind(self, type_text: str) -> str:
        """How the fast path treats a record type as written (memoised; types are few)."""
        kind = self._kinds.get(type_text)
        if kind is None:
            name = type_name(type_text)
            if name in _TARGET_TYPES:
                kind = _TARGET if type_text == name else _ODD  # "1326": the line loop handles numbers
            elif name.startswith(self.tables.serial_exempt):
                kind = _ODD  # not in the serial check: left to the line loop
            else:
                kind = _STANDALONE if name.startswith(self.tables.standalone) else _OTHER
            if len(self._kinds) >= _KINDS_MAX:
                self._kinds.clear()
            self._kinds[type_text] = kind
        return kind

    def _take_records(self, text: str, path: str, number: int) -> int:
        """The SECCOMP/SYSCALL records of a scanned block, in order; returns how many there were.
        The hot loop, once per record (see the class docstring)."""
        filt, processes, counts = self.filt, self._processes, self._counts
        if self._general:
            return self._take_records_generally(text, path, number)
        decoder, lines, quotes, filtering = self._decoder, blocks.LineCounter(text, number), text.count, self._filtering
        keys, names_memo, out_of_range = decoder.keys, decoder.names, blocks.OUT_OF_RANGE
        used = matched = filtered = unlisted = 0
        low, high, first, last = _INF, -_INF, _STAMP_MAX, ""  # times, and 10.3-digit stamps as text
        timestamp = 0.0
        for match in blocks.records(text):
            used += 1
            groups = match.groups()
            seccomp = groups[0]
            if seccomp:
                pid_text, names_text, texts, ppid_text = groups[4], groups[5], (groups[6], groups[7]), None
            else:
                pid_text, names_text, texts, ppid_text = groups[11], groups[12], (groups[8], None), groups[10]
            start, end = match.span()
            entry, names = out_of_range, None
            if pid_text is not None and not quotes('"', start, end) % 2:  # odd: an unterminated quote
                entry = keys.get(texts) or decoder.key(texts)
                names = names_memo.get(names_text) or decoder.names_of(names_text)
            if entry is out_of_range or names is None:
                self._flush()  # not in the layout: the general parser decides
                self._record_line(text[start + 1: end], path, lines.number(start + 1))
                continue
            (count_key, watched), (comm, exe) = entry, names
            ppid = int(ppid_text) if ppid_text is not None else None
            if watched:
                count_key = (count_key[0], blocks.arguments(groups[9]))
            stamp, pid = groups[1], int(pid_text)
            if filtering or not stamp:
                timestamp = blocks.stamp_time(stamp) if stamp else blocks.timestamp(groups[2], groups[3])
                if filtering and not (filt.wants_time(timestamp) and self._wanted(pid, exe, comm, None)):
                    filtered += 1
                    continue
            matched += 1
            if stamp:
                first, last = (stamp if stamp < first else first), (stamp if stamp > last else last)
            else:
                low, high = min(low, timestamp), max(high, timestamp)
            exe = exe or comm
            found = counts.get(count_key)
            if found is None:
                counts[count_key] = [1, pid, exe]  # the first caller of this key in the block
            else:
                found[0] += 1
            known = processes.get(pid)
            if known is None or known[1] != exe or (not known[0] and ppid):
                unlisted += self._note_process(pid, ppid, exe, known)
        self._flush()
        if last:
            low, high = min(low, blocks.stamp_time(first)), max(high, blocks.stamp_time(last))
        self._add_totals(matched, filtered, unlisted, low, high)
        return used

    def _note_process(self, pid: int, ppid: int | None, exe: str, known: tuple[int, str] | None) -> int:
        """A new process, or a known one's latest exe after an exec; 1 when the table is full."""
        if known is None:
            if len(self._processes) >= MAX_PROCESSES:
                return 1  # memory stays bounded on logs of whole fleets
            self._processes[pid] = (ppid or 0, exe)
        else:
            self._processes[pid] = (ppid or known[0], exe)
        return 0

    def _add_totals(self, matched: int, filtered: int, unlisted: int, low: float, high: float) -> None:
        """Add a block's totals from _take_records() to the stats (low/high: its first/last time)."""
        stats = self.stats
        stats.matched, stats.filtered_out = stats.matched + matched, stats.filtered_out + filtered
        stats.processes_not_listed += unlisted
        if matched:
            stats.first_ts = low if stats.first_ts is None else min(stats.first_ts, low)
            stats.last_ts = high if stats.last_ts is None else max(stats.last_ts, high)

    def _take_records_generally(self, text: str, path: str, number: int) -> int:
        """_take_records() for filters that need more than the layout's fields: every record
        through _record()."""
        lines, used = blocks.LineCounter(text, number), 0
        for match in blocks.records(text):
            used += 1
            start = match.start() + 1
            self._record_line(text[start: match.end()], path, lines.number(start))
        return used

    def _flush(self) -> None:
        """Hand the block's counts (_take_records) to the collector, in the order their keys first
        came: the same totals, first callers, actions and argument values as adding the records one
        by one."""
        add = self.collector.add
        for ((token, nr, action), args), (number, pid, exe) in self._counts.items():
            add(token, nr, pid, exe, args, action=action, count=number)
        self._counts.clear()

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
        known = self._processes.get(event.pid)
        if known is None and len(self._processes) >= MAX_PROCESSES:
            stats.processes_not_listed += 1  # memory stays bounded on logs of whole fleets
            return
        if known is None or known[1] != exe or (not known[0] and event.ppid):
            ppid = event.ppid or (known[0] if known else 0)
            self._processes[event.pid] = (ppid, exe)  # the latest exe after an exec

    @property
    def processes(self) -> dict[int, Process]:
        """The processes seen so far (at most MAX_PROCESSES), by pid, in the order they came."""
        return {pid: Process(pid, ppid, exe, ()) for pid, (ppid, exe) in self._processes.items()}

    def _gate_open(self, event: SyscallEvent) -> bool:
        """True from the gated pid's execve on; also from its first record under another exe, in
        case the execve record itself was lost."""
        if not self._exec_seen:
            arch = syscalls.arch_of_token(event.arch_token, event.nr)
            name = syscalls.name_of(arch, event.nr) if arch else None
            launcher = self.filt.exec_gate_exe
            self._exec_seen = name in ("execve", "execveat") or bool(launcher and event.exe and event.exe != launcher)
        return self._exec_seen
