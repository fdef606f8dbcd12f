"""The decision pass: for every observed and needed syscall, whether and why it is in the profile.

Nothing here builds rules (build.py does, from these decisions). Each observed name is allowed
through the baseline's own rules, handled by an ENOSYS fallback, or reported and not allowed
(unless --allow-extra); then come what the OCI runtime needs, what the kernel calls on the
program's behalf, never-observed --allow-extra names, and socketcall where libseccomp needs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from seccomp_gen.generator import arguments, tables
from seccomp_gen.generator.minimise.findings import Added, AddedOrigin, Denied, DeniedKind, Unjudged
from seccomp_gen.generator.minimise.view import BaselineView, exists
from seccomp_gen.generator.verdict import VerdictKind, decide_args
from seccomp_gen.ground import kernel, syscalls
from seccomp_gen.recorder.recording import Recording, SyscallUse

TAG = "seccomp-gen"


class Want(StrEnum):
    """Why a name is in the profile through the baseline's own rules."""

    OBSERVED = "observed"
    RUNTIME = "runtime"
    IMPLIED = "implied"
    FALLBACK = "fallback"
    LIBSECCOMP = "libseccomp"


@dataclass
class Decisions:
    """The decision pass's output; `overrides` are names with an ALLOW rule of their own (widenings,
    named in the comment), everything in `wanted` is allowed by the baseline's own rules."""

    observed: dict[str, set[str]]  # name -> arches it was seen on
    wanted: dict[str, Want] = field(default_factory=dict)
    fallback_for: dict[str, str] = field(default_factory=dict)  # fallback name -> the call it stands in for
    overrides: dict[str, str] = field(default_factory=dict)
    added: list[Added] = field(default_factory=list)
    denied: list[Denied] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unjudged: list[Unjudged] = field(default_factory=list)

    def allow_own(self, name: str, comment: str, origin: AddedOrigin, detail: str) -> None:
        """An ALLOW rule of its own for `name`: a widening, reported."""
        self.overrides[name] = comment
        self.added.append(Added(name, origin, detail, True))


def decide_all(rec: Recording, view: BaselineView, extra: set[str], warnings: Iterable[str]) -> Decisions:
    arches = view.ctx.arches
    observed: dict[str, set[str]] = {}
    for arch in arches:
        for name in rec.syscalls.get(arch, {}):
            observed.setdefault(name, set()).add(arch)
    d = Decisions(observed, warnings=list(warnings))
    for name in sorted(observed):
        _decide_observed(d, view, rec, name, name in extra)
    _runtime_needs(d, view)
    _implied(d, view)
    _unobserved_extras(d, view, extra)
    _socketcall(d, view)
    return d


def _decide_observed(d: Decisions, view: BaselineView, rec: Recording, name: str, extra: bool) -> None:
    where = tuple(sorted(d.observed[name]))
    if name.startswith("syscall_"):
        d.denied.append(Denied(name, where, DeniedKind.UNNAMED, "libseccomp has no name for this number, so no "
                               "profile can allow it"))
        return
    v = view.decide(name)
    if v.kind == VerdictKind.CONDITIONAL and view.permissive and not view.allows_by_rule(name):
        # "allowed except for some arguments" by a blocklist's default: an allowlist cannot say that
        # without inverting the comparisons, so fail closed and say so.
        d.wanted[name] = Want.OBSERVED
        if extra:
            d.allow_own(name, "--allow-extra: allowed for every argument on purpose; the baseline denies it for "
                        "some", AddedOrigin.EXTRA, "the baseline denies it for some arguments")
        d.denied.append(Denied(name, where, DeniedKind.ARGUMENT, "the baseline allows it except for some argument "
                               "values, which an allowlist cannot express: not allowed (use --allow-extra to allow "
                               "it for every argument)", allowed_extra=extra))
    elif v.allowed:
        d.wanted[name] = Want.OBSERVED
        if v.kind == VerdictKind.CONDITIONAL:
            _denied_values(d, view, rec, name, where, extra)
        if extra:
            _extra_already_allowed(d, name, v.kind == VerdictKind.CONDITIONAL)
    else:
        _not_allowed(d, view, name, where, extra)


def _denied_values(d: Decisions, view: BaselineView, rec: Recording, name: str, where: tuple[str, ...],
                   extra: bool) -> None:
    """Recorded argument values that the baseline's argument rules deny (in every combination of
    the values recorded for the arguments the rules compare), and rules that compare an argument the
    recording does not hold (reported as not judged)."""
    compared = arguments.comparisons(view.rules, name)
    for arch in where:
        use = rec.syscalls[arch][name]
        missing = arguments.unrecorded(use, compared)
        if missing:
            d.unjudged.append(Unjudged(name, arch, tuple(missing), _unjudged_detail(rec, use, missing)))
        seen: set[str] = set()
        for values in arguments.recorded(use, compared):
            av = decide_args(view.rules, name, values, *view.eff)
            if av.allowed:
                continue
            rule = view.rules[av.rule] if av.rule is not None else None
            indices = sorted({a.index for a in rule.args} if rule is not None else set(values))
            shown = ", ".join(f"arg{i}={values[i]:#x}" for i in indices if i in values)
            detail = (f"argument rule: {shown} is denied (ERRNO {view.answer_errno(av)})"
                      + (f": {rule.comment}" if rule is not None and rule.comment else ""))
            if detail not in seen:
                seen.add(detail)
                d.denied.append(Denied(name, (arch,), DeniedKind.ARGUMENT, detail, allowed_extra=extra))


