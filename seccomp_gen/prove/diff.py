"""`diff OLD NEW` for two profiles or two recordings: what changed, in terms a reviewer checks.

Profiles are compared field by field - every field of the Profile value type (defaultAction,
defaultErrnoRet, architectures, archMap, flags, listenerPath, listenerMetadata), found with
dataclasses.fields so a field added to the format is compared without a change here - and rule by
rule per syscall name - action, errno, argument conditions, comment, includes/excludes, again every
field of Rule - not as sets of names, since `clone` allowed with and without a flag mask are
different policies. Recordings are compared by the names seen per architecture.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import MISSING, Field, dataclass, fields, is_dataclass
from typing import Any

from seccomp_gen.generator.profile import Arg, Profile, Rule
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


def json_name(field_name: str) -> str:
    """A value type's field as the profile format spells it: default_errno_ret -> defaultErrnoRet."""
    head, *rest = field_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _show(value: object) -> str:
    """Any profile value as text, generically: a dataclass as its non-default fields, so a field
    added to a value type is compared and shown without a change here."""
    if value is None:
        return "(none)"
    if isinstance(value, Arg):
        return _show_arg(value)
    if is_dataclass(value) and not isinstance(value, type):
        shown = [(f.name, getattr(value, f.name)) for f in fields(value)]
        defaults = {f.name: _default(f) for f in fields(value)}
        return "; ".join(f"{json_name(name)} {_show(v)}" for name, v in shown if v != defaults[name])
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value) if not value or value != value.strip() or " " in value else value
    return str(value)


def _default(f: Field[Any]) -> object:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return _NO_DEFAULT


_NO_DEFAULT = object()


def _show_arg(arg: Arg) -> str:
    """arg0 MASKED_EQ 0x10/0x0: the comparison as a reviewer reads it, every field of Arg included."""
    text = f"arg{arg.index} {arg.op.removeprefix('SCMP_CMP_')} {arg.value:#x}"
    if arg.op == "SCMP_CMP_MASKED_EQ" or arg.value_two:
        text += f"/{arg.value_two:#x}"
    others = [f for f in fields(Arg) if f.name not in ("index", "op", "value", "value_two")]
    return " ".join([text, *(f"{json_name(f.name)} {_show(getattr(arg, f.name))}" for f in others)])


def _rule_terms(rule: Rule) -> str:
    """Every field of a rule but its names (the key it is listed under), action and errno first."""
    parts = [rule.action + (f"({rule.errno_ret})" if rule.errno_ret is not None else "")]
    for f in fields(Rule):
        value = getattr(rule, f.name)
        if f.name in ("names", "action", "errno_ret") or value == _default(f):
            continue
        parts.append(f"{json_name(f.name)} " + (" && ".join(map(_show_arg, rule.args)) if f.name == "args"
                                                 else _show(value)))
    return "; ".join(parts)


def _per_name(profile: Profile) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for rule in profile.rules:
        for name in rule.names:
            table.setdefault(name, []).append(_rule_terms(rule))
    return table


def diff_profiles(old: Profile, new: Profile) -> list[Change]:
    """Every field of the two profiles (dataclasses.fields of Profile: defaultAction, flags,
    listenerPath, ...), then the rules per syscall name."""
    changes: list[Change] = []
    for f in fields(Profile):
        if f.name == "rules":
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a != b:
            changes.append(Change("changed", json_name(f.name), _show(a), _show(b)))
    before, after = _per_name(old), _per_name(new)
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(Change("removed", name, " | ".join(before[name])))
        elif name not in before:
            changes.append(Change("added", name, "", " | ".join(after[name])))
        elif before[name] != after[name]:
            changes.append(Change("changed", name, " | ".join(before[name]), " | ".join(after[name])))
    return changes


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
