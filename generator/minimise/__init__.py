"""The minimiser: baseline x recording x context -> a profile that is never looser than the baseline.

Semantics (docs/generator.md explains them for users):
1. Only the baseline rules that apply in the context are considered (view.py, context.py).
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
Everything is sorted, so the same inputs give the same profile byte for byte. decide.py takes the
decisions, build.py turns them into rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from seccomp_gen.generator import compile as compiler
from seccomp_gen.generator.baselines import Baseline
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.minimise.build import build_rules
from seccomp_gen.generator.minimise.decide import Decisions, Want, decide_all
from seccomp_gen.generator.minimise.findings import (
    Added,
    AddedOrigin,
    Denied,
    DeniedKind,
    Findings,
    Result,
    Unjudged,
)
from seccomp_gen.generator.minimise.learning import learning
from seccomp_gen.generator.minimise.view import BaselineView, all_names, exists
from seccomp_gen.generator.narrow import Narrowing, narrow
from seccomp_gen.generator.profile import Profile, Rule
from seccomp_gen.generator.tables import runtime_needs
from seccomp_gen.generator.verdict import decide
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.recording import Recording

__all__ = ["Added", "AddedOrigin", "Denied", "DeniedKind", "Findings", "Result", "Unjudged", "minimise"]


def _warnings(rec: Recording, view: BaselineView) -> list[str]:
    warnings: list[str] = []
    if not rec.complete:
        warnings.append("the recording is incomplete (" + "; ".join(rec.incomplete_reasons or ("interrupted",))
                        + "): the workload may need syscalls it did not get to make")
    if rec.exit_status not in (None, 0):
        warnings.append(f"the recorded workload exited with status {rec.exit_status}: check it ran its normal path")
    if view.permissive:
        warnings.append(f"the baseline's defaultAction is {view.base_action}: the profile denies by default "
                        f"(ERRNO {view.out_errno}) and allows what was observed")
    return warnings


def _extras(allow_extra: Sequence[str], arches: Sequence[str]) -> set[str]:
    """--allow-extra names, each a syscall on one of the profile's arches."""
    for name in allow_extra:
        if not syscalls.is_known_name(name) or name.startswith("syscall_"):
            raise SeccompGenError(f"--allow-extra {name!r}: no architecture has a syscall of that name")
        if not exists(name, arches):
            raise SeccompGenError(f"--allow-extra {name!r}: not a syscall on {', '.join(arches)}")
    return set(allow_extra)


def _widened_arches(baseline: Baseline, ctx: Context, allow_arches: Sequence[str]) -> tuple[str, ...]:
    """Architectures of the profile that the baseline's filter would not contain on the same host.

    A runtime loading the baseline puts the host's native arch and the baseline's archMap entry for
    it (or its `architectures`) into the filter; a call on any other arch meets the bad-arch action
    and is killed. Allowing such an arch widens the baseline: it is refused unless --allow-arch names
    it, and then reported."""
    widened = sorted({arch for entry in ctx.arch_map for arch in entry.sub_architectures
                      if arch not in baseline.profile.filter_arches(entry.architecture)})
    refused = [arch for arch in widened if arch not in allow_arches]
    if refused:
        raise SeccompGenError(
            f"the recordings made syscalls on {', '.join(refused)}, which the baseline {baseline.name} does not "
            "cover (a runtime loading it kills every call there): the profile would widen it; pass "
            + " ".join(f"--allow-arch {a}" for a in refused) + " to allow it, reported as a widening")
    return tuple(widened)


def _check_loads(profile: Profile, ctx: Context) -> None:
    try:
        compiler.check_loadable(profile, ctx)
    except SeccompGenError as exc:
        raise SeccompGenError(f"the generated profile would not load: {exc.message}") from None


def _narrowing(rules: tuple[Rule, ...], rec: Recording, ctx: Context, d: Decisions, base: Profile) -> Narrowing:
    """--narrow-args on the built rules. Names the runtime or the kernel also calls (runtime
    needs, implied calls, fallbacks, socketcall) stay wide: their arguments are not the workload's."""
    needs = set(runtime_needs(ctx.runtime, ctx.no_new_privileges).names)
    keep_wide = needs | {n for n, want in d.wanted.items() if want != Want.OBSERVED}

    def refusal(candidate: tuple[Rule, ...]) -> str | None:
        try:
            compiler.check_loadable(replace(base, rules=candidate), ctx)
        except SeccompGenError as exc:
            return exc.message
        return None

    return narrow(rules, rec, ctx, keep_wide, refusal)


