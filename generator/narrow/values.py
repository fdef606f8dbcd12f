"""Which argument values a recording proves a workload uses, or why it proves none.

Narrowing is only as good as the recording: every recorded use of the syscall (on every
architecture of the profile) must hold the argument's values, not truncated, and few of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from seccomp_gen.generator.tables import NarrowArg, NarrowLimits
from seccomp_gen.recorder.recording import Recording, SyscallUse


class NoValues(Exception):
    """The recording cannot prove the argument's values: the message says why."""


def _uses(rec: Recording, arches: tuple[str, ...], name: str) -> dict[str, SyscallUse]:
    return {arch: rec.syscalls[arch][name] for arch in arches if name in rec.syscalls.get(arch, {})}


def recorded(rec: Recording, arches: tuple[str, ...], name: str, arg: NarrowArg,
             limits: NarrowLimits) -> tuple[int, ...]:
    """The distinct values (masked) of `arg` over every recorded use of `name`; NoValues when a use
    lacks them (engine without arguments, truncated) or they are too many to be a workload's few."""
    uses = _uses(rec, arches, name)
    if not uses:
        raise NoValues("not recorded")
    values: set[int] = set()
    for arch, use in sorted(uses.items()):
        if use.args_truncated:
            raise NoValues(f"argument values truncated on {arch} (more than the recorder keeps)")
        if arg.index not in use.args:
            raise NoValues(f"no argument values recorded on {arch} (the engine that made the recording sees "
                           "none, e.g. complain-mode SECCOMP records)")
        values.update(v & arg.mask for v in use.args[arg.index])
    if len(values) > limits.max_values:
        raise NoValues(f"{len(values)} distinct {arg.what} values, more than {limits.max_values}")
    return tuple(sorted(values))


def per_arg(rec: Recording, arches: tuple[str, ...], name: str, args: tuple[NarrowArg, ...],
            limits: NarrowLimits) -> Mapping[NarrowArg, tuple[int, ...]]:
    """recorded() for each argument; NoValues (the first reason) when any cannot be proven, or
    when their combinations would need more than max_rules rules."""
    found = {arg: recorded(rec, arches, name, arg, limits) for arg in args}
    combinations = 1
    for values in found.values():
        combinations *= len(values)
    if combinations > limits.max_rules:
        raise NoValues(f"{combinations} value combinations, more than {limits.max_rules} rules")
    return found
