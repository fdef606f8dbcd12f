"""Writing an artifact set (NAME.json and the YAML that embeds or names it) so that it never mixes.

A set is only right whole: a MachineConfig that embeds another run's profile beside NAME.json puts a
different filter on the nodes than the one reviewed. A directory cannot change several names in one
step, so the set changes in an order in which every moment holds files of one run only:

1. The directory's lock (flock on the directory itself) is taken: concurrent runs into one
   directory write one after the other, never interleaved. Temp files of killed runs are removed.
2. Every new file is written whole to a temp file and synced.
3. The old manifest, then the old set's other files go (the primary file, NAME.json, stays: a runtime
   reading it meanwhile still finds a profile).
4. The primary file is replaced in one rename, then the other new files are renamed in.
5. The new manifest (`.PRIMARY.manifest.json`: every file's SHA-256) is renamed in last.

A SIGKILL at any point leaves either the old primary with some of the old files or the new primary
with some of the new ones, never both; a set without its manifest is one whose change did not
finish, and the next run into the directory replaces it whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from seccomp_gen.ground.atomic import (
    TEMP_SUFFIX,
    Temp,
    check_target,
    commit,
    encoded,
    open_dir,
    remove_quietly,
    sync_dir,
    write_temp,
)
from seccomp_gen.ground.errors import SeccompGenError

_MANIFEST_SCHEMA = 1


def manifest_name(primary: str) -> str:
    """The manifest of the set whose primary file is `primary` (hidden: globs of *.yaml miss it)."""
    return f".{primary}.manifest.json"


def manifest(files: Mapping[str, bytes]) -> bytes:
    """The digest of every file of a set, to tell a whole set from a mixed or hand-edited one."""
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    doc = {"schema_version": _MANIFEST_SCHEMA, "written_by": "seccomp-gen", "files": digests}
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def _old_files(dir_fd: int, primary: str) -> list[str]:
    """The files the previous set listed. The manifest is not trusted beyond names of this set
    (`STEM.*` for primary `STEM.json`): an edited one cannot make a run delete other files; an
    unreadable one lists none."""
    stem = primary.rsplit(".", 1)[0] + "."
    try:
        fd = os.open(manifest_name(primary), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as handle:
            doc = json.loads(handle.read(1 << 20))
        names = list(doc["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [n for n in names if isinstance(n, str) and n.startswith(stem) and "/" not in n]


@contextlib.contextmanager
def _locked(dir_fd: int) -> Iterator[None]:
    """The directory's exclusive lock; waits for another seccomp-gen writing there."""
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
    except OSError as exc:
        raise SeccompGenError(f"cannot lock the output directory: {exc.strerror}") from None
    try:
        yield
    finally:
        fcntl.flock(dir_fd, fcntl.LOCK_UN)


def _remove_stale_temps(dir_fd: int) -> None:
    """Temp files of runs that were killed: under the lock no live run owns one."""
    for entry in os.listdir(dir_fd):
        if entry.startswith(".") and entry.endswith(TEMP_SUFFIX):
            remove_quietly(dir_fd, entry)


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SeccompGenError("--out is not a directory", path=str(out))
    if out.is_dir():
        return
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise SeccompGenError(f"--out: directory {parent} does not exist", path=str(out))
    try:
        out.mkdir()
    except OSError as exc:
        raise SeccompGenError(f"cannot create --out directory: {exc.strerror}", path=str(out)) from None


def _swap(dir_fd: int, out: Path, temps: list[Temp], old: list[str]) -> None:
    """Steps 3-5 of the module docstring; `temps` is primary first, manifest last."""
    primary, rest, new_manifest = temps[0], temps[1:-1], temps[-1]
    remove_quietly(dir_fd, new_manifest.target)
    for name in old + [t.target for t in rest]:
        if name != primary.target:
            remove_quietly(dir_fd, name)
    for temp in [primary, *rest, new_manifest]:
        commit(dir_fd, temp, str(out / temp.target))
    sync_dir(dir_fd)


def write_set(directory: str | os.PathLike[str], files: Mapping[str, bytes | str], mode: int = 0o644) -> list[Path]:
    """Write an artifact set (file name -> content; the first is the primary file) into `directory`
    as one change (see the module docstring), creating the directory (not its parents) when it does
    not exist; every target is checked before anything is written. Returns the paths written."""
    if not files:
        raise SeccompGenError("no files to write")
    out = Path(directory)
    _prepare_out(out)
    payloads = {name: encoded(data) for name, data in files.items()}
    primary = next(iter(payloads))
    payloads[manifest_name(primary)] = manifest(payloads)
    with open_dir(out, str(out)) as dir_fd, _locked(dir_fd):
        for name in payloads:
            check_target(dir_fd, name, str(out / name))
        _remove_stale_temps(dir_fd)
        temps: list[Temp] = []
        try:
            for name, payload in payloads.items():
                temps.append(write_temp(dir_fd, name, payload, mode, str(out / name)))
            _swap(dir_fd, out, temps, _old_files(dir_fd, primary))
        finally:
            for temp in temps:
                remove_quietly(dir_fd, temp.name)
    return [out / name for name in files]