def minimise(rec: Recording, baseline: Baseline, ctx: Context, allow_extra: Sequence[str] = (),
             default_errno: int | None = None, allow_arches: Sequence[str] = (), narrow_args: bool = False,
             on_miss: str = "deny") -> Result:
    if on_miss not in ("deny", "log"):
        raise SeccompGenError(f"--on-miss {on_miss!r}: expected deny or log")
    if on_miss == "log" and narrow_args:
        raise SeccompGenError("--on-miss log with --narrow-args: a learning profile logs what the recordings missed, "
                              "argument values included; narrow the enforcing profile made from lab + production")
    widened = _widened_arches(baseline, ctx, allow_arches)
    view = BaselineView(baseline, ctx, default_errno)
    warnings = _warnings(rec, view)
    warnings.extend(f"{arch} is allowed although the baseline {baseline.name} does not cover it (--allow-arch): "
                    "a widening" for arch in widened)
    decisions = decide_all(rec, view, _extras(allow_extra, ctx.arches), warnings)
    profile = Profile(
        default_action=view.out_action,
        default_errno_ret=view.out_errno if view.out_action == "SCMP_ACT_ERRNO" else None,
        arch_map=ctx.arch_map,
        rules=build_rules(view, decisions),
        # The baseline's filter flags and seccomp agent go with its rules: NOTIFY rules need the agent.
        flags=baseline.profile.flags,
        listener_path=baseline.profile.listener_path,
        listener_metadata=baseline.profile.listener_metadata,
    )
    if any(rule.action == "SCMP_ACT_NOTIFY" for rule in profile.rules) and not profile.listener_path:
        decisions.warnings.append("the profile keeps SCMP_ACT_NOTIFY rules of the baseline but names no "
                                  "listenerPath: the runtime must be given a seccomp agent or those calls fail")
    _check_loads(profile, ctx)
    narrowing = _narrowing(profile.rules, rec, ctx, decisions, profile)
    if narrow_args:
        profile = replace(profile, rules=narrowing.rules)
    if on_miss == "log":
        profile = learning(profile, view)
        _check_loads(profile, ctx)
        decisions.warnings.append("learning profile: calls the baseline allows but no recording saw are allowed and "
                                  "logged (SCMP_ACT_LOG), the baseline's denials stay denials (logged too: "
                                  "SECCOMP_FILTER_FLAG_LOG); deploy it to learn, then generate the enforcing profile "
                                  "from lab + production recordings")
    findings = Findings(
        baseline=baseline.name,
        provenance=baseline.provenance(),
        context=ctx,
        default_action=profile.default_action,
        default_errno=profile.default_errno_ret,
        baseline_allowed=_baseline_allowed(view),
        allowed=_allowed(profile, ctx),
        added=tuple(sorted(decisions.added, key=lambda a: (a.origin, a.name))),
        denied=tuple(sorted(decisions.denied, key=lambda d: (d.name, d.kind, d.detail, d.arches))),
        warnings=tuple(decisions.warnings),
        unjudged=tuple(sorted(decisions.unjudged, key=lambda u: (u.name, u.arch))),
        in_some_runs=rec.in_some_runs(),
        runs=rec.runs,
        widened_arches=widened,
        narrowed=narrowing.narrowed,
        not_narrowed=narrowing.not_narrowed,
        narrow_applied=narrow_args,
        learning=on_miss == "log",
    )
    return Result(profile, findings)


def _baseline_allowed(view: BaselineView) -> tuple[str, ...]:
    arches = view.ctx.arches
    candidates = all_names(arches) if view.permissive else {n for r in view.rules if r.allows for n in r.names}
    return tuple(sorted(n for n in candidates if exists(n, arches) and view.decide(n).allowed))


def _allowed(profile: Profile, ctx: Context) -> tuple[str, ...]:
    out_rules = [r for r in profile.rules if ctx.applies(r)]
    return tuple(sorted(
        n for n in profile.names()
        if exists(n, ctx.arches) and decide(out_rules, n, profile.default_action, profile.default_errno_ret).allowed
    ))
