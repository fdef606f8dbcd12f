"""verify, check, oci and diff never give a silent or misleading answer, and verify agrees with the
kernel: each test runs real processes under real filters, with the kernel (the profile loaded
directly, prove/enforce.py) or a real runtime (runc, crun) as the oracle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen.generator import profile as profile_io
from seccomp_gen.generator.profile import ArchMapEntry, Arg, Filter, Profile, Rule
from seccomp_gen.ground import syscalls
from seccomp_gen.prove import bpf, kill
from seccomp_gen.prove.enforce import Outcome, run_confined
from seccomp_gen.prove.host import context_for
from tests.support import oci as oci_support
from tests.support.process import cli

X86_64 = "SCMP_ARCH_X86_64"
AARCH64 = "SCMP_ARCH_AARCH64"

pytestmark = pytest.mark.skipif(syscalls.native_arch() != X86_64, reason="the workloads and registers are x86_64's")


def _generated(tmp_path: Path, binary: str, name: str) -> dict[str, Any]:
    """Record `binary` and generate its profile (crio's default): the profile as a JSON document."""
    rec = tmp_path / f"{name}.recording.json"
    proc = cli("record", "-q", "-o", str(rec), "--", binary)
    assert rec.exists(), proc.stderr
    out = tmp_path / f"{name}-out"
    proc = cli("generate", str(rec), "--name", name, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads((out / f"{name}.json").read_text())
    return doc


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def _with_rule(doc: dict[str, Any], name: str, action: str, errno_ret: int | None = None) -> dict[str, Any]:
    """The document with `name` taken out of every rule and answered by a rule of its own."""
    rules = [{**r, "names": [n for n in r["names"] if n != name]} for r in doc["syscalls"]]
    rule: dict[str, Any] = {"names": [name], "action": action}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    return {**doc, "syscalls": [r for r in rules if r["names"]] + [rule]}


def _kernel(path: Path, argv: list[str]) -> Outcome:
    """The oracle: argv under the profile loaded straight into the kernel, no tracer."""
    prof = profile_io.load(path)
    return run_confined(prof, context_for(prof), argv)


# ------------------------------------------------------------------ 6: kills as the kernel kills


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL"])
def test_verify_kills_as_the_kernel_does(workload: Callable[..., Path], tmp_path: Path, action: str) -> None:
    binary = str(workload("thread_getppid"))
    path = _write(tmp_path, "kill", _with_rule(_generated(tmp_path, binary, "tg"), "getppid", action))
    oracle = _kernel(path, [binary])
    # KILL_PROCESS: SIGSYS for the process; KILL_THREAD (KILL is its old name): only the thread dies.
    names = sorted({n for r in json.loads(path.read_text())["syscalls"] for n in r["names"]})
    assert (oracle.returncode, oracle.stdout) == ((159, b"") if action == "SCMP_ACT_KILL_PROCESS"
                                                  else (3, b"main survived\n")), (oracle.stderr, names)
    proc = cli("verify", "--profile", str(path), "--", binary)
    assert (proc.returncode, proc.stdout.encode()) == (oracle.returncode, oracle.stdout), proc.stderr
    assert f"getppid (SCMP_ARCH_X86_64): {action}" in proc.stderr
    if action == "SCMP_ACT_KILL_PROCESS":
        assert "killed by SIGSYS (exit status 159)" in proc.stderr


def test_the_kill_switch_allows_everything_else() -> None:
    """The extra filter verify loads only ever kills its own two numbers (interpreted as the kernel runs it)."""
    token = syscalls.ARCH_TOKENS[X86_64]
    for nr in (0, 1, 59, 231, 435, kill.KILL_PROCESS_NR - 1, 0x40000000):
        assert bpf.run(kill.PROGRAM, token, nr).action_name == "SCMP_ACT_ALLOW"
    assert bpf.run(kill.PROGRAM, token, kill.KILL_PROCESS_NR).action_name == "SCMP_ACT_KILL_PROCESS"
    assert bpf.run(kill.PROGRAM, syscalls.ARCH_TOKENS["SCMP_ARCH_X86"], kill.KILL_THREAD_NR).action_name in (
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD")
    for arch in ("SCMP_ARCH_X86", X86_64):
        assert all(syscalls.name_of(arch, nr) is None for nr in (kill.KILL_PROCESS_NR, kill.KILL_THREAD_NR))


# ------------------------------------------------------------------ 5: an architecture the profile lacks


def test_a_32_bit_program_under_an_x86_64_profile(workload: Callable[..., Path], tmp_path: Path) -> None:
    doc = _generated(tmp_path, str(workload("hello")), "h64")
    doc.pop("archMap", None)
    path = _write(tmp_path, "x86_64-only", {**doc, "architectures": [X86_64]})
    binary = str(workload("hello", "-m32"))
    oracle = _kernel(path, [binary])
    assert oracle.returncode == 159 and oracle.stdout == b""  # the kernel's bad-arch kill: SIGSYS
    proc = cli("verify", "--profile", str(path), "--", binary)
    assert proc.returncode == 159 and proc.stdout == ""
    assert "0 denied" not in proc.stderr
    assert "(SCMP_ARCH_X86): SCMP_ACT_KILL_PROCESS (architecture not in the profile)" in proc.stderr
    assert "the profile does not list SCMP_ARCH_X86" in proc.stderr and binary in proc.stderr
    assert "killed by SIGSYS" in proc.stderr
    # --complain lets the calls run, and says that each is a denial of the architecture.
    complain = cli("verify", "--complain", "--profile", str(path), "--", binary)
    assert complain.returncode == 0 and complain.stdout == "hello from i386\n"
    assert "write(X86)" in complain.stderr and "the profile does not list SCMP_ARCH_X86" in complain.stderr
    report = tmp_path / "check.json"
    checked = cli("check", "--profile", str(path), "--format", "json", "--report", str(report), "--", binary)
    assert checked.returncode == 1, checked.stderr
    missing = json.loads(report.read_text())["missing"]
    assert {m["arch"] for m in missing} == {"SCMP_ARCH_X86"} and {m["first"]["exe"] for m in missing} == {binary}
    assert "write" in {m["syscall"] for m in missing}


# ------------------------------------------------------------------ 3: the native arch is always filtered


def _aarch64_only(workload: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path, str]:
    """errno_probe's own profile with getppid left out, listing only SCMP_ARCH_AARCH64; its recording."""
    binary = str(workload("errno_probe"))
    doc = _generated(tmp_path, binary, "probe")
    doc.pop("archMap", None)
    doc = {**doc, "architectures": [AARCH64], "syscalls": [
        {**r, "names": [n for n in r["names"] if n != "getppid"]} for r in doc["syscalls"]]}
    return _write(tmp_path, "aarch64-only", doc), tmp_path / "probe.recording.json", binary


def test_check_agrees_with_verify_and_the_kernel_on_an_aarch64_only_profile(
        workload: Callable[..., Path], tmp_path: Path) -> None:
    path, rec, binary = _aarch64_only(workload, tmp_path)
    oracle = _kernel(path, [binary])
    assert (oracle.returncode, oracle.stdout) == (0, b"getppid errno 38\n")  # x86_64 calls follow the rules
    proc = cli("verify", "--profile", str(path), "--", binary)
    assert (proc.returncode, proc.stdout) == (0, "getppid errno 38\n")
    assert "1 denied syscalls: getppid(X86_64)" in proc.stderr
    checked = cli("check", "--profile", str(path), "--format", "json", str(rec))
    assert checked.returncode == 1, checked.stdout
    found = json.loads(checked.stdout)
    assert [(m["arch"], m["syscall"], m["answer"]) for m in found["missing"]] == [(X86_64, "getppid", "ERRNO(38)")]
    for out in (checked.stderr, proc.stderr, "\n".join(found["warnings"])):
        assert f"does not list this host's architecture {X86_64}" in out
    assert f"does not list this host's architecture {X86_64}" in cli("oci", str(path)).stderr


def _static_probe(tmp_path: Path) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found: apt-get install gcc")
    out = tmp_path / "probe-static"
    proc = subprocess.run([gcc, "-static", "-O1", "-o", str(out),
                           str(Path(__file__).parent / "workloads" / "errno_probe.c")], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"gcc -static cannot build (install libc6-dev): {proc.stderr[:200]}")
    return out


@pytest.mark.parametrize("runtime", oci_support.RUNTIMES)
def test_runtimes_filter_the_native_arch_of_an_aarch64_only_profile(tmp_path: Path, runtime: str) -> None:
    """What runc and crun do with `architectures: [SCMP_ARCH_AARCH64]` on x86_64: the native arch is
    in the filter and its calls get the rules (getppid's ERRNO), as check now says."""
    if os.geteuid() != 0 or oci_support.missing_tool(runtime):
        pytest.skip(oci_support.missing_tool(runtime) or "needs root")
    root = tmp_path / "rootfs"
    for sub in ("proc", "dev", "sys", "tmp"):
        (root / sub).mkdir(parents=True)
    shutil.copy2(_static_probe(tmp_path), root / "probe")
    # ALLOW by default: the runtime's own calls between loading the filter and execve pass.
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": [AARCH64],
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}
    result = oci_support.run(runtime, tmp_path, root, ["/probe"], seccomp, True)
    assert (result.returncode, result.stdout) == (0, b"getppid errno 38\n"), result.why()


# ------------------------------------------------------------------ 1: a profile that allows by default


@pytest.mark.parametrize("default", ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"])
def test_a_default_allow_profile_is_said_to_be_one(workload: Callable[..., Path], tmp_path: Path,
                                                   default: str) -> None:
    binary = str(workload("errno_probe"))
    doc = {**_generated(tmp_path, binary, "p"), "defaultAction": default}
    doc.pop("defaultErrnoRet", None)
    path = _write(tmp_path, "allow", doc)
    warning = f"defaultAction is {default}: it allows every syscall it does not name"
    proc = cli("verify", "--profile", str(path), "--", binary)
    assert proc.returncode == 0 and "0 denied syscalls" in proc.stderr and warning in proc.stderr
    rec = str(tmp_path / "p.recording.json")
    # check passes (every call is allowed: that is the truth) but says why the pass means little.
    text = cli("check", "--profile", str(path), rec)
    assert text.returncode == 0 and warning in text.stderr
    as_json = cli("check", "--profile", str(path), "--format", "json", rec)
    assert as_json.returncode == 0 and any(warning in w for w in json.loads(as_json.stdout)["warnings"])
    junit = cli("check", "--profile", str(path), "--format", "junit", rec)
    err = ET.fromstring(junit.stdout).find("system-err")
    assert junit.returncode == 0 and err is not None and warning in (err.text or "")
    run = cli("check", "--profile", str(path), "--", binary)
    assert run.returncode == 0 and warning in run.stderr
    spec = cli("oci", str(path))
    assert spec.returncode == 0 and warning in spec.stderr and json.loads(spec.stdout)["defaultAction"] == default


# ------------------------------------------------------------------ 4: an empty recording proves nothing


def test_check_does_not_pass_an_empty_recording(workload: Callable[..., Path], tmp_path: Path) -> None:
    doc = _generated(tmp_path, str(workload("errno_probe")), "p")
    path = _write(tmp_path, "p", doc)
    rec = json.loads((tmp_path / "p.recording.json").read_text())
    for n, empty in enumerate(({}, {X86_64: {}})):
        empty_rec = tmp_path / f"empty{n}.recording.json"
        empty_rec.write_text(json.dumps({**rec, "syscalls": empty}))
        text = cli("check", "--profile", str(path), str(empty_rec))
        assert text.returncode == 3 and "ok" not in text.stdout and "holds no syscall" in text.stdout
        as_json = json.loads(cli("check", "--profile", str(path), "--format", "json", str(empty_rec)).stdout)
        assert as_json["exit_status"] == 3 and as_json["checked"] == 0
        junit = ET.fromstring(cli("check", "--profile", str(path), "--format", "junit", str(empty_rec)).stdout)
        assert junit.get("errors") == "1"


# ------------------------------------------------------------------ 2: diff compares every field

_BASE_RULE = Rule(("read",), "SCMP_ACT_ERRNO", None, (Arg(0, 0x10, "SCMP_CMP_MASKED_EQ", 0),),
                  includes=Filter(caps=("CAP_SYS_ADMIN",)))
_BASE = Profile("SCMP_ACT_ERRNO", (_BASE_RULE,), arch_map=(ArchMapEntry(X86_64, ("SCMP_ARCH_X86",)),))
#: For every field of every value type a profile is made of: a value different from _BASE's.
_VARIANTS: dict[type, dict[str, object]] = {
    Profile: {"default_action": "SCMP_ACT_KILL_PROCESS", "rules": (), "default_errno_ret": 1,
              "arch_map": (ArchMapEntry(X86_64),), "architectures": (X86_64,),
              "flags": ("SECCOMP_FILTER_FLAG_SPEC_ALLOW",), "listener_path": "/run/agent.sock",
              "listener_metadata": "tenant=a"},
    Rule: {"names": ("write",), "action": "SCMP_ACT_KILL_PROCESS", "errno_ret": 1, "args": (),
           "comment": "why", "includes": Filter(), "excludes": Filter(arches=("arm64",))},
    Arg: {"index": 1, "value": 0x20, "op": "SCMP_CMP_NE", "value_two": 0x10},
    Filter: {"caps": ("CAP_NET_ADMIN",), "arches": ("amd64",), "min_kernel": "5.8"},
    ArchMapEntry: {"architecture": AARCH64, "sub_architectures": ()},
}


def _changed(kind: type, name: str, value: object) -> Profile:
    """_BASE with one field of one of its parts changed."""
    if kind is Profile:
        return replace(_BASE, **{name: value})
    if kind is ArchMapEntry:
        return replace(_BASE, arch_map=(replace(_BASE.arch_map[0], **{name: value}),))
    if kind is Rule:
        rule = replace(_BASE_RULE, **{name: value})
    elif kind is Arg:
        rule = replace(_BASE_RULE, args=(replace(_BASE_RULE.args[0], **{name: value}),))
    else:
        rule = replace(_BASE_RULE, includes=replace(_BASE_RULE.includes, **{name: value}))
    return replace(_BASE, rules=(rule,))


def test_the_diff_variants_cover_every_field() -> None:
    """A field added to the profile's value types must get a variant here, and so a diff test."""
    for kind, variants in _VARIANTS.items():
        assert {f.name for f in fields(kind)} == set(variants), kind.__name__


@pytest.mark.parametrize(("kind", "name"), [(k, n) for k, v in _VARIANTS.items() for n in v],
                         ids=[f"{k.__name__}.{n}" for k, v in _VARIANTS.items() for n in v])
def test_diff_sees_a_change_in_every_field(tmp_path: Path, kind: type, name: str) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(profile_io.dumps(_BASE))
    new.write_text(profile_io.dumps(_changed(kind, name, _VARIANTS[kind][name])))
    assert profile_io.load(new) != profile_io.load(old)  # the reader keeps the field
    proc = cli("diff", str(old), str(new))
    assert proc.returncode == 1 and "no differences" not in proc.stdout, proc.stdout + proc.stderr
    same = cli("diff", str(new), str(new))
    assert same.returncode == 0 and "no differences" in same.stdout


def test_diff_names_flags_and_the_listener(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(profile_io.dumps(_BASE))
    new.write_text(profile_io.dumps(replace(_BASE, flags=("SECCOMP_FILTER_FLAG_SPEC_ALLOW",),
                                            listener_path="/run/agent.sock", listener_metadata="tenant=a")))
    changes = {c["subject"]: c for c in json.loads(cli("diff", "--format", "json", str(old), str(new)).stdout)}
    assert set(changes) == {"flags", "listenerPath", "listenerMetadata"}
    assert "SECCOMP_FILTER_FLAG_SPEC_ALLOW" in changes["flags"]["new"]
    assert changes["listenerPath"]["new"] == "/run/agent.sock" and changes["listenerMetadata"]["new"] == "tenant=a"
