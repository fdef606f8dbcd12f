"""Signals around a launched command: the recorder's handlers for Ctrl-C & co, the child's defaults."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

#: Seconds a launched command gets to exit after the recorder passed SIGINT/SIGTERM/SIGHUP on to it.
DEFAULT_GRACE_S = 5.0
#: What stops a recording: passed on to CMD, then (after a grace period) its processes are killed.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Python ignores these; CMD must start with the defaults, as from a shell.
_CHILD_DEFAULTS = (signal.SIGPIPE, signal.SIGXFSZ)

Handler = Callable[[int, FrameType | None], None]


@contextlib.contextmanager
def handling(handler: Handler, signals: Sequence[int] = INTERRUPTS) -> Iterator[None]:
    """`handler` for `signals` while the block runs; the previous handlers (and no pending
    alarm) afterwards."""
    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        if signal.SIGALRM in previous:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, old in previous.items():
            signal.signal(signum, old)


def terminal_sent(signum: int) -> bool:
    """True when a terminal's Ctrl-C already delivered SIGINT to CMD (same foreground group)."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def child_defaults() -> None:
    """In a forked child before exec: the dispositions a shell would give CMD."""
    for signum in _CHILD_DEFAULTS:
        signal.signal(signum, signal.SIG_DFL)
