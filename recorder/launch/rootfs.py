"""Recording an image's entrypoint in its own root: `record --rootfs DIR -- /entrypoint`.

The entrypoint runs chrooted into an unpacked image root, in new mount and pid namespaces (it is
PID 1, as in a container), so the recording sees the image's own libraries: musl and glibc make
different syscalls for the same program. All of this set-up happens before the entrypoint's
execve, so none of it is recorded.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from pathlib import Path

from seccomp_gen.ground.errors import CommandNotFound, SeccompGenError
from seccomp_gen.recorder.launch.status import SIGNAL_BASE

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x2, 0x4, 0x8
DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def resolve_in_root(rootfs: str, command: list[str] | tuple[str, ...]) -> str:
    """The path of the entrypoint inside `rootfs` (a PATH search there for a bare name)."""
    root = Path(rootfs)
    if not root.is_dir():
        raise SeccompGenError("--rootfs: not a directory", path=rootfs)
    name = command[0]
    candidates = [name] if "/" in name else [f"{d}/{name}" for d in DEFAULT_PATH]
    for candidate in candidates:
        # lexists: an absolute symlink (bin/sh -> /bin/busybox) points inside the root once chrooted.
        if os.path.lexists(root / candidate.lstrip("/")):
            return candidate if candidate.startswith("/") else "/" + candidate
    raise CommandNotFound(f"{name}: command not found in {rootfs}")


def enter_namespaces() -> None:
    """In the launched child: new mount and pid namespaces. Forks: the caller continues in the new
    namespace's PID 1, while this process waits for it and exits as it did."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare(CLONE_NEWNS|CLONE_NEWPID)")
    pid = os.fork()
    if pid == 0:
        return
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(SIGNAL_BASE + sig)
    os._exit(os.WEXITSTATUS(status))


def enter_root(rootfs: str) -> None:
    """Make mounts private, give the root /dev and a fresh /proc, chroot into it."""
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
    root = os.path.realpath(rootfs)
    dev = os.path.join(root, "dev")
    if os.path.isdir(dev):
        _check(_libc.mount(b"/dev", dev.encode(), None, MS_BIND | MS_REC, None), "bind-mounting /dev")
    os.chroot(root)
    os.chdir("/")
    if os.path.isdir("/proc"):
        with contextlib.suppress(OSError):
            _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mounting /proc")


def inside(path: str, rootfs: str) -> str:
    """A host path of a process chrooted into `rootfs` (what /proc/PID/exe shows from outside) as the
    process itself, a kernel audit record or a container runtime names it: /bin/busybox, not
    /tmp/root/bin/busybox. Paths outside the root are kept as they are."""
    root = os.path.realpath(rootfs).rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root):] or "/"
    return path
