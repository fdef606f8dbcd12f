"""The proof that matters: a profile generated from a real recording of a workload is loaded into
the kernel with libseccomp in a child, and the workload runs under it with the same exit status and
output, under every baseline (moby's and crio's clone3 -> ENOSYS, with its clone fallback, included).

Nothing is mocked: the workloads are real programs, recorded with the ptrace recorder, and the
filter is the one libseccomp compiles and the kernel enforces.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from seccomp_gen.generator import baselines, context
from seccomp_gen.generator.minimise import Findings, minimise
from seccomp_gen.generator.profile import Profile
from seccomp_gen.recorder.recording import Recording
from tests.support.generate import X86, X86_64, answer, program

record_command = pytest.importorskip("seccomp_gen.recorder.ptrace").record_command

SAMPLES = Path(__file__).parent.parent / "samples"
STAT_FAMILY = {"stat", "fstat", "lstat", "newfstatat", "statx", "fstatat64", "stat64", "lstat64", "fstat64"}
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/nonexistent", "PYTHONHASHSEED": "0"}


def run_plain(argv: Sequence[str]) -> tuple[int, bytes, bytes]:
    proc = subprocess.run(list(argv), capture_output=True, env=ENV, timeout=60)
    return (128 - proc.returncode if proc.returncode < 0 else proc.returncode), proc.stdout, proc.stderr


def profile_for(rec: Recording, baseline: str) -> tuple[Profile, context.Context, Findings]:
    ctx = context.build(rec.arches(), [rec.source.host_arch])
    result = minimise(rec, baselines.load(baseline), ctx)
    return result.profile, ctx, result.findings


def prove(argv: Sequence[str], baseline: str) -> tuple[Profile, context.Context, Findings]:
    from seccomp_gen.prove.enforce import run_confined

    expected = run_plain(argv)
    rec = _recorded(tuple(argv))
    assert rec.complete and rec.exit_status == expected[0]
    profile, ctx, findings = profile_for(rec, baseline)
    confined = run_confined(profile, ctx, argv, env=ENV, timeout=60)
    assert (confined.returncode, confined.stdout, confined.stderr) == expected, (
        f"under the {baseline} profile: {confined}")
    return profile, ctx, findings


_cache: dict[tuple[str, ...], Recording] = {}


def _recorded(argv: tuple[str, ...]) -> Recording:
    """Record each workload once, with the same environment it runs with."""
    if argv not in _cache:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(ENV)
        try:
            _cache[argv] = record_command(list(argv))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return _cache[argv]


@pytest.mark.parametrize("baseline", baselines.BUNDLED)
def test_threads_run_under_generated_profile(baseline: str, workload: Callable[..., Path]) -> None:
    profile, ctx, findings = prove([str(workload("threads"))], baseline)
    prog = program(profile, ctx)
    if baseline in ("moby", "crio"):  # clone3 answers ENOSYS: glibc fell back to clone, and it worked
        assert str(answer(prog, X86_64, "clone3")) == "ERRNO(38)"
        assert any(a.name == "clone" and a.origin == "fallback" for a in findings.added)


@pytest.mark.parametrize("baseline", baselines.BUNDLED)
def test_shell_pipeline_runs_under_generated_profile(baseline: str) -> None:
    sh = shutil.which("sh", path=ENV["PATH"])
    assert sh
    prove([os.path.realpath(sh), "-c", "printf 'b\\na\\nc\\n' | sort | head -n 2; exit 3"], baseline)


@pytest.mark.parametrize("baseline", baselines.BUNDLED)
def test_python_runs_under_generated_profile(baseline: str) -> None:
    code = ("import json, threading\n"
            "out = []\n"
            "t = threading.Thread(target=lambda: out.append(sum(range(1000))))\n"
            "t.start(); t.join()\n"
            "print(json.dumps({'sum': out[0]}))\n")
    prove([os.path.realpath(sys.executable), "-I", "-c", code], baseline)


def test_i386_program_runs_under_generated_profile(workload: Callable[..., Path]) -> None:
    binary = workload("hello", "-m32")
    profile, _, _ = prove([str(binary)], "crio")
    assert [(e.architecture, e.sub_architectures) for e in profile.arch_map] == [(X86_64, (X86,))]


def test_denied_syscall_really_fails_under_the_profile(workload: Callable[..., Path]) -> None:
    """The converse: the threads workload under a profile from a recording without the thread
    calls fails - the filter is enforced, not decorative."""
    from seccomp_gen.prove.enforce import run_confined

    argv = [str(workload("threads"))]
    rec = _recorded(tuple(argv))
    crippled = {arch: {n: u for n, u in uses.items() if n not in ("clone", "clone3")}
                for arch, uses in rec.syscalls.items()}
    from dataclasses import replace

    profile, ctx, _ = profile_for(replace(rec, syscalls=crippled), "containers-common")
    outcome = run_confined(profile, ctx, argv, env=ENV)
    assert outcome.returncode != 0 and b"threads done" not in outcome.stdout


def test_nostat_sample_profile_has_no_stat_family_and_runs(tmp_path: Path) -> None:
    source = SAMPLES / "nostat" / "app.c"
    if not source.exists():
        pytest.skip("samples/nostat/app.c not present")
    binary = tmp_path / "nostat"
    proc = subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", str(binary), str(source)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"static build failed (install libc6-dev): {proc.stderr[:200]}")
    profile, ctx, _ = prove([str(binary)], "crio")
    assert not profile.names() & STAT_FAMILY
    prog = program(profile, ctx)
    assert not any(answer(prog, X86_64, n).allowed for n in ("newfstatat", "fstat", "statx", "stat"))
