"""Which argument values a judgement of a syscall needs, and which values to judge it with.

A rule that compares an argument can only be judged for a call whose recording holds that
argument's values. Where it does, the recorded values are judged (their combinations across
arguments, since a recording keeps each argument's values, not the tuples). Where it does not (an
engine that sees no arguments, values truncated), the answer may still be the same for every value:
that is checked at representative values - every comparison point and its neighbours for ordered
comparisons, every pattern of the compared bits for masked ones - and only an answer that differs
between them is "cannot be judged".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from seccomp_gen.generator.profile import Arg, Rule
from seccomp_gen.recorder.recording import SyscallUse

ARGS = 6
U64_MAX = 2**64 - 1
#: At most this many value combinations are judged for one syscall.
MAX_COMBINATIONS = 4096
#: A masked comparison's bits are enumerated up to this many bits.
MAX_MASK_BITS = 10


def comparisons(rules: Iterable[Rule], name: str) -> dict[int, list[Arg]]:
    """argument index -> the comparisons rules for `name` make on it."""
    found: dict[int, list[Arg]] = {}
    for rule in rules:
        if name in rule.names:
            for arg in rule.args:
                found.setdefault(arg.index, []).append(arg)
    return found


def unrecorded(use: SyscallUse, indices: Iterable[int]) -> list[int]:
    """The indices among `indices` whose values the use does not hold completely."""
    return sorted(i for i in indices if i not in use.args or use.args_truncated)


def recorded(use: SyscallUse, compared: Mapping[int, Sequence[Arg]]) -> Iterator[dict[int, int]]:
    """Every combination of the values recorded for the compared arguments (at most
    MAX_COMBINATIONS), as index -> value."""
    known = {i: v for i, v in use.args.items() if i in compared}
    for combo in itertools.islice(itertools.product(*known.values()), MAX_COMBINATIONS):
        yield dict(zip(known, combo, strict=True))


def representatives(compared: Sequence[Arg]) -> list[int] | None:
    """Values that reach every outcome the comparisons on one argument can have; None when that
    cannot be bounded (masked and ordered comparisons mixed, or too many masked bits)."""
    masked = [a for a in compared if a.op == "SCMP_CMP_MASKED_EQ"]
    ordered = [a for a in compared if a.op != "SCMP_CMP_MASKED_EQ"]
    if masked and ordered:
        return None
    if masked:
        union = 0
        for arg in masked:
            union |= arg.value
        bits = [1 << b for b in range(64) if union >> b & 1]
        if len(bits) > MAX_MASK_BITS:
            return None
        return sorted({sum(chosen) for n in range(len(bits) + 1) for chosen in itertools.combinations(bits, n)})
    points = {0, U64_MAX}
    for arg in ordered:
        points.update(v for v in (arg.value - 1, arg.value, arg.value + 1) if 0 <= v <= U64_MAX)
    return sorted(points)


@dataclass(frozen=True)
class Plan:
    """How to judge one recorded syscall: the values per argument, and which of them are stand-ins
    for values the recording does not hold."""

    values: Mapping[int, tuple[int, ...]]
    unknown: tuple[int, ...]
    unbounded: tuple[int, ...] = ()  # unknown arguments no set of stand-ins covers

    @property
    def size(self) -> int:
        size = 1
        for values in self.values.values():
            size *= max(1, len(values))
        return size

    def combinations(self) -> Iterator[tuple[int, ...]]:
        """Full six-argument tuples (0 where no rule compares the argument)."""
        indices = sorted(self.values)
        for chosen in itertools.product(*(self.values[i] for i in indices)):
            full = [0] * ARGS
            for index, value in zip(indices, chosen, strict=True):
                full[index] = value
            yield tuple(full)


def plan(use: SyscallUse, compared: Mapping[int, Sequence[Arg]]) -> Plan:
    """The values to judge `use` with, for rules making `compared` comparisons."""
    values: dict[int, tuple[int, ...]] = {i: tuple(v) for i, v in use.args.items() if i in compared}
    unknown = unrecorded(use, compared)
    unbounded = []
    for index in unknown:
        stand_ins = representatives(compared[index])
        if stand_ins is None:
            unbounded.append(index)
            stand_ins = []
        values[index] = tuple(sorted(set(values.get(index, ())) | set(stand_ins)))
    return Plan(values, tuple(unknown), tuple(unbounded))
