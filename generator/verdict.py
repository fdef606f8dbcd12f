"""What an ordered list of rules answers for a syscall, with libseccomp's precedence.

libseccomp (used by runc, crun, and so by every runtime that loads these profiles) resolves
overlapping rules for one syscall like this, measured with libseccomp 2.5:
- an unconditional rule beats every conditional one, whatever the order;
- between unconditional rules the first one added wins (containers-common allows `setns` in its
  big ALLOW list and denies it later without CAP_SYS_ADMIN: the ALLOW wins);
- conditional rules form a decision tree; where a deny comparison and an allow comparison both
  match the same value, the more specific test (the deny, in every runtime/default profile) is
  checked first. This module answers conservatively there: a value that a deny rule surely matches
  is denied.
The exact answer for concrete values comes from the compiled filter itself (enforce.py + bpf.py);
this module is for explaining and classifying (reports, minimisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from seccomp_gen.generator.profile import PERMISSIVE_ACTIONS, Rule
from seccomp_gen.ground import kernel


class VerdictKind(StrEnum):
    ALLOW = "allow"  # always allowed
    CONDITIONAL = "conditional"  # allowed for some argument values
    DENY = "deny"  # never allowed


@dataclass(frozen=True)
class Verdict:
    """What the rules answer for a syscall, and the deciding rule."""

    kind: VerdictKind
    action: str
    errno: int | None = None
    rule: int | None = None  # index of the deciding rule in the list given, None for the default action

    @property
    def allowed(self) -> bool:
        return self.kind != VerdictKind.DENY


def _same_as_default(rule: Rule, default_action: str, default_errno: int | None) -> bool:
    """A rule whose action is the default action is skipped by runc and crun (libseccomp refuses it)."""
    if rule.action != default_action:
        return False
    if rule.action == "SCMP_ACT_ERRNO":
        return (rule.errno_ret or kernel.EPERM) == (default_errno or kernel.EPERM)
    return rule.action != "SCMP_ACT_TRACE" or rule.errno_ret == default_errno


def _mine(rules: Sequence[Rule], name: str, default_action: str, default_errno: int | None) -> list[tuple[int, Rule]]:
    return [(i, r) for i, r in enumerate(rules)
            if name in r.names and not _same_as_default(r, default_action, default_errno)]


def decide(
    rules: Sequence[Rule], name: str, default_action: str, default_errno: int | None
) -> Verdict:
    """The answer of `rules` (already filtered to those that apply) for `name`, ignoring arguments."""
    mine = _mine(rules, name, default_action, default_errno)
    for i, rule in mine:
        if not rule.args:
            kind = VerdictKind.ALLOW if rule.action in PERMISSIVE_ACTIONS else VerdictKind.DENY
            return Verdict(kind, rule.action, rule.errno_ret if kind == VerdictKind.DENY else None, i)
    allow = [(i, r) for i, r in mine if r.action in PERMISSIVE_ACTIONS]
    if allow:
        return Verdict(VerdictKind.CONDITIONAL, allow[0][1].action, None, allow[0][0])
    if default_action in PERMISSIVE_ACTIONS:
        deny = next(((i, r) for i, r in mine), None)
        return Verdict(VerdictKind.CONDITIONAL, default_action, None, deny[0] if deny else None) if deny else \
            Verdict(VerdictKind.ALLOW, default_action)
    return Verdict(VerdictKind.DENY, default_action, default_errno if default_action == "SCMP_ACT_ERRNO" else None)


def decide_args(
    rules: Sequence[Rule], name: str, values: dict[int, int], default_action: str, default_errno: int | None
) -> Verdict:
    """The answer for `name` called with these argument values (others unknown)."""
    plain = decide(rules, name, default_action, default_errno)
    if plain.kind != VerdictKind.CONDITIONAL:
        return plain
    mine = _mine(rules, name, default_action, default_errno)
    for i, rule in mine:
        if rule.action not in PERMISSIVE_ACTIONS and rule.matches_args(values) is True:
            return Verdict(VerdictKind.DENY, rule.action, rule.errno_ret, i)
    for i, rule in mine:
        if rule.action in PERMISSIVE_ACTIONS and rule.matches_args(values) is not False:
            return Verdict(VerdictKind.ALLOW, rule.action, None, i)
    if default_action in PERMISSIVE_ACTIONS:
        return Verdict(VerdictKind.ALLOW, default_action)
    return Verdict(VerdictKind.DENY, default_action, default_errno if default_action == "SCMP_ACT_ERRNO" else None)
