"""One audit line -> one parsed record, whatever wrapped it (auditd, ausearch, kmsg, journal, syslog).

The header `type=T msg=audit(SECONDS.MS:SERIAL):` (auditd) or `audit: type=N audit(...)` (kernel log)
is found anywhere in the line, so dmesg timestamps, journal/syslog prefixes and ausearch's `node=`
all work. Field values are `"quoted"`, or hex-encoded and unquoted when the kernel found spaces or
special characters in them (comm, exe, ...), or plain tokens.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from seccomp_gen.recorder.audit.tables import tables

#: Exported for the reader's hot loop: group 2 is the type, group 5 the serial.
HEADER = _HEADER = re.compile(r"(?:^|\s)(?:node=(\S+)\s+)?type=(\w+)\s+(?:msg=)?audit\((\d+)(?:\.(\d+))?:(\d+)\):\s?")
_FIELD = re.compile(r"(\w[\w-]*)=(\"[^\"]*\"|'[^']*'|\S*)")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


class MalformedRecord(ValueError):
    """An audit record that cannot be understood; the reader reports it with file:line."""


class Header(NamedTuple):
    """The header of one audit record (a NamedTuple: the reader makes one per SECCOMP/SYSCALL record)."""

    type_name: str  # "SECCOMP", "SYSCALL", "AVC", or the number as text when unknown
    timestamp: float
    serial: int
    node: str | None
    kernel_format: bool  # "audit: type=1326 audit(...)" as printed to the kernel log
    body: str


def parse_header(line: str) -> Header | None:
    """The record header of `line`, or None when the line is not an audit record."""
    match = _HEADER.search(line)
    if match is None:
        return None
    return header_of(line, match, type_name(match.group(2)))


def type_name(type_text: str) -> str:
    """"SECCOMP" for "SECCOMP" or "1326"; other names as written, unknown numbers as text.

    The common spellings come from a dict; only other digit strings ("01326") take the slow path.
    """
    known = _type_names().get(type_text)
    if known is not None:
        return known
    if type_text.isdigit():
        number = int(type_text)
        return next((n for n, v in tables().type_numbers.items() if v == number), type_text)
    return type_text


@functools.lru_cache(maxsize=1)
def _type_names() -> dict[str, str]:
    names = {name: name for name in tables().type_numbers}
    for name, number in tables().type_numbers.items():
        names.setdefault(str(number), name)  # the first name of a number wins, as in type_name()
    return names


def header_of(line: str, match: re.Match[str], name: str) -> Header:
    """The Header of a line whose _HEADER `match` the reader already has (its hot path matches once)."""
    _node, _type_text, seconds, millis, serial = match.groups()
    timestamp = int(seconds) + (int(millis) / 10 ** len(millis) if millis else 0.0)
    kernel_format = "msg=audit(" not in line[match.start(): match.end()]
    return Header(name, timestamp, int(serial), node_of(line, match), kernel_format, line[match.end():])


#: Prefix text -> node: a node-logs prefix repeats on every line of its node (bounded, see node_of).
_PREFIX_NODES: dict[str, str | None] = {}


def node_of(line: str, match: re.Match[str]) -> str | None:
    """The node a record's line names: ausearch's `node=`, else the node name `oc adm node-logs`
    puts before each line or the hostname of a journal/syslog line (tables' line_prefixes).

    Nodes keep their own serial numbers and boots, so the reader needs this for every record, not
    only the SECCOMP/SYSCALL ones; a prefix of no known form names no node.
    """
    node = match.group(1)
    if node is not None or match.start() == 0:
        return node
    prefix = line[: match.start()].strip()
    if prefix in _PREFIX_NODES:
        return _PREFIX_NODES[prefix]
    for form in tables().prefixes:
        found = form.fullmatch(prefix)
        if found is not None:
            groups = found.groupdict()
            node = groups.get("node") or groups.get("host")
            break
    if len(_PREFIX_NODES) >= _DECODED_MAX:
        _PREFIX_NODES.clear()
    _PREFIX_NODES[prefix] = node
    return node


def subject_of(body: str) -> str | None:
    """The record's `subj=` (its process's LSM label: SELinux `user:role:type:level`), None without one."""
    found = _SUBJ.search(body)
    return found.group(1) if found else None


_SUBJ = re.compile(r"(?:^|\s)subj=(\S+)")


def _decode(key: str, value: str) -> str:
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            raise MalformedRecord(f"unterminated quote in {key}=")
        return value[1:-1]
    if key in tables().hex_fields and value not in ("(null)", "?", ""):
        if not _HEX.match(value):
            raise MalformedRecord(f"{key}= is neither quoted nor valid hex ({value[:40]!r})")
        return bytes.fromhex(value).decode("utf-8", "surrogateescape")
    return value


def raw_fields(body: str) -> dict[str, str]:
    """key=value pairs of a record body, values as written (the first of a repeated key wins)."""
    if body.count('"') % 2:
        raise MalformedRecord("unterminated quote")
    return dict(reversed(_FIELD.findall(body)))


class SyscallEvent(NamedTuple):
    """What one SECCOMP or SYSCALL record says about one syscall (a NamedTuple: made once per record,
    it is much cheaper to build than a frozen dataclass)."""

    arch_token: int
    nr: int
    pid: int
    ppid: int | None
    exe: str
    comm: str
    action: str | None  # SECCOMP records only
    args: tuple[int, ...]


def _int(fields: dict[str, str], key: str, base: int) -> int:
    try:
        return int(fields[key], base)
    except KeyError:
        raise MalformedRecord(f"no {key}= field") from None
    except ValueError:
        raise MalformedRecord(f"{key}={fields[key][:40]!r} is not a number") from None


#: exe=/comm= values repeat across millions of records: decoded once each (bounded, see decoded).
_DECODED: dict[tuple[str, str], str] = {}
_DECODED_MAX = 4096


def decoded(key: str, value: str) -> str:
    """_decode(key, value), memoised; the memo is dropped when full so memory stays bounded."""
    cache_key = (key, value)
    found = _DECODED.get(cache_key)
    if found is None:
        found = _decode(key, value)  # raises MalformedRecord: failures are not memoised
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[cache_key] = found
    return found


def syscall_event(header: Header) -> SyscallEvent:
    """The syscall a SECCOMP or SYSCALL record describes; MalformedRecord when it cannot say."""
    return event_of(header.type_name, header.body)


#: The kernel's own layouts of the two records (kernel/auditsc.c audit_seccomp, audit_log_exit), for a
#: one-regex fast path; a record that does not match exactly goes through the general tokenizer.
_FAST_SECCOMP = re.compile(r"(?:^|\s)pid=(\d+) comm=(\S+) exe=(\S+) sig=-?\d+ arch=([0-9a-f]+) syscall=(\d+)"
                           r" compat=\d+ ip=0x[0-9a-f]+ code=0x([0-9a-f]+)(?:\s|$)")
_FAST_SYSCALL = re.compile(r"^arch=([0-9a-f]+) syscall=(\d+) (?:success=\S+ exit=\S+ )?"
                           r"a0=([0-9a-f]+) a1=([0-9a-f]+) a2=([0-9a-f]+) a3=([0-9a-f]+) items=\d+ "
                           r"ppid=(\d+) pid=(\d+) .*? comm=(\S+) exe=(\S+)(?:\s|$)")


def fast_event(type_name: str, body: str) -> SyscallEvent | None:
    """The event of a record in the kernel's exact layout, or None (then the general path decides)."""
    if body.count('"') % 2:
        return None  # the general path reports the unterminated quote
    if type_name == "SECCOMP":
        m = _FAST_SECCOMP.search(body)
        if m is None:
            return None
        pid, comm, exe, arch, nr, code = m.groups()
        return SyscallEvent(int(arch, 16), int(nr), int(pid), None, decoded("exe", exe), decoded("comm", comm),
                            tables().action_of(int(code, 16)), ())
    m = _FAST_SYSCALL.match(body)
    if m is None:
        return None
    arch, nr, a0, a1, a2, a3, ppid, pid, comm, exe = m.groups()
    return SyscallEvent(int(arch, 16), int(nr), int(pid), int(ppid), decoded("exe", exe), decoded("comm", comm),
                        None, (int(a0, 16), int(a1, 16), int(a2, 16), int(a3, 16), 0, 0))