def _unjudged_detail(rec: Recording, use: SyscallUse, missing: list[int]) -> str:
    args = ", ".join(f"arg{i}" for i in missing)
    if use.args_truncated:
        return f"the baseline compares {args}; the recording kept only some of its values (truncated)"
    return (f"the baseline compares {args}, which the recording does not hold (engine {rec.source.engine}): "
            "verify, or record with an engine that sees arguments (ptrace, ebpf)")


def _extra_already_allowed(d: Decisions, name: str, conditional: bool) -> None:
    d.warnings.append(f"--allow-extra {name}: the baseline already allows it"
                      + (" (for some arguments; allowing all)" if conditional else ""))
    if conditional:
        d.allow_own(name, "--allow-extra: allowed for every argument on purpose; the baseline allows it only for "
                    "some", AddedOrigin.EXTRA, "the baseline allows it only for some arguments")


def _not_allowed(d: Decisions, view: BaselineView, name: str, where: tuple[str, ...], extra: bool) -> None:
    v = view.decide(name)
    kind, detail = view.reason(name, v)
    d.wanted[name] = Want.OBSERVED  # its deny rules stay
    fallback = tables.enosys_fallbacks().get(name)
    if view.answer_errno(v) == kernel.ENOSYS and fallback and not extra:
        arches = view.ctx.arches
        usable = [fb for fb in fallback.fallbacks if exists(fb, arches) and view.decide(fb).allowed]
        if usable:
            for fb in usable:
                if fb not in d.wanted and fb not in d.observed:
                    d.wanted[fb] = Want.FALLBACK
                    d.fallback_for[fb] = name
                    d.added.append(Added(fb, AddedOrigin.FALLBACK, f"{name} answers ENOSYS: {fallback.why}", False))
            d.denied.append(Denied(name, where, DeniedKind.ENOSYS_FALLBACK,
                                   f"{detail}; the C library falls back to {', '.join(usable)}"))
            return
    if extra:
        d.allow_own(name, f"--allow-extra: allowed on purpose; baseline: {detail}", AddedOrigin.EXTRA, detail)
    d.denied.append(Denied(name, where, kind, detail, allowed_extra=extra))


def _runtime_needs(d: Decisions, view: BaselineView) -> None:
    needs = tables.runtime_needs(view.ctx.runtime, view.ctx.no_new_privileges)
    for name in needs.names:
        if name in d.wanted or name in d.overrides or not exists(name, view.ctx.hosts):
            continue
        v = view.decide(name)
        if v.allowed:
            d.wanted[name] = Want.RUNTIME
            d.added.append(Added(name, AddedOrigin.RUNTIME, f"{needs.runtime} ({needs.mode}): {needs.why}", False))
        else:
            _, detail = view.reason(name, v)
            d.allow_own(name, f"{TAG}: required by {needs.runtime} ({needs.mode}) after the filter is loaded; "
                        f"baseline: {detail}", AddedOrigin.RUNTIME,
                        f"{needs.runtime} ({needs.mode}): {needs.why}; baseline: {detail}")


def _implied(d: Decisions, view: BaselineView) -> None:
    for entry in tables.implied():
        name = entry.syscall
        if name in d.wanted or name in d.overrides or not exists(name, view.ctx.arches):
            continue
        if entry.when_observed and not set(entry.when_observed) & set(d.observed):
            continue
        if view.decide(name).kind == VerdictKind.ALLOW:  # never a widening: only what the baseline allows outright
            d.wanted[name] = Want.IMPLIED
            d.added.append(Added(name, AddedOrigin.IMPLIED, entry.why, False))


def _unobserved_extras(d: Decisions, view: BaselineView, extra: set[str]) -> None:
    for name in sorted(extra - set(d.observed)):
        v = view.decide(name)
        if v.allowed and v.kind == VerdictKind.ALLOW:
            d.warnings.append(f"--allow-extra {name}: never observed; the baseline allows it, so it is allowed")
            d.wanted.setdefault(name, Want.OBSERVED)
            continue
        _, detail = view.reason(name, v)
        d.allow_own(name, f"--allow-extra: allowed on purpose although never observed; baseline: {detail}",
                    AddedOrigin.EXTRA, f"never observed; baseline: {detail}")


def _socketcall(d: Decisions, view: BaselineView) -> None:
    """libseccomp multiplexes socket calls through socketcall on x86 (and s390, ppc): conditional
    socket rules there fail to load (EEXIST) unless socketcall is allowed before them, as it is in
    the baselines. Keep the baseline's socketcall rule then: the profile must load."""
    arches = view.ctx.arches
    if "socket" in d.wanted and any(syscalls.number_of(a, "socketcall") is not None for a in arches) \
            and "socketcall" not in d.wanted and "socketcall" not in d.overrides \
            and view.decide("socketcall").allowed and any("socket" in r.names and r.args for r in view.rules):
        d.wanted["socketcall"] = Want.LIBSECCOMP
        d.added.append(Added("socketcall", AddedOrigin.LIBSECCOMP, "the filter has an architecture that multiplexes "
                             "socket calls: libseccomp loads conditional socket rules there only after socketcall",
                             False))
