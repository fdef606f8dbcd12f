"""Typed access to the data tables in generator/data/ (knowledge of the world is data, not code).

Each table is read once through ground's validating loader, with the shape it must have.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from seccomp_gen.ground import kernel
from seccomp_gen.ground.data import Each, load_table
from seccomp_gen.ground.errors import SeccompGenError

RUNTIMES = ("crun", "runc")

_PATH = {"required": [str], "intermittent": Each(str), "unneeded": [str], "runs": int}
_EVIDENCE = {"runtime": str, "kernel": str, "date": str, "method": str, "required": [str],
             "intermittent": Each(str), "other_versions": Each(str), "measured_unneeded": [str],
             "?create_start_only": Each(str), "?by_path": Each(_PATH)}
_NEEDS = {"names": [str], "why": str, "evidence": _EVIDENCE}
_SHAPES: dict[str, dict[str, Any]] = {
    "runtime_required.json": {"_about": str,
                              "runtimes": Each({"no_new_privileges": _NEEDS, "privilege_escalation": _NEEDS})},
    "enosys_fallbacks.json": {"_about": str, "fallbacks": [{"syscall": str, "fallbacks": [str], "why": str}]},
    "implied.json": {"_about": str, "implied": [{"syscall": str, "when_observed": [str], "why": str}]},
    "arches.json": {"_about": str, "_about_primary": str, "host_names": Each([str]), "primary_of": Each(str)},
    "loaders.json": {"_about": str, "loaders": Each({"runtime": str, "loader": str, "why": str}),
                     "seccomp_flags": {"_about": str, "crun": bool, "runc": bool}},
    "narrowable.json": {"_about": str, "limits": {"_about": str, "max_values": int, "max_rules": int},
                        "syscalls": Each({"args": [{"index": int, "what": str, "mask": str, "names": str}],
                                          "why": str}),
                        "unnarrowable": Each(str)},
}


def _load(name: str) -> dict[str, Any]:
    return load_table("seccomp_gen.generator", f"data/{name}", _SHAPES[name])


@dataclass(frozen=True)
class RuntimeNeeds:
    runtime: str
    no_new_privileges: bool
    names: tuple[str, ...]
    why: str

    @property
    def mode(self) -> str:
        return "no-new-privileges" if self.no_new_privileges else "privilege escalation allowed"


@functools.lru_cache(maxsize=8)
def runtime_needs(runtime: str, no_new_privileges: bool) -> RuntimeNeeds:
    """What `runtime` calls under the container's filter before the entrypoint runs."""
    table = _load("runtime_required.json")["runtimes"]
    if runtime not in table:
        raise SeccompGenError(f"unknown runtime {runtime!r} (known: {', '.join(sorted(table))})")
    entry = table[runtime]["no_new_privileges" if no_new_privileges else "privilege_escalation"]
    return RuntimeNeeds(runtime, no_new_privileges, tuple(sorted(entry["names"])), entry["why"])


@dataclass(frozen=True)
class Fallback:
    syscall: str
    fallbacks: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Implied:
    """A syscall made on the program's behalf (signal restarts and returns), wanted whenever any of
    `when_observed` was recorded (always, when empty)."""

    syscall: str
    when_observed: tuple[str, ...]
    why: str


@functools.lru_cache(maxsize=1)
def implied() -> tuple[Implied, ...]:
    return tuple(Implied(e["syscall"], tuple(e["when_observed"]), e["why"]) for e in _load("implied.json")["implied"])


@functools.lru_cache(maxsize=1)
def enosys_fallbacks() -> dict[str, Fallback]:
    """syscall -> what the C library retries with when it answers ENOSYS."""
    return {
        e["syscall"]: Fallback(e["syscall"], tuple(e["fallbacks"]), e["why"])
        for e in _load("enosys_fallbacks.json")["fallbacks"]
    }


@functools.lru_cache(maxsize=1)
def _arches() -> dict[str, Any]:
    return _load("arches.json")


def host_names(arch: str) -> tuple[str, ...]:
    """Names a profile's includes.arches uses for a host whose native arch is `arch`."""
    names: list[str] = _arches()["host_names"].get(arch, [])
    return tuple(names)


def primary_of(arch: str) -> str:
    """The 64-bit host architecture an ABI runs under (itself when it is one)."""
    primary: str = _arches()["primary_of"].get(arch, arch)
    return primary


def capabilities() -> frozenset[str]:
    """The capability names --cap accepts (ground/data/capabilities.json)."""
    return frozenset(kernel.capabilities())


@dataclass(frozen=True)
class Loader:
    """Who loads profiles made from a baseline, and the OCI runtime it starts containers with."""

    runtime: str
    loader: str
    why: str


@functools.lru_cache(maxsize=8)
def loader_of(baseline: str) -> Loader:
    """The loader of a bundled baseline (`file` for a profile file)."""
    table = _load("loaders.json")["loaders"]
    entry = table.get(baseline, table["file"])
    if entry["runtime"] not in RUNTIMES:
        raise SeccompGenError(f"generator/data/loaders.json: unknown runtime {entry['runtime']!r} for {baseline}")
    return Loader(entry["runtime"], entry["loader"], entry["why"])


@dataclass(frozen=True)
class NarrowArg:
    """One argument --narrow-args may restrict: its index, the bits compared, the value-name family."""

    index: int
    what: str
    mask: int
    names: str


@dataclass(frozen=True)
class Narrowable:
    name: str
    args: tuple[NarrowArg, ...]
    why: str


@dataclass(frozen=True)
class NarrowLimits:
    max_values: int
    max_rules: int


@functools.lru_cache(maxsize=1)
def unnarrowable() -> dict[str, str]:
    """Syscalls whose arguments a filter cannot see, with the reason (data/narrowable.json)."""
    found: dict[str, str] = _load("narrowable.json")["unnarrowable"]
    return found


@functools.lru_cache(maxsize=1)
def narrowable() -> tuple[dict[str, Narrowable], NarrowLimits]:
    """The syscalls --narrow-args may restrict, and its limits (data/narrowable.json)."""
    doc = _load("narrowable.json")
    found = {name: Narrowable(name, tuple(NarrowArg(a["index"], a["what"], int(a["mask"], 16), a["names"])
                                          for a in entry["args"]), entry["why"])
             for name, entry in doc["syscalls"].items()}
    limits = doc["limits"]
    return found, NarrowLimits(limits["max_values"], limits["max_rules"])


@functools.lru_cache(maxsize=4)
def takes_seccomp_flags(runtime: str) -> bool:
    """Whether `runtime` loads a profile with `flags` (data/loaders.json)."""
    flags: dict[str, Any] = _load("loaders.json")["seccomp_flags"]
    return bool(flags.get(runtime, False))
