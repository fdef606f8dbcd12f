"""seccomp_gen/prove/oci.py: a Docker-format profile resolved into the runtime-spec's linux.seccomp, as
CRI-O (containers-common pkg/seccomp) and containerd/Docker (moby profiles/seccomp) resolve a
localhost profile: conditions evaluated for the host and the container's capabilities, then removed."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from seccomp_gen.generator import baselines, context, profile
from seccomp_gen.generator.profile import Arg, Rule
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.prove import oci

X86_64 = "SCMP_ARCH_X86_64"
AARCH64 = "SCMP_ARCH_AARCH64"


def ctx(*caps: str) -> context.Context:
    return context.build([X86_64], [X86_64], caps=caps)


def load(doc: Mapping[str, object]) -> profile.Profile:
    return profile.loads(json.dumps(doc))


PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "archMap": [
        {"architecture": X86_64, "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": AARCH64, "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "plain"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
        {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["vm86"], "action": "SCMP_ACT_ERRNO", "excludes": {"arches": ["amd64"]}},
        {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"minKernel": "5.0"}},
    ],
}


def names(seccomp: profile.Profile) -> list[tuple[str, ...]]:
    return [call.names for call in seccomp.rules]


def test_conditions_resolved_for_the_host_and_no_caps() -> None:
    out = oci.translate(load(PROFILE), ctx(), native=X86_64)
    assert names(out) == [("read", "write"), ("personality",), ("arch_prctl",), ("ptrace",), ("setns",),
                          ("kexec_load",)]
    assert out.architectures == (X86_64, "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    assert (out.default_action, out.default_errno_ret) == ("SCMP_ACT_ERRNO", 38)


def test_capabilities_decide_includes_and_excludes() -> None:
    out = oci.translate(load(PROFILE), ctx("CAP_SYS_ADMIN"), native=X86_64)
    assert ("mount",) in names(out) and ("setns",) not in names(out)


def test_other_host_gets_its_arch_map_entry_and_arch_rules() -> None:
    out = oci.translate(load(PROFILE), ctx(), native=AARCH64)
    assert out.architectures == (AARCH64, "SCMP_ARCH_ARM")
    assert ("sync_file_range2",) in names(out) and ("arch_prctl",) not in names(out)
    assert ("vm86",) in names(out)  # excluded on amd64 only


def test_no_arch_map_entry_leaves_architectures_to_libseccomp() -> None:
    out = oci.translate(load(PROFILE), ctx(), native="SCMP_ARCH_S390X")
    assert out.architectures == ()


def test_min_kernel_with_and_without_a_kernel() -> None:
    old = oci.translate(load(PROFILE), ctx(), native=X86_64, kernel="4.4.0-210-generic")
    assert ("ptrace",) not in names(old) and ("kexec_load",) in names(old)
    new = oci.translate(load(PROFILE), ctx(), native=X86_64, kernel="6.1.0-18-amd64")
    assert ("ptrace",) in names(new) and ("kexec_load",) not in names(new)
    assert oci.kernel_version("6.18.44-fc") == (6, 18)
    with pytest.raises(SeccompGenError):
        oci.kernel_version("unknown")


def test_json_keeps_errno_and_args_and_drops_conditions_and_comments() -> None:
    doc = oci.linux_seccomp(load(PROFILE), ctx(), native=X86_64)
    assert set(doc) == {"defaultAction", "defaultErrnoRet", "architectures", "syscalls"}
    assert doc["syscalls"][0] == {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}
    assert doc["syscalls"][1]["args"] == [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]
    assert {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1} in doc["syscalls"]
    for call in doc["syscalls"]:
        assert set(call) <= {"names", "action", "errnoRet", "args"}


def test_flat_architectures_flags_and_listener_are_copied() -> None:
    doc = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": [X86_64, "SCMP_ARCH_X86"],
           "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "/run/agent.sock", "listenerMetadata": "m",
           "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    out = oci.linux_seccomp(load(doc), ctx(), native=X86_64)
    assert out["architectures"] == [X86_64, "SCMP_ARCH_X86"]
    assert (out["flags"], out["listenerPath"], out["listenerMetadata"]) == (["SECCOMP_FILTER_FLAG_LOG"],
                                                                          "/run/agent.sock", "m")


def test_both_architectures_and_arch_map_is_an_error() -> None:
    prof = profile.Profile("SCMP_ACT_ERRNO", (Rule(("read",), "SCMP_ACT_ALLOW"),),
                           arch_map=(profile.ArchMapEntry(X86_64),), architectures=(X86_64,))
    with pytest.raises(SeccompGenError, match="archMap"):
        oci.translate(prof, ctx(), native=X86_64)


def test_without_and_with_allowed() -> None:
    out = oci.translate(load(PROFILE), ctx(), native=X86_64)
    less = oci.without(out, "write")
    assert less.rules[0].names == ("read",) and "write" not in less.names()
    assert "personality" not in oci.without(out, "personality").names()
    more = oci.with_allowed(out, ("read", "close"))
    assert more.rules[-1] == Rule(("close",), "SCMP_ACT_ALLOW")
    assert oci.with_allowed(out, ("read",)) is out


@pytest.mark.parametrize("name", ["crio", "containers-common", "moby"])
def test_baselines_resolve_like_the_context(name: str) -> None:
    """For the bundled baselines, the translation keeps exactly the rules the generator's context
    says apply (minKernel assumed met), in order."""
    base = baselines.load(name).profile
    for caps in ((), ("CAP_SYS_ADMIN",), ("CAP_SYS_PTRACE", "CAP_NET_ADMIN")):
        c = ctx(*caps)
        out = oci.translate(base, c, native=X86_64)
        expected = [r for r in base.rules if c.applies(r)]
        assert [(call.names, call.action, call.errno_ret, call.args) for call in out.rules] == [
            (r.names, r.action, r.errno_ret, r.args) for r in expected]


def test_rule_applies_matches_arg_type() -> None:
    rule = Rule(("clone",), "SCMP_ACT_ALLOW", args=(Arg(0, 0x7E020000, "SCMP_CMP_MASKED_EQ", 0),),
                excludes=profile.Filter(caps=("CAP_SYS_ADMIN",)))
    assert oci.rule_applies(rule, frozenset(), X86_64)
    assert not oci.rule_applies(rule, frozenset({"CAP_SYS_ADMIN"}), X86_64)
