"""PTRACE_GET_SYSCALL_INFO: the kernel's own account of a syscall stop, ABI included.

Reading registers would misname compat calls: a 64-bit process that executes `int $0x80` makes i386
syscalls whose numbers mean something else in the x86_64 table. The kernel reports the AUDIT_ARCH of
each call here, so names always come from the right libseccomp table.
"""

from __future__ import annotations

import ctypes
import struct

from ptrace.binding.func import ptrace  # python-ptrace's low-level binding

from recorder.ptrace.constants import PTRACE_GET_SYSCALL_INFO

# struct ptrace_syscall_info: u8 op, u8 pad[3], u32 arch, u64 ip, u64 sp,
# then (entry/seccomp) u64 nr, u64 args[6], (seccomp) u32 ret_data.
_LAYOUT = struct.Struct("=B3xIQQQ6QI")
SIZE = 88


class SyscallInfoReader:
    """Reads one stop's syscall info into a buffer allocated once (this is the tracer's hot path)."""

    def __init__(self) -> None:
        self._buf = ctypes.create_string_buffer(SIZE)
        self._addr = ctypes.addressof(self._buf)

    def read(self, tid: int) -> tuple[int, int, int, tuple[int, ...], int]:
        """(op, arch token, nr, args, ret_data) for the syscall `tid` is stopped at."""
        ptrace(PTRACE_GET_SYSCALL_INFO, tid, SIZE, self._addr)
        op, arch, _ip, _sp, nr, a0, a1, a2, a3, a4, a5, ret_data = _LAYOUT.unpack_from(self._buf)
        return op, arch, nr, (a0, a1, a2, a3, a4, a5), ret_data
