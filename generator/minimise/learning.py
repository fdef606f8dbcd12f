"""The learning profile (`generate --on-miss log`): what the recordings saw is allowed exactly as the
enforcing profile allows it; what the baseline allows but no recording saw is allowed *and logged*
(SCMP_ACT_LOG), so replicas in production report only what the lab run missed; what the baseline
denies stays denied.

Why not simply defaultAction SCMP_ACT_LOG: a baseline allows many calls only for some argument
values (moby's socket families, personality values, clone without namespace flags) and leaves the
rest to its default deny. Under a LOG default those values would run - looser than runtime/default -
and libseccomp cannot deny their complement with an unconditional rule (an unconditional rule for a
syscall overrides its conditional ones). So the default stays the baseline's denial, and each of the
baseline's rules for the names not in the profile is copied with its conditions intact, allow actions
turned into LOG. Where the runtime takes filter flags (crun; runc only from 1.2, see
data/loaders.json), SECCOMP_FILTER_FLAG_LOG is set, so the kernel logs the denials too (with
kernel.seccomp.actions_logged's default, which includes errno): production then also shows what the
workload tried that no profile from this baseline can allow.
"""

from __future__ import annotations

from dataclasses import replace

from seccomp_gen.generator.minimise.decide import TAG
from seccomp_gen.generator.minimise.view import BaselineView, all_names
from seccomp_gen.generator.profile import Profile, Rule
from seccomp_gen.generator.tables import takes_seccomp_flags

LOG = "SCMP_ACT_LOG"
FLAG_LOG = "SECCOMP_FILTER_FLAG_LOG"
_NOTE = f"{TAG}: learning profile: the baseline allows it, no recording saw it: allowed and logged"


def _copied(view: BaselineView, known: set[str]) -> list[Rule]:
    """The baseline's applicable rules for the names not in the profile, allows as LOG; the dead
    conditional rules of plain names are left out, as build.py leaves them (view.plain_names)."""
    plain = view.plain_names
    rules: list[Rule] = []
    for rule in view.rules:
        names = [n for n in rule.names if n not in known and not (rule.args and n in plain)]
        if not names:
            continue
        if rule.allows:
            comment = f"{rule.comment}; {_NOTE}" if rule.comment else _NOTE
            rules.append(replace(rule.with_names(names, comment), action=LOG, errno_ret=None))
        else:
            rules.append(rule.with_names(names))
    return rules


def learning(profile: Profile, view: BaselineView) -> Profile:
    """The learning form of an enforcing `profile` made from `view`'s baseline."""
    known = profile.names()
    rules = _copied(view, known)
    if view.permissive:  # what a blocklist baseline allows by its default action
        ruled = {n for r in view.rules for n in r.names}
        by_default = sorted(all_names(view.ctx.arches) - known - ruled)
        if by_default:
            rules.append(Rule(tuple(by_default), LOG, comment=f"{_NOTE} (by the baseline's defaultAction)"))
    flags = profile.flags
    if FLAG_LOG not in flags and takes_seccomp_flags(view.ctx.runtime):
        flags = (*flags, FLAG_LOG)
    return replace(profile, rules=(*profile.rules, *rules), flags=flags)
