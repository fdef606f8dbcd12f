"""The minimiser: baseline x recording x context -> a profile that is never looser than the baseline.

Semantics (docs/generator.md explains them for users):
1. Only the baseline rules that apply in the context are considered (context.py).
2. Each of them is kept, in order, restricted to the syscalls the workload was seen making, with
   its args, action, errnoRet, comment and includes/excludes intact; a rule left without names goes.
   Deny rules (ERRNO...) stay when they name an observed syscall, so overlapping rules keep their
   meaning under libseccomp's precedence (verdict.py).
3. What the OCI runtime itself calls after loading the filter (tables.runtime_needs) is added from
   the baseline's own rules, in copies whose comment says why.
4. An observed syscall that the profile answers with ENOSYS gets its C library fallback
   (tables.enosys_fallbacks) through the baseline's rule for the fallback, commented likewise.
5. An observed syscall the baseline does not allow in the context is reported and NOT allowed,
   unless named with --allow-extra: then it gets an ALLOW rule of its own, flagged. The only other
   widening is a runtime-required syscall the baseline denies; it is reported too.
6. defaultAction/defaultErrnoRet come from the baseline (or --default-errno). A baseline whose
   default allows (a blocklist) still yields an allowlist: default ERRNO, observed names allowed.
Everything is sorted, so the same inputs give the same profile byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from seccomp_gen.generator import compile as enforce
from seccomp_gen.generator import tables
from seccomp_gen.generator.baselines import Baseline
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import PERMISSIVE_ACTIONS, Profile, Rule
from seccomp_gen.generator.verdict import Verdict, decide, decide_args
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.recording import Recording

#: libseccomp's errno for SCMP_ACT_ERRNO without errnoRet, as runc/crun/containers-common use it.
DEFAULT_RULE_ERRNO = 1
ENOSYS = 38
TAG = "seccomp-gen"


@dataclass(frozen=True)
class Denied:
    """An observed syscall (or argument value) that the baseline does not allow in the context."""

    name: str
    arches: tuple[str, ...]
    kind: str  # needs-cap | denied | default | argument | enosys-fallback | unnamed
    detail: str
    allowed_extra: bool = False

    @property
    def counts_as_extra(self) -> bool:
        """Does --fail-on-extra fail on it? A handled ENOSYS fallback does not."""
        return self.kind != "enosys-fallback"


@dataclass(frozen=True)
class Added:
    name: str
    origin: str  # runtime | implied | fallback | extra | libseccomp
    detail: str
    widening: bool  # True when the baseline does not allow it in the context


@dataclass(frozen=True)
class Findings:
    baseline: str
    provenance: str
    context: Context
    default_action: str
    default_errno: int | None
    baseline_allowed: tuple[str, ...]
    allowed: tuple[str, ...]
    removed: tuple[str, ...]
    added: tuple[Added, ...]
    denied: tuple[Denied, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reduction_percent(self) -> float:
        if not self.baseline_allowed:
            return 0.0
        return round(100.0 * (1 - len(self.allowed) / len(self.baseline_allowed)), 1)

    @property
    def extras(self) -> tuple[Denied, ...]:
        """Observed but not allowed, and not handled: what --fail-on-extra fails on."""
        return tuple(d for d in self.denied if d.counts_as_extra and not d.allowed_extra)

    @property
    def widenings(self) -> tuple[Added, ...]:
        return tuple(a for a in self.added if a.widening)


@dataclass(frozen=True)
class Result:
    profile: Profile
    findings: Findings


def _exists(name: str, arches: Iterable[str]) -> bool:
    return any(syscalls.number_of(a, name) is not None for a in arches)


def _comment(base: str, note: str) -> str:
    return f"{base}; {note}" if base else note


def _all_names(arches: Sequence[str]) -> set[str]:
    names: set[str] = set()
    for arch in arches:
        for nr in range(0, 1024):
            name = syscalls.name_of(arch, nr)
            if name:
                names.add(name)
    return names


class _Minimiser:
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
            self.out_action, self.out_errno = "SCMP_ACT_ERRNO", default_errno or ENOSYS
        else:
            self.out_action = base.default_action
            self.out_errno = default_errno if default_errno is not None else base.default_errno_ret
        if self.out_action != "SCMP_ACT_ERRNO" and default_errno is not None:
            raise SeccompGenError(f"--default-errno needs a baseline whose defaultAction is SCMP_ACT_ERRNO, "
                                  f"not {self.out_action}")

    @property
    def eff(self) -> tuple[str, int | None]:
        """The default the answers are computed against: the generated profile's, except that a
        permissive baseline's default still counts as allowing."""
        return (self.base_action, self.base_errno) if self.permissive else (self.out_action, self.out_errno)

    def decide(self, name: str) -> Verdict:
        return decide(self.rules, name, *self.eff)

    def answer_errno(self, v: Verdict) -> int | None:
        """The errno the generated profile answers a denied syscall with."""
        if v.action != "SCMP_ACT_ERRNO":
            return None
        if v.rule is None:
            return self.out_errno if self.out_errno is not None else DEFAULT_RULE_ERRNO
        return v.errno if v.errno is not None else DEFAULT_RULE_ERRNO

    def reason(self, name: str, v: Verdict) -> tuple[str, str]:
        gated = [r for r in self.skipped if name in r.names and r.allows]
        if gated:
            return "needs-cap", self.ctx.why_not(gated[0])
        errno = self.answer_errno(v)
        what = f"ERRNO {errno}" if errno is not None else v.action
        if v.rule is not None:
            comment = f" ({self.rules[v.rule].comment})" if self.rules[v.rule].comment else ""
            return "denied", f"denied outright: {what}{comment}"
        return "default", f"not allowed by the baseline (default action: {what})"


