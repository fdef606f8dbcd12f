"""Running the recorder (and so every process it starts) on one CPU.

A ptrace stop that crosses CPUs costs several times more than one that stays (README, "How it
records"), so the recorder and CMD share one CPU unless told otherwise.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def pinned(cpu: int | None) -> Iterator[None]:
    """This process on `cpu` while the block runs (None: unchanged); the old mask afterwards."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def auto_cpu() -> int:
    """The CPU `--pin-cpu auto` picks: the one the recorder runs on now, if it may use it.

    The scheduler put us there, so it is a CPU with room; always taking the first allowed CPU
    would stack every recorder of a parallel CI job (pytest-xdist, make -j) on CPU 0.
    """
    allowed = sorted(os.sched_getaffinity(0))
    try:
        with open("/proc/self/stat", "rb") as handle:
            # Field 39 ("processor"), counted after the parenthesised comm, which may hold spaces.
            current = int(handle.read().rsplit(b")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return allowed[0]
    return current if current in allowed else allowed[0]
