"""Streaming audit log inputs line by line in bounded memory: files, rotated .gz, stdin ("-").

A line longer than MAX_LINE is skipped (and reported with file:line) without ever being held in
memory whole; binary input is refused up front; progress is shown for big inputs on a terminal.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from seccomp_gen.errors import SeccompGenError

MAX_LINE = 1024 * 1024
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Line:
    path: str
    number: int
    text: str | None  # None: the line was longer than MAX_LINE and was skipped


def _open(path: str) -> tuple[BinaryIO, io.BufferedReader, int]:
    """(line stream, raw file for progress, size) for `path`; gzip is recognised by its magic."""
    if path == "-":
        buffered = cast(io.BufferedReader, sys.stdin.buffer)  # a BufferedReader unless replaced
        size = 0
    else:
        if os.path.isdir(path):
            raise SeccompGenError("is a directory, expected an audit log file", path=path)
        try:
            buffered = open(path, "rb")  # noqa: SIM115 - closed by read_lines
        except FileNotFoundError:
            raise SeccompGenError("no such file", path=path) from None
        except OSError as exc:
            raise SeccompGenError(f"cannot read: {exc.strerror}", path=path) from None
        size = os.fstat(buffered.fileno()).st_size
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered), buffered, size  # type: ignore[return-value]
    return buffered, buffered, size


def _check_text(head: bytes, path: str) -> None:
    if b"\0" in head:
        raise SeccompGenError("binary file (NUL bytes), expected an audit log", path=path)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            line = head[: exc.start].count(b"\n") + 1
            raise SeccompGenError("binary file (invalid UTF-8), expected an audit log", path=path,
                                  line=line) from None


def read_lines(path: str, progress: Callable[[str], None] | None = None) -> Iterator[Line]:
    """Yield the lines of one input; SeccompGenError for inputs that cannot be logs at all."""
    stream, raw, size = _open(path)
    show = progress is not None and size >= PROGRESS_MIN_BYTES
    last_report = time.monotonic()
    try:
        try:
            head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
        except (OSError, EOFError) as exc:
            raise SeccompGenError(f"cannot read: {exc}", path=path) from None
        _check_text(head, path)
        number = 0
        while True:
            try:
                chunk = stream.readline(MAX_LINE + 1)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise SeccompGenError(f"cannot read: {exc}", path=path, line=number + 1) from None
            if not chunk:
                break
            number += 1
            if len(chunk) > MAX_LINE and not chunk.endswith(b"\n"):
                while chunk and not chunk.endswith(b"\n"):  # drain the rest of the long line
                    chunk = stream.readline(MAX_LINE)
                yield Line(path, number, None)
                continue
            yield Line(path, number, chunk.decode("utf-8", "surrogateescape").rstrip("\r\n"))
            if show and number % 4096 == 0 and time.monotonic() - last_report > 1:
                last_report = time.monotonic()
                assert progress is not None
                progress(f"{path}: {100 * raw.tell() // max(size, 1)}%")
    finally:
        if path != "-":
            raw.close()
