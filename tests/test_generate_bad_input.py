"""Bad input to `generate`: one line naming the file (and line, for JSON), exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from tests.support.generate import X86_64, make_recording, write_recording

GOOD = make_recording({X86_64: {"read": None, "exit_group": None}})


def generate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seccomp_gen", "generate", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def good_text() -> str:
    return recording.dumps(GOOD)


RECORDING_CASES: dict[str, tuple[Callable[[], str], int | None, str]] = {
    "wrong_schema": (lambda: good_text().replace('"schema_version": 1', '"schema_version": 7'), None,
                     "unsupported schema_version 7"),
    "unknown_arch": (lambda: good_text().replace('"SCMP_ARCH_X86_64": {', '"SCMP_ARCH_Z80": {'), None,
                     "unknown architecture 'SCMP_ARCH_Z80'"),
    "unknown_name": (lambda: good_text().replace('"read"', '"frobnicate"'), None, "unknown syscall 'frobnicate'"),
    "truncated": (lambda: good_text()[: len(good_text()) // 2], None, "invalid JSON"),
}


def assert_failed_cleanly(proc: subprocess.CompletedProcess[str], out: Path, needle: str, where: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"seccomp-gen: {where}"), lines[0]
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir()), "something was written"
    assert proc.stdout == ""


@pytest.mark.parametrize("case", sorted(RECORDING_CASES))
def test_bad_recording(case: str, tmp_path: Path) -> None:
    make, line, needle = RECORDING_CASES[case]
    path = tmp_path / "bad.json"
    path.write_text(make())
    out = tmp_path / "out"
    proc = generate(str(path), "--name", "app", "--out", str(out), cwd=tmp_path)
    where = f"{path}:{line}:" if line else f"{path}:"
    assert_failed_cleanly(proc, out, needle, where)
    assert ":" in proc.stderr.split(str(path))[1][:8]  # a line number follows the file name


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"schema_version": 1}\n', "not a seccomp profile: no defaultAction"),
        ("[]\n", "not a seccomp profile"),
        ('{"defaultAction": "SCMP_ACT_ERRNO",\n "syscalls": [{"names": ["read"], "action": "ALLOW"}]}\n',
         "action 'ALLOW'"),
        ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [\n', "invalid JSON"),
    ],
)
def test_file_baseline_that_is_not_a_profile(content: str, needle: str, tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "rec.json", GOOD)
    baseline = tmp_path / "site-profile.json"
    baseline.write_text(content)
    out = tmp_path / "out"
    proc = generate(str(rec), "--name", "app", "--baseline", str(baseline), "--out", str(out), cwd=tmp_path)
    assert_failed_cleanly(proc, out, needle, f"{baseline}")


def test_recording_given_as_baseline_is_refused(tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "rec.json", GOOD)
    out = tmp_path / "out"
    proc = generate(str(rec), "--name", "app", "--baseline", str(rec), "--out", str(out), cwd=tmp_path)
    assert_failed_cleanly(proc, out, "not a seccomp profile", f"{rec}")


@pytest.mark.parametrize("name", ["a/b", "my app", "../x", "App", "x" * 64, "-x", "a\nb", "", "a.json"])
def test_bad_name_writes_nothing(name: str, tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "rec.json", GOOD)
    out = tmp_path / "out"
    out.mkdir()
    proc = generate(str(rec), "--name", name, "--out", str(out), cwd=tmp_path)
    assert_failed_cleanly(proc, out, "invalid --name", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "rec.json"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--baseline", "podman"], "unknown baseline 'podman'"),
        (["--cap", "CAP_FLY"], "unknown capability"),
        (["--arch", "SCMP_ARCH_PDP11"], "unknown architecture"),
        (["--allow-extra", "frobnicate"], "--allow-extra 'frobnicate'"),
        (["--default-errno", "EWHAT"], "unknown errno"),
        (["--role", "Work Er"], "invalid --role"),
    ],
)
def test_bad_options_write_nothing(args: list[str], needle: str, tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "rec.json", GOOD)
    out = tmp_path / "out"
    proc = generate(str(rec), "--name", "app", "--out", str(out), *args, cwd=tmp_path)
    assert_failed_cleanly(proc, out, needle, "")


def test_missing_recording_and_unwritable_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = generate(str(tmp_path / "nope.json"), "--name", "app", "--out", str(out), cwd=tmp_path)
    assert_failed_cleanly(proc, out, "no such file", f"{tmp_path / 'nope.json'}")
    rec = write_recording(tmp_path / "rec.json", GOOD)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = generate(str(rec), "--name", "app", "--out", str(blocker), cwd=tmp_path)
    assert proc.returncode == 2 and "not a directory" in proc.stderr
    out.mkdir()
    (out / "app.scc.yaml").symlink_to(tmp_path / "elsewhere")
    proc = generate(str(rec), "--name", "app", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2 and "symlink" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["app.scc.yaml"]  # nothing else written
