"""`generate --narrow-args`: allow rules restricted to the recorded argument values, proven with a
real workload (tests/workloads/narrow.c: sockets of three families, ioctls on a pty and a socket,
prctl, fcntl, setsockopt) under the kernel's enforcement, and by evaluating the compiled filters:
never looser than the profile without the flag (so never looser than the baseline)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from seccomp_gen.generator import baselines, context
from seccomp_gen.generator.minimise import minimise
from seccomp_gen.generator.profile import load as load_profile
from seccomp_gen.prove.enforce import run_confined
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import Recording, SyscallUse
from tests.support.generate import X86, X86_64, answer, make_recording, program
from tests.support.process import cli

NARROWED = ("socket", "socketpair", "prctl", "ioctl", "fcntl", "setsockopt")


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory: pytest.TempPathFactory, workload: Callable[..., Path]) -> tuple[Path, Path, dict]:
    """(binary, profile, report) for the plain run of narrow.c, generated with --narrow-args."""
    tmp = tmp_path_factory.mktemp("narrow")
    binary = workload("narrow")
    rec = tmp / "rec.json"
    proc = cli("record", "-q", "-o", str(rec), "--", str(binary))
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    gen = cli("generate", str(rec), "--name", "n", "--narrow-args", "--out", str(tmp / "out"), "--format", "json")
    assert gen.returncode == 0, gen.stderr
    return binary, tmp / "out" / "n.json", json.loads(gen.stdout)


def _restricted(profile_path: Path) -> dict[str, list[list[dict]]]:
    doc = json.loads(profile_path.read_text())
    found: dict[str, list[list[dict]]] = {}
    for rule in doc["syscalls"]:
        if rule["action"] == "SCMP_ACT_ALLOW":
            for name in rule["names"]:
                found.setdefault(name, []).append(rule.get("args") or [])
    return found


def test_every_allow_rule_of_a_narrowed_call_compares_its_arguments(narrowed: tuple[Path, Path, dict]) -> None:
    _, profile_path, _ = narrowed
    rules = _restricted(profile_path)
    for name in NARROWED:
        assert rules.get(name), f"{name} is not allowed at all"
        assert all(args for args in rules[name]), f"{name} keeps an unrestricted allow rule"
    assert len(rules["prctl"]) == 2 and len(rules["ioctl"]) == 2  # PR_SET_NAME/PR_GET_NAME, TCGETS/FIONREAD


def test_the_workload_runs_unchanged_and_one_more_value_is_denied(narrowed: tuple[Path, Path, dict]) -> None:
    binary, profile_path, _ = narrowed
    profile = load_profile(profile_path)
    ctx = context.build([X86_64], [X86_64])
    plain = run_confined(profile, ctx, [str(binary)])  # libseccomp loads the real filter: no tracer
    assert (plain.returncode, plain.stdout) == (0, b"ok\n"), plain.stderr
    more = run_confined(profile, ctx, [str(binary), "more"])
    assert more.returncode == 1
    assert sorted(more.stdout.decode().splitlines()[:-1]) == [
        "ioctl TIOCGWINSZ: Function not implemented", "prctl PR_GET_DUMPABLE: Function not implemented",
        "socket AF_NETLINK: Function not implemented"]
    proc = cli("verify", "--profile", str(profile_path), "--", str(binary))
    assert proc.returncode == 0 and "0 denied syscalls" in proc.stderr, proc.stderr
    proc = cli("verify", "--profile", str(profile_path), "--", str(binary), "more")
    assert proc.returncode == 1 and "3 denied syscalls" in proc.stderr, proc.stderr


def test_without_the_flag_the_report_says_what_it_would_narrow(tmp_path: Path, workload: Callable[..., Path]) -> None:
    rec = tmp_path / "rec.json"
    assert cli("record", "-q", "-o", str(rec), "--", str(workload("narrow"))).returncode == 0
    gen = cli("generate", str(rec), "--name", "n", "--out", str(tmp_path / "out"), "--format", "json")
    assert gen.returncode == 0, gen.stderr
    rules = _restricted(tmp_path / "out" / "n.json")
    assert [] in rules["prctl"] and [] in rules["ioctl"]  # unrestricted, as the baseline has them
    report = json.loads(gen.stdout)
    assert report["narrowing"]["applied"] is False
    assert set(NARROWED) <= {n["name"] for n in report["narrowing"]["narrowed"]}


def _wide_and_narrow(rec: Recording, baseline: str) -> tuple[bytes, bytes]:
    ctx = context.build(rec.arches(), [X86_64])
    base = baselines.load(baseline)
    wide = minimise(rec, base, ctx).profile
    narrow = minimise(rec, base, ctx, narrow_args=True).profile
    return program(wide, ctx), program(narrow, ctx)


@pytest.mark.parametrize("baseline", ["crio", "moby"])
def test_never_looser_than_without_the_flag(baseline: str) -> None:
    """The narrowed filter allows a call only where the unnarrowed one does, over random values
    and the recorded ones (some of which the baseline denies: AF_VSOCK 40, personality
    ADDR_NO_RANDOMIZE); and it allows every recorded value the baseline allows."""
    rec = make_recording({X86_64: {"socket": {0: (1, 2, 10, 16, 40), 1: (1, 0x80001, 2), 2: (0, 9)},
                                   "prctl": {0: (15, 38)}, "ioctl": {1: (0x5401, 0x541B)}, "fcntl": {1: (1, 3, 4)},
                                   "clone": {0: (0x3D0F00, 0x1200011)}, "personality": {0: (0, 0x40000, 0xFFFFFFFF)},
                                   "read": None, "exit_group": None}})
    wide, narrow = _wide_and_narrow(rec, baseline)
    rng = random.Random(7)
    interesting = [0, 1, 2, 3, 9, 10, 15, 16, 38, 40, 0x40000, 0x5401, 0x80001, 0x3D0F00, 0x1200011, 0xFFFFFFFF,
                   2**32 + 2]
    for name in ("socket", "prctl", "ioctl", "fcntl", "clone", "personality"):
        for _ in range(300):
            args = [rng.choice([*interesting, rng.getrandbits(64)]) for _ in range(3)]
            if answer(narrow, X86_64, name, tuple(args)).allowed:
                assert answer(wide, X86_64, name, tuple(args)).allowed, (name, args)
    for domain in (1, 2, 10):
        assert answer(narrow, X86_64, "socket", (domain, 0x80001, 0)).allowed
    assert not answer(narrow, X86_64, "socket", (17, 1, 0)).allowed  # AF_PACKET: never recorded
    assert not answer(narrow, X86_64, "socket", (40, 1, 0)).allowed  # AF_VSOCK: the baseline denies it
    assert not answer(narrow, X86_64, "personality", (0x40000,)).allowed  # recorded, but the baseline denies it
    assert answer(narrow, X86_64, "personality", (0xFFFFFFFF,)).allowed
    assert not answer(narrow, X86_64, "prctl", (22,)).allowed  # PR_SET_SECCOMP
    assert answer(narrow, X86_64, "prctl", (38,)).allowed


def _reasons(rec: Recording) -> dict[str, str]:
    ctx = context.build(rec.arches(), [X86_64])
    findings = minimise(rec, baselines.load("crio"), ctx, narrow_args=True).findings
    return {n.name: n.reason for n in findings.not_narrowed}


def test_what_cannot_be_narrowed_is_listed_with_the_reason() -> None:
    many = tuple(range(0x5400, 0x5400 + 40))
    rec = make_recording({X86_64: {"ioctl": {1: many}, "prctl": None, "read": None, "exit_group": None},
                          X86: {"socketcall": None, "read": None}})
    truncated = dict(rec.syscalls)
    truncated[X86_64] = {**rec.syscalls[X86_64], "fcntl": SyscallUse(1, rec.syscalls[X86_64]["read"].first,
                                                                      {1: (1,)}, args_truncated=True)}
    reasons = _reasons(Recording(rec.source, 0, True, truncated))
    assert "more than 16" in reasons["ioctl"]
    assert "no argument values recorded" in reasons["prctl"]
    assert "truncated" in reasons["fcntl"]
    assert "pointer" in reasons["socketcall"]


def test_i386_values_count_for_the_rules_both_arches_share() -> None:
    rec = make_recording({X86_64: {"socket": {0: (2,), 1: (1,)}, "read": None, "exit_group": None},
                          X86: {"socket": {0: (1,), 1: (2,)}, "read": None}})
    ctx = context.build(rec.arches(), [X86_64])
    profile = minimise(rec, baselines.load("crio"), ctx, narrow_args=True).profile
    prog = program(profile, ctx)
    for arch in (X86_64, X86):
        assert answer(prog, arch, "socket", (1, 2, 0)).allowed and answer(prog, arch, "socket", (2, 1, 0)).allowed
        assert not answer(prog, arch, "socket", (16, 3, 0)).allowed


def test_a_narrowed_recording_round_trip_keeps_the_values(tmp_path: Path, workload: Callable[..., Path]) -> None:
    rec = tmp_path / "rec.json"
    assert cli("record", "-q", "-o", str(rec), "--", str(workload("narrow"))).returncode == 0
    uses = recording.load(rec).syscalls[X86_64]
    assert {2, 1, 10} <= set(uses["socket"].args[0]) and {15, 16} <= set(uses["prctl"].args[0])
    assert 0x5401 in uses["ioctl"].args[1] and 0x541B in uses["ioctl"].args[1]  # TCGETS, FIONREAD
