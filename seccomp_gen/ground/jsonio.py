"""Strict JSON reading shared by every loader: duplicate keys and bad numbers are errors with a line.

Hostile or hand-edited inputs must fail with `file:line: message`, never with a traceback or a
silently different meaning (a duplicated key would let the last value win unseen).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seccomp_gen.ground.errors import SeccompGenError

#: Inputs larger than this are refused rather than read into memory whole.
MAX_JSON_BYTES = 256 * 1024 * 1024


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


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file, turning every OS and decoding failure into a SeccompGenError."""
    p = Path(path)
    try:
        if p.is_dir():
            raise SeccompGenError("is a directory, expected a file", path=str(p))
        if p.stat().st_size > MAX_JSON_BYTES:
            raise SeccompGenError(f"file is larger than {MAX_JSON_BYTES} bytes", path=str(p))
        data = p.read_bytes()
    except FileNotFoundError:
        raise SeccompGenError("no such file", path=str(p)) from None
    except OSError as exc:
        raise SeccompGenError(f"cannot read: {exc.strerror}", path=str(p)) from None
    if b"\0" in data[:4096]:
        raise SeccompGenError("binary file (NUL bytes), expected JSON text", path=str(p))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SeccompGenError("invalid UTF-8", path=str(p), line=line) from None


def line_of(text: str, needle: str) -> int | None:
    """The 1-based line of the first occurrence of `needle` in `text`, for error messages."""
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


def loads_strict(text: str, path: str) -> Any:
    """Parse JSON text; syntax errors, duplicate keys and NaN/Infinity become SeccompGenError."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise SeccompGenError(
            f"duplicate key {exc.key!r}", path=path, line=line_of(text, json.dumps(exc.key))
        ) from None
    except json.JSONDecodeError as exc:
        raise SeccompGenError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise SeccompGenError(f"invalid JSON: {exc}", path=path) from None


def dumps_stable(value: Any) -> str:
    """The one JSON style for outputs: sorted keys, two-space indent, trailing newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
