"""Starting CMD under the tracer: fork, seize, load the RET_TRACE filter in the child, exec.

The child blocks on a pipe until the parent has seized it, so no syscall of CMD can run untraced;
only then does it load a filter that answers SECCOMP_RET_TRACE for every syscall of every arch
(SCMP_ACT_TRACE as default and as bad-arch action, so `int $0x80` calls are traced too) and exec
CMD. PTRACE_O_EXITKILL makes the kernel kill the tracees if the recorder dies, because under that
filter an untraced process would see ENOSYS for every syscall.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
from collections.abc import Sequence

import pyseccomp
from ptrace import PtraceError
from ptrace.binding.func import ptrace

from seccomp_gen.ground.errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, SeccompGenError
from seccomp_gen.recorder.ptrace import rootfs as rootfs_setup
from seccomp_gen.recorder.ptrace.clone_into import fork_into_cgroup
from seccomp_gen.recorder.ptrace.constants import (
    FOLLOW_OPTIONS,
    PTRACE_O_EXITKILL,
    PTRACE_O_TRACESECCOMP,
    PTRACE_SEIZE,
    TRACE_MARK,
)
from seccomp_gen.recorder.ptrace.permissions import ptrace_denied_reason

CAP_SYS_ADMIN = 21


def has_capability(cap: int) -> bool:
    """True when this process has `cap` in its effective set."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> cap & 1)
    except OSError:
        pass
    return False


def resolve_command(command: Sequence[str]) -> str:
    """The path execve will run, as a shell finds it; 127/126 errors like a shell's."""
    if not command:
        raise SeccompGenError("no command given (put it after --)")
    name = command[0]
    path = name if "/" in name else shutil.which(name)
    if path is None or not os.path.exists(path):
        raise SeccompGenError(f"{name}: command not found", exit_code=EXIT_NOT_FOUND)
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise SeccompGenError(f"{name}: permission denied (not an executable file)",
                              exit_code=EXIT_NOT_EXECUTABLE)
    return path


def build_trace_filter() -> tuple[pyseccomp.SyscallFilter, bool]:
    """The recording filter, built in the parent; (filter, whether it sets no_new_privs).

    With CAP_SYS_ADMIN the filter loads without no_new_privs, so setuid programs behave as they
    would untraced; without it the kernel demands no_new_privs.
    """
    action = pyseccomp.TRACE(TRACE_MARK)
    flt = pyseccomp.SyscallFilter(action)
    flt.set_attr(pyseccomp.Attr.ACT_BADARCH, action)
    nnp = not has_capability(CAP_SYS_ADMIN)
    flt.set_attr(pyseccomp.Attr.CTL_NNP, int(nnp))
    return flt, nnp


def _child(path: str, argv: Sequence[str], go: int, report: int, flt: pyseccomp.SyscallFilter,
           rootfs: str | None) -> None:
    """Runs in the forked child; never returns."""
    code = EXIT_NOT_FOUND
    try:
        if os.read(go, 1) != b"g":  # the recorder died before seizing us
            os._exit(code)
        # Python ignores SIGPIPE and SIGXFSZ; CMD must start with the defaults, as from a shell.
        for signum in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(signum, signal.SIG_DFL)
        if rootfs is not None:
            rootfs_setup.enter_namespaces()  # continues in the new pid namespace's PID 1
            rootfs_setup.enter_root(rootfs)
        flt.load()
        os.execv(path, list(argv))
    except OSError as exc:
        code = EXIT_NOT_FOUND if exc.errno == errno.ENOENT else EXIT_NOT_EXECUTABLE
        with contextlib.suppress(OSError):
            os.write(report, f"{exc.errno}".encode())
    finally:
        os._exit(code)


def _fork(cgroup_fd: int | None) -> int:
    """os.fork(), or with `cgroup_fd` a fork straight into that cgroup v2 directory when the kernel
    can (else a plain fork: the caller moves the child, as it checks membership anyway)."""
    if cgroup_fd is not None:
        with contextlib.suppress(OSError):
            return fork_into_cgroup(cgroup_fd)
    return os.fork()


def spawn_traced(command: Sequence[str], rootfs: str | None = None,
                 trace_filter: tuple[pyseccomp.SyscallFilter, bool] | None = None,
                 cgroup_fd: int | None = None) -> tuple[int, int, bool]:
    """Fork CMD seized by this process; (pid, fd to read an exec error from, no_new_privs).

    The child waits until it has been seized, then (with `rootfs`: enters new namespaces and the
    root) loads the filter and execs. A failed exec writes its errno to the returned fd
    (close-on-exec, so a successful exec leaves it empty). With `cgroup_fd` the child is created
    inside that cgroup if the kernel allows (clone3 CLONE_INTO_CGROUP).
    """
    path = resolve_command(command) if rootfs is None else rootfs_setup.resolve_in_root(rootfs, list(command))
    flt, nnp = trace_filter or build_trace_filter()
    go_r, go_w = os.pipe()
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = _fork(cgroup_fd)
    if pid == 0:  # pragma: no cover - the child execs or exits
        os.close(go_w)
        os.close(err_r)
        _child(path, command, go_r, err_w, flt, rootfs)
    os.close(go_r)
    os.close(err_w)
    try:
        ptrace(PTRACE_SEIZE, pid, 0, FOLLOW_OPTIONS | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)
    except PtraceError as exc:
        os.close(go_w)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(err_r)
        raise SeccompGenError(ptrace_denied_reason(exc.errno or 0)) from None
    os.write(go_w, b"g")
    os.close(go_w)
    return pid, err_r, nnp


def read_exec_error(fd: int) -> int | None:
    """The errno a failed exec reported, or None after a successful exec."""
    try:
        data = os.read(fd, 32)
    finally:
        os.close(fd)
    return int(data) if data else None
