"""What /proc says about a process: its executable, argv, thread group and parent."""

from __future__ import annotations

import os


def read_exe(pid: int) -> str:
    """The executable of `pid` ("" when it is gone or not ours to read)."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def read_argv(pid: int) -> tuple[str, ...]:
    """The argv of `pid`, bytes kept losslessly (surrogateescape)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return ()
    return tuple(part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0")[:-1])


def status_field(pid: int | str, key: bytes) -> bytes | None:
    """The value of the `key:` line of /proc/PID/status (pid "self" for this process), or None."""
    prefix = key + b":"
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(prefix):
                    return line[len(prefix):].strip()
    except OSError:
        pass
    return None


def status_mask(key: bytes) -> int:
    """A hex mask of this process's status (CapEff, SigIgn...), 0 when it cannot be read."""
    try:
        return int(status_field("self", key) or b"0", 16)
    except ValueError:
        return 0


def read_ids(tid: int) -> tuple[int, int] | None:
    """(Tgid, PPid) of a task, or None when it is already gone."""
    tgid, ppid = tid, 0
    try:
        with open(f"/proc/{tid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"Tgid:"):
                    tgid = int(line.split()[1])
                elif line.startswith(b"PPid:"):
                    ppid = int(line.split()[1])
                    break
    except (OSError, ValueError):
        return None
    return tgid, ppid
