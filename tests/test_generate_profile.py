"""The Profile reader/writer, the bundled baselines' fidelity to upstream, and rule precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_gen.generator import baselines, context
from seccomp_gen.generator.profile import Profile, dumps, load, loads
from seccomp_gen.generator.verdict import decide
from seccomp_gen.ground.errors import SeccompGenError
from tests.support.generate import X86, X86_64, answer, program

REFERENCE = Path("/work/shared/reference/profiles")
UPSTREAM = {"containers-common": "containers-common-default.json", "moby": "moby-default.json"}


def _rules(profile: Profile) -> list[tuple[object, ...]]:
    return [(tuple(sorted(r.names)), r.action, r.errno_ret, r.args, r.includes, r.excludes, r.comment)
            for r in profile.rules]


@pytest.mark.parametrize("name", baselines.BUNDLED)
def test_bundled_baseline_round_trips_and_names_its_upstream(name: str) -> None:
    base = baselines.load(name)
    assert loads(dumps(base.profile)) == base.profile
    assert base.sources and all("commit" in s and "repo" in s for s in base.sources)
    assert base.profile.default_action == "SCMP_ACT_ERRNO"


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_bundled_baseline_has_exactly_the_upstream_rules(name: str) -> None:
    path = REFERENCE / UPSTREAM[name]
    if not path.exists():
        pytest.skip(f"upstream reference {path} not available")
    upstream = load(path)
    ours = baselines.load(name).profile
    assert _rules(ours) == _rules(upstream)
    assert ours.default_errno_ret == upstream.default_errno_ret
    assert ours.arch_map == upstream.arch_map


def test_crio_is_containers_common_with_crio_namespace_edits() -> None:
    cc = baselines.load("containers-common").profile
    crio = baselines.load("crio").profile
    moved = {"clone", "clone3", "unshare"}
    assert crio.default_errno_ret == 38
    big_cc = next(r for r in cc.rules if len(r.names) > 300)
    big_crio = next(r for r in crio.rules if len(r.names) > 300)
    assert set(big_cc.names) - set(big_crio.names) == moved
    added = crio.rules[len(cc.rules):]
    assert crio.rules[: len(cc.rules)] != cc.rules  # only the big list changed
    gated = [r for r in added if r.includes.caps == ("CAP_SYS_ADMIN",)]
    assert gated and set(gated[0].names) == moved
    clone3 = [r for r in added if r.names == ("clone3",)]
    assert clone3[0].action == "SCMP_ACT_ERRNO" and clone3[0].errno_ret == 38
    assert clone3[0].excludes.caps == ("CAP_SYS_ADMIN",)


def test_libseccomp_precedence_matches_the_verdict_model() -> None:
    """First unconditional rule wins (setns in containers-common), deny beats overlapping allow
    (socket AF_VSOCK), OR of repeated-index comparisons (CRI-O clone flags), rules equal to the
    default are skipped (clone3 ENOSYS under an ENOSYS default)."""
    ctx = context.build([X86_64])
    cases: dict[str, list[tuple[str, tuple[int, ...], bool]]] = {
        "containers-common": [("setns", (), True), ("socket", (40,), False), ("socket", (2,), True),
                              ("socket", (16, 3, 9), False), ("clone3", (), True), ("chroot", (), False)],
        "crio": [("clone", (0x10000000,), False), ("clone", (0x0011,), True), ("clone3", (), False),
                 ("unshare", (), False), ("setns", (), True)],
        "moby": [("clone", (0x20000,), False), ("clone", (0x3D0F00,), True), ("personality", (0xFFFFFFFF,), True),
                 ("personality", (0x40000,), False), ("socket", (38,), False), ("socket", (39,), True)],
    }
    for name, checks in cases.items():
        base = baselines.load(name).profile
        prog = program(base, ctx)
        rules = [r for r in base.rules if ctx.applies(r)]
        for syscall, args, allowed in checks:
            assert answer(prog, X86_64, syscall, args).allowed is allowed, (name, syscall, args)
            if not args:
                assert decide(rules, syscall, base.default_action, base.default_errno_ret).allowed is allowed


def test_names_of_another_abi_are_enforced_on_that_abi() -> None:
    """A profile's rules apply to every arch in the filter: i386-only names (mmap2, socketcall)
    resolve to libseccomp pseudo-numbers on x86_64 and reach the x86 sub-filter."""
    ctx = context.build([X86_64, X86], [X86_64])
    prof = loads(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                             "archMap": [{"architecture": X86_64, "subArchitectures": [X86]}],
                             "syscalls": [{"names": ["mmap2", "read"], "action": "SCMP_ACT_ALLOW"}]}))
    prog = program(prof, ctx)
    assert answer(prog, X86, "mmap2").allowed
    assert answer(prog, X86, "read").allowed and answer(prog, X86_64, "read").allowed
    assert str(answer(prog, X86_64, "write")) == "ERRNO(38)"


BAD_PROFILES = [
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}',
     "action 'SCMP_ACT_ALOW'", 1),
    ('{\n "defaultAction": "SCMP_ACT_ERRNO",\n "syscalls": [\n  {"names": ["read"], "action": "SCMP_ACT_ALLOW"},\n'
     '  {"names": ["write"], "action": "SCMP_ACT_ERRNO",\n   "errnoret": 1}\n ]\n}', "unknown key 'errnoret'", 6),
    ('{"syscalls": []}', "no defaultAction", None),
    ('[1, 2]', "not a seccomp profile", None),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_Z80"}], "syscalls": []}',
     "unknown architecture 'SCMP_ARCH_Z80'", 1),
    ('{"defaultAction": "SCMP_ACT_ERRNO",\n"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",\n'
     '"args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]}', "args[].index", 3),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["Read Me"], "action": "SCMP_ACT_ALLOW"}]}',
     "invalid entry 'Read Me'", 1),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
     '"errnoRet": 1, "errno": "ENOSYS"}]}', "contradicts", 1),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}', "duplicate key", 1),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [', "invalid JSON", 1),
]


@pytest.mark.parametrize(("text", "message", "line"), BAD_PROFILES)
def test_bad_profile_is_one_error_with_file_and_line(text: str, message: str, line: int | None) -> None:
    with pytest.raises(SeccompGenError) as info:
        loads(text, "site.json")
    assert message in info.value.message
    assert info.value.path == "site.json"
    assert info.value.line == line


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=12)
    | st.sampled_from(["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_CMP_EQ", "SCMP_ARCH_X86_64", "read", "EPERM",
                       "CAP_SYS_ADMIN", "amd64", "4.8"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["defaultAction", "defaultErrnoRet", "syscalls", "names", "name", "action", "args",
                         "index", "value", "valueTwo", "op", "includes", "excludes", "caps", "arches",
                         "minKernel", "archMap", "architecture", "subArchitectures", "errnoRet", "errno",
                         "comment", "flags", "x"]), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(doc=_json)
def test_profile_reader_fails_only_with_its_own_error(doc: object) -> None:
    text = json.dumps(doc, indent=1)
    try:
        loads(text, "fuzz.json")
    except SeccompGenError as exc:
        assert exc.path == "fuzz.json" and "\n" not in str(exc)
