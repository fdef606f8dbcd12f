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

from seccomp_gen.generator.profile import PERMISSIVE_ACTIONS, Rule

_EPERM = 1


@dataclass(frozen=True)
class Verdict:
    """`allow`: always allowed; `conditional`: allowed for some argument values; `deny`: never."""

    kind: str
    action: str
    errno: int | None = None
    rule: int | None = None  # index of the deciding rule in the list given, None for the default action

    @property
    def allowed(self) -> bool:
        return self.kind != "deny"


def _same_as_default(rule: Rule, default_action: str, default_errno: int | None) -> bool:
    """A rule whose action is the default action is skipped by runc and crun (libseccomp refuses it)."""
    if rule.action != default_action:
        return False
    if rule.action == "SCMP_ACT_ERRNO":
        return (rule.errno_ret or _EPERM) == (default_errno or _EPERM)
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
            kind = "allow" if rule.action in PERMISSIVE_ACTIONS else "deny"
            return Verdict(kind, rule.action, rule.errno_ret if kind == "deny" else None, i)
    allow = [(i, r) for i, r in mine if r.action in PERMISSIVE_ACTIONS]
    if allow:
        return Verdict("conditional", allow[0][1].action, None, allow[0][0])
    if default_action in PERMISSIVE_ACTIONS:
        deny = next(((i, r) for i, r in mine), None)
        return Verdict("conditional", default_action, None, deny[0] if deny else None) if deny else \
            Verdict("allow", default_action)
    return Verdict("deny", default_action, default_errno if default_action == "SCMP_ACT_ERRNO" else None)


def decide_args(
    rules: Sequence[Rule], name: str, values: dict[int, int], default_action: str, default_errno: int | None
) -> Verdict:
    """The answer for `name` called with these argument values (others unknown)."""
    plain = decide(rules, name, default_action, default_errno)
    if plain.kind != "conditional":
        return plain
    mine = _mine(rules, name, default_action, default_errno)
    for i, rule in mine:
        if rule.action not in PERMISSIVE_ACTIONS and rule.matches_args(values) is True:
            return Verdict("deny", rule.action, rule.errno_ret, i)
    for i, rule in mine:
        if rule.action in PERMISSIVE_ACTIONS and rule.matches_args(values) is not False:
            return Verdict("allow", rule.action, None, i)
    if default_action in PERMISSIVE_ACTIONS:
        return Verdict("allow", default_action)
    return Verdict("deny", default_action, default_errno if default_action == "SCMP_ACT_ERRNO" else None)
