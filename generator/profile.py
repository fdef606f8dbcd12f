"""The Profile: an ordered list of rules with conditions, in the Docker/OCI seccomp JSON format.

A profile is not a set of names: runtime/default profiles gate rules on capabilities, host
architecture and kernel version (`includes`/`excludes`), condition them on syscall arguments, and
overlap (the same name in an ALLOW rule and in an ERRNO rule). So every rule is kept as written,
in order, and the generator reasons about applicability separately (context.py, verdict.py).

Reading is strict because a profile is security policy: a misspelt key (`errnoret`) that Docker
would silently ignore is an error here, reported as `file:line: message`. Writing is stable: the
same Profile always dumps to the same bytes (sorted keys and names) so generated files diff cleanly.
"""

from __future__ import annotations

import errno as errno_mod
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from seccomp_gen.generator import tables
from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.jsonio import dumps_stable, line_of, loads_strict, read_text

ACTIONS = (
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
)
#: Actions under which a syscall runs.
PERMISSIVE_ACTIONS = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})
OPERATORS = (
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
)
FLAGS = (
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
)
_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_CAP = re.compile(r"^CAP_[A-Z0-9_]{1,40}$")
_KERNEL = re.compile(r"^\d{1,4}\.\d{1,4}$")
_GOARCH = re.compile(r"^[a-z0-9]{1,16}$")
_U64 = 2**64
_TOP_KEYS = frozenset(
    {"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap", "syscalls", "flags",
     "listenerPath", "listenerMetadata"}
)
_RULE_KEYS = frozenset({"names", "name", "action", "errnoRet", "errno", "args", "comment", "includes", "excludes"})
_ARG_KEYS = frozenset({"index", "value", "valueTwo", "op"})
_FILTER_KEYS = frozenset({"caps", "arches", "minKernel"})


def errno_number(name: str) -> int | None:
    """errno name (EPERM) -> number (1) from the C library's table, None when unknown."""
    value = getattr(errno_mod, name, None)
    return value if isinstance(value, int) and name.startswith("E") else None


def parse_errno(text: str) -> int:
    """`--default-errno`: a name (ENOSYS) or a number (38)."""
    if text.isdigit():
        value = int(text)
    else:
        found = errno_number(text.upper())
        if found is None:
            raise SeccompGenError(f"unknown errno {text!r} (use a name such as EPERM or ENOSYS, or a number)")
        value = found
    if not 0 < value < 4096:
        raise SeccompGenError(f"errno {text!r} is out of range (1-4095)")
    return value


@dataclass(frozen=True)
class Arg:
    """One argument comparison. For SCMP_CMP_MASKED_EQ, `value` is the mask and `value_two` the
    datum: (arg & value) == value_two, as libseccomp's SCMP_CMP(index, MASKED_EQ, mask, datum)."""

    index: int
    value: int
    op: str
    value_two: int = 0

    def matches(self, actual: int) -> bool:
        a, v = actual % _U64, self.value
        return {
            "SCMP_CMP_NE": a != v,
            "SCMP_CMP_LT": a < v,
            "SCMP_CMP_LE": a <= v,
            "SCMP_CMP_EQ": a == v,
            "SCMP_CMP_GE": a >= v,
            "SCMP_CMP_GT": a > v,
            "SCMP_CMP_MASKED_EQ": (a & v) == self.value_two,
        }[self.op]


