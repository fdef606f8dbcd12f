"""The reader's fast path: a block of auditd's own lines is read with two regex passes, not line by line.

In auditd's log every line starts `type=T msg=audit(SECONDS.MS:SERIAL): ` and most records are
neither SECCOMP nor SYSCALL, so a loop over lines spends its time on lines it then skips. Here one
findall over the block yields every line's type and serial (for the gap check, at C speed) and one
finditer yields only the SECCOMP/SYSCALL lines, with their fields when the record is in the kernel's
own layout. Whatever is unusual - a line without that header (kernel log, journal, `node=`,
`ausearch -i`), CR line ends, an over-long line, a type given by number, DAEMON_* records (outside
the serial check) - leaves the whole block to the line-by-line reader (AuditLogEngine._take), and a
SECCOMP/SYSCALL record the layout does not fit goes to the general parser: the result is the same
either way, only the speed differs (tests/test_audit_blocks.py checks one against the other).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from operator import itemgetter
from typing import NamedTuple

from seccomp_gen.recorder.audit.records import MalformedRecord, decoded
from seccomp_gen.recorder.audit.tables import tables
from seccomp_gen.recorder.watched import watched_for_token

#: Every line's header (on "\n" + the block's text: one match per line): type, seconds (when they are
#: 10 digits, as from 2001 to 2286: such texts compare as their numbers do), serial; all "" for a line
#: that does not start with one. The header regex of records.py, as auditd writes it.
_HEADERS = re.compile(r"\n(?:type=(\w+) msg=audit\((?:([0-9]{10})(?![0-9])|[0-9]+)(?:\.[0-9]+)?:([0-9]+)\):)?")

# The kernel's layouts of the two records: records.py's _FAST_SECCOMP (searched in the body) and
# _FAST_SYSCALL (matched at its start), rewritten to run inside a block and still find what they
# find. The fields before `pid=` (SECCOMP) and between `pid=` and `comm=` (SYSCALL) are skipped a
# token at a time, so no place those regexes would try is passed over; a field separated by other
# whitespace than one space makes the layout not fit. The SECCOMP skip is atomic: it stops at the
# first `pid=`, where the stricter [0-9] may fail only if the record then goes to the general parser.
_SECCOMP_BODY = (r"(?>auid=[0-9]+ uid=[0-9]+ gid=[0-9]+ ses=[0-9]+ (?:subj=\S+ )?pid=|(?:\S+ )*?pid=)"
                 r"([0-9]+) comm=(\S+ exe=\S+) sig=-?[0-9]+ arch=([0-9a-f]+ syscall=[0-9]+)"
                 r" compat=[0-9]+ ip=0x[0-9a-f]+ code=0x([0-9a-f]+)(?!\S)")
_SYSCALL_BODY = (r"arch=([0-9a-f]+ syscall=[0-9]+) (?:success=\S+ exit=\S+ )?"
                 r"(a0=[0-9a-f]+ a1=[0-9a-f]+ a2=[0-9a-f]+ a3=[0-9a-f]+) items=[0-9]+ "
                 r"ppid=([0-9]+) pid=([0-9]+) (?:\S+ )+?comm=(\S+ exe=\S+)(?!\S)")
#: A SECCOMP or SYSCALL line, to its end. Indices into match.groups(): 0 "SECCOMP" (None: SYSCALL);
#: 1 the timestamp when it is SECONDS.MILLIS with 10 and 3 digits, else 2-3 its parts; then the
#: fields of the layout that fitted (all None when none did). SECCOMP: 4 pid, 5 the comm and exe
#: values ("COMM exe=EXE"), 6 arch and syscall ("ARCH syscall=NR"), 7 code. SYSCALL: 8 arch and
#: syscall, 9 "a0=.. a1=.. a2=.. a3=..", 10 ppid, 11 pid, 12 comm and exe.
_TARGET_LINE = (r"type=(?:(SECCOMP)|SYSCALL) msg=audit\((?:([0-9]{10}\.[0-9]{3})|(\d+)(?:\.(\d+))?):"
                rf"\d+\):[^\S\n]?+(?(SECCOMP_GROUP)(?:{_SECCOMP_BODY})?|(?:{_SYSCALL_BODY})?)[^\n]*")
_TARGETS = re.compile(r"\n" + _TARGET_LINE.replace("SECCOMP_GROUP", "1"))
#: _TARGETS with the whole line first (a lookahead group): findall() rows for bulk.py, whose
#: indices are those of _TARGETS's groups plus one.
TARGET_ROWS = re.compile(r"\n(?=([^\n]*))" + _TARGET_LINE.replace("SECCOMP_GROUP", "2"))
_MAX_ARCH = 2**32
_MEMO_MAX = 4096


class Scan(NamedTuple):
    """What the header pass learnt of a plain block."""

    text: str  # "\n" + the block's text: every line starts at a "\n"
    types: set[str]  # the distinct type names as written
    serials: array[int]  # every line's serial, in order
    seconds: array[int]  # every line's time in whole seconds, 0 if not 10 digits: which boot a serial is of


def scan_text(block_text: str) -> Scan | None:
    """The header pass over a plain block's text (its lines joined by "\\n", no CR, no over-long
    line), or None when a line of it does not start with auditd's header."""
    if not block_text.startswith("type="):  # kernel log, journal, node=: not worth a pass
        return None
    text = "\n" + block_text
    rows = _HEADERS.findall(text)
    types = set(map(itemgetter(0), rows))
    if "" in types:
        return None
    serials = array("q", map(int, map(itemgetter(2), rows)))
    return Scan(text, types, serials, array("q", map(int, map("0".__add__, map(itemgetter(1), rows)))))


