"""Every output file goes through here: a temp file in the target directory, fsync, rename.

A crash, a full disk or Ctrl-C therefore never leaves a half-written profile or recording.

Everything is done through one open descriptor of the target directory, and on the temp file's own
descriptor (O_CREAT|O_EXCL|O_NOFOLLOW, fchmod, fsync, renameat): no step looks a path up twice, so
no other user can slip a symlink or their own file in between. A directory that any user may write
and that is not sticky is refused: there anyone can rename our files away, whatever we do.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seccomp_gen.ground.errors import SeccompGenError

#: Every temp file seccomp-gen makes ends so: a later run holding the directory's lock may remove
#: any it finds (they are left only by a killed run) without touching anyone else's files.
TEMP_SUFFIX = ".seccomp-gen.tmp"


def _parent(target: Path) -> Path:
    """The directory `target` goes in, which must exist."""
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SeccompGenError(f"directory {parent} does not exist", path=str(target))
    return parent


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early (before a long recording) when `path` cannot be written as a regular file."""
    target = Path(path)
    with open_dir(_parent(target), str(target)) as dir_fd:
        check_target(dir_fd, target.name, str(target))
    return target


def _refuse_shared(dir_fd: int, shown: str) -> None:
    mode = os.fstat(dir_fd).st_mode
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        raise SeccompGenError("directory is writable by every user and not sticky: another user could "
                              "replace the files written there; write to a private directory", path=shown)


@contextlib.contextmanager
def open_dir(directory: Path, shown: str) -> Iterator[int]:
    """A descriptor of `directory`, checked to be one we may write and no other user can swap files in."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise SeccompGenError(f"cannot open directory {directory}: {exc.strerror}", path=shown) from None
    try:
        _refuse_shared(dir_fd, shown)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise SeccompGenError(f"directory {directory} is not writable", path=shown)
        yield dir_fd
    finally:
        os.close(dir_fd)


def check_target(dir_fd: int, name: str, shown: str) -> None:
    """`name` in the directory is absent or a regular file we may replace."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SeccompGenError(f"cannot check: {exc.strerror}", path=shown) from None
    if stat.S_ISLNK(info.st_mode):
        raise SeccompGenError("refusing to write through a symlink", path=shown)
    if stat.S_ISDIR(info.st_mode):
        raise SeccompGenError("is a directory, expected a file path", path=shown)
    if not stat.S_ISREG(info.st_mode):
        # A device or FIFO (-o /dev/full): renaming a temp file over it would replace the node.
        raise SeccompGenError("is not a regular file (a device or FIFO?); refusing to replace it", path=shown)
    if not os.access(name, os.W_OK, dir_fd=dir_fd):
        raise SeccompGenError("file is not writable", path=shown)


@dataclass(frozen=True)
class Temp:
    """A whole, synced temp file beside its target, and the inode it must still be at rename time."""

    name: str
    target: str
    inode: tuple[int, int]


def write_temp(dir_fd: int, target: str, payload: bytes, mode: int, shown: str) -> Temp:
    """Create `.target.<random>` + TEMP_SUFFIX exclusively (never following a planted link), fill
    and fsync it, and give it `mode` through its descriptor."""
    # secrets.token_hex(4) is os.urandom(4).hex(); importing secrets (hmac, hashlib) costs ~3 ms
    name = f".{target}.{os.urandom(4).hex()}{TEMP_SUFFIX}"
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dir_fd)
    except OSError as exc:
        raise SeccompGenError(f"cannot write: {exc.strerror}", path=shown) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
            info = os.fstat(handle.fileno())
    except OSError as exc:
        remove_quietly(dir_fd, name)
        raise SeccompGenError(f"cannot write: {exc.strerror}", path=shown) from None
    except BaseException:
        remove_quietly(dir_fd, name)
        raise
    return Temp(name, target, (info.st_dev, info.st_ino))


def commit(dir_fd: int, temp: Temp, shown: str) -> None:
    """Rename `temp` over its target, then check that what now sits there is the file we wrote."""
    try:
        os.rename(temp.name, temp.target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        info = os.stat(temp.target, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise SeccompGenError(f"cannot write: {exc.strerror}", path=shown) from None
    if (info.st_dev, info.st_ino) != temp.inode:
        raise SeccompGenError("was replaced by another process while being written; its content is not "
                              "seccomp-gen's: check the directory", path=shown)


def remove_quietly(dir_fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)


def sync_dir(dir_fd: int) -> None:
    """Make the renames durable (a crash after return keeps them)."""
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)


def encoded(data: bytes | str) -> bytes:
    """Text as UTF-8; bytes that came in undecodable (surrogateescape) go out as those bytes."""
    if isinstance(data, bytes):
        return data
    try:
        return data.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return data.encode("utf-8", "backslashreplace")


def write_atomic(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one."""
    target = Path(path)
    payload = encoded(data)
    with open_dir(_parent(target), str(target)) as dir_fd:
        check_target(dir_fd, target.name, str(target))
        temp = write_temp(dir_fd, target.name, payload, mode, str(target))
        try:
            commit(dir_fd, temp, str(target))
        finally:
            remove_quietly(dir_fd, temp.name)
        sync_dir(dir_fd)
