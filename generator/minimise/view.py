"""The baseline as the minimiser sees it in one context: the rules that apply, what they answer."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from seccomp_gen.generator.baselines import Baseline
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.minimise.findings import DeniedKind
from seccomp_gen.generator.profile import PERMISSIVE_ACTIONS
from seccomp_gen.generator.verdict import Verdict, decide
from seccomp_gen.ground import kernel, syscalls
from seccomp_gen.ground.errors import SeccompGenError

#: Syscall numbers are below this on every architecture libseccomp knows.
_MAX_NR = 1024


def exists(name: str, arches: Iterable[str]) -> bool:
    """Is `name` a syscall on any of `arches`?"""
    return any(syscalls.number_of(a, name) is not None for a in arches)


def all_names(arches: Sequence[str]) -> set[str]:
    """Every syscall name libseccomp knows on `arches`."""
    return {name for arch in arches for nr in range(_MAX_NR) if (name := syscalls.name_of(arch, nr))}


class BaselineView:
    """The baseline's rules that apply in `ctx` (and those that do not, for reasons), its default
    action, and the default action of the profile made from it."""

    def __init__(self, baseline: Baseline, ctx: Context, default_errno: int | None) -> None:
        self.baseline = baseline
        self.ctx = ctx
        base = baseline.profile
        self.rules = [r for r in base.rules if ctx.applies(r)]
        self.skipped = [r for r in base.rules if not ctx.applies(r)]
        self.permissive = base.default_action in PERMISSIVE_ACTIONS
        self.base_action = base.default_action
        self.base_errno = base.default_errno_ret
        self.out_errno: int | None
        if self.permissive:
            self.out_action, self.out_errno = "SCMP_ACT_ERRNO", default_errno or kernel.ENOSYS
        else:
            self.out_action = base.default_action
            self.out_errno = default_errno if default_errno is not None else base.default_errno_ret
        if self.out_action != "SCMP_ACT_ERRNO" and default_errno is not None:
            raise SeccompGenError(f"--default-errno needs a baseline whose defaultAction is SCMP_ACT_ERRNO, "
                                  f"not {self.out_action}")

    @functools.cached_property
    def plain_names(self) -> frozenset[str]:
        """Names with an applicable rule that has neither arguments nor capability conditions. A
        conditional rule for such a name is dead under libseccomp (the unconditional one wins), and
        on x86 it can keep the filter from loading: rule builders leave it out."""
        return frozenset(n for r in self.rules if not r.args and not r.includes.caps and not r.excludes.caps
                         for n in r.names)

    @property
    def eff(self) -> tuple[str, int | None]:
        """The default the answers are computed against: the generated profile's, except that a
        permissive baseline's default still counts as allowing."""
        return (self.base_action, self.base_errno) if self.permissive else (self.out_action, self.out_errno)

    def decide(self, name: str) -> Verdict:
        return decide(self.rules, name, *self.eff)

    def allows_by_rule(self, name: str) -> bool:
        """Does an applicable ALLOW/LOG rule name it (with or without conditions)?"""
        return any(r.allows and name in r.names for r in self.rules)

    def answer_errno(self, v: Verdict) -> int | None:
        """The errno the generated profile answers a denied syscall with."""
        if v.action != "SCMP_ACT_ERRNO":
            return None
        if v.rule is None:
            return self.out_errno if self.out_errno is not None else kernel.EPERM
        return v.errno if v.errno is not None else kernel.EPERM

    def reason(self, name: str, v: Verdict) -> tuple[DeniedKind, str]:
        """Why the baseline does not allow `name` here, as a kind and a sentence."""
        gated = [r for r in self.skipped if name in r.names and r.allows]
        if gated:
            return DeniedKind.NEEDS_CAP, self.ctx.why_not(gated[0])
        errno = self.answer_errno(v)
        what = f"ERRNO {errno}" if errno is not None else v.action
        if v.rule is not None:
            comment = f" ({self.rules[v.rule].comment})" if self.rules[v.rule].comment else ""
            return DeniedKind.DENIED, f"denied outright: {what}{comment}"
        return DeniedKind.DEFAULT, f"not allowed by the baseline (default action: {what})"