@dataclass(frozen=True)
class Filter:
    """`includes` / `excludes`: capabilities, host architectures (Go names: amd64, arm64...), minKernel."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: str | None = None

    def __bool__(self) -> bool:
        return bool(self.caps or self.arches or self.min_kernel)


@dataclass(frozen=True)
class Rule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[Arg, ...] = ()
    comment: str = ""
    includes: Filter = field(default_factory=Filter)
    excludes: Filter = field(default_factory=Filter)

    @property
    def allows(self) -> bool:
        return self.action in PERMISSIVE_ACTIONS

    @property
    def conditional(self) -> bool:
        return bool(self.args)

    def args_split(self) -> bool:
        """True when two comparisons share an argument index. runc and crun then add each comparison
        as a rule of its own (OR), since libseccomp cannot AND two tests of one argument."""
        indices = [a.index for a in self.args]
        return len(indices) != len(set(indices))

    def matches_args(self, values: dict[int, int]) -> bool | None:
        """Do these argument values satisfy the rule's comparisons? None when it depends on an
        argument not in `values`."""
        results = [None if a.index not in values else a.matches(values[a.index]) for a in self.args]
        if not results:
            return True
        if self.args_split():
            if any(r is True for r in results):
                return True
            return None if any(r is None for r in results) else False
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True

    def with_names(self, names: Iterable[str], comment: str | None = None) -> Rule:
        return replace(self, names=tuple(sorted(set(names))), comment=self.comment if comment is None else comment)


@dataclass(frozen=True)
class ArchMapEntry:
    architecture: str
    sub_architectures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    default_action: str
    rules: tuple[Rule, ...]
    default_errno_ret: int | None = None
    arch_map: tuple[ArchMapEntry, ...] = ()
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    listener_path: str = ""
    listener_metadata: str = ""

    def names(self) -> set[str]:
        return {name for rule in self.rules for name in rule.names}

    def filter_arches(self, native: str) -> list[str]:
        """The arches a runtime on `native` puts in the filter (archMap entry, else `architectures`)."""
        for entry in self.arch_map:
            if entry.architecture == native:
                return [native, *entry.sub_architectures]
        return list(self.architectures)


# ---------------------------------------------------------------- writing


def _filter_json(f: Filter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.caps:
        out["caps"] = list(f.caps)
    if f.arches:
        out["arches"] = list(f.arches)
    if f.min_kernel:
        out["minKernel"] = f.min_kernel
    return out


def arg_to_json(arg: Arg) -> dict[str, Any]:
    """One argument comparison as Docker/OCI profiles and the runtime-spec both write it."""
    return {"index": arg.index, "value": arg.value, "valueTwo": arg.value_two, "op": arg.op}


def rule_to_json(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"names": sorted(rule.names), "action": rule.action}
    if rule.errno_ret is not None:
        out["errnoRet"] = rule.errno_ret
    if rule.args:
        out["args"] = [arg_to_json(a) for a in rule.args]
    if rule.comment:
        out["comment"] = rule.comment
    if rule.includes:
        out["includes"] = _filter_json(rule.includes)
    if rule.excludes:
        out["excludes"] = _filter_json(rule.excludes)
    return out


def to_json(profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {"defaultAction": profile.default_action}
    if profile.default_errno_ret is not None:
        out["defaultErrnoRet"] = profile.default_errno_ret
    if profile.arch_map:
        out["archMap"] = [
            {"architecture": e.architecture, "subArchitectures": list(e.sub_architectures)}
            for e in profile.arch_map
        ]
    if profile.architectures:
        out["architectures"] = list(profile.architectures)
    if profile.flags:
        out["flags"] = list(profile.flags)
    if profile.listener_path:
        out["listenerPath"] = profile.listener_path
    if profile.listener_metadata:
        out["listenerMetadata"] = profile.listener_metadata
    out["syscalls"] = [rule_to_json(r) for r in profile.rules]
    return out


def dumps(profile: Profile) -> str:
    """The profile as stable JSON text (sorted keys, sorted names, trailing newline)."""
    return dumps_stable(to_json(profile))


# ---------------------------------------------------------------- reading


def _element_lines(text: str, key: str) -> list[int]:
    """1-based start line of each element of the top-level array `key`, for error messages."""
    start = text.find(f'"{key}"')
    if start < 0:
        return []
    pos = text.find("[", start)
    if pos < 0:
        return []
    decoder = json.JSONDecoder()
    lines: list[int] = []
    pos += 1
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text) or text[pos] == "]":
                return lines
            lines.append(text.count("\n", 0, pos) + 1)
            _, pos = decoder.raw_decode(text, pos)
    except ValueError:
        return lines


class _Reader:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.rule_lines = _element_lines(text, "syscalls")
        self.where: int | None = None  # index of the rule being read

    def fail(self, message: str, needle: str | None = None) -> SeccompGenError:
        line: int | None = None
        if self.where is not None and self.where < len(self.rule_lines):
            line = self.rule_lines[self.where]
            if needle:
                nxt = self.rule_lines[self.where + 1] if self.where + 1 < len(self.rule_lines) else None
                lines = self.text.splitlines()[line - 1 : (nxt - 1) if nxt else None]
                offset = line_of("\n".join(lines), needle)
                line = line + offset - 1 if offset else line
        elif needle:
            line = line_of(self.text, needle)
        prefix = f"syscalls[{self.where}]: " if self.where is not None else ""
        return SeccompGenError(prefix + message, path=self.path, line=line)

    def keys(self, doc: dict[str, Any], allowed: frozenset[str], what: str) -> None:
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise self.fail(f"unknown key {unknown[0]!r} in {what} (known: {', '.join(sorted(allowed))})",
                            f'"{unknown[0]}"')

    def uint(self, value: Any, what: str, needle: str, upper: int = _U64) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < upper:
            raise self.fail(f"{what} must be an integer from 0 to {upper - 1}", needle)
        return value

    def strings(self, value: Any, what: str, needle: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{what} must be a list of strings", needle)
        if pattern is not None:
            for v in value:
                if not pattern.match(v):
                    raise self.fail(f"{what}: invalid entry {v!r}", f'"{v}"' if len(v) < 80 else needle)
        return tuple(value)

    def arch(self, value: Any, needle: str) -> str:
        if not isinstance(value, str) or not (syscalls.is_known_arch(value) or tables.host_names(value)):
            raise self.fail(f"unknown architecture {value!r} (expected a libseccomp name such as SCMP_ARCH_X86_64)",
                            f'"{value}"' if isinstance(value, str) else needle)
        return value

    def errno_pair(self, doc: dict[str, Any], num_key: str, name_key: str) -> int | None:
        number = doc.get(num_key)
        name = doc.get(name_key)
        if number is not None:
            number = self.uint(number, num_key, f'"{num_key}"', upper=4096)
        if name is not None:
            if not isinstance(name, str) or errno_number(name) is None:
                raise self.fail(f"{name_key}: unknown errno name {name!r}", f'"{name_key}"')
            by_name = errno_number(name)
            if number is not None and number != by_name:
                raise self.fail(f"{num_key} {number} contradicts {name_key} {name} ({by_name})", f'"{num_key}"')
            number = by_name
        return number

    def filter(self, value: Any, what: str) -> Filter:
        if value is None:
            return Filter()
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be an object", f'"{what}"')
        self.keys(value, _FILTER_KEYS, what)
        kernel = value.get("minKernel")
        if kernel is not None and (not isinstance(kernel, str) or not _KERNEL.match(kernel)):
            raise self.fail(f"{what}.minKernel must be a version such as \"4.8\"", '"minKernel"')
        return Filter(
            caps=self.strings(value.get("caps"), f"{what}.caps", '"caps"', _CAP),
            arches=self.strings(value.get("arches"), f"{what}.arches", '"arches"', _GOARCH),
            min_kernel=kernel or None,
        )

    def arg(self, value: Any) -> Arg:
        if not isinstance(value, dict):
            raise self.fail("args[] must be objects", '"args"')
        self.keys(value, _ARG_KEYS, "args[]")
        op = value.get("op")
        if op not in OPERATORS:
            raise self.fail(f"args[].op {op!r} is not one of {', '.join(OPERATORS)}", '"op"')
        return Arg(
            index=self.uint(value.get("index"), "args[].index", '"index"', upper=6),
            value=self.uint(value.get("value", 0), "args[].value", '"value"'),
            value_two=self.uint(value.get("valueTwo", 0), "args[].valueTwo", '"valueTwo"'),
            op=op,
        )

    def rule(self, value: Any) -> Rule:
        if not isinstance(value, dict):
            raise self.fail("each entry of syscalls must be an object")
        self.keys(value, _RULE_KEYS, "a syscalls entry")
        names = list(self.strings(value.get("names"), "names", '"names"', _NAME))
        if "name" in value:
            if not isinstance(value["name"], str) or not _NAME.match(value["name"]):
                raise self.fail(f"name {value['name']!r} is not a syscall name", '"name"')
            names.append(value["name"])
        if not names:
            raise self.fail("a syscalls entry must name at least one syscall", '"names"')
        action = value.get("action")
        if action not in ACTIONS:
            raise self.fail(f"action {action!r} is not one of {', '.join(ACTIONS)}", '"action"')
        args = value.get("args") or []
        if not isinstance(args, list) or len(args) > 64:
            raise self.fail("args must be a list of comparisons", '"args"')
        comment = value.get("comment", "")
        if not isinstance(comment, str):
            raise self.fail("comment must be a string", '"comment"')
        errno_ret = self.errno_pair(value, "errnoRet", "errno")
        if errno_ret is not None and action not in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
            raise self.fail(f"errnoRet given for action {action}, which returns no errno", '"errnoRet"')
        parsed = tuple(self.arg(a) for a in args)
        indices = [a.index for a in parsed]
        if len(parsed) > 6 and len(set(indices)) == len(indices):
            raise self.fail("more than 6 argument comparisons", '"args"')
        return Rule(
            names=tuple(sorted(set(names))),
            action=action,
            errno_ret=errno_ret,
            args=parsed,
            comment=comment,
            includes=self.filter(value.get("includes"), "includes"),
            excludes=self.filter(value.get("excludes"), "excludes"),
        )

    def profile(self, doc: Any) -> Profile:
        if not isinstance(doc, dict):
            raise self.fail("not a seccomp profile: expected a JSON object with defaultAction and syscalls")
        if "defaultAction" not in doc:
            raise self.fail("not a seccomp profile: no defaultAction")
        self.keys(doc, _TOP_KEYS, "the profile")
        action = doc["defaultAction"]
        if action not in ACTIONS:
            raise self.fail(f"defaultAction {action!r} is not one of {', '.join(ACTIONS)}", '"defaultAction"')
        arch_map = []
        raw_map = doc.get("archMap") or []
        if not isinstance(raw_map, list):
            raise self.fail("archMap must be a list", '"archMap"')
        for entry in raw_map:
            if not isinstance(entry, dict):
                raise self.fail("archMap entries must be objects", '"archMap"')
            self.keys(entry, frozenset({"architecture", "subArchitectures"}), "an archMap entry")
            subs = entry.get("subArchitectures") or []
            if not isinstance(subs, list):
                raise self.fail("subArchitectures must be a list", '"subArchitectures"')
            arch_map.append(ArchMapEntry(self.arch(entry.get("architecture"), '"architecture"'),
                                         tuple(self.arch(s, '"subArchitectures"') for s in subs)))
        arches = doc.get("architectures") or []
        if not isinstance(arches, list):
            raise self.fail("architectures must be a list", '"architectures"')
        flags = self.strings(doc.get("flags"), "flags", '"flags"')
        for flag in flags:
            if flag not in FLAGS:
                raise self.fail(f"unknown flag {flag!r}", f'"{flag}"')
        raw_rules = doc.get("syscalls") or []
        if not isinstance(raw_rules, list):
            raise self.fail("syscalls must be a list", '"syscalls"')
        rules = []
        for index, raw in enumerate(raw_rules):
            self.where = index
            rules.append(self.rule(raw))
        self.where = None
        listener = doc.get("listenerPath", "")
        metadata = doc.get("listenerMetadata", "")
        if not isinstance(listener, str) or not isinstance(metadata, str):
            raise self.fail("listenerPath and listenerMetadata must be strings", '"listener')
        return Profile(
            default_action=action,
            default_errno_ret=self.errno_pair(doc, "defaultErrnoRet", "defaultErrno"),
            arch_map=tuple(arch_map),
            architectures=tuple(self.arch(a, '"architectures"') for a in arches),
            flags=flags,
            rules=tuple(rules),
            listener_path=listener,
            listener_metadata=metadata,
        )


def from_json(doc: Any, path: str = "<profile>", text: str = "") -> Profile:
    return _Reader(text, path).profile(doc)


def loads(text: str, path: str = "<string>") -> Profile:
    return _Reader(text, path).profile(loads_strict(text, path))


def load(path: str | Path) -> Profile:
    """Read and validate a Docker/OCI seccomp profile; problems are SeccompGenError with file:line."""
    return loads(read_text(path), str(path))