Match = re.Match[str]


def records(text: str) -> Iterator[Match]:
    """The SECCOMP/SYSCALL lines of a Scan's text, in order; match.end() is the end of the line."""
    return _TARGETS.finditer(text)


#: The collector's key of a record: (AUDIT_ARCH token, syscall number, seccomp action or None).
Key = tuple[int, int, str | None]
#: What Decoder.key() tells of arch/syscall[/code]: the record's key in the block's counts (the
#: collector's key and the arguments, () until they are read), and whether its arguments are kept.
Entry = tuple[tuple[Key, tuple[int, ...]], bool]
#: Decoder.key()'s answer for values out of range (records.event_of() then takes the general path).
OUT_OF_RANGE: Entry = (((-1, -1, None), ()), False)


class Decoder:
    """Converts the layout fields of records() matches. arch/syscall/code and comm/exe values repeat
    across millions of records, so each distinct value is converted once; the memos are dropped
    when full, so memory stays bounded."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str | None], Entry] = {}  # (arch+syscall, code) group texts -> Entry
        self.names: dict[str, tuple[str, str]] = {}  # comm+exe group text -> (comm, exe) decoded

    def key(self, texts: tuple[str, str | None]) -> Entry:
        """The Entry of an arch+syscall group and code group (None for SYSCALL), memoised;
        OUT_OF_RANGE above 32 bits, where records.event_of() takes the general path.

        The collector keeps argument values only for the syscalls recorder.watched names (it looks
        them up the same way), so the arguments of the others are not even converted.
        """
        arch, _, nr = texts[0].partition(" syscall=")
        token, number, code = int(arch, 16), int(nr), texts[1]
        action = tables().action_of(int(code, 16)) if code is not None else None
        entry = OUT_OF_RANGE
        if token < _MAX_ARCH and number < _MAX_ARCH:
            watched = code is None and bool(watched_for_token(token).get((token, number)))  # SECCOMP: no args
            entry = (((token, number, action), ()), watched)
        if len(self.keys) >= _MEMO_MAX:
            self.keys.clear()
        self.keys[texts] = entry
        return entry

    def names_of(self, text: str) -> tuple[str, str] | None:
        """(comm, exe) of a comm+exe group, decoded (memoised); None when one of them is malformed
        (not memoised, as records.decoded does not memoise failures)."""
        comm, _, exe = text.partition(" exe=")  # comm has no whitespace: its end is the first " exe="
        try:
            names = (decoded("comm", comm), decoded("exe", exe))
        except MalformedRecord:
            return None
        if len(self.names) >= _MEMO_MAX:
            self.names.clear()
        self.names[text] = names
        return names


def arguments(text: str) -> tuple[int, ...]:
    """The args tuple records.event_of() makes from a SYSCALL record's a0..a3 group."""
    a0, a1, a2, a3 = (int(field[3:], 16) for field in text.split(" "))
    return (a0, a1, a2, a3, 0, 0)


def timestamp(seconds: str, millis: str | None) -> float:
    """The record's time as records.header_of() computes it (the same float, bit for bit)."""
    return int(seconds) + (int(millis) / 10 ** len(millis) if millis else 0.0)


def stamp_time(stamp: str) -> float:
    """timestamp() of a 10.3-digit stamp (group 1). Such stamps compare as text as their times do,
    so the reader finds the first and last of a block without converting each."""
    return timestamp(stamp[:10], stamp[11:])


class LineCounter:
    """Line numbers of positions in a block's text, counted forwards from the last one asked."""

    def __init__(self, text: str, number: int) -> None:
        self.text, self.position, self.newlines = text, 0, number

    def number(self, position: int) -> int:
        """The number of the line starting at `position` (text[position - 1] is its "\n")."""
        self.newlines += self.text.count("\n", self.position, position)
        self.position = position
        return self.newlines
