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

from seccomp_gen.ground.errors import SeccompGenError

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
    number = 0
    for block in read_blocks(path, progress):
        for text in block.lines:
            number += 1
            yield Line(path, number, text)


class Block:
    """Complete lines of one read, as one text. The list of lines and their count are made only
    when asked for: the reader's fast path works on the text of a plain block and counts its lines
    in a pass it makes anyway."""

    __slots__ = ("_count", "_lines", "text")

    def __init__(self, text: str, lines: list[str | None] | None = None) -> None:
        self.text = text  # the lines joined by "\n" (over-long lines left out)
        self._lines = lines  # None: the lines are exactly text.split("\n") (plain)
        self._count = len(lines) if lines is not None else None

    @property
    def plain(self) -> bool:
        """True when the lines are exactly text.split("\n"): no over-long line, no CR to strip."""
        return self._lines is None

    @property
    def lines(self) -> list[str | None]:
        """The lines; None for a line longer than MAX_LINE (skipped)."""
        if self._lines is None:
            self._lines = cast(list[str | None], self.text.split("\n"))  # no None in it: not copied
        return self._lines

    @property
    def count(self) -> int:
        """How many lines, over-long ones included."""
        if self._count is None:
            self._count = len(self._lines) if self._lines is not None else self.text.count("\n") + 1
        return self._count

    @count.setter
    def count(self, lines: int) -> None:
        """For a reader that counted the lines of a plain block itself."""
        self._count = lines


def read_blocks(path: str, progress: Callable[[str], None] | None = None) -> Iterator[Block]:
    """The lines of one input, a block (about BLOCK bytes) at a time.

    Reading, decoding and splitting a whole block at once is several times cheaper than a
    readline() and a decode() per line, and lets the reader test the block's text once for rare
    words (loss messages). A line is None when it was longer than MAX_LINE bytes: it is dropped
    while being read, so memory stays bounded by BLOCK + MAX_LINE whatever the input.
    """
    stream, raw, size = _open(path)
    show = progress is not None and size >= PROGRESS_MIN_BYTES
    last_report = time.monotonic()
    try:
        try:
            head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
        except (OSError, EOFError) as exc:
            raise SeccompGenError(f"cannot read: {exc}", path=path) from None
        _check_text(head, path)
        read = getattr(stream, "read1", stream.read)  # read1: what a pipe has now, not a full block
        splitter = _Splitter()
        while True:
            try:
                data = read(BLOCK)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise SeccompGenError(f"cannot read: {exc}", path=path, line=splitter.done() + 1) from None
            yield from splitter.feed(data)
            if not data:
                break
            if show and time.monotonic() - last_report > 1:
                last_report = time.monotonic()
                assert progress is not None
                progress(f"{path}: {100 * raw.tell() // max(size, 1)}%")
    finally:
        if path != "-":
            raw.close()


#: Bytes read at a time; small next to MAX_LINE, so a block rarely needs the per-line length check.
BLOCK = 256 * 1024


class _Splitter:
    """Cuts a byte stream into lines as readline(MAX_LINE + 1) did: a line of more than MAX_LINE
    bytes (without its newline) becomes None, trailing CR/LF are stripped, text is UTF-8 with
    undecodable bytes kept (surrogateescape)."""

    def __init__(self) -> None:
        self.pending = b""  # the start of a line whose newline has not arrived yet
        self.skipping = False  # inside an over-long line (already reported): drop up to its newline
        self.lines = 0  # lines of the blocks yielded before `last`
        self.last: Block | None = None  # the block yielded last (its lines are counted when needed)

    def done(self) -> int:
        """How many lines were yielded so far."""
        if self.last is not None:
            self.lines, self.last = self.lines + self.last.count, None
        return self.lines

    def feed(self, data: bytes) -> Iterator[Block]:
        """The complete lines `data` finishes; b"" (end of input) flushes a last unterminated line."""
        if not data:
            if self.pending and not self.skipping:
                yield self._yielded(self._block(self.pending))
            self.pending = b""
            return
        if self.skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return
            data, self.skipping = data[newline + 1:], False
        chunk = self.pending + data if self.pending else data
        last = chunk.rfind(b"\n")
        if last >= 0:
            yield self._yielded(self._block(chunk[:last]))
            chunk = chunk[last + 1:]
        self.pending = chunk
        if len(chunk) > MAX_LINE:
            self.pending, self.skipping = b"", True
            yield self._yielded(Block("", [None]))

    def _yielded(self, block: Block) -> Block:
        self.done()
        self.last = block
        return block

    @staticmethod
    def _block(body: bytes) -> Block:
        """Lines of `body` (complete lines, without the last newline)."""
        if len(body) > MAX_LINE:  # may hold an over-long line: measure the lines in bytes
            lines: list[str | None] = [None if len(raw) > MAX_LINE else _text(raw) for raw in body.split(b"\n")]
            return Block("\n".join(line for line in lines if line is not None), lines)
        text = body.decode("utf-8", "surrogateescape")
        if "\r" in text:
            return Block(text, [line.rstrip("\r") for line in text.split("\n")])
        return Block(text)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape").rstrip("\r")
