"""The Recording: what a workload did, per architecture, as frozen values with versioned JSON I/O.

Every engine (ptrace, audit logs, ...) produces this type and every consumer (generate, check, merge)
reads it, so the file format is a contract: it is documented in README.md ("The Recording format")
and carries `schema_version`. Loading validates everything - architectures and names against
libseccomp - and reports bad input as `file:line: message`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.ground.jsonio import dumps_stable, loads_strict, read_text
from seccomp_gen.ground.reader import StrictReader

SCHEMA_VERSION = 1

#: At most this many distinct values are kept per watched argument; more marks the use `args_truncated`.
MAX_ARG_VALUES = 64

#: Counts saturate here on both sides (merge, collector, reader): the format's integers are < 2**64.
MAX_COUNT = 2**64 - 1
#: The longest duration a recording holds; merge saturates sums here (about 31,700 years).
MAX_DURATION_S = 1e12
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Caller:
    """Who made a call: the first process seen making it (provenance for reports)."""

    pid: int
    exe: str


@dataclass(frozen=True)
class SyscallUse:
    """How one syscall was used on one architecture.

    `args` maps an argument index to the distinct values seen, only for the arguments that
    runtime/default profiles condition on (see recorder/data/watched_args.json). `actions` is set by
    engines that see a seccomp verdict (audit logs): action name -> count.
    """

    count: int
    first: Caller
    args: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    args_truncated: bool = False
    actions: Mapping[str, int] = field(default_factory=dict)
    #: In how many of the recording's runs it was seen (record --repeat, merge): fewer than all
    #: marks a call whose appearance depends on timing.
    runs: int = 1
    #: The nodes it was seen on, sorted (audit logs of several nodes: a fleet's profile shows which
    #: node needed a call); empty when the input names no node.
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    exe: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    engine: str
    command: tuple[str, ...]
    started: str
    duration_s: float
    kernel: str
    host_arch: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recording:
    source: Source
    exit_status: int | None
    complete: bool
    syscalls: Mapping[str, Mapping[str, SyscallUse]]
    processes: tuple[Process, ...] = ()
    incomplete_reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    runs: int = 1  # how many runs of the workload it holds
    schema_version: int = SCHEMA_VERSION

    def arches(self) -> list[str]:
        return sorted(arch for arch, uses in self.syscalls.items() if uses)

    def names(self, arch: str | None = None) -> set[str]:
        """Syscall names seen on `arch`, or on any arch when None."""
        if arch is not None:
            return set(self.syscalls.get(arch, {}))
        return {name for uses in self.syscalls.values() for name in uses}

    def in_some_runs(self) -> dict[str, dict[str, int]]:
        """arch -> name -> runs, for the calls seen in only some of several runs."""
        return {arch: found for arch, uses in sorted(self.syscalls.items())
                if (found := {n: u.runs for n, u in sorted(uses.items()) if u.runs < self.runs})}

    def total_calls(self) -> int:
        return sum(use.count for uses in self.syscalls.values() for use in uses.values())


# ---------------------------------------------------------------- dumping


def _use_to_json(use: SyscallUse, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"count": use.count, "first": {"pid": use.first.pid, "exe": use.first.exe}}
    if runs > 1:
        out["runs"] = use.runs
    if use.args:
        out["args"] = {str(index): list(values) for index, values in sorted(use.args.items())}
    if use.args_truncated:
        out["args_truncated"] = True
    if use.actions:
        out["actions"] = dict(sorted(use.actions.items()))
    if use.nodes:
        out["nodes"] = list(use.nodes)
    return out


def to_json(rec: Recording) -> dict[str, Any]:
    src = rec.source
    return {
        "schema_version": rec.schema_version,
        "source": {
            "engine": src.engine,
            "command": list(src.command),
            "started": src.started,
            "duration_s": round(src.duration_s, 3),
            "kernel": src.kernel,
            "host_arch": src.host_arch,
            **({"details": dict(src.details)} if src.details else {}),
        },
        "exit_status": rec.exit_status,
        "complete": rec.complete,
        "incomplete_reasons": list(rec.incomplete_reasons),
        "warnings": list(rec.warnings),
        "syscalls": {
            arch: {name: _use_to_json(use, rec.runs) for name, use in sorted(uses.items())}
            for arch, uses in sorted(rec.syscalls.items())
        },
        "processes": [
            {"pid": p.pid, "ppid": p.ppid, "exe": p.exe, "argv": list(p.argv)} for p in rec.processes
        ],
        **({"runs": rec.runs} if rec.runs > 1 else {}),
    }


def dumps(rec: Recording) -> str:
    return dumps_stable(to_json(rec))


def dump(rec: Recording, path: str | Path) -> None:
    """Write the recording atomically."""
    from seccomp_gen.ground.atomic import write_atomic  # lazily: readers (show) never write

    write_atomic(path, dumps(rec))


# ---------------------------------------------------------------- loading


class _Reader(StrictReader):
    """Validates one decoded document; errors carry the file and the line of the offending key."""

    runs = 1  # the recording's, once read: a use is seen in at most that many

    def use(self, arch: str, name: str, raw: Any) -> SyscallUse:
        needle = f'"{name}"'
        doc = self.obj(raw, f"syscalls.{arch}.{name}", needle)
        count = self.int_(doc.get("count"), f"syscalls.{arch}.{name}.count", needle, minimum=1)
        first = self.obj(doc.get("first"), f"syscalls.{arch}.{name}.first", needle)
        caller = Caller(
            pid=self.int_(first.get("pid"), f"syscalls.{arch}.{name}.first.pid", needle),
            exe=self.str_(first.get("exe"), f"syscalls.{arch}.{name}.first.exe", needle),
        )
        args: dict[int, tuple[int, ...]] = {}
        for index, values in self.obj(doc.get("args", {}), f"syscalls.{arch}.{name}.args", needle).items():
            if index not in {"0", "1", "2", "3", "4", "5"}:
                raise self.fail(f"syscalls.{arch}.{name}.args: argument index {index!r} is not 0-5", needle)
            if not isinstance(values, list):
                raise self.fail(f"syscalls.{arch}.{name}.args.{index} must be a list", needle)
            args[int(index)] = tuple(sorted({self.int_(v, "argument value", needle) for v in values}))
        actions = {
            self.action(k, needle): self.int_(v, "action count", needle, minimum=1)
            for k, v in self.obj(doc.get("actions", {}), "actions", needle).items()
        }
        truncated = self.bool_(doc.get("args_truncated", False), f"syscalls.{arch}.{name}.args_truncated", needle)
        runs = self.int_(doc.get("runs", self.runs), f"syscalls.{arch}.{name}.runs", needle, minimum=1)
        if runs > self.runs:
            raise self.fail(f"syscalls.{arch}.{name}.runs is more than the recording's runs ({self.runs})", needle)
        nodes = self.strs(doc.get("nodes", []), f"syscalls.{arch}.{name}.nodes", needle)
        if list(nodes) != sorted(set(nodes)) or "" in nodes:
            raise self.fail(f"syscalls.{arch}.{name}.nodes must be sorted distinct node names", needle)
        return SyscallUse(count, caller, args, truncated, actions, runs, nodes)

    def action(self, name: Any, needle: str) -> str:
        """An action name libseccomp knows: an unknown one would be counted as neither allowed nor denied."""
        from seccomp_gen.ground import kernel  # lazily: its tables load only for recordings with actions

        if name not in kernel.action_names():
            raise self.fail(f"unknown action {name!r} (known: {', '.join(kernel.action_names())})", needle)
        return str(name)

    def syscalls(self, raw: Any) -> dict[str, dict[str, SyscallUse]]:
        result: dict[str, dict[str, SyscallUse]] = {}
        for arch, uses in self.obj(raw, "syscalls", '"syscalls"').items():
            raw_arch = syscalls.is_raw_arch_key(arch)
            if not (syscalls.is_known_arch(arch) or raw_arch):
                raise self.fail(f"unknown architecture {arch!r} (expected a libseccomp name such as "
                                "SCMP_ARCH_X86_64, or audit_arch_<8 hex digits>)", f'"{arch}"')
            per_arch: dict[str, SyscallUse] = {}
            for name, raw_use in self.obj(uses, f"syscalls.{arch}", f'"{arch}"').items():
                named = not raw_arch and _NAME.match(name) and syscalls.number_of(arch, name) is not None
                unnamed = syscalls.unnamed_number(name)
                if unnamed is not None and unnamed > syscalls.MAX_NR:
                    raise self.fail(f"syscall number in {name!r} is above {syscalls.MAX_NR} (the kernel's int)",
                                    f'"{name}"')
                if unnamed is None and not named:
                    raise self.fail(f"unknown syscall {name!r} for {arch}", f'"{name}"')
                per_arch[name] = self.use(arch, name, raw_use)
            result[arch] = per_arch
        return result

    def recording(self, doc: Any) -> Recording:
        doc = self.obj(doc, "the recording")
        self.runs = self.int_(doc.get("runs", 1), "runs", '"runs"', minimum=1)
        version = doc.get("schema_version")
        if version != SCHEMA_VERSION:
            raise self.fail(
                f"unsupported schema_version {version!r} (this seccomp-gen reads {SCHEMA_VERSION}); "
                "is this a seccomp-gen recording?",
                '"schema_version"' if "schema_version" in doc else None,
            )
        src = self.obj(doc.get("source"), "source", '"source"')
        duration = src.get("duration_s", 0.0)
        if isinstance(duration, bool) or not isinstance(duration, int | float) or not 0 <= duration <= MAX_DURATION_S:
            raise self.fail(f"source.duration_s must be a number from 0 to {MAX_DURATION_S:g}", '"duration_s"')
        source = Source(
            engine=self.str_(src.get("engine"), "source.engine", '"engine"'),
            command=self.strs(src.get("command", []), "source.command", '"command"'),
            started=self.str_(src.get("started", ""), "source.started", '"started"'),
            duration_s=float(duration),
            kernel=self.str_(src.get("kernel", ""), "source.kernel", '"kernel"'),
            host_arch=self.str_(src.get("host_arch", ""), "source.host_arch", '"host_arch"'),
            details=self.obj(src.get("details", {}), "source.details", '"details"'),
        )
        status = doc.get("exit_status")
        if status is not None:
            status = self.int_(status, "exit_status", '"exit_status"')
        complete = self.bool_(doc.get("complete"), "complete", '"complete"')
        processes = []
        for raw in doc.get("processes", []) if isinstance(doc.get("processes", []), list) else [None]:
            proc = self.obj(raw, "processes[]", '"processes"')
            processes.append(
                Process(
                    pid=self.int_(proc.get("pid"), "processes[].pid", '"processes"'),
                    ppid=self.int_(proc.get("ppid", 0), "processes[].ppid", '"processes"'),
                    exe=self.str_(proc.get("exe", ""), "processes[].exe", '"processes"'),
                    argv=self.strs(proc.get("argv", []), "processes[].argv", '"processes"'),
                )
            )
        return Recording(
            source=source,
            exit_status=status,
            complete=complete,
            syscalls=self.syscalls(doc.get("syscalls")),
            runs=self.runs,
            processes=tuple(processes),
            incomplete_reasons=self.strs(doc.get("incomplete_reasons", []), "incomplete_reasons"),
            warnings=self.strs(doc.get("warnings", []), "warnings"),
        )


def loads(text: str, path: str = "<string>") -> Recording:
    doc = loads_strict(text, path)
    return _Reader(text, path).recording(doc)


def load(path: str | Path) -> Recording:
    """Read and validate a recording file; any problem is a SeccompGenError naming file and line."""
    return loads(read_text(path), str(path))


# ---------------------------------------------------------------- merging


def _merge_use(a: SyscallUse, b: SyscallUse) -> SyscallUse:
    args: dict[int, tuple[int, ...]] = {}
    truncated = a.args_truncated or b.args_truncated
    for index in sorted(set(a.args) | set(b.args)):
        values = sorted(set(a.args.get(index, ())) | set(b.args.get(index, ())))
        if len(values) > MAX_ARG_VALUES:
            values, truncated = values[:MAX_ARG_VALUES], True
        args[index] = tuple(values)
    actions = dict(a.actions)
    for action, count in b.actions.items():
        actions[action] = saturated(actions.get(action, 0) + count)
    return SyscallUse(saturated(a.count + b.count), a.first, args, truncated, actions, saturated(a.runs + b.runs),
                      tuple(sorted({*a.nodes, *b.nodes})))


def saturated(count: int) -> int:
    """A sum of counts as the format holds it: at most MAX_COUNT (what load accepts)."""
    return min(count, MAX_COUNT)


def merge(recordings: Iterable[Recording]) -> Recording:
    """Union of recordings: counts summed, the first caller kept, incomplete if any input was."""
    items = list(recordings)
    if not items:
        raise SeccompGenError("no recordings to merge")
    if len(items) == 1:
        return items[0]
    merged: dict[str, dict[str, SyscallUse]] = {}
    for rec in items:
        for arch, uses in rec.syscalls.items():
            target = merged.setdefault(arch, {})
            for name, use in uses.items():
                target[name] = _merge_use(target[name], use) if name in target else use
    first = items[0]
    reasons = tuple(r for rec in items for r in rec.incomplete_reasons)
    return Recording(
        source=dataclasses.replace(
            first.source,
            engine="merge" if len({r.source.engine for r in items}) > 1 else first.source.engine,
            duration_s=min(MAX_DURATION_S, sum(r.source.duration_s for r in items)),
            details={"merged_from": [(r.source.command and list(r.source.command)) or r.source.engine
                                     for r in items]},
        ),
        exit_status=next((r.exit_status for r in items if r.exit_status not in (None, 0)), first.exit_status),
        complete=all(r.complete for r in items),
        syscalls=merged,
        processes=tuple(p for rec in items for p in rec.processes),
        incomplete_reasons=reasons,
        warnings=tuple(w for rec in items for w in rec.warnings),
        runs=saturated(sum(r.runs for r in items)),
    )
