"""One audit line -> one parsed record, whatever wrapped it (auditd, ausearch, kmsg, journal, syslog).

The header `type=T msg=audit(SECONDS.MS:SERIAL):` (auditd) or `audit: type=N audit(...)` (kernel log)
is found anywhere in the line, so dmesg timestamps, journal/syslog prefixes and ausearch's `node=`
all work. Field values are `"quoted"`, or hex-encoded and unquoted when the kernel found spaces or
special characters in them (comm, exe, ...), or plain tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recorder.audit.tables import tables

_HEADER = re.compile(r"(?:^|\s)(?:node=(\S+)\s+)?type=(\w+)\s+(?:msg=)?audit\((\d+)(?:\.(\d+))?:(\d+)\):\s?")
_FIELD = re.compile(r"(\w[\w-]*)=(\"[^\"]*\"|'[^']*'|\S*)")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


class MalformedRecord(ValueError):
    """An audit record that cannot be understood; the reader reports it with file:line."""


@dataclass(frozen=True)
class Header:
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
    node, type_text, seconds, millis, serial = match.groups()
    if type_text.isdigit():
        number = int(type_text)
        type_name = next((n for n, v in tables().type_numbers.items() if v == number), type_text)
    else:
        type_name = type_text
    timestamp = int(seconds) + (int(millis) / 10 ** len(millis) if millis else 0.0)
    kernel_format = "msg=audit(" not in line[match.start(): match.end()]
    return Header(type_name, timestamp, int(serial), node, kernel_format, line[match.end():])


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


def parse_fields(body: str) -> dict[str, str]:
    """key=value pairs of a record body, strings unquoted or hex-decoded."""
    return {key: _decode(key, value) for key, value in raw_fields(body).items()}


@dataclass(frozen=True)
class SyscallEvent:
    """What one SECCOMP or SYSCALL record says about one syscall."""

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


def syscall_event(header: Header) -> SyscallEvent:
    """The syscall a SECCOMP or SYSCALL record describes; MalformedRecord when it cannot say."""
    fields = raw_fields(header.body)
    arch = _int(fields, "arch", 16)
    nr = _int(fields, "syscall", 10)
    if not 0 <= arch < 2**32 or not 0 <= nr < 2**32:
        raise MalformedRecord("arch= or syscall= out of range")
    pid = _int(fields, "pid", 10) if "pid" in fields else 0
    ppid = int(fields["ppid"]) if fields.get("ppid", "").isdigit() else None
    action = None
    if header.type_name == "SECCOMP":
        action = tables().action_of(_int(fields, "code", 16)) if "code" in fields else None
    args: tuple[int, ...] = ()
    if header.type_name == "SYSCALL" and "a0" in fields:
        try:
            args = (*tuple(int(fields.get(f"a{i}", "0"), 16) for i in range(4)), 0, 0)
        except ValueError:
            raise MalformedRecord("a0..a3 are not hex numbers") from None
    exe = _decode("exe", fields["exe"]) if "exe" in fields else ""
    comm = _decode("comm", fields["comm"]) if "comm" in fields else ""
    return SyscallEvent(arch, nr, pid, ppid, exe, comm, action, args)
