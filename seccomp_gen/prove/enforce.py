"""Running a command under a profile as the kernel enforces it, and the same command without one.

`run_confined` starts argv in a child that loads the compiled profile just before execve, as a
runtime with no-new-privileges does, and returns its exit status (as a shell reports it), stdout
and stderr: the proof tests compare that with `run_plain`.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seccomp_gen.generator.compile import compile_profile
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import Profile
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.launch import spawn
from seccomp_gen.recorder.launch.status import shell_status, shell_status_of_returncode


@dataclass(frozen=True)
class Outcome:
    returncode: int  # as a shell reports it: 128+N for death by signal N
    stdout: bytes
    stderr: bytes


def run_confined(profile: Profile, ctx: Context, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 cwd: str | None = None, stdin: bytes = b"", timeout: float = 60.0) -> Outcome:
    """Run argv[0] (an absolute path) with stdin, capturing stdout and stderr, under the profile."""
    if not os.path.isabs(argv[0]):
        raise SeccompGenError(f"run_confined needs an absolute path, not {argv[0]!r}")
    compiled = compile_profile(profile, ctx)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe()

    def setup() -> None:  # everything but execve happens before the filter is loaded
        for fd, target in ((in_r, 0), (out_w, 1), (err_w, 2)):
            os.dup2(fd, target)
        for fd in (in_r, out_w, err_w):
            os.close(fd)
        if cwd:
            os.chdir(cwd)
        compiled.filter.load()

    sys.stdout.flush()
    sys.stderr.flush()
    child = spawn.start(argv[0], argv, setup=setup, env=dict(os.environ if env is None else env),
                        close_in_child=(in_w, out_r, err_r))
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    os.write(in_w, stdin)
    os.close(in_w)
    stdout, stderr = _collect(child.pid, out_r, err_r, timeout)
    _, status = os.waitpid(child.pid, 0)
    os.close(child.error_fd)
    return Outcome(shell_status(status) or 0, stdout, stderr)


def _collect(pid: int, out_fd: int, err_fd: int, timeout: float) -> tuple[bytes, bytes]:
    """Read both pipes until they close (SIGKILL `pid` after `timeout`); closes them."""
    sel = selectors.DefaultSelector()
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    for fd in chunks:
        sel.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    open_fds = set(chunks)
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            break
        for key, _ in sel.select(left):
            fd = int(key.fd)
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                sel.unregister(fd)
                open_fds.discard(fd)
    sel.close()
    for fd in chunks:
        os.close(fd)
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])


def run_plain(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
              stdin: bytes = b"", timeout: float = 60.0) -> Outcome:
    """The same command without a filter, for comparison."""
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, env=dict(env) if env is not None else None,
                          cwd=cwd, timeout=timeout)
    return Outcome(shell_status_of_returncode(proc.returncode), proc.stdout, proc.stderr)
