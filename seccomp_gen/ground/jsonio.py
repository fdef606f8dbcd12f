"""Strict JSON reading shared by every loader: duplicate keys and bad numbers are errors with a line.

Hostile or hand-edited inputs must fail with `file:line: message`, never with a traceback or a
silently different meaning (a duplicated key would let the last value win unseen).
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.text import json_safe

#: Inputs larger than this are refused rather than read into memory whole.
MAX_JSON_BYTES = 256 * 1024 * 1024
#: Documents nest at most this deep; the formats need 6 levels, and deeper input is an attack on
#: the parser's recursion rather than a profile or recording.
MAX_DEPTH = 64
#: Integers have at most this many digits: every number of the formats is below 2**64 (20 digits),
#: and a longer one is refused before it costs int()'s quadratic conversion.
MAX_INT_DIGITS = 24
#: File types that are never documents: their size says nothing about how much they would yield.
_REFUSED_KINDS = {stat.S_IFDIR: "directory", stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
                  stat.S_IFSOCK: "socket"}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _open_bounded(p: Path) -> tuple[int, int]:
    """An fd for reading `p`, and its size: a regular file or a pipe, never a device, socket or directory.

    Opened non-blocking so a FIFO without a writer cannot hang the open; /dev/zero and the like are
    refused by type, since their size (0) says nothing about how much they would yield."""
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SeccompGenError("no such file", path=str(p)) from None
    except IsADirectoryError:
        raise SeccompGenError("is a directory, expected a file", path=str(p)) from None
    except OSError as exc:
        raise SeccompGenError(f"cannot read: {exc.strerror}", path=str(p)) from None
    info = os.fstat(fd)
    kind = _REFUSED_KINDS.get(stat.S_IFMT(info.st_mode))
    if kind is not None:
        os.close(fd)
        raise SeccompGenError(f"is a {kind}, expected a regular file", path=str(p))
    os.set_blocking(fd, True)
    return fd, info.st_size


def read_bounded(path: str | Path, limit: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of a regular file or a pipe, refusing anything that yields more than `limit`."""
    p = Path(path)
    fd, size = _open_bounded(p)
    try:
        if size > limit:
            raise SeccompGenError(f"file is larger than {limit} bytes", path=str(p))
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise SeccompGenError(f"input is larger than {limit} bytes", path=str(p))
    except OSError as exc:
        raise SeccompGenError(f"cannot read: {exc.strerror}", path=str(p)) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text document, turning every OS and decoding failure into a SeccompGenError."""
    data = read_bounded(path)
    if not data.strip():
        raise SeccompGenError("is empty, expected JSON", path=str(path))
    if b"\0" in data[:4096]:
        raise SeccompGenError("binary file (NUL bytes), expected JSON text", path=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SeccompGenError("invalid UTF-8", path=str(path), line=line) from None


def line_of(text: str, needle: str) -> int | None:
    """The 1-based line of the first occurrence of `needle` in `text`, for error messages."""
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


class _BadNumber(ValueError):
    def __init__(self, text: str, why: str) -> None:
        super().__init__(text)
        self.text = text
        self.why = why


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _BadNumber(text, f"more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(text, "out of range for a double")
    return value


def _depth_exceeds(doc: Any, limit: int) -> bool:
    """Whether `doc` nests deeper than `limit` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_strict(text: str, path: str) -> Any:
    """Parse JSON text; syntax errors, duplicate keys, NaN/Infinity, numbers out of range and
    nesting deeper than MAX_DEPTH become SeccompGenError."""
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant,
                         parse_int=_bounded_int, parse_float=_finite_float)
    except _DuplicateKey as exc:
        raise SeccompGenError(
            f"duplicate key {exc.key!r}", path=path, line=line_of(text, json.dumps(exc.key))
        ) from None
    except _BadNumber as exc:
        shown = exc.text if len(exc.text) <= 24 else exc.text[:20] + "..."
        raise SeccompGenError(f"number {shown} is {exc.why}", path=path, line=line_of(text, exc.text)) from None
    except json.JSONDecodeError as exc:
        raise SeccompGenError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except RecursionError:
        raise SeccompGenError(f"invalid JSON: nested deeper than {MAX_DEPTH} levels", path=path) from None
    except ValueError as exc:
        raise SeccompGenError(f"invalid JSON: {exc}", path=path) from None
    if _depth_exceeds(doc, MAX_DEPTH):
        raise SeccompGenError(f"invalid JSON: nested deeper than {MAX_DEPTH} levels", path=path)
    return doc


def dumps_stable(value: Any) -> str:
    """The one JSON style for outputs: sorted keys, two-space indent, trailing newline. NaN and
    Infinity are refused (they are not JSON: seccomp-gen could not read them back); control, bidi
    and undecodable characters are escaped (seccomp_gen.ground.text.json_safe)."""
    try:
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise SeccompGenError(f"cannot write JSON: {exc}") from None
    return json_safe(text) + "\n"
