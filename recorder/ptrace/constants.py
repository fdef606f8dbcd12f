"""ptrace(2) requests, options and events that python-ptrace 0.9.9 does not define (linux/ptrace.h)."""

from __future__ import annotations

import signal

PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_GET_SYSCALL_INFO = 0x420E

PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
PTRACE_O_TRACECLONE = 0x8
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128

PTRACE_SYSCALL_INFO_ENTRY = 1
PTRACE_SYSCALL_INFO_EXIT = 2
PTRACE_SYSCALL_INFO_SECCOMP = 3

#: __WALL for waitpid: report threads (clone children) as well as processes.
WALL = 0x40000000

#: Follow every way a process can multiply or change image.
FOLLOW_OPTIONS = (
    PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC
)

#: `status >> 8` values of the stops the tracer loop dispatches on.
SYSCALL_STOP = signal.SIGTRAP | 0x80
SECCOMP_STOP = signal.SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)
NEW_CHILD_EVENTS = (PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE)
GROUP_STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})

#: The data our recording filter returns with SECCOMP_RET_TRACE ("SG"), told apart from others' filters.
TRACE_MARK = 0x5347
