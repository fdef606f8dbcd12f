"""Helpers for the generator tests: hand-built recordings and a way to ask a compiled profile."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seccomp_gen.generator import baselines, context
from seccomp_gen.generator.compile import compile_profile
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.minimise import Result, minimise
from seccomp_gen.generator.profile import Profile
from seccomp_gen.ground import syscalls
from seccomp_gen.prove import bpf
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import Caller, Recording, Source, SyscallUse

X86_64 = "SCMP_ARCH_X86_64"
X86 = "SCMP_ARCH_X86"


def make_recording(
    calls: Mapping[str, Mapping[str, Mapping[int, tuple[int, ...]] | None]],
    host: str = X86_64,
    complete: bool = True,
) -> Recording:
    """calls: {arch: {name: {arg index: values} or None}}."""
    return Recording(
        source=Source(engine="test", command=("test",), started="2026-01-01T00:00:00Z", duration_s=0.0,
                      kernel="test", host_arch=host),
        exit_status=0,
        complete=complete,
        syscalls={
            arch: {name: SyscallUse(1, Caller(1, "/test"), dict(args or {})) for name, args in uses.items()}
            for arch, uses in calls.items()
        },
    )


def write_recording(path: Path, rec: Recording) -> Path:
    recording.dump(rec, path)
    return path


def generate(
    rec: Recording, baseline: str = "crio", caps: tuple[str, ...] = (), runtime: str = "crun", nnp: bool = True,
    allow_extra: tuple[str, ...] = (), arches: tuple[str, ...] = (),
) -> tuple[Result, Context]:
    ctx = context.build(rec.arches(), [rec.source.host_arch], arches, caps, runtime, nnp)
    return minimise(rec, baselines.load(baseline), ctx, allow_extra=allow_extra), ctx


def program(profile: Profile, ctx: Context) -> bytes:
    return bpf.export(compile_profile(profile, ctx).filter)


def answer(prog: bytes, arch: str, name: str, args: tuple[int, ...] = ()) -> bpf.Answer:
    nr = syscalls.number_of(arch, name)
    assert nr is not None, f"{name} does not exist on {arch}"
    return bpf.run(prog, syscalls.ARCH_TOKENS[arch], nr, args)
