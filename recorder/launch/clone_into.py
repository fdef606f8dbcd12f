"""fork() that creates the child directly inside a cgroup v2 directory: clone3(CLONE_INTO_CGROUP).

Moving a process by writing cgroup.procs takes the kernel's cgroup threadgroup rwsem for writing,
which waits for an RCU grace period whenever no migration happened just before: 8-26 ms measured
here, the largest single cost of a short `record --engine ebpf` after the interpreter's start-up.
A child cloned into the cgroup takes that lock only for reading, so it costs nothing.

Python has no clone3 wrapper, so this does what os.fork() does around the kernel call:
PyOS_BeforeFork / AfterFork_Child / AfterFork_Parent keep the interpreter's locks and at-fork
handlers right, and the call is made with the GIL held (PyDLL). It is used only from a
single-threaded recorder, whose child loads a seccomp filter and execs at once; glibc's fork()
bookkeeping that a raw clone skips (its own at-fork handlers, the cached thread id used by
raise()) matters only to a multi-threaded parent or a child that keeps running C library code.
"""

from __future__ import annotations

import ctypes
import errno
import struct
import threading

from seccomp_gen.ground import syscalls

CLONE_INTO_CGROUP = 0x200000000
SIGCHLD = 17
#: struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2): flags, pidfd, child_tid, parent_tid,
#: exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup - eleven u64.
_ARGS = struct.Struct("=11Q")

_libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the call keeps the GIL, as os.fork() does
_syscall = _libc.syscall
_syscall.argtypes = (ctypes.c_long, ctypes.c_void_p, ctypes.c_size_t)
_syscall.restype = ctypes.c_long
_api = ctypes.pythonapi
for _name in ("PyOS_BeforeFork", "PyOS_AfterFork_Parent", "PyOS_AfterFork_Child"):
    getattr(_api, _name).restype = None
    getattr(_api, _name).argtypes = ()


def fork_into_cgroup(cgroup_fd: int) -> int:
    """Like os.fork(), but the child starts in the cgroup open at `cgroup_fd` (an O_PATH or
    O_DIRECTORY fd of a cgroup v2 directory). Raises OSError when the kernel cannot (before 5.7:
    ENOSYS; a cgroup v1 fd: EBADF) or when other threads run (a raw clone is only safe alone)."""
    if threading.active_count() > 1:
        raise OSError(errno.EBUSY, "clone3 is only used from a single-threaded recorder")
    nr = syscalls.number_of(syscalls.native_arch(), "clone3")
    if nr is None:
        raise OSError(errno.ENOSYS, "no clone3 on this architecture")
    args = ctypes.create_string_buffer(_ARGS.pack(CLONE_INTO_CGROUP, 0, 0, 0, SIGCHLD, 0, 0, 0, 0, 0, cgroup_fd))
    _api.PyOS_BeforeFork()
    pid = _syscall(nr, ctypes.addressof(args), _ARGS.size)
    if pid == 0:
        _api.PyOS_AfterFork_Child()
        return 0
    code = ctypes.get_errno()
    _api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(code, f"clone3(CLONE_INTO_CGROUP): {errno.errorcode.get(code, code)}")
    return int(pid)
