"""Starting CMD under the tracer: fork, seize, load the RET_TRACE filter in the child, exec.

The child blocks on a pipe until the parent has seized it, so no syscall of CMD can run untraced;
only then does it load a filter that answers SECCOMP_RET_TRACE for every syscall of every arch
(SCMP_ACT_TRACE as default and as bad-arch action, so `int $0x80` calls are traced too) and exec
CMD. PTRACE_O_EXITKILL makes the kernel kill the tracees if the recorder dies, because under that
filter an untraced process would see ENOSYS for every syscall.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

import pyseccomp

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.launch import filters, rootfs, spawn
from seccomp_gen.recorder.launch.status import EXIT_NOT_FOUND
from seccomp_gen.recorder.ptrace.constants import (
    FOLLOW_OPTIONS,
    PTRACE_O_EXITKILL,
    PTRACE_O_TRACESECCOMP,
    PTRACE_SEIZE,
    TRACE_MARK,
)
from seccomp_gen.recorder.ptrace.permissions import ptrace_denied_reason
from seccomp_gen.recorder.ptrace.syscall_info import ptrace_errno

#: (filter, whether it sets no_new_privs): what the seized child loads before its exec.
TraceFilter = tuple[pyseccomp.SyscallFilter, bool]


def build_trace_filter() -> TraceFilter:
    """The recording filter, built in the parent: RET_TRACE for every call of every arch."""
    return filters.new_filter(pyseccomp.TRACE(TRACE_MARK))


def _setup(go: int, flt: pyseccomp.SyscallFilter, root: str | None) -> None:
    """In the child: wait until seized, enter the image root if asked, load the filter."""
    if os.read(go, 1) != b"g":  # the recorder died before seizing us
        os._exit(EXIT_NOT_FOUND)
    if root is not None:
        rootfs.enter_namespaces()  # continues in the new pid namespace's PID 1
        rootfs.enter_root(root)
    flt.load()


def spawn_traced(command: Sequence[str], root: str | None = None, trace_filter: TraceFilter | None = None,
                 cgroup_fd: int | None = None) -> tuple[spawn.Child, bool]:
    """Start CMD seized by this process; (the child, whether its filter set no_new_privs).

    The child waits until it has been seized, then (with `root`: enters new namespaces and the
    root) loads the filter and execs. With `cgroup_fd` the child is created inside that cgroup if
    the kernel allows (clone3 CLONE_INTO_CGROUP).
    """
    path = spawn.resolve_command(command) if root is None else rootfs.resolve_in_root(root, list(command))
    flt, nnp = trace_filter or build_trace_filter()
    go_r, go_w = os.pipe()
    child = spawn.start(path, command, setup=lambda: _setup(go_r, flt, root), cgroup_fd=cgroup_fd,
                        close_in_child=(go_w,))
    os.close(go_r)
    refused = ptrace_errno(PTRACE_SEIZE, child.pid, 0, FOLLOW_OPTIONS | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)
    if refused:
        os.close(go_w)
        os.kill(child.pid, signal.SIGKILL)
        os.waitpid(child.pid, 0)
        os.close(child.error_fd)
        raise SeccompGenError(ptrace_denied_reason(refused))
    os.write(go_w, b"g")
    os.close(go_w)
    return child, nnp
