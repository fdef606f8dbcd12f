"""PTRACE_GET_SYSCALL_INFO: the kernel's own account of a syscall stop, ABI included.

Reading registers would misname compat calls: a 64-bit process that executes `int $0x80` makes i386
syscalls whose numbers mean something else in the x86_64 table. The kernel reports the AUDIT_ARCH of
each call here, so names always come from the right libseccomp table.

This is the tracer's hot path (two ptrace calls per recorded syscall), so the calls go straight to
libc's ptrace through ctypes: python-ptrace's `ptrace()` wrapper converts every result and builds an
error message in Python, which cost about a fifth of the recorder's time on a syscall-heavy loop.
python-ptrace itself is not even imported on the way (its import pulls in logging, subprocess and
ctypes.util: ~15 ms of the recorder's start); errors still surface as its PtraceError.
"""

from __future__ import annotations

import ctypes
import errno
import struct
from typing import TYPE_CHECKING

from seccomp_gen.recorder.ptrace.constants import PTRACE_GET_SYSCALL_INFO, PTRACE_SYSCALL_INFO_EXIT

if TYPE_CHECKING:
    from ptrace import PtraceError

# struct ptrace_syscall_info: u8 op, u8 pad[3], u32 arch, u64 ip, u64 sp,
# then (entry/seccomp) u64 nr, u64 args[6], (seccomp) u32 ret_data.
_LAYOUT = struct.Struct("=B3xIQQQ6QI")
#: (exit stops) u8 op, u8 pad[3], u32 arch, u64 ip, u64 sp, s64 rval, u8 is_error.
_EXIT = struct.Struct("=B3xIQQqB")
#: read_key(buffer) -> (op, arch, nr): all the hot path needs unless the call's arguments are watched.
#: The tuple itself is the key of the tracer's table of counted calls (one allocation per stop).
read_key = struct.Struct("=B3xI16xQ").unpack_from
SIZE = 88
PTRACE_GETEVENTMSG = 0x4201

#: long ptrace(request, pid_t pid, void *addr, void *data), errno kept for ctypes.get_errno(). No
#: argtypes: ctypes then passes Python ints as C ints and ctypes objects as they are, which takes
#: half the time of converting through a prototype (0.5 vs 0.8-1.1 us a call, measured). Callers
#: pass small ints (request, pid, size, signal) or ctypes objects (a buffer for a pointer); glibc's
#: ptrace is variadic and reads them back as pid_t and pointers, which libffi widens to a register.
raw_ptrace = ctypes.CDLL(None, use_errno=True).ptrace
raw_ptrace.restype = ctypes.c_long
#: The same function for the two calls of every stop, called without releasing the GIL (nothing
#: else runs in the recorder, and these requests never block) and without ctypes' errno swap
#: (a thread-state dict lookup and two copies per call). A call that returns -1 is made again
#: through raw_ptrace to learn its errno: both hot requests fail the same way twice (the tracee is
#: not in a ptrace-stop, or is gone), and neither has an effect when it fails.
fast_ptrace = ctypes.PyDLL(None).ptrace
fast_ptrace.restype = ctypes.c_long


def ptrace_error(request: int, tid: int, code: int | None = None) -> PtraceError:
    """The PtraceError for a raw call that returned -1 (python-ptrace's exception, errno kept)."""
    from ptrace import PtraceError  # only on a failure: python-ptrace is slow to import

    code = ctypes.get_errno() if code is None else code
    return PtraceError(f"ptrace(request={request:#x}, pid={tid}) failed: {errno.errorcode.get(code, code)}",
                       errno=code, pid=tid)


def ptrace_errno(request: int, tid: int, addr: int = 0, data: int = 0) -> int:
    """Make a ptrace request; 0 when it succeeded, else its errno."""
    return ctypes.get_errno() if raw_ptrace(request, tid, addr, data) < 0 else 0


def ptrace_check(request: int, tid: int, addr: int = 0, data: int = 0) -> None:
    """Make a ptrace request; PtraceError when it fails."""
    if raw_ptrace(request, tid, addr, data) < 0:
        raise ptrace_error(request, tid)


_message = (ctypes.c_ulong * 1)()


def geteventmsg(tid: int) -> int:
    """PTRACE_GETEVENTMSG: the new child's pid at a fork event, the former tid at an exec event."""
    if raw_ptrace(PTRACE_GETEVENTMSG, tid, 0, _message) < 0:
        raise ptrace_error(PTRACE_GETEVENTMSG, tid)
    return int(_message[0])


class SyscallInfoReader:
    """Reads one stop's syscall info into a buffer allocated once."""

    def __init__(self) -> None:
        #: The buffer, passed to ptrace as a ctypes array; the tracer loop fills it itself
        #: (fast_ptrace) and reads it with read_key. The memory is a bytearray's, which struct
        #: reads faster than a ctypes object's.
        self.memory = bytearray(SIZE)
        self.buffer = (ctypes.c_char * SIZE).from_buffer(self.memory)

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
        op, _arch, _ip, _sp, rval, _is_error = _EXIT.unpack_from(self.memory)
        return int(rval) if op == PTRACE_SYSCALL_INFO_EXIT else None

    def full(self) -> tuple[int, int, int, tuple[int, ...], int]:
        """(op, arch token, nr, args, ret_data) of the fetched stop."""
        op, arch, _ip, _sp, nr, a0, a1, a2, a3, a4, a5, ret_data = _LAYOUT.unpack_from(self.memory)
        return op, arch, nr, (a0, a1, a2, a3, a4, a5), ret_data
