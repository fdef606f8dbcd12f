"""The strict reader of Docker/OCI seccomp profiles: a misspelt key (`errnoret`) that Docker would
silently ignore is an error here, reported as `file:line: message`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from seccomp_gen.generator import tables
from seccomp_gen.generator.profile.values import (
    ACTIONS,
    FLAGS,
    OPERATORS,
    ArchMapEntry,
    Arg,
    Filter,
    Profile,
    Rule,
    errno_number,
)
from seccomp_gen.ground import kernel, syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.jsonio import line_of, loads_strict, read_text
from seccomp_gen.ground.reader import StrictReader

_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_CAP = re.compile(r"^CAP_[A-Z0-9_]{1,40}$")
_KERNEL = re.compile(r"^\d{1,4}\.\d{1,4}$")
_GOARCH = re.compile(r"^[a-z0-9]{1,16}$")
_TOP_KEYS = frozenset(
    {"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap", "syscalls", "flags",
     "listenerPath", "listenerMetadata"}
)
_RULE_KEYS = frozenset({"names", "name", "action", "errnoRet", "errno", "args", "comment", "includes", "excludes"})
_ARG_KEYS = frozenset({"index", "value", "valueTwo", "op"})
_FILTER_KEYS = frozenset({"caps", "arches", "minKernel"})


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


class _Reader(StrictReader):
    """The profile's fields; an error inside `syscalls` names the rule and the line within it."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text, path)
        self.rule_lines = _element_lines(text, "syscalls")
        self.where: int | None = None  # index of the rule being read

    def line_for(self, needle: str | None) -> int | None:
        if self.where is None or self.where >= len(self.rule_lines):
            return super().line_for(needle)
        line = self.rule_lines[self.where]
        if needle:
            nxt = self.rule_lines[self.where + 1] if self.where + 1 < len(self.rule_lines) else None
            lines = self.text.splitlines()[line - 1 : (nxt - 1) if nxt else None]
            offset = line_of("\n".join(lines), needle)
            line = line + offset - 1 if offset else line
        return line

    def fail(self, message: str, needle: str | None = None) -> SeccompGenError:
        prefix = f"syscalls[{self.where}]: " if self.where is not None else ""
        return super().fail(prefix + message, needle)

    def strings(self, value: Any, what: str, needle: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        """An optional list of strings (absent: empty)."""
        return () if value is None else self.strs(value, what, needle, pattern)

    def list_(self, value: Any, what: str) -> list[Any]:
        """An optional list (absent or null: empty)."""
        value = value or []
        if not isinstance(value, list):
            raise self.fail(f"{what} must be a list", f'"{what}"')
        return value

    def arch(self, value: Any, needle: str) -> str:
        if not isinstance(value, str) or not (syscalls.is_known_arch(value) or tables.host_names(value)):
            raise self.fail(f"unknown architecture {value!r} (expected a libseccomp name such as SCMP_ARCH_X86_64)",
                            f'"{value}"' if isinstance(value, str) else needle)
        return value

    def action(self, value: Any, what: str) -> str:
        if value not in ACTIONS:
            raise self.fail(f"{what} {value!r} is not one of {', '.join(ACTIONS)}", f'"{what}"')
        return str(value)

    def errno_pair(self, doc: dict[str, Any], num_key: str, name_key: str) -> int | None:
        number = doc.get(num_key)
        name = doc.get(name_key)
        if number is not None:
            number = self.uint(number, num_key, f'"{num_key}"', upper=kernel.ERRNO_LIMIT)
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
        kernel_version = value.get("minKernel")
        if kernel_version is not None and (not isinstance(kernel_version, str) or not _KERNEL.match(kernel_version)):
            raise self.fail(f"{what}.minKernel must be a version such as \"4.8\"", '"minKernel"')
        return Filter(
            caps=self.strings(value.get("caps"), f"{what}.caps", '"caps"', _CAP),
            arches=self.strings(value.get("arches"), f"{what}.arches", '"arches"', _GOARCH),
            min_kernel=kernel_version or None,
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

    def names(self, value: dict[str, Any]) -> tuple[str, ...]:
        names = list(self.strings(value.get("names"), "names", '"names"', _NAME))
        if "name" in value:
            if not isinstance(value["name"], str) or not _NAME.match(value["name"]):
                raise self.fail(f"name {value['name']!r} is not a syscall name", '"name"')
            names.append(value["name"])
        if not names:
            raise self.fail("a syscalls entry must name at least one syscall", '"names"')
        return tuple(sorted(set(names)))

    def arg_list(self, value: Any) -> list[Any]:
        args = value or []
        if not isinstance(args, list) or len(args) > 64:
            raise self.fail("args must be a list of comparisons", '"args"')
        return args

    def args(self, args: list[Any]) -> tuple[Arg, ...]:
        parsed = tuple(self.arg(a) for a in args)
        indices = [a.index for a in parsed]
        if len(parsed) > 6 and len(set(indices)) == len(indices):
            raise self.fail("more than 6 argument comparisons", '"args"')
        return parsed

    def rule(self, value: Any) -> Rule:
        if not isinstance(value, dict):
            raise self.fail("each entry of syscalls must be an object")
        self.keys(value, _RULE_KEYS, "a syscalls entry")
        names = self.names(value)
        action = self.action(value.get("action"), "action")
        args = self.arg_list(value.get("args"))
        comment = self.str_(value.get("comment", ""), "comment", '"comment"')
        errno_ret = self.errno_pair(value, "errnoRet", "errno")
        if errno_ret is not None and not kernel.action(action).data:
            raise self.fail(f"errnoRet given for action {action}, which returns no errno", '"errnoRet"')
        return Rule(names=names, action=action, errno_ret=errno_ret, args=self.args(args), comment=comment,
                    includes=self.filter(value.get("includes"), "includes"),
                    excludes=self.filter(value.get("excludes"), "excludes"))

    def arch_map(self, doc: dict[str, Any]) -> tuple[ArchMapEntry, ...]:
        entries = []
        for entry in self.list_(doc.get("archMap"), "archMap"):
            if not isinstance(entry, dict):
                raise self.fail("archMap entries must be objects", '"archMap"')
            self.keys(entry, frozenset({"architecture", "subArchitectures"}), "an archMap entry")
            subs = self.list_(entry.get("subArchitectures"), "subArchitectures")
            entries.append(ArchMapEntry(self.arch(entry.get("architecture"), '"architecture"'),
                                        tuple(self.arch(s, '"subArchitectures"') for s in subs)))
        return tuple(entries)

    def rules(self, doc: dict[str, Any]) -> tuple[Rule, ...]:
        rules = []
        for index, raw in enumerate(self.list_(doc.get("syscalls"), "syscalls")):
            self.where = index
            rules.append(self.rule(raw))
        self.where = None
        return tuple(rules)

    def profile(self, doc: Any) -> Profile:
        if not isinstance(doc, dict):
            raise self.fail("not a seccomp profile: expected a JSON object with defaultAction and syscalls")
        if "defaultAction" not in doc:
            raise self.fail("not a seccomp profile: no defaultAction")
        self.keys(doc, _TOP_KEYS, "the profile")
        action = self.action(doc["defaultAction"], "defaultAction")
        arch_map = self.arch_map(doc)
        arches = self.list_(doc.get("architectures"), "architectures")
        flags = self.strings(doc.get("flags"), "flags", '"flags"')
        for flag in flags:
            if flag not in FLAGS:
                raise self.fail(f"unknown flag {flag!r}", f'"{flag}"')
        rules = self.rules(doc)
        listener = doc.get("listenerPath", "")
        metadata = doc.get("listenerMetadata", "")
        if not isinstance(listener, str) or not isinstance(metadata, str):
            raise self.fail("listenerPath and listenerMetadata must be strings", '"listener')
        return Profile(
            default_action=action,
            default_errno_ret=self.errno_pair(doc, "defaultErrnoRet", "defaultErrno"),
            arch_map=arch_map,
            architectures=tuple(self.arch(a, '"architectures"') for a in arches),
            flags=flags,
            rules=rules,
            listener_path=listener,
            listener_metadata=metadata,
        )


def from_json(doc: Any, path: str = "<profile>", text: str = "") -> Profile:
    return _Reader(text, path).profile(doc)


def loads(text: str, path: str = "<string>") -> Profile:
    doc = loads_strict(text, path)  # first: the line map below walks only a document known to be sane
    return _Reader(text, path).profile(doc)


def load(path: str | Path) -> Profile:
    """Read and validate a Docker/OCI seccomp profile; problems are SeccompGenError with file:line."""
    return loads(read_text(path), str(path))
