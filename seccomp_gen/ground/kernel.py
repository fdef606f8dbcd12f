"""Named kernel constants from data and the C library, never repeated literals.

- errno values: the C library's own table (Python's `errno` module is generated from it);
- capabilities: ground/data/capabilities.json (linux/capability.h);
- seccomp actions and their SECCOMP_RET_* codes: ground/data/seccomp_actions.json (linux/seccomp.h,
  checked against libseccomp's constants by the tests).
"""

from __future__ import annotations

import errno
import functools
from dataclasses import dataclass

from seccomp_gen.ground.data import Each, load_table

#: errno of SCMP_ACT_ERRNO without errnoRet, as libseccomp's users (runc, crun, containers-common) default it.
EPERM = errno.EPERM
#: "no such syscall": what a filter answers for calls it does not know, and what glibc falls back on.
ENOSYS = errno.ENOSYS
ENOENT = errno.ENOENT
#: errno values are below this (the kernel's MAX_ERRNO + 1).
ERRNO_LIMIT = 4096


@dataclass(frozen=True)
class Action:
    """A seccomp action: its libseccomp name, the SECCOMP_RET_* code, whether the call runs, whether
    the action carries data (an errno, a trace message) in the low 16 bits."""

    name: str
    code: int
    permissive: bool
    data: bool


@dataclass(frozen=True)
class _Actions:
    by_name: dict[str, Action]
    by_code: dict[int, str]  # SECCOMP_RET_* code -> its current name (KILL_THREAD, not SCMP_ACT_KILL)
    action_mask: int
    data_mask: int


#: libseccomp's old names for actions that have a current one.
_OLD_NAMES = frozenset({"SCMP_ACT_KILL"})


@functools.lru_cache(maxsize=1)
def _actions() -> _Actions:
    shape = {"_about": str, "action_mask": str, "data_mask": str,
             "actions": Each({"code": str, "permissive": bool, "data": bool})}
    doc = load_table("seccomp_gen.ground", "data/seccomp_actions.json", shape)
    by_name = {name: Action(name, int(e["code"], 16), e["permissive"], e["data"]) for name, e in doc["actions"].items()}
    by_code: dict[int, str] = {}
    for entry in by_name.values():
        if entry.name not in _OLD_NAMES:
            by_code.setdefault(entry.code, entry.name)
    return _Actions(by_name, by_code, int(doc["action_mask"], 16), int(doc["data_mask"], 16))


def action_names() -> tuple[str, ...]:
    """Every action a profile may name, in the table's order."""
    return tuple(_actions().by_name)


def action(name: str) -> Action:
    """The action called `name` (KeyError for an unknown name: readers check names first)."""
    return _actions().by_name[name]


def permissive_actions() -> frozenset[str]:
    """The actions under which a syscall runs."""
    return frozenset(a.name for a in _actions().by_name.values() if a.permissive)


def action_mask() -> int:
    """SECCOMP_RET_ACTION_FULL: the action bits of a filter's return value."""
    return _actions().action_mask


def data_mask() -> int:
    """SECCOMP_RET_DATA: the errno or trace data bits of a filter's return value."""
    return _actions().data_mask


def action_of_code(code: int) -> str:
    """The action name of a filter return value (its data bits ignored); `code_0x...` when unknown.
    KILL_THREAD is named by its current name, not libseccomp's old SCMP_ACT_KILL."""
    actions = _actions()
    masked = code & actions.action_mask
    return actions.by_code.get(masked) or f"code_0x{masked:08x}"


@functools.lru_cache(maxsize=1)
def capabilities() -> dict[str, int]:
    """Capability name (CAP_SYS_ADMIN) -> bit number (21)."""
    doc = load_table("seccomp_gen.ground", "data/capabilities.json", {"_about": str, "capabilities": Each(int)})
    caps: dict[str, int] = doc["capabilities"]
    return caps


def capability(name: str) -> int:
    """The bit number of capability `name` (KeyError when unknown)."""
    return capabilities()[name]
