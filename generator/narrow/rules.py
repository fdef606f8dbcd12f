"""One allow rule of the profile, for one syscall, as rules that hold only recorded argument values.

The narrowed rules are the original rule's conditions AND `argument == value` (or, where only some
bits matter, `(argument & mask) == value`), one rule per combination of recorded values: never looser
than the rule they replace. A runtime ANDs the comparisons of a rule only when no argument index
repeats (else it loads each comparison as a rule of its own, ORed), so a baseline comparison on a
narrowed argument is resolved here - the value is kept only if it passes it, and the equality then
implies it - rather than written beside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from seccomp_gen.generator.profile import Arg, Rule
from seccomp_gen.generator.tables import NarrowArg

FULL_MASK = 2**64 - 1
#: A mask that ignores only a register's upper half (an int argument): where a baseline compares the
#: argument too, the value is tested exactly instead - the kernel saw exactly it.
_INT_MASK = 2**32 - 1
NOTE = "seccomp-gen: narrowed to the recorded"


class CannotNarrow(Exception):
    """The rule compares a narrowed argument in a way a narrowed rule cannot keep."""


def comparison(arg: NarrowArg, value: int) -> Arg:
    """The test that `arg` holds `value` (its masked bits)."""
    if arg.mask == FULL_MASK:
        return Arg(arg.index, value, "SCMP_CMP_EQ")
    return Arg(arg.index, arg.mask, "SCMP_CMP_MASKED_EQ", value)


def _parts(rule: Rule) -> list[tuple[Arg, ...]]:
    """A rule's comparisons as the AND-groups a runtime loads (one per comparison when an index repeats)."""
    return [(a,) for a in rule.args] if rule.args_split() else [rule.args]


def _combined(part: tuple[Arg, ...], combo: Mapping[NarrowArg, int]) -> tuple[Arg, ...] | None:
    """`part` AND the combination's equalities; None when the combination fails `part`."""
    by_index = {arg.index: (arg, value) for arg, value in combo.items()}
    kept: list[Arg] = []
    exact: set[int] = set()
    for cmp in part:
        narrowed = by_index.get(cmp.index)
        if narrowed is None:
            kept.append(cmp)
            continue
        arg, value = narrowed
        if arg.mask not in (FULL_MASK, _INT_MASK):
            raise CannotNarrow(f"the baseline itself compares its {arg.what} (argument {arg.index}), which is "
                               "narrowed only in some bits")
        if not cmp.matches(value):
            return None  # the baseline does not allow this value through this rule
        exact.add(arg.index)
    kept.extend(Arg(arg.index, value, "SCMP_CMP_EQ") if arg.index in exact else comparison(arg, value)
                for arg, value in combo.items())
    return tuple(sorted(kept, key=lambda a: (a.index, a.op, a.value, a.value_two)))


def narrowed_rules(rule: Rule, name: str, values: Mapping[NarrowArg, tuple[int, ...]]) -> list[Rule]:
    """The rules that replace `name` in `rule`: one per combination of recorded values it allows."""
    shown = ", ".join(arg.what for arg in values)
    comment = f"{rule.comment}; {NOTE} {shown}" if rule.comment else f"{NOTE} {shown}"
    combos = [dict(zip(values, chosen, strict=True)) for chosen in itertools.product(*values.values())]
    seen: set[tuple[Arg, ...]] = set()
    out: list[Rule] = []
    for part in _parts(rule):
        for combo in combos:
            args = _combined(part, combo)
            if args is None or args in seen:
                continue
            seen.add(args)
            out.append(Rule((name,), rule.action, rule.errno_ret, args, comment, rule.includes, rule.excludes))
    return out
