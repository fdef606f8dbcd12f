"""Killing a traced process exactly as the kernel's seccomp would: by the kernel itself.

`verify` turns a profile's denials into SECCOMP_RET_TRACE so the tracer can name them. For a
KILL_PROCESS or KILL_THREAD answer, a tracer cannot imitate the kernel with a signal: SIGKILL gives
the wrong status (137, where the kernel's kill is a SIGSYS death, 159 in a shell, with a core dump),
a SIGSYS sent with kill(2) can be caught, blocked or ignored, and killing the whole thread group is
wrong for KILL_THREAD. So the kernel is made to do it.

After a SECCOMP_RET_TRACE stop the kernel runs the filters again on the syscall number the tracer
left in the registers (kernel/seccomp.c, `__seccomp_filter(this_syscall, true)`, Linux 4.8+), and a
KILL answer of that second run is carried out. The child therefore loads, before the profile, a
small "kill switch" filter that allows everything except two syscall numbers no architecture uses:
one answered SECCOMP_RET_KILL_PROCESS, one SECCOMP_RET_KILL_THREAD. It does not look at the
architecture, so it works for calls of architectures the profile does not list (the bad-arch case)
and for `int $0x80` calls too. To kill, the tracer writes one of those numbers as the stopped
syscall's number and resumes it; the kernel then kills the thread or process with SIGSYS, as it
would have under the real profile. The only visible difference is the number in a core dump's or
audit record's syscall field (the switch's, not the denied call's).
"""

from __future__ import annotations

import ctypes
import errno
import struct
from typing import Any

from ptrace import PtraceError
from ptrace.binding.func import ptrace_getregs, ptrace_setregs

from seccomp_gen.ground import kernel
from seccomp_gen.ground.errors import SeccompGenError

#: Syscall numbers no architecture has (below x32's 0x40000000 bit, far above every table).
KILL_PROCESS_NR = 0x3FFF_5EC0
KILL_THREAD_NR = 0x3FFF_5EC1

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_INSN = struct.Struct("=HBBI")
_LD_NR = 0x20  # BPF_LD | BPF_W | BPF_ABS, k=0: seccomp_data.nr
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_RET = 0x06  # BPF_RET | BPF_K


def _program() -> bytes:
    kill_process = kernel.action("SCMP_ACT_KILL_PROCESS").code
    kill_thread = kernel.action("SCMP_ACT_KILL_THREAD").code
    allow = kernel.action("SCMP_ACT_ALLOW").code
    insns = [(_LD_NR, 0, 0, 0), (_JEQ, 0, 1, KILL_PROCESS_NR), (_RET, 0, 0, kill_process),
             (_JEQ, 0, 1, KILL_THREAD_NR), (_RET, 0, 0, kill_thread), (_RET, 0, 0, allow)]
    return b"".join(_INSN.pack(*insn) for insn in insns)


#: The kill switch, as the BPF program prove/bpf.py can also interpret (tests do).
PROGRAM = _program()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def load_kill_switch(no_new_privs: bool) -> None:
    """In the child, before the profile's filter: install the kill switch. With `no_new_privs` the
    bit is set first (the profile's filter sets it anyway); without it the caller has CAP_SYS_ADMIN."""
    libc = ctypes.CDLL(None, use_errno=True)
    if no_new_privs and libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    program = ctypes.create_string_buffer(PROGRAM, len(PROGRAM))
    prog = _SockFprog(len(PROGRAM) // _INSN.size, ctypes.cast(program, ctypes.c_char_p))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) for the kill switch")


class BehindKillSwitch:
    """The profile's compiled filter, loaded behind the kill switch: what verify's child loads.

    The launcher (recorder/ptrace/seize.py) only calls the filter's `load`, so this stands in for the
    SyscallFilter it is given: it installs the kill switch, then the profile's own filter."""

    def __init__(self, profile_filter: Any, no_new_privs: bool) -> None:
        self.profile_filter, self.no_new_privs = profile_filter, no_new_privs

    def load(self) -> None:
        load_kill_switch(self.no_new_privs)
        self.profile_filter.load()


def kill_at_stop(tid: int, *, whole_process: bool) -> None:
    """Make the syscall `tid` is stopped at (a SECCOMP_RET_TRACE stop) one the kill switch kills:
    on resume the kernel kills the process (or only the thread) with SIGSYS. x86_64 registers, as
    recorder/ptrace/answer.py (verify checks answer.require_support first)."""
    try:
        regs = ptrace_getregs(tid)
        regs.orig_rax = KILL_PROCESS_NR if whole_process else KILL_THREAD_NR
        ptrace_setregs(tid, regs)
    except PtraceError as exc:
        if exc.errno != errno.ESRCH:  # ESRCH: SIGKILLed meanwhile, its exit is reported next
            raise SeccompGenError(f"cannot end thread {tid} as the profile says: {exc}") from None
