"""Starting CMD: find it as a shell would, fork (into a cgroup when asked), set up, exec.

Every engine, `verify` and the proofs start their child here, so CMD always begins the same way:
default signal dispositions, the caller's set-up (waiting to be seized, namespaces, its filter) as
the last thing before execve, and a failed exec reported through a close-on-exec pipe and the exit
status a shell's child would have (127 not found, 126 not executable).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from seccomp_gen.ground.errors import CommandNotExecutable, CommandNotFound
from seccomp_gen.recorder.launch.clone_into import fork_into_cgroup
from seccomp_gen.recorder.launch.environ import child_environ
from seccomp_gen.recorder.launch.signals import child_defaults
from seccomp_gen.recorder.launch.status import EXIT_NOT_EXECUTABLE, exec_exit_code


def resolve_command(command: Sequence[str]) -> str:
    """The path execve will run, as a shell finds it; 127/126 errors like a shell's."""
    if not command:
        raise CommandNotFound("no command given (put it after --)")
    name = command[0]
    path = name if "/" in name else shutil.which(name)
    if path is None or not os.path.exists(path):
        raise CommandNotFound(f"{name}: command not found")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise CommandNotExecutable(f"{name}: permission denied (not an executable file)")
    return path


@dataclass(frozen=True)
class Child:
    """A started child: its pid, and the pipe its failed exec writes its errno to."""

    pid: int
    error_fd: int

    def exec_errno(self) -> int | None:
        """The errno a failed exec reported, or None after a successful exec (closes the pipe)."""
        try:
            data = os.read(self.error_fd, 32)
        finally:
            os.close(self.error_fd)
        return int(data) if data else None


def _nothing() -> None:
    """The default set-up: none."""


def start(path: str, argv: Sequence[str], *, setup: Callable[[], None] = _nothing,
          env: Mapping[str, str] | None = None, cgroup_fd: int | None = None,
          close_in_child: Sequence[int] = ()) -> Child:
    """Fork a child that runs `setup()` and then execs `path` with `argv` (and `env`, else the
    caller's environment without the interpreter's own start-up changes: environ.py).

    With `cgroup_fd` the child is created inside that cgroup v2 directory when the kernel can
    (clone3 CLONE_INTO_CGROUP); otherwise it is a plain fork and the caller moves it.
    """
    environment = child_environ() if env is None else dict(env)  # read now: after set-up only execve runs
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = _fork(cgroup_fd)
    if pid == 0:  # pragma: no cover - the child execs or exits
        os.close(err_r)
        for fd in close_in_child:
            os.close(fd)
        _become(path, argv, setup, environment, err_w)
    os.close(err_w)
    return Child(pid, err_r)


def _fork(cgroup_fd: int | None) -> int:
    if cgroup_fd is not None:
        with contextlib.suppress(OSError):
            return fork_into_cgroup(cgroup_fd)
    return os.fork()


def _become(path: str, argv: Sequence[str], setup: Callable[[], None], env: Mapping[bytes, bytes] | Mapping[str, str],
            report: int) -> NoReturn:
    """In the child: set up and exec; on failure report the errno and exit as a shell's child."""
    code = EXIT_NOT_EXECUTABLE
    try:
        child_defaults()
        setup()
        os.execve(path, list(argv), env)
    except OSError as exc:
        code = exec_exit_code(exc.errno)
        with contextlib.suppress(OSError):
            os.write(report, f"{exc.errno}".encode())
    finally:
        os._exit(code)
