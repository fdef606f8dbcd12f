"""`check`: what a recording (or a run) needs that a profile does not allow, as the kernel answers.

The compiled filter itself is asked (bpf.py interprets the BPF libseccomp produced) for each
syscall the recording made, with the argument values the recording kept, so the CI gate and the
kernel agree. A call answered with ENOSYS whose C-library fallback the profile allows is handled.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from seccomp_gen.generator import tables
from seccomp_gen.generator.compile import compile_profile
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import Profile
from seccomp_gen.ground import kernel, syscalls
from seccomp_gen.prove import bpf
from seccomp_gen.recorder.recording import Recording, SyscallUse

#: At most this many argument combinations are evaluated per syscall.
_MAX_COMBINATIONS = 256
_ARGS = 6


@dataclass(frozen=True)
class Lack:
    """A syscall a recording needs that the profile does not allow."""

    arch: str
    name: str
    use: SyscallUse
    answer: str  # what the filter answers: ERRNO(38), KILL_PROCESS, "no such architecture in the profile"
    args: tuple[int, ...] = ()


def _combinations(use: SyscallUse) -> list[tuple[int, ...]]:
    indices = sorted(use.args)
    if not indices:
        return [(0,) * _ARGS]
    combos = []
    for values in itertools.islice(itertools.product(*(use.args[i] for i in indices)), _MAX_COMBINATIONS):
        full = [0] * _ARGS
        for index, value in zip(indices, values, strict=True):
            full[index] = value
        combos.append(tuple(full))
    return combos


def check_recording(profile: Profile, ctx: Context, rec: Recording) -> list[Lack]:
    """What `rec` needs that `profile` (compiled for `ctx`) does not allow, as the kernel would answer."""
    compiled = compile_profile(profile, ctx)
    program = bpf.export(compiled.filter)
    lacks: list[Lack] = []
    for arch in sorted(rec.syscalls):
        for name, use in sorted(rec.syscalls[arch].items()):
            if arch not in compiled.arches:
                lacks.append(Lack(arch, name, use, "architecture not in the profile (the kernel kills the process)"))
                continue
            nr = syscalls.number_of(arch, name)
            if nr is None:
                lacks.append(Lack(arch, name, use, f"no syscall {name} on {arch}"))
                continue
            lack = _first_denied(program, arch, name, nr, use)
            if lack is not None:
                lacks.append(lack)
    return lacks


def _first_denied(program: bytes, arch: str, name: str, nr: int, use: SyscallUse) -> Lack | None:
    for args in _combinations(use):
        verdict = bpf.run(program, syscalls.ARCH_TOKENS[arch], nr, args)
        if not verdict.allowed and not _fallback_allowed(program, arch, name, verdict):
            shown = tuple(args[i] for i in sorted(use.args)) if use.args else ()
            return Lack(arch, name, use, str(verdict), shown)
    return None


def _fallback_allowed(program: bytes, arch: str, name: str, verdict: bpf.Answer) -> bool:
    """A call the profile answers with ENOSYS is handled when the profile allows the C library's
    fallback for it (clone3 -> clone): the generator makes such profiles on purpose."""
    fallback = tables.enosys_fallbacks().get(name)
    if fallback is None or verdict.action_name != "SCMP_ACT_ERRNO" or verdict.data != kernel.ENOSYS:
        return False
    token = syscalls.ARCH_TOKENS[arch]
    for other in fallback.fallbacks:
        nr = syscalls.number_of(arch, other)
        if nr is not None and bpf.run(program, token, nr, (0,) * _ARGS).allowed:
            return True
    return False


def lacks_from_denials(denied: Recording) -> list[Lack]:
    """A verify/check run's denials as Lacks (the answer is the profile's action)."""
    return [
        Lack(arch, name, use, ", ".join(sorted(use.actions)) or "denied")
        for arch in sorted(denied.syscalls) for name, use in sorted(denied.syscalls[arch].items())
    ]
