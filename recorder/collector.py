"""Engine-independent accumulation of syscall events into a Recording.

Engines feed raw (AUDIT_ARCH token, number) pairs on their hot path; names are resolved through
libseccomp once per distinct pair when the Recording is built, so counting stays a dict update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seccomp_gen.ground import syscalls
from seccomp_gen.recorder.recording import (
    MAX_ARG_VALUES,
    Caller,
    Process,
    Recording,
    Source,
    SyscallUse,
    saturated,
)
from seccomp_gen.recorder.watched import watched_for_token

Key = tuple[int, int]  # (AUDIT_ARCH token, syscall number)


@dataclass
class _Slot:
    count: int
    pid: int
    exe: str
    args: dict[int, set[int]] = field(default_factory=dict)
    truncated: bool = False
    actions: dict[str, int] = field(default_factory=dict)
    nodes: set[str] = field(default_factory=set)


#: What the ptrace tracer keeps a reference to for the calls it counts on its hot path.
Slot = _Slot


class Collector:
    """Counts syscalls with their first caller and watched argument values."""

    def __init__(self) -> None:
        self.slots: dict[Key, _Slot] = {}
        native = syscalls.ARCH_TOKENS[syscalls.native_arch()]
        self.watched: dict[Key, tuple[int, ...]] = dict(watched_for_token(native))
        self._tokens = {native}
        self.started = datetime.now(UTC)
        self.incomplete_reasons: list[str] = []
        self.warnings: list[str] = []

    def add(self, token: int, nr: int, pid: int, exe: str, args: Sequence[int] = (),
            action: str | None = None, count: int = 1, node: str | None = None) -> None:
        """Count `count` calls; `node`: the node the record came from (audit logs of a fleet)."""
        key = (token, nr)
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = _Slot(0, pid, exe)
        slot.count += count
        if node is not None:
            slot.nodes.add(node)
        if action is not None:
            slot.actions[action] = slot.actions.get(action, 0) + count
        if token not in self._tokens:  # a new arch: learn its watched numbers once
            self._tokens.add(token)
            self.watched.update(watched_for_token(token))
        indices = self.watched.get(key)
        if indices and args:
            for index in indices:
                self.keep_values(key, index, (args[index],))

    def keep_values(self, key: Key, index: int, values: Iterable[int]) -> None:
        """Keep argument values of a counted call: at most MAX_ARG_VALUES distinct ones per
        argument; a value beyond them marks the use `args_truncated`."""
        slot = self.slots[key]
        kept = slot.args.setdefault(index, set())
        for value in values:
            if len(kept) < MAX_ARG_VALUES:
                kept.add(value)
            elif value not in kept:
                slot.truncated = True

    def mark_incomplete(self, reason: str) -> None:
        if reason not in self.incomplete_reasons:
            self.incomplete_reasons.append(reason)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def syscall_map(self) -> dict[str, dict[str, SyscallUse]]:
        result: dict[str, dict[str, SyscallUse]] = {}
        for (token, nr), slot in sorted(self.slots.items()):
            arch = syscalls.arch_of_token(token, nr)
            if arch is None:
                # Kept under the raw AUDIT_ARCH token, never dropped; no profile can allow it by name.
                arch = syscalls.raw_arch_key(token)
                self.warn(f"unknown architecture {arch} (AUDIT_ARCH token libseccomp does not know): "
                          f"syscall numbers kept as syscall_<nr>")
            if not 0 <= nr <= syscalls.MAX_NR:
                # syscall(-1) and the like: the kernel answers ENOSYS; no profile rule can name it.
                self.warn(f"{arch}: call with number {nr}, which is no syscall (the kernel answers ENOSYS); "
                          "not kept")
                continue
            name = syscalls.name_of(arch, nr) if syscalls.is_known_arch(arch) else None
            if name is None:
                name = f"syscall_{nr}"
                self.warn(f"{arch}: libseccomp cannot name syscall {nr}; kept as {name}")
            use = SyscallUse(
                count=saturated(slot.count),
                first=Caller(slot.pid, slot.exe),
                args={i: tuple(sorted(v)) for i, v in sorted(slot.args.items())},
                args_truncated=slot.truncated,
                actions=dict(slot.actions),
                nodes=tuple(sorted(slot.nodes)),
            )
            per_arch = result.setdefault(arch, {})
            if name in per_arch:  # two numbers, one name (x32 aliases): sum them
                old = per_arch[name]
                use = SyscallUse(saturated(old.count + use.count), old.first, old.args, old.args_truncated, old.actions,
                                 nodes=tuple(sorted({*old.nodes, *use.nodes})))
            per_arch[name] = use
        return result

    def build(self, *, engine: str, command: Sequence[str], exit_status: int | None,
              processes: Sequence[Process], details: Mapping[str, Any] | None = None) -> Recording:
        import platform  # here, not at import: a launched recorder pays it after CMD has run

        syscall_map = self.syscall_map()
        duration = (datetime.now(UTC) - self.started).total_seconds()
        return Recording(
            source=Source(
                engine=engine,
                command=tuple(command),
                started=self.started.isoformat(timespec="seconds"),
                duration_s=duration,
                kernel=platform.release(),
                host_arch=syscalls.native_arch(),
                details=dict(details or {}),
            ),
            exit_status=exit_status,
            complete=not self.incomplete_reasons,
            syscalls=syscall_map,
            processes=tuple(sorted(processes, key=lambda p: p.pid)),
            incomplete_reasons=tuple(self.incomplete_reasons),
            warnings=tuple(self.warnings),
        )

