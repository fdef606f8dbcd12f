"""The CPU affinity a pinned recording hides: CMD sees the mask it would have unrecorded.

Pinning the recorder and CMD to one CPU makes every ptrace stop several times cheaper, but a program
that sizes itself by its affinity mask (nproc, a JVM choosing its garbage collector, Go's scheduler)
would then behave as on a one-CPU machine, and the profile would miss calls production makes. So
while a task keeps the pinned mask, its sched_getaffinity is let through and, at the syscall's exit,
the bytes the kernel copied are replaced by the original mask (the kernel still checks the length
and the pointer, and returns its own size). A task that sets its own affinity (or has it set) runs
on what it asked for and is answered by the kernel from then on; its new children inherit that.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from seccomp_gen.ground import syscalls

Key = tuple[int, int]  # (AUDIT_ARCH token, syscall number), as the tracer sees a stop
#: What the tracer calls at the exit of an intercepted syscall, with its return value.
ExitHook = Callable[[int], None]

_GET, _SET = "sched_getaffinity", "sched_setaffinity"


class _IoVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("len", ctypes.c_size_t))


_libc = ctypes.CDLL(None, use_errno=True)
_libc.process_vm_writev.argtypes = (ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.POINTER(_IoVec),
                                    ctypes.c_ulong, ctypes.c_ulong)
_libc.process_vm_writev.restype = ctypes.c_ssize_t


def _keys(name: str) -> dict[Key, str]:
    return {syscalls.reported_key(arch, nr): name for arch in syscalls.ARCH_TOKENS
            if (nr := syscalls.number_of(arch, name)) is not None}


def write_memory(tid: int, address: int, data: bytes) -> bool:
    """Write `data` into the tracee's memory at `address` (we are its tracer)."""
    local = ctypes.create_string_buffer(data, len(data))
    src = _IoVec(ctypes.addressof(local), len(data))
    dst = _IoVec(address, len(data))
    return int(_libc.process_vm_writev(tid, ctypes.byref(src), 1, ctypes.byref(dst), 1, 0)) == len(data)


class AffinityView:
    """Per task: does it still run on the recorder's pinned mask (then it is shown `original`)?"""

    def __init__(self, original: set[int]) -> None:
        self.mask = sum(1 << cpu for cpu in original)
        self.names = {**_keys(_GET), **_keys(_SET)}
        self.keys = frozenset(self.names)
        self.pinned: set[int] = set()  # tids still on the pinned mask

    def new_task(self, tid: int, creator: int | None) -> None:
        """A task inherits its creator's mask (CMD itself starts pinned)."""
        if creator is None or creator in self.pinned:
            self.pinned.add(tid)

    def gone(self, tid: int) -> None:
        self.pinned.discard(tid)

    def at_entry(self, tid: int, key: Key, args: tuple[int, ...]) -> ExitHook | None:
        """At the seccomp stop of an affinity call: what to do at its exit (None: nothing)."""
        target = args[0] or tid
        if target not in self.pinned:
            return None
        if self.names[key] == _SET:
            return lambda rval: self._set(target, rval)
        address = args[2]
        return lambda rval: self._get(tid, address, rval)

    def _set(self, target: int, rval: int) -> None:
        if rval == 0:
            self.pinned.discard(target)  # it runs on what it asked for now

    def _get(self, tid: int, address: int, rval: int) -> None:
        if rval > 0:  # the kernel copied `rval` bytes of its mask: show the original one
            write_memory(tid, address, (self.mask & ((1 << (8 * rval)) - 1)).to_bytes(rval, "little"))
