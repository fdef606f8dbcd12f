"""Minimisation semantics, one behaviour per test, on hand-built recordings (the kernel-level
proof with real workloads is in test_generate_proof.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_gen.generator import baselines, context
from seccomp_gen.generator.minimise import Denied, Result, minimise
from seccomp_gen.generator.profile import dumps
from seccomp_gen.generator.tables import runtime_needs
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.recording import Recording
from tests.support.generate import X86, X86_64, answer, generate, make_recording, program

BASIC: dict[str, dict[int, tuple[int, ...]] | None] = {
    "read": None, "write": None, "exit_group": None, "execve": None, "mmap": None,
}


def rec_with(**extra: dict[int, tuple[int, ...]] | None) -> Recording:
    return make_recording({X86_64: {**BASIC, **extra}})


def denied(result: Result, name: str) -> list[Denied]:
    return [d for d in result.findings.denied if d.name == name]


@pytest.mark.parametrize("baseline", ["crio", "containers-common", "moby"])
def test_profile_keeps_observed_names_and_takes_default_from_baseline(baseline: str) -> None:
    result, ctx = generate(make_recording({X86_64: dict(BASIC)}), baseline)
    prog = program(result.profile, ctx)
    for name in BASIC:
        assert answer(prog, X86_64, name).allowed
    assert not answer(prog, X86_64, "openat").allowed
    assert str(answer(prog, X86_64, "getpid")) == f"ERRNO({1 if baseline == 'moby' else 38})"
    assert result.findings.reduction_percent > 80


def test_archmap_holds_only_recorded_arches() -> None:
    result, _ = generate(make_recording({X86_64: dict(BASIC)}))
    assert [(e.architecture, e.sub_architectures) for e in result.profile.arch_map] == [(X86_64, ())]


def test_i386_calls_on_x86_64_host_make_x86_a_subarchitecture() -> None:
    rec = make_recording({X86: {"mmap2": None, "exit_group": None, "write": None, "_llseek": None}})
    result, ctx = generate(rec)
    assert [(e.architecture, e.sub_architectures) for e in result.profile.arch_map] == [(X86_64, (X86,))]
    prog = program(result.profile, ctx)
    assert answer(prog, X86, "mmap2").allowed and answer(prog, X86, "_llseek").allowed
    assert answer(prog, X86_64, "execve").allowed  # the runtime's execve is native


def test_cap_gated_syscall_is_reported_and_not_allowed_unless_cap_granted() -> None:
    rec = rec_with(unshare=None, chroot=None)
    result, ctx = generate(rec, "crio")
    assert [d.kind for d in denied(result, "unshare")] == ["needs-cap"]
    assert "CAP_SYS_ADMIN" in denied(result, "unshare")[0].detail
    assert "CAP_SYS_CHROOT" in denied(result, "chroot")[0].detail
    prog = program(result.profile, ctx)
    assert not answer(prog, X86_64, "unshare").allowed and not answer(prog, X86_64, "chroot").allowed
    granted, ctx2 = generate(rec, "crio", caps=("CAP_SYS_ADMIN", "sys_chroot"))
    assert not denied(granted, "unshare") and not denied(granted, "chroot")
    prog2 = program(granted.profile, ctx2)
    assert answer(prog2, X86_64, "unshare").allowed and answer(prog2, X86_64, "chroot").allowed


def test_deny_rule_for_observed_name_stays_with_its_errno() -> None:
    result, ctx = generate(rec_with(userfaultfd=None), "containers-common")
    rules = [r for r in result.profile.rules if "userfaultfd" in r.names]
    assert [(r.action, r.errno_ret) for r in rules] == [("SCMP_ACT_ERRNO", 1)]
    assert str(answer(program(result.profile, ctx), X86_64, "userfaultfd")) == "ERRNO(1)"
    assert denied(result, "userfaultfd")[0].kind == "denied"


def test_overlapping_allow_and_deny_keep_their_meaning() -> None:
    """containers-common allows setns unconditionally and denies it without CAP_SYS_ADMIN later:
    the first unconditional rule wins, in the baseline and in the generated profile."""
    result, ctx = generate(rec_with(setns=None), "containers-common")
    actions = [r.action for r in result.profile.rules if "setns" in r.names]
    assert actions == ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"]
    assert answer(program(result.profile, ctx), X86_64, "setns").allowed


def test_argument_rules_are_kept_intact_and_denied_values_reported() -> None:
    rec = rec_with(personality={0: (0xFFFFFFFF, 0x40000)}, socket={0: (1, 40), 1: (1,)})
    result, ctx = generate(rec, "moby")
    prog = program(result.profile, ctx)
    assert answer(prog, X86_64, "personality", (0xFFFFFFFF,)).allowed
    assert not answer(prog, X86_64, "personality", (0x40000,)).allowed
    assert answer(prog, X86_64, "socket", (1,)).allowed and not answer(prog, X86_64, "socket", (40,)).allowed
    kinds = {(d.name, d.kind) for d in result.findings.denied}
    assert kinds == {("personality", "argument"), ("socket", "argument")}
    assert "arg0=0x40000" in denied(result, "personality")[0].detail
    assert "arg0=0x28" in denied(result, "socket")[0].detail
    assert result.findings.extras  # --fail-on-extra would fail


def test_clone3_enosys_adds_the_clone_fallback_with_its_argument_rule() -> None:
    for baseline in ("moby", "crio"):
        result, ctx = generate(rec_with(clone3=None), baseline)
        prog = program(result.profile, ctx)
        assert str(answer(prog, X86_64, "clone3")) == "ERRNO(38)"
        assert answer(prog, X86_64, "clone", (0x3D0F00,)).allowed  # pthread_create's flags
        assert not answer(prog, X86_64, "clone", (0x10000000,)).allowed  # CLONE_NEWUSER
        fallback = [r for r in result.profile.rules if "clone" in r.names and r.allows]
        assert fallback and all("ENOSYS fallback for clone3" in r.comment for r in fallback)
        assert [a.origin for a in result.findings.added if a.name == "clone"] == ["fallback"]
        assert [d.kind for d in denied(result, "clone3")] == ["enosys-fallback"]
        assert not result.findings.extras


def test_clone3_is_allowed_as_is_where_the_baseline_allows_it() -> None:
    result, ctx = generate(rec_with(clone3=None), "containers-common")
    assert answer(program(result.profile, ctx), X86_64, "clone3").allowed
    assert "clone" not in result.profile.names()


@pytest.mark.parametrize(("runtime", "nnp"), [("crun", True), ("crun", False), ("runc", True), ("runc", False)])
def test_runtime_required_syscalls_are_added_with_a_comment(runtime: str, nnp: bool) -> None:
    result, ctx = generate(make_recording({X86_64: {"exit_group": None}}), runtime=runtime, nnp=nnp)
    prog = program(result.profile, ctx)
    needs = runtime_needs(runtime, nnp)
    for name in needs.names:
        assert answer(prog, X86_64, name).allowed, name
        rules = [r for r in result.profile.rules if name in r.names and r.allows]
        assert any(f"required by {runtime}" in r.comment for r in rules), name
    assert ("capset" in needs.names) is (not nnp)


def test_allow_extra_allows_a_denied_syscall_on_purpose_and_flags_it() -> None:
    rec = rec_with(unshare=None, userfaultfd=None)
    result, ctx = generate(rec, "containers-common", allow_extra=("userfaultfd",))
    prog = program(result.profile, ctx)
    assert answer(prog, X86_64, "userfaultfd").allowed
    rule = next(r for r in result.profile.rules if "userfaultfd" in r.names)
    assert rule.action == "SCMP_ACT_ALLOW" and "--allow-extra" in rule.comment
    assert denied(result, "userfaultfd")[0].allowed_extra
    assert [a.name for a in result.findings.widenings] == ["userfaultfd"]
    assert [d.name for d in result.findings.extras] == []  # unshare is allowed in containers-common


def test_unknown_allow_extra_name_is_an_error() -> None:
    with pytest.raises(SeccompGenError, match="no architecture has a syscall"):
        generate(rec_with(), allow_extra=("not_a_syscall",))


def test_same_inputs_give_the_same_profile_bytes() -> None:
    rec = rec_with(clone3=None, personality={0: (0,)}, socket={0: (2, 10)})
    first = dumps(generate(rec, "crio")[0].profile)
    assert all(dumps(generate(rec, "crio")[0].profile) == first for _ in range(3))


def test_arch_option_must_cover_the_recorded_arches() -> None:
    rec = make_recording({X86_64: dict(BASIC), X86: {"mmap2": None}})
    with pytest.raises(SeccompGenError, match="SCMP_ARCH_X86, which --arch leaves out"):
        context.build(rec.arches(), [X86_64], [X86_64])
    with pytest.raises(SeccompGenError, match="unknown architecture"):
        context.build(rec.arches(), [X86_64], ["SCMP_ARCH_PDP11"])


def _site_baseline(tmp_path: Path, doc: dict[str, object]) -> str:
    path = tmp_path / "site.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_blocklist_file_baseline_still_yields_an_allowlist(tmp_path: Path) -> None:
    site = _site_baseline(tmp_path, {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]})
    rec = rec_with(ptrace=None)
    ctx = context.build(rec.arches(), [X86_64])
    result = minimise(rec, baselines.load(site), ctx)
    prog = program(result.profile, ctx)
    assert result.profile.default_action == "SCMP_ACT_ERRNO"
    assert answer(prog, X86_64, "read").allowed and not answer(prog, X86_64, "openat").allowed
    assert str(answer(prog, X86_64, "ptrace")) == "ERRNO(1)"
    assert any("defaultAction is SCMP_ACT_ALLOW" in w for w in result.findings.warnings)


def test_name_allowed_outright_and_conditionally_loads_on_x86_and_stays_allowed(tmp_path: Path) -> None:
    """libseccomp refuses (EEXIST) a conditional socket rule after an unconditional one when x86 is in
    the filter; the unconditional rule wins anyway, so the dead conditional one is dropped."""
    site = _site_baseline(tmp_path, {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
        {"architecture": X86_64, "subArchitectures": [X86]}], "syscalls": [
        {"names": ["socket", "read", "socketcall", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
    ]})
    rec = make_recording({X86_64: {"socket": {0: (2,)}, "read": None}, X86: {"socketcall": None}})
    ctx = context.build(rec.arches(), [X86_64])
    result = minimise(rec, baselines.load(site), ctx)
    prog = program(result.profile, ctx)
    assert answer(prog, X86_64, "socket", (40,)).allowed  # as under the baseline: outright wins
    assert [r.args for r in result.profile.rules if "socket" in r.names] == [()]


def test_several_host_architectures_each_get_an_archmap_entry() -> None:
    rec = make_recording({X86_64: dict(BASIC), X86: {"mmap2": None}})
    ctx = context.build(rec.arches(), [X86_64], [X86_64, X86, "SCMP_ARCH_AARCH64", "SCMP_ARCH_S390X"])
    result = minimise(rec, baselines.load("crio"), ctx)
    assert [(e.architecture, e.sub_architectures) for e in result.profile.arch_map] == [
        ("SCMP_ARCH_AARCH64", ()), ("SCMP_ARCH_S390X", ()), (X86_64, (X86,))]


def test_socket_with_an_i386_subarchitecture_keeps_socketcall_so_the_filter_loads() -> None:
    rec = make_recording({X86_64: {"socket": {0: (2,)}, "read": None}, X86: {"read": None}})
    result, ctx = generate(rec, "crio")
    assert [a.origin for a in result.findings.added if a.name == "socketcall"] == ["libseccomp"]
    prog = program(result.profile, ctx)  # compiles: no EEXIST
    assert answer(prog, X86_64, "socket", (2,)).allowed and not answer(prog, X86_64, "socket", (40,)).allowed


def test_blocklist_baseline_with_argument_denials_fails_closed(tmp_path: Path) -> None:
    site = _site_baseline(tmp_path, {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]}]})
    rec = rec_with(socket={0: (2,)})
    ctx = context.build(rec.arches(), [X86_64])
    result = minimise(rec, baselines.load(site), ctx)
    assert [d.kind for d in denied(result, "socket")] == ["argument"]
    prog = program(result.profile, ctx)
    assert not answer(prog, X86_64, "socket", (2,)).allowed and not answer(prog, X86_64, "socket", (40,)).allowed
    widened = minimise(rec, baselines.load(site), ctx, allow_extra=("socket",))
    assert answer(program(widened.profile, ctx), X86_64, "socket", (2,)).allowed
    assert [a.name for a in widened.findings.widenings] == ["socket"]


@pytest.mark.parametrize("baseline", ["crio", "containers-common", "moby"])
def test_signal_restart_and_return_are_implied(baseline: str) -> None:
    """restart_syscall (a blocking call interrupted by a signal) and rt_sigreturn (a handler's
    return) are made on the program's behalf; a run shows them only if a signal happened to arrive."""
    plain, _ = generate(make_recording({X86_64: dict(BASIC)}), baseline)
    assert "restart_syscall" in plain.profile.names() and "rt_sigreturn" not in plain.profile.names()
    result, ctx = generate(rec_with(rt_sigaction=None), baseline)
    prog = program(result.profile, ctx)
    assert answer(prog, X86_64, "restart_syscall").allowed and answer(prog, X86_64, "rt_sigreturn").allowed
    implied = {a.name: a for a in result.findings.added if a.origin == "implied"}
    assert set(implied) == {"restart_syscall", "rt_sigreturn"} and not any(a.widening for a in implied.values())
    rules = [r for r in result.profile.rules if "rt_sigreturn" in r.names]
    assert "signal restart/return" in rules[0].comment


@pytest.mark.parametrize("baseline", ["crio", "containers-common", "moby"])
@pytest.mark.parametrize("maker", ["clone", "clone3"])
def test_futex_is_implied_by_threads(baseline: str, maker: str) -> None:
    """A thread that finished before pthread_join was called leaves no futex in the recording; the
    next run, where it had not, waits in futex: so a program that made a thread or child gets it."""
    plain, _ = generate(make_recording({X86_64: dict(BASIC)}), baseline)
    assert "futex" not in plain.profile.names()
    result, ctx = generate(rec_with(**{maker: None}), baseline)
    assert answer(program(result.profile, ctx), X86_64, "futex").allowed
    implied = {a.name: a for a in result.findings.added if a.origin == "implied"}
    assert "futex" in implied and not implied["futex"].widening and "timing" in implied["futex"].detail
