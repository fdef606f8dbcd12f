"""A Profile compiled by libseccomp the way an OCI runtime does it.

This mirrors runc/crun: rules whose includes/excludes do not hold for the context are skipped,
names are resolved for the native architecture (a name libseccomp does not know is skipped, as the
runtimes do; names of another ABI resolve to pseudo-numbers that libseccomp maps per architecture),
the archMap entry of the native architecture picks the filter's architectures (added before any
rule, as rules only go to architectures already in the filter), and a rule that compares one
argument twice is added as one rule per comparison (libseccomp cannot AND two tests of one argument,
so runc and crun OR them). The generator compiles every profile it makes (a profile libseccomp
would refuse is an error, not a container that will not start); `verify`, `check` and the tests
load or interpret the filter it gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pyseccomp

from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import Profile, Rule
from seccomp_gen.ground import kernel, syscalls
from seccomp_gen.ground.errors import SeccompGenError

_OPS = {
    "SCMP_CMP_NE": pyseccomp.NE,
    "SCMP_CMP_LT": pyseccomp.LT,
    "SCMP_CMP_LE": pyseccomp.LE,
    "SCMP_CMP_EQ": pyseccomp.EQ,
    "SCMP_CMP_GE": pyseccomp.GE,
    "SCMP_CMP_GT": pyseccomp.GT,
    "SCMP_CMP_MASKED_EQ": pyseccomp.MASKED_EQ,
}
#: what libseccomp answers for a name it does not know
_NR_SCMP_ERROR = -1


def action_value(action: str, errno_ret: int | None) -> int:
    """The filter return value of a profile action: its SECCOMP_RET_* code, with the errno (EPERM
    when a profile gives none, as runc and crun default it) or trace data in the low bits."""
    if action == "SCMP_ACT_NOTIFY":
        raise SeccompGenError(f"{action} cannot be enforced without a seccomp agent")
    entry = kernel.action(action)
    if not entry.data:
        return entry.code
    data = kernel.EPERM if errno_ret is None and action == "SCMP_ACT_ERRNO" else errno_ret or 0
    return entry.code | (data & kernel.data_mask())


def loadable_value(action: str, errno_ret: int | None) -> int:
    """action_value(), with SCMP_ACT_NOTIFY as its own code: whether libseccomp builds the filter does
    not depend on an agent, which the runtime provides (listenerPath) when it loads it."""
    if action == "SCMP_ACT_NOTIFY":
        return kernel.action(action).code
    return action_value(action, errno_ret)


def _args(rule: Rule) -> list[list[pyseccomp.Arg]]:
    args = [pyseccomp.Arg(a.index, _OPS[a.op], a.value, a.value_two) for a in rule.args]
    return [[a] for a in args] if rule.args_split() else [args]


@dataclass(frozen=True)
class Compiled:
    filter: Any
    arches: tuple[str, ...]
    skipped_names: tuple[str, ...]


#: Maps a profile action and errno to the filter's action value (verify swaps denials for TRACE).
ActionMap = Callable[[str, "int | None"], int]


def compile_profile(profile: Profile, ctx: Context, native: str | None = None,
                    actions: ActionMap = action_value) -> Compiled:
    """Build the libseccomp filter a runtime on `native` (this host by default) would load."""
    native = native or syscalls.native_arch()
    filt = pyseccomp.SyscallFilter(actions(profile.default_action, profile.default_errno_ret))
    arches = profile.filter_arches(native) or [native]
    for arch in arches:
        token = syscalls.ARCH_TOKENS.get(arch)
        if token is None or arch == native:
            continue
        try:
            filt.add_arch(token)
        except OSError as exc:
            raise SeccompGenError(f"libseccomp cannot add architecture {arch}: {exc.strerror}") from None
    _set_flags(filt, profile.flags)
    skipped = _add_rules(filt, profile, ctx, actions)
    return Compiled(filt, tuple(a for a in arches if a in syscalls.ARCH_TOKENS), tuple(sorted(skipped)))


#: The profile's `flags` as libseccomp filter attributes, as runc and crun set them. WAIT_KILLABLE_RECV
#: only matters with a listener (NOTIFY), which verify and check never have.
_FLAG_ATTRS = {"SECCOMP_FILTER_FLAG_LOG": pyseccomp.Attr.CTL_LOG,
               "SECCOMP_FILTER_FLAG_SPEC_ALLOW": pyseccomp.Attr.CTL_SSB,
               "SECCOMP_FILTER_FLAG_TSYNC": pyseccomp.Attr.CTL_TSYNC}


def _set_flags(filt: Any, flags: tuple[str, ...]) -> None:
    for flag in flags:
        attr = _FLAG_ATTRS.get(flag)
        if attr is not None:
            try:
                filt.set_attr(attr, 1)
            except OSError as exc:
                raise SeccompGenError(f"libseccomp cannot set {flag}: {exc.strerror}") from None


def check_loadable(profile: Profile, ctx: Context) -> None:
    """Compile the profile for every host architecture of the context (each with its recorded
    sub-architectures, as a runtime on that host would), so a profile libseccomp would refuse (EEXIST
    on x86's multiplexed socket calls, say) is an error now rather than a container that will not start."""
    native = syscalls.native_arch()
    for entry in ctx.arch_map:
        arches = [a for a in (entry.architecture, *entry.sub_architectures) if a in syscalls.ARCH_TOKENS]
        if not arches:
            continue
        host_ctx = replace(ctx, arch_map=(entry,))
        filt = pyseccomp.SyscallFilter(loadable_value(profile.default_action, profile.default_errno_ret))
        try:
            if native not in arches:
                filt.remove_arch(syscalls.ARCH_TOKENS[native])
            for arch in arches:
                if arch != native:
                    filt.add_arch(syscalls.ARCH_TOKENS[arch])
        except OSError as exc:
            raise SeccompGenError(
                f"libseccomp cannot build a filter for {', '.join(arches)}: {exc.strerror}"
            ) from None
        _add_rules(filt, profile, host_ctx, loadable_value)


def _add_rules(filt: Any, profile: Profile, ctx: Context, actions: ActionMap = action_value) -> set[str]:
    """Add the rules that apply in `ctx`, as runc/crun do; returns the names libseccomp does not know."""
    skipped: set[str] = set()
    default = actions(profile.default_action, profile.default_errno_ret)
    for rule in profile.rules:
        if not ctx.applies(rule):
            continue
        action = actions(rule.action, rule.errno_ret)
        if action == default:
            continue  # libseccomp refuses it (EACCES); runc and crun skip it as redundant
        for name in rule.names:
            nr = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
            if nr == _NR_SCMP_ERROR:
                skipped.add(name)
                continue
            for args in _args(rule):
                try:
                    filt.add_rule(action, nr, *args)
                except OSError as exc:
                    raise SeccompGenError(
                        f"libseccomp refuses the rule for {name} ({rule.action}): {exc.strerror}"
                    ) from None
    return skipped
