"""Every output file goes through here: a temp file in the target directory, fsync, rename.

A crash, a full disk or Ctrl-C therefore never leaves a half-written profile or recording.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from seccomp_gen.ground.errors import SeccompGenError


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early (before a long recording) when `path` cannot be written as a regular file."""
    target = Path(path)
    if target.is_symlink():
        raise SeccompGenError("refusing to write through a symlink", path=str(target))
    if target.is_dir():
        raise SeccompGenError("is a directory, expected a file path", path=str(target))
    if target.exists() and not target.is_file():
        # A device or FIFO (-o /dev/full): renaming a temp file over it would replace the node.
        raise SeccompGenError("is not a regular file (a device or FIFO?); refusing to replace it", path=str(target))
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SeccompGenError(f"directory {parent} does not exist", path=str(target))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SeccompGenError(f"directory {parent} is not writable", path=str(target))
    if target.exists() and not os.access(target, os.W_OK):
        raise SeccompGenError("file is not writable", path=str(target))
    return target


def _write_temp(target: Path, payload: bytes, mode: int) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_all_atomic(files: Mapping[str | os.PathLike[str], bytes | str], mode: int = 0o644) -> None:
    """Write several files as one change: every file is written to a temp file first, and only when
    all of them are whole are they renamed into place. A failure (full disk, Ctrl-C) leaves the old
    set untouched - a new profile never sits beside an old MachineConfig that embeds another one."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            target = check_writable(path)
            payload = data.encode() if isinstance(data, str) else data
            temps.append((_write_temp(target, payload, mode), target))
        for tmp, target in temps:
            os.replace(tmp, target)
    except OSError as exc:
        failed = getattr(exc, "filename", None) or (temps[-1][1] if temps else "")
        raise SeccompGenError(f"cannot write: {exc.strerror}", path=str(failed)) from exc
    finally:
        for tmp, _target in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see either the old file or the whole new one."""
    write_all_atomic({path: data}, mode)


def write_set(directory: str | os.PathLike[str], files: Mapping[str, bytes | str]) -> list[Path]:
    """Write an artifact set (file name -> content) into `directory` as one change, creating the
    directory (not its parents) when it does not exist; every target is checked before anything is
    written. Returns the paths written."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise SeccompGenError("--out is not a directory", path=str(out))
    if out.is_dir():
        for filename in files:
            check_writable(out / filename)
    else:
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise SeccompGenError(f"--out: directory {parent} does not exist", path=str(out))
        try:
            out.mkdir()
        except OSError as exc:
            raise SeccompGenError(f"cannot create --out directory: {exc.strerror}", path=str(out)) from None
    write_all_atomic({out / filename: data for filename, data in files.items()})
    return [out / filename for filename in files]
