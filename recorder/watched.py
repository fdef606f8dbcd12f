"""Which syscall arguments a recorder keeps, from recorder/data/watched_args.json."""

from __future__ import annotations

import functools
import json
from importlib import resources

from recorder import syscalls


@functools.lru_cache(maxsize=1)
def _table() -> list[dict[str, object]]:
    text = resources.files("recorder").joinpath("data/watched_args.json").read_text()
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


@functools.lru_cache(maxsize=1)
def watched_numbers() -> dict[tuple[int, int], tuple[int, ...]]:
    """(AUDIT_ARCH token, syscall number) -> watched argument indices, for every arch libseccomp knows.

    Precomputed so an engine's hot path needs one dict lookup per syscall.
    """
    table: dict[tuple[int, int], tuple[int, ...]] = {}
    for arch, token in syscalls.ARCH_TOKENS.items():
        for entry in _table():
            name = str(entry["syscall"])
            nr = syscalls.number_of(arch, name)
            if nr is not None:
                if arch == "SCMP_ARCH_X32":  # the kernel reports x32 calls as x86_64 + a number bit
                    token, nr = syscalls.ARCH_TOKENS["SCMP_ARCH_X86_64"], nr | syscalls.X32_SYSCALL_BIT
                table[(token, nr)] = watched_args(arch, name)
    return table
