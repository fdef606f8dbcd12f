"""Which syscall arguments a recorder keeps, from seccomp_gen.recorder/data/watched_args.json."""

from __future__ import annotations

import functools
import json
from importlib import resources

from seccomp_gen.ground import syscalls


@functools.lru_cache(maxsize=1)
def _table() -> list[dict[str, object]]:
    text = resources.files("seccomp_gen.recorder").joinpath("data/watched_args.json").read_text()
    watched: list[dict[str, object]] = json.loads(text)["watched"]
    return watched


def watched_args(arch: str, name: str) -> tuple[int, ...]:
    """Argument indices of `name` on `arch` whose values are recorded (empty: none)."""
    for entry in _table():
        if entry["syscall"] == name:
            per_arch = entry.get("arches") or {}
            assert isinstance(per_arch, dict)
            indices = per_arch.get(arch, entry["args"])
            return tuple(indices)
    return ()


@functools.lru_cache(maxsize=64)
def watched_for_token(token: int) -> dict[tuple[int, int], tuple[int, ...]]:
    """(AUDIT_ARCH token, syscall number) -> watched argument indices, for the arches a kernel
    reports under `token` (x86_64 includes x32, whose numbers carry a bit).

    Computed per architecture when a recorder first sees it: resolving every arch up front cost
    ~20 ms of start-up, mostly for arches a recording never meets.
    """
    table: dict[tuple[int, int], tuple[int, ...]] = {}
    for arch, arch_token in syscalls.ARCH_TOKENS.items():
        x32 = arch == "SCMP_ARCH_X32"
        reported_as = syscalls.ARCH_TOKENS["SCMP_ARCH_X86_64"] if x32 else arch_token
        if reported_as != token:
            continue
        for entry in _table():
            name = str(entry["syscall"])
            nr = syscalls.number_of(arch, name)
            if nr is not None:
                table[(token, nr | syscalls.X32_SYSCALL_BIT if x32 else nr)] = watched_args(arch, name)
    return table
