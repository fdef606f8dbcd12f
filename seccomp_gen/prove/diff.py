"""`diff OLD NEW` for two profiles or two recordings: what changed, in terms a reviewer checks.

Profiles are compared rule by rule per syscall name - action, errno, argument conditions and
includes/excludes - not as sets of names, since `clone` allowed with and without a flag mask are
different policies. Recordings are compared by the names seen per architecture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from seccomp_gen.generator.profile import Profile, Rule
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.jsonio import loads_strict, read_text
from seccomp_gen.recorder.recording import Recording


@dataclass(frozen=True)
class Change:
    """One difference: `kind` is added, removed or changed; `subject` names what (arch/name)."""

    kind: str
    subject: str
    old: str = ""
    new: str = ""


def _rule_terms(rule: Rule) -> str:
    parts = [rule.action + (f"({rule.errno_ret})" if rule.errno_ret is not None else "")]
    if rule.args:
        parts.append("args " + " && ".join(
            f"arg{a.index} {a.op.removeprefix('SCMP_CMP_')} {a.value:#x}" + (f"/{a.value_two:#x}"
                                                                            if a.op == "SCMP_CMP_MASKED_EQ" else "")
            for a in rule.args))
    for label, flt in (("includes", rule.includes), ("excludes", rule.excludes)):
        if flt:
            bits = [*flt.caps, *flt.arches] + ([f"minKernel {flt.min_kernel}"] if flt.min_kernel else [])
            parts.append(f"{label} {','.join(bits)}")
    return "; ".join(parts)


def _per_name(profile: Profile) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for rule in profile.rules:
        for name in rule.names:
            table.setdefault(name, []).append(_rule_terms(rule))
    return table


def diff_profiles(old: Profile, new: Profile) -> list[Change]:
    changes: list[Change] = []
    for what, a, b in (
        ("defaultAction", old.default_action, new.default_action),
        ("defaultErrnoRet", str(old.default_errno_ret), str(new.default_errno_ret)),
        ("archMap", _arches(old), _arches(new)),
    ):
        if a != b:
            changes.append(Change("changed", what, a, b))
    before, after = _per_name(old), _per_name(new)
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(Change("removed", name, " | ".join(before[name])))
        elif name not in before:
            changes.append(Change("added", name, "", " | ".join(after[name])))
        elif before[name] != after[name]:
            changes.append(Change("changed", name, " | ".join(before[name]), " | ".join(after[name])))
    return changes


def _arches(profile: Profile) -> str:
    return ", ".join(f"{e.architecture}[{' '.join(e.sub_architectures)}]" for e in profile.arch_map) or \
        ", ".join(profile.architectures)


def diff_recordings(old: Recording, new: Recording) -> list[Change]:
    changes: list[Change] = []
    for arch in sorted(set(old.syscalls) | set(new.syscalls)):
        a, b = old.syscalls.get(arch, {}), new.syscalls.get(arch, {})
        for name in sorted(set(a) | set(b)):
            subject = f"{arch}/{name}"
            if name not in b:
                changes.append(Change("removed", subject, f"{a[name].count} calls"))
            elif name not in a:
                use = b[name]
                changes.append(Change("added", subject, "", f"{use.count} calls, first by {use.first.exe} "
                                                            f"(pid {use.first.pid})"))
            elif a[name].args != b[name].args:
                changes.append(Change("changed", subject, _args(a[name].args.items()), _args(b[name].args.items())))
    return changes


def _args(items: Iterable[tuple[int, tuple[int, ...]]]) -> str:
    return " ".join(f"arg{i}={','.join(hex(v) for v in vals)}" for i, vals in items)


def to_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [{"kind": c.kind, "subject": c.subject, "old": c.old, "new": c.new} for c in changes]


def kind_of(path: str) -> str:
    """"recording" or "profile": what a file given to `diff` holds."""
    doc = loads_strict(read_text(path), path)
    if isinstance(doc, dict) and "schema_version" in doc:
        return "recording"
    if isinstance(doc, dict) and "defaultAction" in doc:
        return "profile"
    raise SeccompGenError("neither a seccomp-gen recording nor a seccomp profile", path=path)
