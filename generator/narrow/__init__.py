"""Argument-level narrowing (`generate --narrow-args`): allow rules for syscalls in
data/narrowable.json hold only the argument values the recording proves the workload uses.

It runs on the built rules, after minimising: each allow rule that names a narrowable syscall loses
that name, and rules of its own for the recorded values take its place (rules.py), so the result is
never looser than the profile without narrowing, and so never looser than the baseline. A syscall
stays as it was - and is listed with the reason - when the recording cannot prove its values
(values.py), when the OCI runtime or the kernel also calls it (with arguments no recording sees),
when the profile covers architectures that take the argument elsewhere, or when libseccomp refuses
the narrowed rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from seccomp_gen.generator import tables
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.narrow.interface import Narrowed, NarrowedArg, NotNarrowed
from seccomp_gen.generator.narrow.rules import CannotNarrow, narrowed_rules
from seccomp_gen.generator.narrow.values import NoValues, per_arg
from seccomp_gen.generator.profile import Rule
from seccomp_gen.generator.tables import NarrowArg
from seccomp_gen.recorder.recording import Recording

__all__ = ["Narrowed", "NarrowedArg", "Narrowing", "NotNarrowed", "narrow"]

#: Architectures whose kernels take clone's flags in argument 1 (data/narrowable.json says so).
_CLONE_SWAPPED = frozenset({"SCMP_ARCH_S390", "SCMP_ARCH_S390X"})
_KEPT_WIDE = "the OCI runtime or the kernel calls it too, with arguments no recording sees"


@dataclass(frozen=True)
class Narrowing:
    rules: tuple[Rule, ...]
    narrowed: tuple[Narrowed, ...]
    not_narrowed: tuple[NotNarrowed, ...]


def _candidates(rules: Sequence[Rule], rec: Recording, ctx: Context, keep_wide: set[str]
                ) -> tuple[dict[str, Mapping[NarrowArg, tuple[int, ...]]], dict[str, str]]:
    """name -> the values to allow, for each narrowable name of an allow rule; name -> why not."""
    table, limits = tables.narrowable()
    allowed = {n for r in rules if r.allows for n in r.names}
    reasons = {n: why for n, why in tables.unnarrowable().items() if n in allowed}
    values: dict[str, Mapping[NarrowArg, tuple[int, ...]]] = {}
    for name in sorted(allowed & set(table)):
        if name in keep_wide:
            reasons[name] = _KEPT_WIDE
        elif name == "clone" and _CLONE_SWAPPED & set(ctx.arches):
            reasons[name] = "the profile covers s390/s390x, whose kernels take clone's flags in argument 1"
        else:
            try:
                values[name] = per_arg(rec, ctx.arches, name, table[name].args, limits)
            except NoValues as exc:
                reasons[name] = str(exc)
    return values, reasons


#: name -> index of an allow rule naming it -> the rules that replace the name there.
Replacements = Mapping[str, Mapping[int, list[Rule]]]


def _replacements(rules: Sequence[Rule], values: Mapping[str, Mapping[NarrowArg, tuple[int, ...]]],
                  reasons: dict[str, str]) -> dict[str, dict[int, list[Rule]]]:
    """Each name's narrowed rules, made once; a name one of whose rules cannot be narrowed (its own
    comparisons) goes to `reasons` instead."""
    found: dict[str, dict[int, list[Rule]]] = {}
    for name, vals in values.items():
        try:
            found[name] = {i: narrowed_rules(rule, name, vals) for i, rule in enumerate(rules)
                           if rule.allows and name in rule.names}
        except CannotNarrow as exc:
            reasons[name] = str(exc)
    return found


def _apply(rules: Sequence[Rule], replacements: Replacements) -> list[Rule]:
    """The rules with each name of `replacements` replaced by its narrowed rules, in place."""
    out: list[Rule] = []
    for i, rule in enumerate(rules):
        mine = [n for n in rule.names if i in replacements.get(n, {})]
        if not mine:
            out.append(rule)
            continue
        rest = [n for n in rule.names if n not in mine]
        if rest:
            out.append(rule.with_names(rest))
        for name in mine:
            out.extend(replacements[name][i])
    return out


def narrow(rules: Sequence[Rule], rec: Recording, ctx: Context, keep_wide: set[str],
           refusal: Callable[[tuple[Rule, ...]], str | None]) -> Narrowing:
    """Narrow `rules` (see the module docstring); `refusal` says why libseccomp would not load a rule
    set (None: it loads), so a name whose narrowed rules it refuses stays as it was."""
    values, reasons = _candidates(rules, rec, ctx, keep_wide)
    chosen = _replacements(rules, values, reasons)
    out = _apply(rules, chosen)
    why = refusal(tuple(out)) if chosen else None
    if why is not None:
        # find the names whose narrowed rules libseccomp refuses, one at a time
        for name in sorted(chosen):
            alone = refusal(tuple(_apply(rules, {name: chosen[name]})))
            if alone is not None:
                reasons[name] = f"libseccomp refuses the narrowed rules: {alone}"
        chosen = {n: r for n, r in chosen.items() if n not in reasons}
        out = _apply(rules, chosen)
        if chosen and (why := refusal(tuple(out))) is not None:
            reasons.update({n: f"libseccomp refuses the narrowed rules together: {why}" for n in chosen})
            chosen = {}
            out = _apply(rules, chosen)
    narrowed = tuple(Narrowed(name, tuple(NarrowedArg(a.index, a.what, a.mask, a.names, v)
                                          for a, v in values[name].items()),
                              sum(len(r) for r in chosen[name].values())) for name in sorted(chosen))
    return Narrowing(tuple(out), narrowed, tuple(NotNarrowed(n, r) for n, r in sorted(reasons.items())))
