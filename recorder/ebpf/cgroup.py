"""cgroup v2 for the ebpf engine: find the mount, make and remove the run's directory, resolve --cgroup.

The BPF program keeps a task when its cgroup v2 id (the inode number of the cgroup's directory) is
the target's, or when the target is its ancestor at the target's depth (cgroups below the target).
Works on a pure v2 host (/sys/fs/cgroup) and on the hybrid layout (/sys/fs/cgroup/unified).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seccomp_gen.ground.errors import SeccompGenError

_MOUNTINFO = Path("/proc/self/mountinfo")
#: How long a run's directory may stay busy (processes still exiting) before they are killed.
EMPTY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Cgroup2Mount:
    path: Path
    root: str  # the mount's root inside the hierarchy ("/" unless in a cgroup namespace or bind mount)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field[i + 1:i + 4]) == 3 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def find_mount(mountinfo: Path = _MOUNTINFO) -> Cgroup2Mount:
    """The cgroup2 mount (pure v2: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified), preferring a
    mount of the hierarchy's root."""
    found: list[Cgroup2Mount] = []
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError as exc:
        raise SeccompGenError(f"cannot read {mountinfo}: {exc.strerror}") from None
    for line in lines:
        pre, sep, post = line.partition(" - ")
        if not sep or not post.startswith("cgroup2 "):
            continue
        fields = pre.split()
        if len(fields) >= 5:
            found.append(Cgroup2Mount(Path(_unescape(fields[4])), _unescape(fields[3])))
    if not found:
        raise SeccompGenError("no cgroup v2 hierarchy is mounted (the ebpf engine scopes recording by a "
                              "cgroup v2 directory): mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) "
                              "or use --engine ptrace")
    found.sort(key=lambda m: (m.root != "/", len(str(m.path))))
    return found[0]


def cgroup_id(path: Path) -> int:
    """A cgroup v2 directory's id, as bpf_get_current_cgroup_id() reports it: its inode number."""
    return os.stat(path).st_ino


def level_of(mount: Cgroup2Mount, path: Path) -> int | None:
    """Depth of `path` below the hierarchy's root (root = 0), or None when it cannot be known (the
    mount is not of the root: a cgroup namespace)."""
    if mount.root != "/":
        return None
    rel = path.resolve().relative_to(mount.path.resolve())
    return len(rel.parts)


def resolve(mount: Cgroup2Mount, given: str) -> Path:
    """--cgroup PATH: a directory under the cgroup2 mount, given as a path on it or relative to it
    (as /proc/PID/cgroup shows it: `0::/system.slice/foo.scope`)."""
    text = given.removeprefix("0::")
    candidates = [Path(text)] if text.startswith(str(mount.path) + "/") or Path(text) == mount.path else []
    candidates.append(mount.path / text.lstrip("/"))
    for candidate in candidates:
        if (candidate / "cgroup.procs").is_file():
            return candidate
    raise SeccompGenError(f"--cgroup {given}: no such cgroup v2 directory under {mount.path}")


def procs(path: Path, recursive: bool = True) -> list[int]:
    """Pids in a cgroup (and, recursively, in the cgroups below it)."""
    pids: list[int] = []
    dirs = [path]
    while dirs:
        current = dirs.pop()
        with contextlib.suppress(OSError):
            pids.extend(int(p) for p in (current / "cgroup.procs").read_text().split())
        if recursive:
            with contextlib.suppress(OSError):
                dirs.extend(entry for entry in current.iterdir() if entry.is_dir())
    return pids


def move(path: Path, pid: int) -> None:
    """Move process `pid` (all its threads) into the cgroup."""
    try:
        (path / "cgroup.procs").write_text(str(pid))
    except OSError as exc:
        raise SeccompGenError(f"cannot move process {pid} into {path}: {exc.strerror}") from None


@contextlib.contextmanager
def opened(path: Path) -> Iterator[int]:
    """A directory fd of the cgroup (for clone3's CLONE_INTO_CGROUP), closed on the way out."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """rmdir the directory; processes still in it get EMPTY_TIMEOUT_S to leave, then are killed."""
    deadline = time.monotonic() + EMPTY_TIMEOUT_S
    killed = False
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
        if time.monotonic() > deadline and not killed:
            killed = True
            try:
                (path / "cgroup.kill").write_text("1")
            except OSError:
                for pid in procs(path):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + EMPTY_TIMEOUT_S
        elif time.monotonic() > deadline:
            raise SeccompGenError(f"cannot remove {path}: processes are still in it")
        time.sleep(0.01)


@contextlib.contextmanager
def fresh(mount: Cgroup2Mount, name: str) -> Iterator[Path]:
    """A new, empty cgroup directory at the hierarchy's root, removed on the way out (processes
    left in it are given a moment, then killed)."""
    path = mount.path / name
    try:
        path.mkdir()
    except FileExistsError:
        _remove(path)  # a leftover of a recorder that was killed with the same pid
        path.mkdir()
    except OSError as exc:
        raise SeccompGenError(f"cannot create the cgroup {path} ({exc.strerror}): the ebpf engine needs root; "
                              "or use --engine ptrace") from None
    try:
        yield path
    finally:
        _remove(path)
