"""The two-step start that CRI-O, podman (conmon) and containerd use: `RUNTIME create`, then
`RUNTIME start`, on the bundles of tests/support/oci.py.

The one-step `run` that tests/test_oci_runtimes.py uses is not the same path inside the runtime:
after `create` the container's init waits for `start` (runc: it opens the exec FIFO; crun: it
waits on its exec FIFO with pselect6 and read), and crun without no-new-privileges loads the
filter before that wait, so the wait itself runs under the container's profile. Measuring only
`run` missed those names (scripts/probe_runtime_required.py measures both).

After `create` returns, the init is an orphan: the calling process makes itself a child subreaper
(prctl PR_SET_CHILD_SUBREAPER), as conmon does, so that the init is reparented to it and its exit
status - the entrypoint's - can be read. Use it from a process of its own (the probe script), not
from a test session whose other orphans would then be reparented to it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support import oci

PR_SET_CHILD_SUBREAPER = 36
#: returncode of a RunResult whose `RUNTIME start` failed (the init's status is then unknown)
START_FAILED = 1000


def become_subreaper() -> None:
    """Orphaned descendants (the container's init after `create`) are reparented to this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_orphans() -> None:
    """Collect exited orphans (runtime helpers reparented here); call with no Popen outstanding."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wait_exit(pid: int, timeout: float) -> int | None:
    """The exit status of the reparented init `pid` as a shell reports it; None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        time.sleep(0.005)
    return None


def _create(c: oci.Container, timeout: float) -> tuple[subprocess.CompletedProcess[bytes], Path]:
    """`RUNTIME create --pid-file`: the init's stdio are files in the bundle (a pipe would be held
    open by the waiting init and make the caller wait for it)."""
    pidfile = c.bundle / "init.pid"
    with open(c.bundle / "stdout", "wb") as out, open(c.bundle / "stderr", "wb") as err:
        proc = subprocess.run([*oci.runtime_argv(c.runtime, c.state_root), "create", "--bundle", str(c.bundle),
                               "--pid-file", str(pidfile), c.container_id],
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout)
    return proc, pidfile


def start(c: oci.Container, timeout: float) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*oci.runtime_argv(c.runtime, c.state_root), "start", c.container_id],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def _started(c: oci.Container, timeout: float) -> tuple[int, bool, bytes]:
    """create, start, wait: (status, timed out, runtime messages)."""
    created, pidfile = _create(c, timeout)
    if created.returncode != 0 or not pidfile.exists():
        return created.returncode or 1, False, b"create failed: " + (c.bundle / "stderr").read_bytes()
    pid = int(pidfile.read_text())
    started = start(c, timeout)
    if started.returncode != 0:
        os.kill(pid, signal.SIGKILL)
        wait_exit(pid, 10)
        return START_FAILED + started.returncode, False, b"start failed: " + started.stderr
    status = wait_exit(pid, timeout)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        wait_exit(pid, 10)
        return 137, True, b"timed out"
    return status, False, started.stderr


def create_start(runtime: str, workdir: Path, rootfs: Path, args: Sequence[str], seccomp: Mapping[str, Any] | None,
                 no_new_privileges: bool, timeout: float = 20) -> oci.RunResult:
    """One container through create + start, to its end, deleted; AssertionError if anything is left."""
    become_subreaper()
    begin = time.monotonic()
    with oci.container(runtime, workdir, rootfs, args, seccomp, no_new_privileges) as c:
        status, timed_out, messages = _started(c, timeout)
        stdout = (c.bundle / "stdout").read_bytes()
        stderr = (c.bundle / "stderr").read_bytes() + messages
    reap_orphans()
    left = oci.leftovers(c)
    if left:
        raise AssertionError(f"{runtime} container {c.container_id} left: " + "; ".join(left))
    return oci.RunResult(runtime, status, stdout, stderr, timed_out, time.monotonic() - begin)
