"""Signals around a launched command: the recorder's handlers for Ctrl-C & co, the child's defaults."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from seccomp_gen.ground import syscalls
from seccomp_gen.recorder.launch.proc import status_mask

#: Seconds a launched command gets to exit after the recorder passed SIGINT/SIGTERM/SIGHUP on to it.
DEFAULT_GRACE_S = 5.0
#: What stops a recording: passed on to CMD, then (after a grace period) its processes are killed.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Python ignores these; CMD must start with the defaults, as from a shell.
_CHILD_DEFAULTS = (signal.SIGPIPE, signal.SIGXFSZ)

Handler = Callable[[int, FrameType | None], None]
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


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


def ignored_now() -> int:
    """The SigIgn mask of this process (bit N-1: signal N ignored)."""
    return status_mask(b"SigIgn")


#: What the recorder's caller ignored (read before any thread of ours runs: creating one makes glibc
#: catch its internal signals 32 and 33, which `make`, for one, passes on ignored).
IGNORED_AT_START = ignored_now()


def _set_ignored(signum: int, ignore: bool) -> None:
    """SIG_IGN or SIG_DFL for `signum`, through the kernel for glibc's internal signals (its
    sigaction() refuses 32 and 33)."""
    try:
        signal.signal(signum, signal.SIG_IGN if ignore else signal.SIG_DFL)
    except (OSError, ValueError, RuntimeError):
        nr = syscalls.number_of(syscalls.native_arch(), "rt_sigaction")  # x86_64: 13
        act = (ctypes.c_ulong * 4)(1 if ignore else 0, 0, 0, 0)  # handler, flags, restorer, mask
        if nr is not None:
            _libc.syscall(ctypes.c_long(nr), ctypes.c_int(signum), act, None, ctypes.c_size_t(8))


def child_defaults() -> None:
    """In a forked child before exec: the dispositions CMD would have had from our caller - what it
    ignored stays ignored, the rest is default; SIGPIPE and SIGXFSZ, which Python ignores as it
    starts, get the defaults a shell gives."""
    wanted = IGNORED_AT_START & ~sum(1 << (s - 1) for s in _CHILD_DEFAULTS)
    now = ignored_now()
    for signum in range(1, signal.NSIG):
        bit = 1 << (signum - 1)
        if (now ^ wanted) & bit and signum not in (signal.SIGKILL, signal.SIGSTOP):
            _set_ignored(signum, bool(wanted & bit))
