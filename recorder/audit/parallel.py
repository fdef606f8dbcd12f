"""A big audit log summarised on several cores, applied in order on one: the same Recording.

The reader's state depends on the order of the records (serial gaps, first callers, the process
table), but what a block of lines holds does not (summary.py). So worker processes each take a
byte range of the file - cut at line ends, read through inputs' own line splitter, so over-long
lines, CR line ends and a last unterminated line are what the one-core path sees - and return
its blocks' items; this process applies them in the file's order (AuditReader.take_item), line
numbers counted as it goes. Only regular, uncompressed files big enough to gain are read this way;
gzip, pipes and small files take the one-core path. tests/test_audit_parallel.py holds the two
paths to the same Recording, byte for byte.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
from collections import deque
from collections.abc import Iterator
from multiprocessing.pool import AsyncResult, Pool
from typing import TYPE_CHECKING

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.audit import blocks
from seccomp_gen.recorder.audit.filter import AuditFilter
from seccomp_gen.recorder.audit.inputs import BLOCK, GZIP_MAGIC, Block, Limits, Splitter, check_text, progress_meter
from seccomp_gen.recorder.audit.summary import How, Item, item_of

if TYPE_CHECKING:
    from seccomp_gen.recorder.audit.reader import AuditReader

#: Bytes one worker task reads: big enough that a task's overhead is small, small enough that
#: the tasks in flight (WINDOW per worker) hold little memory.
CHUNK = 2 * 1024 * 1024
WINDOW = 2
#: Files smaller than this are read on one core: starting workers would cost more than it gains.
MIN_BYTES = 3 * CHUNK
MAX_JOBS = 8
_FIND = 64 * 1024  # bytes read at a time while looking for a line end

_worker: tuple[AuditFilter, bool, blocks.Decoder] | None = None


def default_jobs() -> int:
    """The CPUs this process may run on (its affinity, as a container or taskset sets it)."""
    return max(1, min(MAX_JOBS, len(os.sched_getaffinity(0))))


def worth_it(path: str, limits: Limits) -> bool:
    """Whether `path` is a regular, uncompressed file big enough to be read on several cores."""
    if path == "-":
        return False
    try:
        with open(path, "rb") as raw:
            info = os.fstat(raw.fileno())
            magic = raw.read(2)
    except OSError:
        return False  # the one-core path names the error
    return stat.S_ISREG(info.st_mode) and info.st_size >= MIN_BYTES and magic != GZIP_MAGIC and (
        limits.max_bytes is None or info.st_size <= limits.max_bytes)


def summaries(path: str, reader: AuditReader, jobs: int) -> Iterator[Item]:
    """The items of `path`'s blocks, in order, summarised by `jobs` worker processes."""
    with open(path, "rb") as raw:
        check_text(raw.read(4096), path)
        size = os.fstat(raw.fileno()).st_size
    starts = list(range(0, size, CHUNK))
    meter = progress_meter(path, reader.progress, size)
    context = multiprocessing.get_context("fork")  # the workers need this process's modules, not a fresh start
    pool = context.Pool(jobs, initializer=_start_worker, initargs=(reader.filt, reader.general))
    try:
        pending: deque[AsyncResult[tuple[str | None, list[Item]]]] = deque()
        tasks = iter(enumerate(starts))
        for _ in range(jobs * WINDOW):
            _submit(pool, pending, tasks, path, starts, None)
        done = 0
        while pending:
            error, items = pending.popleft().get()
            _submit(pool, pending, tasks, path, starts, reader.listed_when_full)
            if error is not None:
                raise SeccompGenError(f"cannot read: {error}", path=path)
            yield from items
            done += CHUNK
            meter.show(min(done, size))
    finally:
        pool.terminate()
        pool.join()


def _submit(pool: Pool, pending: deque[AsyncResult[tuple[str | None, list[Item]]]],
            tasks: Iterator[tuple[int, int]], path: str, starts: list[int], listed: frozenset[str] | None) -> None:
    """The next range to a worker; `listed`: the full process table's pids, when it is full."""
    task = next(tasks, None)
    if task is not None:
        index, start = task
        end = starts[index + 1] if index + 1 < len(starts) else None  # the last task reads to the end
        pending.append(pool.apply_async(_summarise_range, (path, start, end, listed)))


def _start_worker(filt: AuditFilter, general: bool) -> None:
    """A worker leaves ^C to the reader, which stops the pool."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = (filt, general, blocks.Decoder())


def _summarise_range(path: str, start: int, end: int | None, listed: frozenset[str] | None
                     ) -> tuple[str | None, list[Item]]:
    """(error, items) of the lines that start in [start, end) (end None: to the end of the file)."""
    assert _worker is not None
    how = How(*_worker, listed)
    try:
        with open(path, "rb") as raw:
            fd = raw.fileno()
            first = _line_start(fd, start)
            last = _line_start(fd, end) if end is not None else None
            items = [item_of(block, how) for block in _blocks(fd, first, last)]
    except OSError as exc:
        return exc.strerror or str(exc), []
    return None, items


def _line_start(fd: int, offset: int) -> int:
    """The offset of the first line that starts at or after `offset` (the file's size if none)."""
    if offset == 0:
        return 0
    position = offset - 1
    while True:
        data = os.pread(fd, _FIND, position)
        if not data:
            return position
        newline = data.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(data)


def _blocks(fd: int, first: int, last: int | None) -> Iterator[Block]:
    """inputs' blocks of the bytes [first, last) (last None: to the end), split as read_blocks splits."""
    splitter, position = Splitter(), first
    while last is None or position < last:
        size = BLOCK if last is None else min(BLOCK, last - position)
        data = os.pread(fd, size, position)
        if not data:
            break
        position += len(data)
        yield from splitter.feed(data)
    yield from splitter.feed(b"")
