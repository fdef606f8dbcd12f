"""What a profile leaves allowed, explained: each allowed syscall's risk class (data/risk_classes.json),
its argument restriction if --narrow-args made one, and the headline numbers the reports lead with.

Least privilege is only reviewable when the reviewer sees what is left and why it matters: 40 plain
I/O calls are not 40 io_uring calls. The classes and their reasons are data with sources, so a
change of judgement is a reviewed table edit, not a code change.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seccomp_gen.generator.minimise import Findings
from seccomp_gen.generator.narrow import Narrowed, NarrowedArg
from seccomp_gen.generator.values_named import label
from seccomp_gen.ground.data import load_table
from seccomp_gen.ground.errors import SeccompGenError

_SHAPE: dict[str, Any] = {
    "_about": str, "default": str,
    "classes": [{"key": str, "title": str, "dangerous": bool, "why": str, "sources": [str], "names": [str]}],
}
#: The narrowed argument whose values name a socket option's level (setsockopt/getsockopt).
_LEVEL = "level"


@dataclass(frozen=True)
class RiskClass:
    key: str
    title: str
    dangerous: bool
    why: str
    sources: tuple[str, ...]
    names: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def classes() -> tuple[tuple[RiskClass, ...], RiskClass]:
    """Every class in the table's order, and the default class (for names no class lists)."""
    doc = load_table("seccomp_gen.generator", "data/risk_classes.json", _SHAPE)
    found = tuple(RiskClass(c["key"], c["title"], c["dangerous"], c["why"], tuple(c["sources"]), tuple(c["names"]))
                  for c in doc["classes"])
    default = [c for c in found if c.key == doc["default"]]
    if not default:
        raise SeccompGenError(f"generator/data/risk_classes.json: the default class {doc['default']!r} is not listed")
    return found, default[0]


@functools.lru_cache(maxsize=1)
def _by_name() -> dict[str, RiskClass]:
    found: dict[str, RiskClass] = {}
    for cls in classes()[0]:
        for name in cls.names:
            found.setdefault(name, cls)
    return found


def class_of(name: str) -> RiskClass:
    """The risk class of a syscall: the first class listing it, else the default."""
    return _by_name().get(name, classes()[1])


def _levels(narrowed: Narrowed) -> tuple[int, ...]:
    return next((a.values for a in narrowed.args if a.what == _LEVEL), ())


def arg_names(narrowed: Narrowed, arg: NarrowedArg) -> list[str]:
    """The allowed values of one narrowed argument, by name where the names table has one."""
    levels = _levels(narrowed)
    return [label(arg.names, value, levels) for value in arg.values]


def restriction(narrowed: Narrowed) -> str:
    """`domain AF_INET, AF_UNIX; type SOCK_STREAM`: what a narrowed syscall may still be called with."""
    return "; ".join(f"{arg.what} {', '.join(arg_names(narrowed, arg))}" for arg in narrowed.args)


@dataclass(frozen=True)
class Allowed:
    """One allowed syscall as the reports explain it."""

    name: str
    risk: RiskClass
    narrowed: Narrowed | None  # its argument restriction (applied, or what --narrow-args would make)


@dataclass(frozen=True)
class Explanation:
    allowed: tuple[Allowed, ...]
    baseline_count: int
    narrow_applied: bool
    dangerous_removed: tuple[str, ...]
    dangerous_kept: tuple[Allowed, ...]

    @property
    def narrowed(self) -> tuple[Narrowed, ...]:
        return tuple(a.narrowed for a in self.allowed if a.narrowed is not None)

    @property
    def restricted_rules(self) -> int:
        """Rules holding recorded argument values (those --narrow-args would write, without it)."""
        return sum(n.rules for n in self.narrowed)

    def headline(self) -> dict[str, Any]:
        """The numbers every report form leads with (JSON keys; text and markdown label them)."""
        return {
            "allowed": len(self.allowed), "baseline_allowed": self.baseline_count,
            "argument_restricted_syscalls": len(self.narrowed) if self.narrow_applied else 0,
            "argument_restricted_rules": self.restricted_rules if self.narrow_applied else 0,
            "would_narrow_syscalls": 0 if self.narrow_applied else len(self.narrowed),
            "would_narrow_rules": 0 if self.narrow_applied else self.restricted_rules,
            "dangerous_removed": len(self.dangerous_removed), "dangerous_kept": len(self.dangerous_kept),
        }


def explain(findings: Findings) -> Explanation:
    """Each allowed syscall with its class and restriction; the dangerous ones removed and kept."""
    narrowed = {n.name: n for n in findings.narrowed}
    allowed = tuple(Allowed(name, class_of(name), narrowed.get(name)) for name in findings.allowed)
    removed = tuple(n for n in findings.removed if class_of(n).dangerous)
    return Explanation(allowed, len(findings.baseline_allowed), findings.narrow_applied, removed,
                       tuple(a for a in allowed if a.risk.dangerous))


def by_class(allowed: Sequence[Allowed]) -> list[tuple[RiskClass, list[Allowed]]]:
    """The allowed syscalls grouped by class, in the table's order (empty classes left out)."""
    return [(cls, [a for a in allowed if a.risk.key == cls.key]) for cls in classes()[0]
            if any(a.risk.key == cls.key for a in allowed)]


def to_json(ex: Explanation) -> dict[str, Any]:
    """The explanation for the JSON report (the narrowed values themselves are under `narrowing`)."""
    return {
        "headline": ex.headline(),
        "classes": [{"key": c.key, "title": c.title, "dangerous": c.dangerous, "why": c.why,
                     "sources": list(c.sources), "syscalls": [a.name for a in members]}
                    for c, members in by_class(ex.allowed)],
        "syscalls": [{"name": a.name, "risk": a.risk.key,
                      "restriction": restriction(a.narrowed) if a.narrowed is not None and ex.narrow_applied else None}
                     for a in ex.allowed],
        "dangerous_removed": list(ex.dangerous_removed),
        "dangerous_kept": [a.name for a in ex.dangerous_kept],
    }
