"""`generate --on-miss log`: a learning profile allows what the recordings saw as the enforcing
profile does, allows and logs what the baseline allows but nobody saw, and denies what the baseline
denies - proven on the compiled filters against the baseline itself, for every syscall name and a
spread of argument values, and under the kernel with a real workload."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from seccomp_gen.generator import baselines, context
from seccomp_gen.generator.minimise import minimise
from seccomp_gen.generator.minimise.view import all_names
from seccomp_gen.generator.profile import load as load_profile
from seccomp_gen.prove.enforce import run_confined
from tests.support.generate import X86_64, answer, make_recording, program
from tests.support.process import cli

VALUES = [0, 1, 2, 8, 10, 16, 38, 39, 40, 0x20000, 0x7E020000, 0xFFFFFFFF]


@pytest.mark.parametrize("baseline", ["crio", "moby", "containers-common"])
def test_never_looser_than_the_baseline_and_logs_only_the_unseen(baseline: str) -> None:
    rec = make_recording({X86_64: {"read": None, "write": None, "exit_group": None, "socket": {0: (2,), 2: (0,)},
                                   "personality": {0: (0,)}}})
    ctx = context.build(rec.arches(), [X86_64])
    base = baselines.load(baseline)
    result = minimise(rec, base, ctx, on_miss="log")
    assert result.findings.learning and "SECCOMP_FILTER_FLAG_LOG" in result.profile.flags  # crun takes flags
    learning = program(result.profile, ctx)
    enforcing = program(minimise(rec, base, ctx).profile, ctx)
    reference = program(base.profile, ctx)
    rng = random.Random(3)
    logged = 0
    for name in sorted(all_names([X86_64])):
        for _ in range(3):
            args = tuple(rng.choice(VALUES) for _ in range(3))
            got = answer(learning, X86_64, name, args)
            if got.allowed:
                assert answer(reference, X86_64, name, args).allowed, (name, args, "looser than the baseline")
            if answer(enforcing, X86_64, name, args).allowed:
                assert got.action_name == "SCMP_ACT_ALLOW", (name, args, "a seen call must not be logged")
            logged += got.action_name == "SCMP_ACT_LOG"
    assert logged > 100  # the baseline's other calls: allowed and logged
    for name in ("read", "write"):
        assert answer(learning, X86_64, name).action_name == "SCMP_ACT_ALLOW"
    for name in ("kexec_load", "bpf", "open_by_handle_at"):  # gated on capabilities: denied, as by the baseline
        assert not answer(learning, X86_64, name).allowed


def test_moby_families_stay_denied_under_the_learning_profile() -> None:
    """moby allows socket only for families < 38, 39 and > 40: AF_ALG (38) and AF_VSOCK (40) fall to its
    default deny. A LOG default would run them; the learning profile keeps them denied."""
    rec = make_recording({X86_64: {"read": None, "exit_group": None}})
    ctx = context.build(rec.arches(), [X86_64])
    learning = program(minimise(rec, baselines.load("moby"), ctx, on_miss="log").profile, ctx)
    assert answer(learning, X86_64, "socket", (2,)).action_name == "SCMP_ACT_LOG"
    for family in (38, 40):
        assert not answer(learning, X86_64, "socket", (family,)).allowed


def test_a_workload_beyond_its_recording_runs_under_it(tmp_path: Path, workload: Callable[..., Path]) -> None:
    binary = workload("narrow")
    rec = tmp_path / "rec.json"
    assert cli("record", "-q", "-o", str(rec), "--", str(binary)).returncode == 0
    gen = cli("generate", str(rec), "--name", "learn", "--on-miss", "log", "--out", str(tmp_path / "out"))
    assert gen.returncode == 0 and "learning profile" in gen.stdout, gen.stderr
    profile = load_profile(tmp_path / "out" / "learn.json")
    ctx = context.build([X86_64], [X86_64])
    more = run_confined(profile, ctx, [str(binary), "more"])
    assert (more.returncode, more.stdout) == (0, b"ok\n"), more
    enforcing = cli("generate", str(rec), "--name", "enf", "--narrow-args", "--out", str(tmp_path / "out"))
    assert enforcing.returncode == 0
    denied = run_confined(load_profile(tmp_path / "out" / "enf.json"), ctx, [str(binary), "more"])
    assert denied.returncode == 1  # the control: the enforcing, narrowed profile refuses the unseen values


def test_learning_and_narrowing_do_not_mix(tmp_path: Path) -> None:
    rec = Path(__file__).parent.parent / "samples" / "nostat" / "nostat.recording.json"
    proc = cli("generate", str(rec), "--name", "x", "--on-miss", "log", "--narrow-args", "--out", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--narrow-args" in proc.stderr


def test_verify_and_check_report_the_logged_calls_alike(tmp_path: Path) -> None:
    """Under a learning profile from a run of /bin/true, /bin/ls runs, and verify (the kernel) and check
    (the recording) name the same calls as allowed only as logged."""
    small, big = tmp_path / "true.json", tmp_path / "ls.json"
    assert cli("record", "-q", "-o", str(small), "--", "/bin/true").returncode == 0
    assert cli("record", "-q", "-o", str(big), "--", "/bin/ls", "/").returncode == 0
    assert cli("generate", str(small), "--name", "l", "--on-miss", "log", "--out", str(tmp_path / "o")).returncode == 0
    profile = str(tmp_path / "o" / "l.json")
    ran = cli("verify", "--profile", profile, "--", "/bin/ls", "/")
    assert ran.returncode == 0 and "0 denied syscalls" in ran.stderr, ran.stderr
    judged = cli("check", "--profile", profile, "--format", "json", str(big))
    assert judged.returncode == 0, judged.stderr
    logged = sorted(x["syscall"] for x in json.loads(judged.stdout)["logged"])
    assert logged and "getdents64" in logged
    line = next(line for line in ran.stderr.splitlines() if "allowed only as logged" in line)
    assert sorted(n.split("(")[0] for n in line.split(": ", 2)[-1].split(", ")) == logged