def minimise(
    rec: Recording,
    baseline: Baseline,
    ctx: Context,
    allow_extra: Sequence[str] = (),
    default_errno: int | None = None,
) -> Result:
    m = _Minimiser(baseline, ctx, default_errno)
    arches = ctx.arches
    hosts = ctx.hosts
    warnings: list[str] = []
    if not rec.complete:
        warnings.append("the recording is incomplete (" + "; ".join(rec.incomplete_reasons or ("interrupted",))
                        + "): the workload may need syscalls it did not get to make")
    if rec.exit_status not in (None, 0):
        warnings.append(f"the recorded workload exited with status {rec.exit_status}: check it ran its normal path")
    if m.permissive:
        warnings.append(f"the baseline's defaultAction is {m.base_action}: the profile denies by default "
                        f"(ERRNO {m.out_errno}) and allows what was observed")

    extra = set()
    for name in allow_extra:
        if not syscalls.is_known_name(name) or name.startswith("syscall_"):
            raise SeccompGenError(f"--allow-extra {name!r}: no architecture has a syscall of that name")
        if not _exists(name, arches):
            raise SeccompGenError(f"--allow-extra {name!r}: not a syscall on {', '.join(arches)}")
        extra.add(name)

    observed: dict[str, set[str]] = {}
    denied: list[Denied] = []
    for arch in arches:
        for name in rec.syscalls.get(arch, {}):
            observed.setdefault(name, set()).add(arch)

    # name -> why it is in the profile: observed | runtime | implied | fallback (see fallback_for) | libseccomp
    wanted: dict[str, str] = {}
    fallback_for: dict[str, str] = {}
    overrides: dict[str, str] = {}  # name -> comment of its own ALLOW rule (a widening)
    added: list[Added] = []

    for name in sorted(observed):
        where = tuple(sorted(observed[name]))
        if name.startswith("syscall_"):
            denied.append(Denied(name, where, "unnamed", "libseccomp has no name for this number, so no "
                                 "profile can allow it"))
            continue
        v = m.decide(name)
        if v.kind == "conditional" and m.permissive and not any(r.allows and name in r.names for r in m.rules):
            # "allowed except for some arguments" by a blocklist's default: an allowlist cannot say that
            # without inverting the comparisons, so fail closed and say so.
            wanted[name] = "observed"
            if name in extra:
                overrides[name] = "--allow-extra: allowed for every argument on purpose; the baseline denies it " \
                                  "for some"
                added.append(Added(name, "extra", "the baseline denies it for some arguments", True))
            denied.append(Denied(name, where, "argument", "the baseline allows it except for some argument values, "
                                 "which an allowlist cannot express: not allowed (use --allow-extra to allow it "
                                 "for every argument)", allowed_extra=name in extra))
            continue
        if v.allowed:
            wanted[name] = "observed"
            if v.kind == "conditional":
                for arch in where:
                    use = rec.syscalls[arch][name]
                    for index, values in sorted(use.args.items()):
                        for value in values:
                            av = decide_args(m.rules, name, {index: value}, *m.eff)
                            if not av.allowed:
                                why = m.rules[av.rule].comment if av.rule is not None else ""
                                denied.append(Denied(
                                    name, (arch,), "argument",
                                    f"argument rule: arg{index}={value:#x} is denied "
                                    f"(ERRNO {m.answer_errno(av)}){': ' + why if why else ''}",
                                    allowed_extra=name in extra))
            if name in extra:
                warnings.append(f"--allow-extra {name}: the baseline already allows it"
                                + (" (for some arguments; allowing all)" if v.kind == "conditional" else ""))
                if v.kind == "conditional":
                    overrides[name] = "--allow-extra: allowed for every argument on purpose; the baseline " \
                                      "allows it only for some"
                    added.append(Added(name, "extra", "the baseline allows it only for some arguments", True))
            continue
        kind, detail = m.reason(name, v)
        wanted[name] = "observed"  # its deny rules stay
        errno = m.answer_errno(v)
        fallback = tables.enosys_fallbacks().get(name)
        if errno == ENOSYS and fallback and name not in extra:
            usable = [fb for fb in fallback.fallbacks if _exists(fb, arches) and m.decide(fb).allowed]
            if usable:
                for fb in usable:
                    if fb not in wanted and fb not in observed:
                        wanted[fb] = "fallback"
                        fallback_for[fb] = name
                        added.append(Added(fb, "fallback", f"{name} answers ENOSYS: {fallback.why}", False))
                denied.append(Denied(name, where, "enosys-fallback",
                                     f"{detail}; the C library falls back to {', '.join(usable)}"))
                continue
        if name in extra:
            overrides[name] = f"--allow-extra: allowed on purpose; baseline: {detail}"
            added.append(Added(name, "extra", detail, True))
        denied.append(Denied(name, where, kind, detail, allowed_extra=name in extra))

    needs = tables.runtime_needs(ctx.runtime, ctx.no_new_privileges)
    for name in needs.names:
        if name in wanted or name in overrides or not _exists(name, hosts):
            continue
        v = m.decide(name)
        if v.allowed:
            wanted[name] = "runtime"
            added.append(Added(name, "runtime", f"{needs.runtime} ({needs.mode}): {needs.why}", False))
        else:
            _, detail = m.reason(name, v)
            overrides[name] = (f"{TAG}: required by {needs.runtime} ({needs.mode}) after the filter is loaded; "
                               f"baseline: {detail}")
            added.append(Added(name, "runtime", f"{needs.runtime} ({needs.mode}): {needs.why}; baseline: "
                               f"{detail}", True))

    for entry in tables.implied():
        name = entry.syscall
        if name in wanted or name in overrides or not _exists(name, arches):
            continue
        if entry.when_observed and not set(entry.when_observed) & set(observed):
            continue
        if m.decide(name).kind == "allow":  # never a widening: only what the baseline allows outright
            wanted[name] = "implied"
            added.append(Added(name, "implied", entry.why, False))

    for name in sorted(extra - set(observed)):
        v = m.decide(name)
        if v.allowed and v.kind == "allow":
            warnings.append(f"--allow-extra {name}: never observed; the baseline allows it, so it is allowed")
            wanted.setdefault(name, "observed")
            continue
        _, detail = m.reason(name, v)
        overrides[name] = f"--allow-extra: allowed on purpose although never observed; baseline: {detail}"
        added.append(Added(name, "extra", f"never observed; baseline: {detail}", True))

    # libseccomp multiplexes socket calls through socketcall on x86 (and s390, ppc): conditional
    # socket rules there fail to load (EEXIST) unless socketcall is allowed before them, as it is in
    # the baselines. Keep the baseline's socketcall rule then: the profile must load.
    if "socket" in wanted and any(syscalls.number_of(a, "socketcall") is not None for a in arches) \
            and "socketcall" not in wanted and "socketcall" not in overrides and m.decide("socketcall").allowed \
            and any("socket" in r.names and r.args for r in m.rules):
        wanted["socketcall"] = "libseccomp"
        added.append(Added("socketcall", "libseccomp", "the filter has an architecture that multiplexes socket "
                           "calls: libseccomp loads conditional socket rules there only after socketcall", False))

    rules: list[Rule] = []
    runtime_note = (f"{TAG}: required by {needs.runtime} ({needs.mode}) after the filter is loaded, "
                    "before the entrypoint runs")
    # A conditional rule for a name that also has an unconditional rule (without capability
    # conditions) is dead under libseccomp, and on x86 it can make the filter fail to load: drop it.
    plain = {n for r in m.rules if not r.args and not r.includes.caps and not r.excludes.caps for n in r.names}
    for rule in m.rules:
        keep = [n for n in rule.names if n in wanted and n not in overrides and not (rule.args and n in plain)]
        if not keep:
            continue
        if not rule.allows:
            rules.append(rule.with_names(keep))
            continue
        own = [n for n in keep if wanted[n] == "observed"]
        runtime = [n for n in keep if wanted[n] == "runtime"]
        implied = [n for n in keep if wanted[n] == "implied"]
        if own:
            rules.append(rule.with_names(own))
        if runtime:
            rules.append(rule.with_names(runtime, _comment(rule.comment, runtime_note)))
        if implied:
            note = f"{TAG}: made on the program's behalf (signal restart/return), whether or not a run shows it"
            rules.append(rule.with_names(implied, _comment(rule.comment, note)))
        if "socketcall" in keep and wanted["socketcall"] == "libseccomp":
            note = f"{TAG}: socketcall precedes the conditional socket rules, or libseccomp refuses them on x86"
            rules.append(rule.with_names(["socketcall"], _comment(rule.comment, note)))
        for target in sorted({fallback_for[n] for n in keep if wanted[n] == "fallback"}):
            names = [n for n in keep if wanted[n] == "fallback" and fallback_for[n] == target]
            note = f"{TAG}: ENOSYS fallback for {target}, which this profile answers with ENOSYS"
            rules.append(rule.with_names(names, _comment(rule.comment, note)))
    if m.permissive:
        by_default = [n for n, o in wanted.items() if n not in overrides and m.decide(n).rule is None]
        default_note = f"{TAG}: allowed by the baseline's defaultAction {m.base_action}"
        for origin, note in (("observed", default_note), ("runtime", _comment(default_note, runtime_note))):
            group = tuple(sorted(n for n in by_default if wanted[n] == origin))
            if group:
                rules.append(Rule(group, "SCMP_ACT_ALLOW", comment=note))
        for target in sorted({fallback_for[n] for n in by_default if wanted[n] == "fallback"}):
            group = tuple(sorted(n for n in by_default if wanted[n] == "fallback" and fallback_for[n] == target))
            rules.append(Rule(group, "SCMP_ACT_ALLOW", comment=_comment(
                default_note, f"{TAG}: ENOSYS fallback for {target}, which this profile answers with ENOSYS")))
    for comment in sorted(set(overrides.values())):
        extra_names = tuple(sorted(n for n, c in overrides.items() if c == comment))
        rules.append(Rule(extra_names, "SCMP_ACT_ALLOW", comment=comment))

    profile = Profile(
        default_action=m.out_action,
        default_errno_ret=m.out_errno if m.out_action == "SCMP_ACT_ERRNO" else None,
        arch_map=ctx.arch_map,
        rules=tuple(rules),
    )

    candidates = _all_names(arches) if m.permissive else {n for r in m.rules if r.allows for n in r.names}
    baseline_allowed = sorted(n for n in candidates if _exists(n, arches) and m.decide(n).allowed)
    out_rules = [r for r in profile.rules if ctx.applies(r)]
    allowed = sorted(
        n for n in profile.names()
        if _exists(n, arches) and decide(out_rules, n, profile.default_action, profile.default_errno_ret).allowed
    )
    try:
        enforce.check_loadable(profile, ctx)
    except SeccompGenError as exc:
        raise SeccompGenError(f"the generated profile would not load: {exc.message}") from None

    findings = Findings(
        baseline=baseline.name,
        provenance=baseline.provenance(),
        context=ctx,
        default_action=profile.default_action,
        default_errno=profile.default_errno_ret,
        baseline_allowed=tuple(baseline_allowed),
        allowed=tuple(allowed),
        removed=tuple(sorted(set(baseline_allowed) - set(allowed))),
        added=tuple(sorted(added, key=lambda a: (a.origin, a.name))),
        denied=tuple(sorted(denied, key=lambda d: (d.name, d.kind, d.detail, d.arches))),
        warnings=tuple(warnings),
    )
    return Result(profile, findings)
