"""Answering a syscall from the tracer at a seccomp stop, as the kernel would answer a filter.

`verify` turns a profile's denials into SECCOMP_RET_TRACE so it can name each denied call; the
tracer must then give the tracee exactly what the profile would have: the syscall skipped and
-errno returned. Skipping means setting the syscall number to -1 at the stop (the kernel then does
not run it and returns the return register as the tracer left it). Registers are per architecture;
this is written for x86_64 hosts (i386 compat calls of a 64-bit tracer use the same register set).
"""

from __future__ import annotations

import platform

from ptrace.binding.func import ptrace_getregs, ptrace_setregs

from seccomp_gen.ground.errors import SeccompGenError

SUPPORTED = platform.machine() == "x86_64"


def require_support() -> None:
    if not SUPPORTED:
        raise SeccompGenError(f"answering denied syscalls from the tracer is implemented for x86_64 hosts, not "
                              f"{platform.machine()}; use --complain to report denials without enforcing them")


def skip_with_errno(tid: int, errno_value: int) -> None:
    """Skip the syscall `tid` is stopped at and make it return -errno_value."""
    regs = ptrace_getregs(tid)
    regs.orig_rax = 2**64 - 1  # -1: no syscall
    regs.rax = (-errno_value) % 2**64
    ptrace_setregs(tid, regs)