def event_of(type_name: str, body: str) -> SyscallEvent:
    """syscall_event() from the record's type and body, without a Header (the reader's hot path)."""
    fast = fast_event(type_name, body)
    if fast is not None and fast.arch_token < 2**32 and fast.nr < 2**32:
        return fast
    return general_event(type_name, body)


def general_event(type_name: str, body: str) -> SyscallEvent:
    """The event from a full tokenisation of the record: any field order, and the errors."""
    fields = raw_fields(body)
    arch = _int(fields, "arch", 16)
    nr = _int(fields, "syscall", 10)
    if not 0 <= arch < 2**32 or not 0 <= nr < 2**32:
        raise MalformedRecord("arch= or syscall= out of range")
    pid = _int(fields, "pid", 10) if "pid" in fields else 0
    ppid_text = fields.get("ppid")
    ppid = int(ppid_text) if ppid_text is not None and ppid_text.isdigit() else None
    action = None
    args: tuple[int, ...] = ()
    if type_name == "SECCOMP":
        action = tables().action_of(_int(fields, "code", 16)) if "code" in fields else None
    elif type_name == "SYSCALL" and "a0" in fields:
        try:
            args = (*tuple(int(fields.get(f"a{i}", "0"), 16) for i in range(4)), 0, 0)
        except ValueError:
            raise MalformedRecord("a0..a3 are not hex numbers") from None
    exe = decoded("exe", fields["exe"]) if "exe" in fields else ""
    comm = decoded("comm", fields["comm"]) if "comm" in fields else ""
    return SyscallEvent(arch, nr, pid, ppid, exe, comm, action, args)
