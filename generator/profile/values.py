"""The Profile: an ordered list of rules with conditions, in the Docker/OCI seccomp JSON format.

A profile is not a set of names: runtime/default profiles gate rules on capabilities, host
architecture and kernel version (`includes`/`excludes`), condition them on syscall arguments, and
overlap (the same name in an ALLOW rule and in an ERRNO rule). So every rule is kept as written,
in order, and the generator reasons about applicability separately (context.py, verdict.py).

Reading (reader.py) is strict because a profile is security policy: a misspelt key (`errnoret`) that Docker
would silently ignore is an error here, reported as `file:line: message`. Writing (writer.py) is stable: the
same Profile always dumps to the same bytes (sorted keys and names) so generated files diff cleanly.
"""

from __future__ import annotations

import errno as errno_mod
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from seccomp_gen.ground import kernel
from seccomp_gen.ground.errors import SeccompGenError

_U64 = 2**64

#: The actions a profile may name (ground/data/seccomp_actions.json).
ACTIONS = kernel.action_names()
#: Actions under which a syscall runs.
PERMISSIVE_ACTIONS = kernel.permissive_actions()
OPERATORS = (
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
)
FLAGS = (
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
)
def errno_number(name: str) -> int | None:
    """errno name (EPERM) -> number (1) from the C library's table, None when unknown."""
    value = getattr(errno_mod, name, None)
    return value if isinstance(value, int) and name.startswith("E") else None


def parse_errno(text: str) -> int:
    """`--default-errno`: a name (ENOSYS) or a number (38)."""
    if text.isdigit():
        value = int(text)
    else:
        found = errno_number(text.upper())
        if found is None:
            raise SeccompGenError(f"unknown errno {text!r} (use a name such as EPERM or ENOSYS, or a number)")
        value = found
    if not 0 < value < kernel.ERRNO_LIMIT:
        raise SeccompGenError(f"errno {text!r} is out of range (1-{kernel.ERRNO_LIMIT - 1})")
    return value


@dataclass(frozen=True)
class Arg:
    """One argument comparison. For SCMP_CMP_MASKED_EQ, `value` is the mask and `value_two` the
    datum: (arg & value) == value_two, as libseccomp's SCMP_CMP(index, MASKED_EQ, mask, datum)."""

    index: int
    value: int
    op: str
    value_two: int = 0

    def matches(self, actual: int) -> bool:
        a, v = actual % _U64, self.value
        return {
            "SCMP_CMP_NE": a != v,
            "SCMP_CMP_LT": a < v,
            "SCMP_CMP_LE": a <= v,
            "SCMP_CMP_EQ": a == v,
            "SCMP_CMP_GE": a >= v,
            "SCMP_CMP_GT": a > v,
            "SCMP_CMP_MASKED_EQ": (a & v) == self.value_two,
        }[self.op]


@dataclass(frozen=True)
class Filter:
    """`includes` / `excludes`: capabilities, host architectures (Go names: amd64, arm64...), minKernel."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: str | None = None

    def __bool__(self) -> bool:
        return bool(self.caps or self.arches or self.min_kernel)


@dataclass(frozen=True)
class Rule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[Arg, ...] = ()
    comment: str = ""
    includes: Filter = field(default_factory=Filter)
    excludes: Filter = field(default_factory=Filter)

    @property
    def allows(self) -> bool:
        return self.action in PERMISSIVE_ACTIONS

    @property
    def conditional(self) -> bool:
        return bool(self.args)

    def args_split(self) -> bool:
        """True when two comparisons share an argument index. runc and crun then add each comparison
        as a rule of its own (OR), since libseccomp cannot AND two tests of one argument."""
        indices = [a.index for a in self.args]
        return len(indices) != len(set(indices))

    def matches_args(self, values: dict[int, int]) -> bool | None:
        """Do these argument values satisfy the rule's comparisons? None when it depends on an
        argument not in `values`."""
        results = [None if a.index not in values else a.matches(values[a.index]) for a in self.args]
        if not results:
            return True
        if self.args_split():
            if any(r is True for r in results):
                return True
            return None if any(r is None for r in results) else False
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True

    def with_names(self, names: Iterable[str], comment: str | None = None) -> Rule:
        return replace(self, names=tuple(sorted(set(names))), comment=self.comment if comment is None else comment)


@dataclass(frozen=True)
class ArchMapEntry:
    architecture: str
    sub_architectures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    default_action: str
    rules: tuple[Rule, ...]
    default_errno_ret: int | None = None
    arch_map: tuple[ArchMapEntry, ...] = ()
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    listener_path: str = ""
    listener_metadata: str = ""

    def names(self) -> set[str]:
        return {name for rule in self.rules for name in rule.names}

    def filter_arches(self, native: str) -> list[str]:
        """The arches a runtime on `native` puts in the filter (archMap entry, else `architectures`)."""
        for entry in self.arch_map:
            if entry.architecture == native:
                return [native, *entry.sub_architectures]
        return list(self.architectures)
