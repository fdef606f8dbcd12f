"""A plain block whose records are all in the kernel's layout, summarised at C speed.

In a real audit.log almost every block is such a block: every SECCOMP/SYSCALL record in the
layout blocks.py reads, with a 10.3-digit timestamp and even quotes, and no filter to apply. Then
the one-by-one loop of summary._records() gives what a few bulk operations give: findall() for the
rows, Counter() for the counts (in the order the keys first came, as Counter keeps them), a
reversed dict for each key's first row, and each pid's (ppid, comm+exe) changes in the order they
came for the process table. Any block this cannot take exactly - a record out of the layout, an
odd quote - is left to summary._records(); tests/test_audit_parallel.py holds both, and the line
loop, to the same Recording.
"""

from __future__ import annotations

from collections import Counter
from itertools import repeat
from operator import itemgetter

from seccomp_gen.recorder.audit import blocks
from seccomp_gen.recorder.audit.steps import Counted, Segment, Step, Totals, Transition

# Row indices (blocks.TARGET_ROWS): 0 line, 1 "SECCOMP", 2 10.3 stamp, 5 SECCOMP pid, 6 its comm+exe,
# 7 its arch+syscall, 8 its code, 9 SYSCALL arch+syscall, 10 its a0..a3, 11 ppid, 12 pid, 13 comm+exe.
_LINE, _STAMP, _S_PID, _S_NAMES, _Y_ARCH, _Y_ARGS, _Y_PPID, _Y_PID, _Y_NAMES = 0, 2, 5, 6, 9, 10, 11, 12, 13
_KEY = itemgetter(1, 7, 8, 9)  # SECCOMP?, arch+syscall, code, SYSCALL's arch+syscall
_INF = float("inf")
_odd = (1).__and__  # of a count: 1 when it is odd


def summarise_uniform(text: str, decoder: blocks.Decoder, listed: frozenset[str] | None = None
                      ) -> tuple[list[Step], int, Totals, int] | None:
    """summary._records() of a scanned block's text, when every record is plain (see the module
    docstring), and the records of pids not `listed` by a full process table (those are only
    counted: they can no longer be listed); None otherwise."""
    rows = blocks.TARGET_ROWS.findall(text)
    if not rows:
        return [], 0, (0, 0, _INF, -_INF), 0
    pids = list(map(max, map(itemgetter(_S_PID), rows), map(itemgetter(_Y_PID), rows)))  # one is ""
    stamps = list(map(itemgetter(_STAMP), rows))
    if "" in pids or "" in stamps or any(map(_odd, map(str.count, map(itemgetter(_LINE), rows), repeat('"')))):
        return None
    names = list(map(max, map(itemgetter(_S_NAMES), rows), map(itemgetter(_Y_NAMES), rows)))
    exes = _exes(names, decoder)
    if exes is None:
        return None
    counts = _counts(rows, pids, names, exes, decoder)
    if counts is None:
        return None
    ppids, unlisted = list(map(itemgetter(_Y_PPID), rows)), 0
    if listed is not None:
        kept = [index for index, pid in enumerate(pids) if pid in listed or pid[0] == "0"]  # 02101 is 2101
        unlisted = len(pids) - len(kept)
        pids, ppids, names = [pids[i] for i in kept], [ppids[i] for i in kept], [names[i] for i in kept]
    transitions = _transitions(pids, ppids, names, exes)
    totals = (len(rows), 0, blocks.stamp_time(min(stamps)), blocks.stamp_time(max(stamps)))
    return [Segment(counts, transitions)], len(rows), totals, unlisted


def _exes(names: list[str], decoder: blocks.Decoder) -> dict[str, str] | None:
    """The exe (else comm) each distinct comm+exe text names; None if one does not decode."""
    result = {}
    for text in dict.fromkeys(names):
        decoded = decoder.names.get(text) or decoder.names_of(text)
        if decoded is None:
            return None
        result[text] = decoded[1] or decoded[0]
    return result


def _counts(rows: list[tuple[str, ...]], pids: list[str], names: list[str], exes: dict[str, str],
            decoder: blocks.Decoder) -> list[Counted] | None:
    """The block's counts by (collector key, watched arguments), ordered by their first row, with
    that row's caller; None when a value is out of range (the general parser's case)."""
    keys = list(map(_KEY, rows))
    first_row = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))  # each key's first row
    found: dict[tuple[blocks.Key, tuple[int, ...]], list[int]] = {}  # -> [first row, count]
    watched: dict[tuple[str, ...], blocks.Key] = {}  # keys whose arguments are kept, per row
    for key, number in Counter(keys).items():
        seccomp, s_arch, code, y_arch = key
        entry = decoder.keys.get(texts := (s_arch, code) if seccomp else (y_arch, None)) or decoder.key(texts)
        if entry is blocks.OUT_OF_RANGE:
            return None
        count_key, kept = entry
        if kept:
            watched[key] = count_key[0]
            continue
        slot = found.get(count_key)
        if slot is None:
            found[count_key] = [first_row[key], number]
        else:
            slot[1] += number
    if watched:
        _count_arguments(found, rows, keys, watched)
    ordered = sorted(found.items(), key=lambda item: item[1][0])
    return [(key, args, number, int(pids[row]), exes[names[row]]) for (key, args), (row, number) in ordered]


def _count_arguments(found: dict[tuple[blocks.Key, tuple[int, ...]], list[int]], rows: list[tuple[str, ...]],
                     keys: list[tuple[str, ...]], watched: dict[tuple[str, ...], blocks.Key]) -> None:
    """The rows of watched SYSCALL keys, counted by their a0..a3 values (first row, count)."""
    for row, key in enumerate(keys):
        collector_key = watched.get(key)
        if collector_key is not None:
            count_key = (collector_key, blocks.arguments(rows[row][_Y_ARGS]))
            slot = found.get(count_key)
            if slot is None:
                found[count_key] = [row, 1]
            else:
                slot[1] += 1


def _transitions(pids: list[str], ppids: list[str], names: list[str], exes: dict[str, str]) -> list[Transition]:
    """The block's records as the process table needs them: each pid's records in order, a run of
    equal (ppid, comm+exe) once (the repeats change nothing); a pid's first transition carries all
    its records (counted when the table is full, ProcessTable.note). When no pid changes its exe
    within the block, the order among a pid's distinct records does not matter either (only a
    first non-zero ppid can change a listed process), so they are found at C speed."""
    records = list(zip(pids, ppids, names, strict=True))
    exe_list = list(map(exes.__getitem__, names))
    if len(set(zip(pids, exe_list, strict=True))) == len(set(pids)):
        changes: list[tuple[str, str, str]] = list(dict.fromkeys(records))
    else:
        latest: dict[str, tuple[str, str, str]] = {}
        changes = []
        for pid, record in zip(pids, records, strict=True):
            if latest.get(pid) != record:
                latest[pid] = record
                changes.append(record)
    records_of = Counter(pids)
    return [(int(pid_text), int(ppid_text) if ppid_text else None, exes[name], records_of.pop(pid_text, 0))
            for pid_text, ppid_text, name in changes]
