"""What is left, explained: check and verify name the argument values a narrowed profile denies
(AF_NETLINK, TIOCGWINSZ, PR_GET_DUMPABLE) and the generate report (text, JSON, markdown) gives each
allowed syscall its risk class, the narrowed arguments by name, and the headline numbers. Proven
with tests/workloads/narrow.c recorded and judged through the real CLI; the names table is what
scripts/build_arg_names.py derives from the installed headers."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from seccomp_gen.generator import baselines, risk, tables, values_named
from seccomp_gen.ground import syscalls
from tests.support.process import cli

REPO = Path(__file__).parent.parent
#: What the plain run of narrow.c does not do and `narrow.c more` does, as the reports must name them.
NEW_VALUES = ("domain AF_NETLINK (16)", "request TIOCGWINSZ (0x5413)", "option PR_GET_DUMPABLE (3)")


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory: pytest.TempPathFactory, workload: Callable[..., Path]) -> dict[str, Path]:
    """The narrow.c binary, recordings of its plain and its `more` run, and the --narrow-args profile."""
    tmp = tmp_path_factory.mktemp("explain")
    binary = workload("narrow")
    for name, extra in (("plain", ()), ("more", ("more",))):
        proc = cli("record", "-q", "-o", str(tmp / f"{name}.json"), "--", str(binary), *extra)
        assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    gen = cli("generate", str(tmp / "plain.json"), "--name", "n", "--narrow-args", "--out", str(tmp / "out"))
    assert gen.returncode == 0, gen.stderr
    return {"binary": binary, "plain": tmp / "plain.json", "more": tmp / "more.json", "profile": tmp / "out" / "n.json",
            "tmp": tmp}


def test_check_of_a_recording_names_the_denied_values(narrowed: dict[str, Path]) -> None:
    proc = cli("check", "--profile", str(narrowed["profile"]), str(narrowed["more"]))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert "socket: domain AF_NETLINK (16); type SOCK_RAW (3) denied" in lines, proc.stdout
    assert "ioctl: request TIOCGWINSZ (0x5413) denied" in lines
    assert "prctl: option PR_GET_DUMPABLE (3) denied" in lines
    # the plain run's values are allowed: none of them is named as denied
    assert "AF_INET" not in proc.stdout and "TCGETS" not in proc.stdout and "PR_SET_NAME" not in proc.stdout


def test_check_json_and_junit_carry_the_values_and_their_names(narrowed: dict[str, Path]) -> None:
    proc = cli("check", "--profile", str(narrowed["profile"]), "--format", "json", str(narrowed["more"]))
    by_name = {m["syscall"]: m["denied_values"] for m in json.loads(proc.stdout)["missing"]}
    assert by_name["socket"][0] == {"index": 0, "what": "domain", "family": "AF", "values": [16],
                                    "names": ["AF_NETLINK (16)"]}
    assert by_name["ioctl"][0]["values"] == [0x5413] and by_name["prctl"][0]["names"] == ["PR_GET_DUMPABLE (3)"]
    junit = cli("check", "--profile", str(narrowed["profile"]), "--format", "junit", str(narrowed["more"])).stdout
    for value in NEW_VALUES:
        assert f"not allowed for {value}" in junit, junit


def test_check_of_a_run_and_verify_name_the_denied_values(narrowed: dict[str, Path]) -> None:
    run = cli("check", "--profile", str(narrowed["profile"]), "--", str(narrowed["binary"]), "more")
    assert run.returncode == 1, run.stderr
    for line in ("socket: domain AF_NETLINK (16); type SOCK_RAW (3) denied",
                 "ioctl: request TIOCGWINSZ (0x5413) denied", "prctl: option PR_GET_DUMPABLE (3) denied"):
        assert line in run.stdout.splitlines(), run.stdout
    verify = cli("verify", "--profile", str(narrowed["profile"]), "--", str(narrowed["binary"]), "more")
    assert verify.returncode == 1 and "refused: 3" in verify.stdout, verify.stderr
    for value in NEW_VALUES:
        assert f"; denied {value}" in verify.stderr, verify.stderr
    plain = cli("verify", "--profile", str(narrowed["profile"]), "--", str(narrowed["binary"]))
    assert plain.returncode == 0 and "0 denied syscalls" in plain.stderr, plain.stderr


def _generate(narrowed: dict[str, Path], fmt: str, *flags: str) -> str:
    proc = cli("generate", str(narrowed["plain"]), "--name", "n", "--out", str(narrowed["tmp"] / f"o-{fmt}"),
               "--format", fmt, *flags)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_text_report_explains_classes_restrictions_and_headline(narrowed: dict[str, Path]) -> None:
    text = _generate(narrowed, "text", "--narrow-args")
    assert "argument rules   13 rules hold recorded argument values, for 6 syscalls (--narrow-args)" in text, text
    assert re.search(r"^dangerous calls  [1-9][0-9]* removed, 0 kept$", text, re.MULTILINE), text
    assert "Allowed syscalls by risk class" in text and "process control" in text and "network" in text
    assert "domain AF_UNIX, AF_INET, AF_INET6; type SOCK_STREAM, SOCK_DGRAM" in text
    assert "request TCGETS, FIONREAD" in text and "option PR_SET_NAME, PR_GET_NAME" in text
    assert "level SOL_SOCKET; optname SO_REUSEADDR" in text and "cmd F_GETFL" in text
    wide = _generate(narrowed, "text")
    assert "none; --narrow-args would narrow 6 syscalls into 13 rules" in wide, wide
    assert "Argument restrictions --narrow-args would make (not applied)" in wide


def test_the_json_report_has_classes_names_and_headline(narrowed: dict[str, Path]) -> None:
    doc = json.loads(_generate(narrowed, "json", "--narrow-args"))
    head = doc["explained"]["headline"]
    assert (head["allowed"], head["argument_restricted_syscalls"], head["argument_restricted_rules"]) == (26, 6, 13)
    assert head["baseline_allowed"] == doc["allowed"]["baseline_count"]
    assert head["dangerous_removed"] == len([n for n in doc["removed"] if risk.class_of(n).dangerous]) > 0
    risks = {s["name"]: s["risk"] for s in doc["explained"]["syscalls"]}
    assert (risks["socket"], risks["prctl"], risks["read"]) == ("network", "process-control", "plain")
    socket = next(s for s in doc["narrowing"]["narrowed"] if s["name"] == "socket")
    assert [a["names"] for a in socket["args"]] == [["AF_UNIX", "AF_INET", "AF_INET6"], ["SOCK_STREAM", "SOCK_DGRAM"]]
    assert all(c["why"] and c["sources"] for c in doc["explained"]["classes"])


def test_the_markdown_report_is_a_compact_deterministic_summary(narrowed: dict[str, Path]) -> None:
    md = _generate(narrowed, "markdown", "--narrow-args")
    assert md.startswith("### seccomp profile `n`\n")
    assert "| argument rules | 13 rules hold recorded argument values, for 6 syscalls (--narrow-args) |" in md, md
    assert "| `socket` | 6 | domain AF_UNIX, AF_INET, AF_INET6; type SOCK_STREAM, SOCK_DGRAM |" in md
    assert "| network | 3 | `setsockopt` `socket` `socketpair` |" in md
    assert "| process control | 5 | `arch_prctl` `execve` `exit_group` `prctl` `prlimit64` |" in md
    assert "| dangerous calls kept | 0 |" in md and "#### Dangerous calls kept" not in md
    assert md == _generate(narrowed, "markdown", "--narrow-args")  # deterministic


def test_names_decode_flags_levels_and_fall_back_to_numbers() -> None:
    assert values_named.shown("SOCK", 0x80001) == "SOCK_STREAM|SOCK_CLOEXEC (0x80001)"
    assert values_named.name_of("CLONE", 0x1200011) == "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
    assert values_named.name_of("PER", 0x20008) == "PER_LINUX32|UNAME26"
    assert values_named.name_of("SO", 1, level=6) == "TCP_NODELAY"
    assert values_named.name_of("SO", 1, level=1) == "SO_DEBUG"
    assert values_named.name_of("SO", 1) == "1"  # an optname without its level is only a number
    assert values_named.name_of("AF", 1) == "AF_UNIX"  # PREFER: POSIX's name, not AF_LOCAL
    assert values_named.shown("PER", 0xFFFFFFFF) == "0xffffffff"  # bits with no name: the number
    assert values_named.shown("IOCTL", 0xDEAD) == "0xdead"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_arg_names", REPO / "scripts" / "build_arg_names.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_names_table_is_what_the_script_derives_from_the_headers() -> None:
    on_disk = json.loads((REPO / "generator" / "data" / "arg_names.json").read_text())
    script = _script()
    installed = script.versions()
    if installed != on_disk["packages"]:
        pytest.skip(f"the headers installed ({installed}) are not the ones the table was built from "
                    f"({on_disk['packages']}): run scripts/build_arg_names.py")
    assert on_disk == script.table(), "run scripts/build_arg_names.py"


def test_the_names_table_loads_with_shape_and_provenance() -> None:
    families = values_named.table()
    for family in {a.names for entry in tables.narrowable()[0].values() for a in entry.args}:
        assert family in families, f"narrowable.json names the family {family}, which arg_names.json lacks"
    doc = json.loads((REPO / "generator" / "data" / "arg_names.json").read_text())
    assert "linux-libc-dev" in doc["_about"] and "libc6-dev" in doc["_about"]
    assert all(f["headers"] or f.get("by_level") for f in doc["families"].values())


def test_the_risk_table_covers_every_syscall_and_gated_calls_are_dangerous() -> None:
    classes, default = risk.classes()
    listed = [n for c in classes for n in c.names]
    assert len(listed) == len(set(listed)), "a syscall is listed in two classes"
    # a name the bundled baselines list may be newer than the installed libseccomp (lsm_get_self_attr)
    in_baselines = {n for b in baselines.BUNDLED for r in baselines.load(b).profile.rules for n in r.names}
    unknown = [n for n in listed if not syscalls.is_known_name(n) and n not in in_baselines]
    assert not unknown, f"listed names that are no syscall (a typo?): {unknown}"
    assert all(c.why and c.sources for c in classes) and not default.dangerous
    for name in ("io_uring_setup", "bpf", "userfaultfd", "keyctl", "perf_event_open", "ptrace", "unshare", "setns",
                 "mount"):
        assert risk.class_of(name).key == "kernel-attack-surface", name
    x86_64 = syscalls._numbers("SCMP_ARCH_X86_64")
    assert all(risk.class_of(n) in classes for n in x86_64)
    for base in baselines.BUNDLED:
        rules = baselines.load(base).profile.rules
        plain = {n for r in rules if r.allows and not r.includes.caps for n in r.names}
        gated = {n for r in rules if r.allows and r.includes.caps for n in r.names} - plain
        assert not [n for n in gated if not risk.class_of(n).dangerous], base
