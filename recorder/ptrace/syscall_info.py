"""PTRACE_GET_SYSCALL_INFO: the kernel's own account of a syscall stop, ABI included.

Reading registers would misname compat calls: a 64-bit process that executes `int $0x80` makes i386
syscalls whose numbers mean something else in the x86_64 table. The kernel reports the AUDIT_ARCH of
each call here, so names always come from the right libseccomp table.

This is the tracer's hot path (two ptrace calls per recorded syscall), so the calls go straight to
libc's ptrace through ctypes: python-ptrace's `ptrace()` wrapper converts every result and builds an
error message in Python, which cost about a fifth of the recorder's time on a syscall-heavy loop.
Errors still surface as python-ptrace's PtraceError.
"""

from __future__ import annotations

import ctypes
import errno
import struct

from ptrace import PtraceError

from seccomp_gen.recorder.ptrace.constants import PTRACE_GET_SYSCALL_INFO, PTRACE_SYSCALL_INFO_EXIT

# struct ptrace_syscall_info: u8 op, u8 pad[3], u32 arch, u64 ip, u64 sp,
# then (entry/seccomp) u64 nr, u64 args[6], (seccomp) u32 ret_data.
_LAYOUT = struct.Struct("=B3xIQQQ6QI")
#: (exit stops) u8 op, u8 pad[3], u32 arch, u64 ip, u64 sp, s64 rval, u8 is_error.
_EXIT = struct.Struct("=B3xIQQqB")
#: read_key(buffer) -> (op, arch, nr): all the hot path needs unless the call's arguments are watched.
read_key = struct.Struct("=B3xI16xQ").unpack_from
SIZE = 88

#: long ptrace(request, pid_t pid, void *addr, void *data), errno kept for ctypes.get_errno(). No
#: argtypes: ctypes then passes Python ints as C ints and ctypes objects as they are, which takes
#: half the time of converting through a prototype (0.5 vs 0.8-1.1 us a call, measured). Callers
#: pass small ints (request, pid, size, signal) or ctypes objects (a buffer for a pointer); glibc's
#: ptrace is variadic and reads them back as pid_t and pointers, which libffi widens to a register.
raw_ptrace = ctypes.CDLL(None, use_errno=True).ptrace
raw_ptrace.restype = ctypes.c_long


def ptrace_error(request: int, tid: int) -> PtraceError:
    """The PtraceError for a raw call that returned -1 (python-ptrace's exception, errno kept)."""
    code = ctypes.get_errno()
    return PtraceError(f"ptrace(request={request:#x}, pid={tid}) failed: {errno.errorcode.get(code, code)}",
                       errno=code, pid=tid)


class SyscallInfoReader:
    """Reads one stop's syscall info into a buffer allocated once."""

    def __init__(self) -> None:
        #: The buffer; the tracer loop fills it itself (raw_ptrace) and reads it with read_key.
        self.buffer = ctypes.create_string_buffer(SIZE)

    def fetch(self, tid: int) -> bool:
        """Fill the buffer for the stop `tid` is in; False when `tid` is gone (ESRCH: SIGKILLed,
        its exit is reported by waitpid next)."""
        if raw_ptrace(PTRACE_GET_SYSCALL_INFO, tid, SIZE, self.buffer) < 0:
            if ctypes.get_errno() == errno.ESRCH:
                return False
            raise ptrace_error(PTRACE_GET_SYSCALL_INFO, tid)
        return True

    def exit_value(self) -> int | None:
        """The return value at a syscall-exit stop (None at any other stop)."""
        op, _arch, _ip, _sp, rval, _is_error = _EXIT.unpack_from(self.buffer)
        return int(rval) if op == PTRACE_SYSCALL_INFO_EXIT else None

    def full(self) -> tuple[int, int, int, tuple[int, ...], int]:
        """(op, arch token, nr, args, ret_data) of the fetched stop."""
        op, arch, _ip, _sp, nr, a0, a1, a2, a3, a4, a5, ret_data = _LAYOUT.unpack_from(self.buffer)
        return op, arch, nr, (a0, a1, a2, a3, a4, a5), ret_data
