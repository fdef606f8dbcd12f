"""Streaming audit log inputs line by line in bounded memory: files, rotated .gz, stdin ("-").

A line longer than MAX_LINE is skipped (and reported with file:line) without ever being held in
memory whole; binary input is refused up front; an input that decompresses to more than its Limits
(a gzip bomb of records or of newlines) is refused when it gets there, not read for hours; progress
(position and bytes read, decompressed) is shown for big inputs on a terminal.
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
GZIP_MAGIC = b"\x1f\x8b"
#: Bytes one input may yield after decompression unless --max-bytes says otherwise: far above any
#: audit log kept on a node (auditd rotates at 8 MiB by default), far below a night's reading.
DEFAULT_MAX_BYTES = 16 * 1024**3
#: A gzip input may not decompress to more than this many times the compressed bytes read so far
#: (audit logs compress 8-20 times, deflate allows 1032), once past RATIO_FLOOR bytes.
MAX_RATIO = 200
RATIO_FLOOR = 64 * 1024 * 1024
#: Size suffixes of --max-bytes (binary multiples, as ls -h and du show sizes).
SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """A byte count as given on the command line: 1000000, 512K, 10M, 1.5G, 2T (binary units);
    ValueError for anything else."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = value.rstrip("KMGT"), value[len(value.rstrip("KMGT")):]
    if unit not in SIZE_UNITS or not number.replace(".", "", 1).isdigit():
        raise ValueError(f"expected a size such as 500M, 10G or 0, not {text!r}")
    return int(float(number) * SIZE_UNITS[unit])


def human_size(count: int) -> str:
    """`count` bytes for a message: 10.0 GiB."""
    for unit in ("T", "G", "M", "K"):
        if count >= SIZE_UNITS[unit]:
            return f"{count / SIZE_UNITS[unit]:.1f} {unit}iB"
    return f"{count} bytes"


@dataclass(frozen=True)
class Limits:
    """How much one input may yield, decompressed; None: no such limit."""

    max_bytes: int | None = DEFAULT_MAX_BYTES
    max_ratio: int | None = MAX_RATIO

    @classmethod
    def of(cls, max_bytes: int | None) -> Limits:
        """The limits of `--max-bytes N`: None (not given) the defaults, 0 none at all; a limit the
        user gave replaces the ratio guard (they know the input compresses that well)."""
        if max_bytes is None:
            return cls()
        return cls(max_bytes or None, None)

    def check(self, path: str, total: int, compressed: int | None) -> None:
        """SeccompGenError once `total` bytes (decompressed from `compressed`) are too many."""
        if self.max_bytes is not None and total > self.max_bytes:
            raise SeccompGenError(f"more than {human_size(self.max_bytes)} after decompression: stopped (the "
                                  "limit is --max-bytes; give a larger one, or 0 for none)", path=path)
        if (self.max_ratio is not None and compressed is not None and total > RATIO_FLOOR
                and total > self.max_ratio * compressed):
            raise SeccompGenError(f"{human_size(compressed)} of gzip decompressed to {human_size(total)}, more than "
                                  f"{self.max_ratio} times as much: not an audit log (a gzip bomb?); give --max-bytes "
                                  "to read it anyway", path=path)


@dataclass(frozen=True)
class Line:
    path: str
    number: int
    text: str | None  # None: the line was longer than MAX_LINE and was skipped


