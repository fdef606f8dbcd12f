"""Property: for any recording and each baseline, the generated profile allows nothing the baseline
denies in the target context, except runtime-required syscalls and explicit --allow-extra.

Both profiles are compiled by libseccomp exactly as a runtime would (generator.compile) and the
kernel's answer is computed by interpreting the BPF it produced (prove.bpf), for every name
the generated profile mentions and argument values around every comparison in either profile.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_gen.generator import baselines
from seccomp_gen.generator.context import Context
from seccomp_gen.generator.profile import Profile
from seccomp_gen.generator.tables import runtime_needs
from seccomp_gen.ground import syscalls
from seccomp_gen.recorder.recording import Recording
from tests.support.generate import X86, X86_64, answer, generate, make_recording, program

CAPS = ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE", "CAP_BPF", "CAP_DAC_READ_SEARCH"]
ARG_SYSCALLS = {"socket": (0, 1), "personality": (0,), "clone": (0,)}
INTERESTING = [0, 1, 2, 8, 10, 16, 38, 39, 40, 41, 0x20000, 0x20008, 0x40000, 0xFFFFFFFF, 0x10000000, 0x3D0F00,
               0x7E020000, 0x11, 2**63]


@functools.lru_cache(maxsize=1)
def name_pool() -> tuple[list[str], list[str]]:
    known = set()
    for base in baselines.BUNDLED:
        known |= baselines.load(base).profile.names()
    for nr in range(0, 460):
        name = syscalls.name_of(X86_64, nr)
        if name:
            known.add(name)
    x64 = sorted(n for n in known if syscalls.number_of(X86_64, n) is not None)
    x86 = sorted(n for n in known if syscalls.number_of(X86, n) is not None)
    return x64, x86


@st.composite
def recordings(draw: st.DrawFn) -> tuple[Recording, tuple[str, ...], str, bool, tuple[str, ...]]:
    x64, x86 = name_pool()
    names64 = draw(st.lists(st.sampled_from(x64 + list(ARG_SYSCALLS) * 5), min_size=1, max_size=30, unique=True))
    names86 = draw(st.lists(st.sampled_from(x86), max_size=6, unique=True))
    values = st.lists(st.one_of(st.sampled_from(INTERESTING), st.integers(0, 2**32)), min_size=1, max_size=3)
    calls: dict[str, dict[str, dict[int, tuple[int, ...]] | None]] = {X86_64: {}}
    for name in names64:
        args = ARG_SYSCALLS.get(name)
        calls[X86_64][name] = {i: tuple(draw(values)) for i in args} if args and draw(st.booleans()) else None
    if names86:
        calls[X86] = {name: None for name in names86}
    caps = tuple(draw(st.lists(st.sampled_from(CAPS), max_size=3, unique=True)))
    runtime = draw(st.sampled_from(["crun", "runc"]))
    nnp = draw(st.booleans())
    extra = tuple(draw(st.lists(st.sampled_from(names64), max_size=2, unique=True)))
    return make_recording(calls), caps, runtime, nnp, extra


def _vectors(name: str, *profiles: Profile) -> list[tuple[int, ...]]:
    vectors: set[tuple[int, ...]] = {(0, 0, 0, 0, 0, 0)}
    for prof in profiles:
        for rule in prof.rules:
            if name not in rule.names:
                continue
            for arg in rule.args:
                for v in {arg.value, arg.value - 1, arg.value + 1, arg.value_two, arg.value | arg.value_two}:
                    vec = [0] * 6
                    vec[arg.index] = v % 2**64
                    vectors.add(tuple(vec))
    return sorted(vectors)


@functools.lru_cache(maxsize=64)
def baseline_program(baseline: str, ctx: Context) -> bytes:
    return program(baselines.load(baseline).profile, ctx)


@pytest.mark.parametrize("baseline", baselines.BUNDLED)
@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=recordings())
def test_generated_profile_is_never_looser_than_the_baseline(
    baseline: str, case: tuple[Recording, tuple[str, ...], str, bool, tuple[str, ...]]
) -> None:
    rec, caps, runtime, nnp, extra = case
    result, ctx = generate(rec, baseline, caps=caps, runtime=runtime, nnp=nnp, allow_extra=extra)
    gen = program(result.profile, ctx)
    base = baseline_program(baseline, ctx)
    exempt = set(runtime_needs(runtime, nnp).names) | set(extra)
    base_profile = baselines.load(baseline).profile
    for arch in ctx.arches:
        for name in sorted(result.profile.names()):
            if syscalls.number_of(arch, name) is None:
                continue
            for vec in _vectors(name, result.profile, base_profile):
                got, ref = answer(gen, arch, name, vec), answer(base, arch, name, vec)
                if got.allowed and not ref.allowed:
                    assert name in exempt, f"{name}{vec} on {arch}: generated {got}, baseline {ref}"
    # and nothing observed that the baseline allows outright is lost
    for arch, uses in rec.syscalls.items():
        for name in uses:
            if answer(base, arch, name).allowed and all(
                answer(base, arch, name, v).allowed for v in _vectors(name, base_profile)
            ):
                assert answer(gen, arch, name).allowed, f"{name} on {arch} lost"
