"""Which syscall arguments a recorder keeps, from seccomp_gen.recorder/data/watched_args.json."""

from __future__ import annotations

import functools
from typing import Any

from seccomp_gen.ground import syscalls
from seccomp_gen.ground.data import Each, load_table

_SHAPE = {"_about": str, "watched": [{"syscall": str, "args": [int], "?arches": Each([int]), "why": str}]}


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    """syscall name -> its entry (args, and per-arch args where they differ)."""
    doc = load_table("seccomp_gen.recorder", "data/watched_args.json", _SHAPE)
    return {entry["syscall"]: entry for entry in doc["watched"]}


def watched_args(arch: str, name: str) -> tuple[int, ...]:
    """Argument indices of `name` on `arch` whose values are recorded (empty: none)."""
    entry = _table().get(name)
    if entry is None:
        return ()
    indices: list[int] = entry.get("arches", {}).get(arch, entry["args"])
    return tuple(indices)


@functools.lru_cache(maxsize=64)
def watched_for_token(token: int) -> dict[tuple[int, int], tuple[int, ...]]:
    """(AUDIT_ARCH token, syscall number) -> watched argument indices, for the arches a kernel
    reports under `token` (x86_64 includes x32, whose numbers carry a bit).

    Computed per architecture when a recorder first sees it: resolving every arch up front cost
    ~20 ms of start-up, mostly for arches a recording never meets.
    """
    table: dict[tuple[int, int], tuple[int, ...]] = {}
    for arch in syscalls.ARCH_TOKENS:
        if syscalls.reported_key(arch, 0)[0] != token:
            continue
        for name in _table():
            nr = syscalls.number_of(arch, name)
            if nr is not None:
                table[syscalls.reported_key(arch, nr)] = watched_args(arch, name)
    return table