class _Counted:
    """The compressed stream under a GzipFile, counting what it hands over (a pipe cannot tell())."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.count = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data

    def seek(self, offset: int) -> int:
        """Only for GzipFile.rewind(), which the reader never calls."""
        self.count = offset
        return self.raw.seek(offset)


def _open(path: str) -> tuple[BinaryIO, BinaryIO, _Counted | None, int]:
    """(line stream, raw file to close, compressed-byte counter for gzip, size) for `path`; gzip is
    recognised by its magic."""
    if path == "-":
        stdin = getattr(sys.stdin, "buffer", None)  # None: stdin closed (`<&-`) or not a byte stream
        if stdin is None:
            raise SeccompGenError("standard input is closed: pipe the log in or give a file", path=path)
        buffered = cast(io.BufferedReader, stdin)  # a BufferedReader unless replaced
        size = 0
    else:
        if os.path.isdir(path):
            raise SeccompGenError("is a directory, expected an audit log file", path=path)
        try:
            buffered = open(path, "rb")  # noqa: SIM115 - closed by read_blocks
        except FileNotFoundError:
            raise SeccompGenError("no such file", path=path) from None
        except OSError as exc:
            raise SeccompGenError(f"cannot read: {exc.strerror}", path=path) from None
        size = os.fstat(buffered.fileno()).st_size
    try:
        magic = buffered.peek(2)[:2]
    except (OSError, ValueError) as exc:  # a directory on stdin, a closed descriptor
        raise SeccompGenError(f"cannot read: {exc}", path=path) from None
    if magic == GZIP_MAGIC:
        counted = _Counted(buffered)
        return cast(BinaryIO, gzip.GzipFile(fileobj=counted, mode="rb")), buffered, counted, size
    return buffered, buffered, None, size


def check_text(head: bytes, path: str) -> None:
    if b"\0" in head:
        raise SeccompGenError("binary file (NUL bytes), expected an audit log", path=path)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            line = head[: exc.start].count(b"\n") + 1
            raise SeccompGenError("binary file (invalid UTF-8), expected an audit log", path=path,
                                  line=line) from None


def read_lines(path: str, progress: Callable[[str], None] | None = None, limits: Limits | None = None
               ) -> Iterator[Line]:
    """Yield the lines of one input; SeccompGenError for inputs that cannot be logs at all."""
    number = 0
    for block in read_blocks(path, progress, limits):
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


def read_blocks(path: str, progress: Callable[[str], None] | None = None, limits: Limits | None = None
                ) -> Iterator[Block]:
    """The lines of one input, a block (about BLOCK bytes) at a time.

    Reading, decoding and splitting a whole block at once is several times cheaper than a
    readline() and a decode() per line, and lets the reader test the block's text once for rare
    words (loss messages). A line is None when it was longer than MAX_LINE bytes: it is dropped
    while being read, so memory stays bounded by BLOCK + MAX_LINE whatever the input; the bytes
    read (decompressed) are bounded by `limits` (default: Limits()).
    """
    limits = limits or Limits()
    stream, raw, counted, size = _open(path)
    meter = _Progress(path, progress, size, counted)
    try:
        try:
            head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
        except (OSError, EOFError) as exc:
            raise SeccompGenError(f"cannot read: {exc}", path=path) from None
        check_text(head, path)
        read = getattr(stream, "read1", stream.read)  # read1: what a pipe has now, not a full block
        splitter, total = Splitter(), 0
        while True:
            try:
                data = read(BLOCK)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise SeccompGenError(f"cannot read: {exc}", path=path, line=splitter.done() + 1) from None
            total += len(data)
            limits.check(path, total, counted.count if counted is not None else None)
            yield from splitter.feed(data)
            if not data:
                break
            meter.show(total)
    finally:
        if path != "-":
            raw.close()


def progress_meter(path: str, report: Callable[[str], None] | None, size: int) -> _Progress:
    """The progress display of a regular file `size` bytes long (parallel.py)."""
    return _Progress(path, report, size, None)


class _Progress:
    """Progress of one input on a terminal, at most once a second: how far into the file (the
    compressed one for gzip) and how many bytes were read, decompressed - so a bomb or an endless
    pipe shows that it is being read, and how much of it."""

    def __init__(self, path: str, report: Callable[[str], None] | None, size: int, counted: _Counted | None) -> None:
        self.path, self.report, self.size, self.counted = path, report, size, counted
        self.last = -float("inf")  # the first report comes as soon as the input is big enough

    def show(self, total: int) -> None:
        if self.report is None or max(self.size, total) < PROGRESS_MIN_BYTES or time.monotonic() - self.last < 1:
            return
        self.last = time.monotonic()
        where = self.counted.count if self.counted is not None else total
        share = f"{100 * where // self.size}%, " if self.size else ""
        self.report(f"{self.path}: {share}{human_size(total)} read")


#: Bytes read at a time; small next to MAX_LINE, so a block rarely needs the per-line length check.
BLOCK = 256 * 1024


class Splitter:
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
