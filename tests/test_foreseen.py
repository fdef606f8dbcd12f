"""Every denial is foreseen: generate reports what a baseline argument rule denies, check never says
"ok" about what it cannot judge, and check and verify agree on every case here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.process import cli

#: Opens an audit netlink socket, as every PAM `runuser`/`su` does: crio answers EINVAL without
#: CAP_AUDIT_WRITE, on socket's third argument.
NETLINK_AUDIT = ("import socket\ntry:\n    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)\n    print('opened')\n"
                 "except OSError as exc:\n    print('refused', exc.errno)\n")


def _python(tmp_path: Path, code: str) -> list[str]:
    script = tmp_path / "script.py"
    script.write_text(code)
    return [sys.executable, str(script)]


def _generate(tmp_path: Path, argv: list[str], *flags: str) -> tuple[Path, Path, dict[str, object]]:
    rec = tmp_path / "r.json"
    assert cli("record", "-q", "-o", str(rec), "--", *argv).returncode == 0
    proc = cli("generate", str(rec), "--name", "p", "--out", str(tmp_path / "out"), "--format", "json", *flags)
    assert proc.returncode == 0, proc.stderr
    return rec, tmp_path / "out" / "p.json", json.loads(proc.stdout)


def _verify_denied(profile: Path, argv: list[str]) -> set[str]:
    proc = cli("verify", "--profile", str(profile), "--", *argv)
    first = next(line for line in proc.stderr.splitlines() if "denied syscalls" in line)
    listed = re.search(r"denied syscalls(?: \(allowed: --complain\))?: (.*)$", first)
    return {item.split("(")[0] for item in listed.group(1).split(", ")} if listed else set()


def _check(profile: Path, *inputs: str) -> tuple[int, dict[str, list[dict[str, object]]]]:
    proc = cli("check", "--profile", str(profile), "--format", "json", *inputs)
    return proc.returncode, json.loads(proc.stdout[proc.stdout.index("{"):])


def test_an_audit_netlink_socket_is_reported_by_generate_check_and_verify(tmp_path: Path) -> None:
    argv = _python(tmp_path, NETLINK_AUDIT)
    rec, profile, report = _generate(tmp_path, argv)
    socket = [d for d in report["not_allowed"] if d["name"] == "socket"]  # type: ignore[union-attr,index]
    assert socket and socket[0]["reason"] == "argument" and "arg0=0x10, arg2=0x9" in socket[0]["detail"]
    code, found = _check(profile, str(rec))
    assert code == 1 and [m["syscall"] for m in found["missing"]] == ["socket"]
    code, found = _check(profile, "--", *argv)
    assert code == 1 and [m["syscall"] for m in found["missing"]] == ["socket"]
    assert found["checked"] is None  # a run: only its denials are seen, no placeholder count
    assert _verify_denied(profile, argv) == {"socket"}


def test_check_cannot_prove_a_condition_on_an_argument_not_recorded(workload: Callable[..., Path],
                                                                     tmp_path: Path) -> None:
    """A profile that allows write only to fd 0: the recording holds no write fds, so check cannot
    say "ok" (exit 3, 'cannot prove'); verify sees the kernel deny it."""
    binary = str(workload("hello"))
    rec, profile, _ = _generate(tmp_path, [binary])
    doc = json.loads(profile.read_text())
    for rule in doc["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n != "write"]
    doc["syscalls"] = [r for r in doc["syscalls"] if r["names"]]
    doc["syscalls"].append({"names": ["write"], "action": "SCMP_ACT_ALLOW",
                            "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]})
    profile.write_text(json.dumps(doc))
    text = cli("check", "--profile", str(profile), str(rec))
    assert text.returncode == 3 and "cannot prove" in text.stdout and "arg0" in text.stdout
    code, found = _check(profile, str(rec))
    assert code == 3 and [u["syscall"] for u in found["unproven"]] == ["write"] and not found["missing"]
    assert _verify_denied(profile, [binary]) == {"write"}
    code, found = _check(profile, "--", binary)  # the run: judged by what the kernel denied
    assert code == 1 and [m["syscall"] for m in found["missing"]] == ["write"]


@pytest.mark.parametrize("case", ["own-profile", "dropped-getppid", "netlink-audit"])
def test_check_and_verify_agree(case: str, workload: Callable[..., Path], tmp_path: Path) -> None:
    """The names `check -- CMD` fails on, plus those it calls handled, are the names verify reports."""
    argv = _python(tmp_path, NETLINK_AUDIT) if case == "netlink-audit" else [str(workload("errno_probe"))]
    rec, profile, _ = _generate(tmp_path, argv)
    if case == "dropped-getppid":
        doc = json.loads(profile.read_text())
        for rule in doc["syscalls"]:
            rule["names"] = [n for n in rule["names"] if n != "getppid"]
        doc["syscalls"] = [r for r in doc["syscalls"] if r["names"]]
        profile.write_text(json.dumps(doc))
    code, found = _check(profile, "--", *argv)
    flagged = {m["syscall"] for m in found["missing"]}
    assert flagged | {h["syscall"] for h in found["handled"]} == _verify_denied(profile, argv)
    assert (code != 0) == bool(flagged)
    rec_code, rec_found = _check(profile, str(rec))
    assert {m["syscall"] for m in rec_found["missing"]} == flagged and (rec_code != 0) == bool(flagged)


def test_generate_says_which_argument_rules_it_could_not_judge(tmp_path: Path) -> None:
    """A recording without argument values (the complain-mode engine's SECCOMP records carry none)."""
    argv = _python(tmp_path, NETLINK_AUDIT)
    rec = tmp_path / "r.json"
    assert cli("record", "-q", "-o", str(rec), "--", *argv).returncode == 0
    doc = json.loads(rec.read_text())
    doc["source"]["engine"] = "log"
    for uses in doc["syscalls"].values():
        for use in uses.values():
            use.pop("args", None)
    rec.write_text(json.dumps(doc))
    proc = cli("generate", str(rec), "--name", "p", "--out", str(tmp_path / "out"), "--format", "json")
    report = json.loads(proc.stdout)
    judged = {(u["name"], tuple(u["args"])) for u in report["not_judged"]}
    assert ("socket", (0, 2)) in judged
    text = cli("generate", str(rec), "--name", "p", "--out", str(tmp_path / "out2")).stdout
    assert "Argument rules not judged" in text and "engine log" in text


def test_check_json_has_no_placeholder_values(workload: Callable[..., Path], tmp_path: Path) -> None:
    rec, profile, _ = _generate(tmp_path, [str(workload("hello"))])
    code, found = _check(profile, str(rec))
    assert code == 0 and isinstance(found["checked"], int) and found["checked"] > 0
    proc = subprocess.run([sys.executable, "-m", "seccomp_gen", "check", "--profile", str(profile), "--format",
                           "json", "--", str(workload("hello"))], capture_output=True, text=True, timeout=60)
    assert json.loads(proc.stdout[proc.stdout.index("{"):])["checked"] is None
