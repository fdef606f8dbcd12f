"""Whatever seccomp-gen writes, seccomp-gen reads back: recordings with extreme values (counts at
2**64-1, huge durations, text that is not UTF-8 or carries terminal controls), their merges, and the
profiles generated from them, each dumped and loaded again to the same value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_gen.generator import baselines, context
from seccomp_gen.generator.minimise import minimise
from seccomp_gen.generator.profile import dumps as dump_profile
from seccomp_gen.generator.profile import loads as load_profile
from seccomp_gen.ground import kernel
from seccomp_gen.ground.text import from_bytes
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import (
    MAX_COUNT,
    MAX_DURATION_S,
    Caller,
    Process,
    Recording,
    Source,
    SyscallUse,
)

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
X86_64 = "SCMP_ARCH_X86_64"
NAMES = ["read", "write", "openat", "close", "mmap", "socket", "clone", "ioctl", "prctl", "getpid"]

_counts = st.integers(min_value=1, max_value=MAX_COUNT) | st.sampled_from([1, MAX_COUNT, MAX_COUNT - 1])
_text = st.text(max_size=12) | st.binary(max_size=12).map(from_bytes) | st.sampled_from(
    ["/tmp/\x1b[2J\u202eexe", "tr\udcffue", "a\\b", "\n"])
_u64 = st.integers(min_value=0, max_value=2**64 - 1)


@st.composite
def _uses(draw: st.DrawFn, runs: int) -> SyscallUse:
    args = draw(st.dictionaries(st.integers(0, 5), st.lists(_u64, min_size=1, max_size=4, unique=True).map(
        lambda v: tuple(sorted(v))), max_size=2))
    actions = draw(st.dictionaries(st.sampled_from(kernel.action_names()), _counts, max_size=2))
    return SyscallUse(count=draw(_counts), first=Caller(draw(_u64), draw(_text)), args=args,
                      args_truncated=draw(st.booleans()), actions=actions, runs=draw(st.integers(1, runs)))


@st.composite
def _recordings(draw: st.DrawFn) -> Recording:
    runs = draw(st.integers(1, 3) | st.just(MAX_COUNT))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    duration = draw(st.floats(0, MAX_DURATION_S) | st.sampled_from([0.0, MAX_DURATION_S]))
    source = Source("ptrace", tuple(draw(st.lists(_text, max_size=3))), "", round(duration, 3), "", X86_64,
                    {"note": draw(_text)})
    return Recording(
        source=source, exit_status=draw(st.none() | _u64), complete=draw(st.booleans()),
        syscalls={X86_64: {name: draw(_uses(runs)) for name in names}},
        processes=tuple(Process(draw(_u64), draw(_u64), draw(_text), tuple(draw(st.lists(_text, max_size=2))))
                        for _ in range(draw(st.integers(0, 2)))),
        incomplete_reasons=tuple(draw(st.lists(_text, max_size=2))), warnings=tuple(draw(st.lists(_text, max_size=2))),
        runs=runs,
    )


def _read_back(rec: Recording) -> Recording:
    text = recording.dumps(rec)
    text.encode("utf-8")  # strict: what is written is UTF-8
    return recording.loads(text, "roundtrip.json")


@SETTINGS
@given(rec=_recordings())
def test_a_recording_reads_back_as_written(rec: Recording) -> None:
    assert _read_back(rec) == rec


@SETTINGS
@given(a=_recordings(), b=_recordings())
def test_a_merge_reads_back_and_saturates(a: Recording, b: Recording) -> None:
    merged = recording.merge([a, b])
    back = _read_back(merged)
    assert dataclasses.replace(back, source=dataclasses.replace(back.source, duration_s=0)) == \
        dataclasses.replace(merged, source=dataclasses.replace(merged.source, duration_s=0))
    assert abs(back.source.duration_s - merged.source.duration_s) <= 0.0005 + merged.source.duration_s * 1e-12
    assert all(use.count <= MAX_COUNT for uses in back.syscalls.values() for use in uses.values())


@settings(max_examples=30, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=_recordings())
def test_a_generated_profile_reads_back(rec: Recording) -> None:
    base = baselines.load("crio")
    ctx = context.build(recorded_arches=rec.arches(), host_arches=[X86_64])
    profile = minimise(rec, base, ctx).profile
    assert load_profile(dump_profile(profile), "p.json") == profile


def test_the_battery_covers_the_extremes(tmp_path: Path) -> None:
    """The strategies above reach the values that broke the readers (a test that cannot fail
    because its inputs are tame would prove nothing)."""
    use = SyscallUse(MAX_COUNT, Caller(1, "\x1b[2J"), actions={"SCMP_ACT_LOG": MAX_COUNT})
    rec = Recording(Source("ptrace", ("tr\udcffue",), "", MAX_DURATION_S, "", X86_64), 0, True, {X86_64: {"read": use}})
    merged = recording.merge([rec, rec])
    assert _read_back(merged).syscalls[X86_64]["read"].count == MAX_COUNT
    assert _read_back(merged).source.duration_s == MAX_DURATION_S
    path = tmp_path / "r.json"
    recording.dump(merged, path)
    assert b"\\udcff" in path.read_bytes() and recording.load(path) == _read_back(merged)
