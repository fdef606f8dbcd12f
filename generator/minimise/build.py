"""The rule-building pass: the decisions (decide.py) as an ordered list of rules.

Each applicable baseline rule is kept, in order, restricted to the names decided for it, with its
args, action, errnoRet, comment and includes/excludes intact; added names go into copies of their
baseline rule whose comment says why. A blocklist baseline's default-allowed names get ALLOW rules
of their own; last come the widenings (--allow-extra, runtime needs the baseline denies), one rule
per reason.
"""

from __future__ import annotations

from seccomp_gen.generator.minimise.decide import TAG, Decisions, Want
from seccomp_gen.generator.minimise.view import BaselineView
from seccomp_gen.generator.profile import Rule
from seccomp_gen.generator.tables import runtime_needs

_IMPLIED_NOTE = (f"{TAG}: made on the program's behalf (signal restart/return, thread waits), whether or not a run "
                 "shows it")
_SOCKETCALL_NOTE = f"{TAG}: socketcall precedes the conditional socket rules, or libseccomp refuses them on x86"


def _comment(base: str, note: str) -> str:
    return f"{base}; {note}" if base else note


def _fallback_note(target: str) -> str:
    return f"{TAG}: ENOSYS fallback for {target}, which this profile answers with ENOSYS"


def build_rules(view: BaselineView, d: Decisions) -> tuple[Rule, ...]:
    needs = runtime_needs(view.ctx.runtime, view.ctx.no_new_privileges)
    runtime_note = (f"{TAG}: required by {needs.runtime} ({needs.mode}) after the filter is loaded, "
                    "before the entrypoint runs")
    rules = _from_baseline(view, d, runtime_note)
    if view.permissive:
        rules.extend(_by_default(view, d, runtime_note))
    for comment in sorted(set(d.overrides.values())):
        extra_names = tuple(sorted(n for n, c in d.overrides.items() if c == comment))
        rules.append(Rule(extra_names, "SCMP_ACT_ALLOW", comment=comment))
    return tuple(rules)


def _from_baseline(view: BaselineView, d: Decisions, runtime_note: str) -> list[Rule]:
    plain = view.plain_names  # their conditional rules are dead: left out
    rules: list[Rule] = []
    for rule in view.rules:
        keep = [n for n in rule.names if n in d.wanted and n not in d.overrides and not (rule.args and n in plain)]
        if keep and not rule.allows:
            rules.append(rule.with_names(keep))
        elif keep:
            rules.extend(_split_allow(rule, keep, d, runtime_note))
    return rules


def _split_allow(rule: Rule, keep: list[str], d: Decisions, runtime_note: str) -> list[Rule]:
    """One allow rule of the baseline, as copies per reason its kept names are in the profile."""
    out: list[Rule] = []
    for want, note in ((Want.OBSERVED, None), (Want.RUNTIME, runtime_note), (Want.IMPLIED, _IMPLIED_NOTE),
                       (Want.LIBSECCOMP, _SOCKETCALL_NOTE)):
        names = [n for n in keep if d.wanted[n] == want]
        if names:
            out.append(rule.with_names(names, None if note is None else _comment(rule.comment, note)))
    for target in sorted({d.fallback_for[n] for n in keep if d.wanted[n] == Want.FALLBACK}):
        names = [n for n in keep if d.wanted[n] == Want.FALLBACK and d.fallback_for[n] == target]
        out.append(rule.with_names(names, _comment(rule.comment, _fallback_note(target))))
    return out


def _by_default(view: BaselineView, d: Decisions, runtime_note: str) -> list[Rule]:
    """What a blocklist baseline allows by its default action, as ALLOW rules of the allowlist."""
    by_default = [n for n in d.wanted if n not in d.overrides and view.decide(n).rule is None]
    default_note = f"{TAG}: allowed by the baseline's defaultAction {view.base_action}"
    rules: list[Rule] = []
    for want, note in ((Want.OBSERVED, default_note), (Want.RUNTIME, _comment(default_note, runtime_note))):
        group = tuple(sorted(n for n in by_default if d.wanted[n] == want))
        if group:
            rules.append(Rule(group, "SCMP_ACT_ALLOW", comment=note))
    for target in sorted({d.fallback_for[n] for n in by_default if d.wanted[n] == Want.FALLBACK}):
        group = tuple(sorted(n for n in by_default if d.wanted[n] == Want.FALLBACK and d.fallback_for[n] == target))
        rules.append(Rule(group, "SCMP_ACT_ALLOW", comment=_comment(default_note, _fallback_note(target))))
    return rules
