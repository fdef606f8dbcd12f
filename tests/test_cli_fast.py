"""The click-free fast paths of the CLI (cli/fast.py, cli/fast_record.py: start-up, issue 15) answer
exactly as the click app does, and only for the command lines they are meant for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccomp_gen.cli import fast_record, main
from tests.support.process import REPO, cli

SAMPLE = REPO / "samples" / "nostat" / "nostat.recording.json"
_PROBE = ("import atexit, sys\n"
          "atexit.register(lambda: print('click loaded' if 'click' in sys.modules else 'no click', file=sys.stderr))\n"
          "sys.argv = ['seccomp-gen', *sys.argv[1:]]\n"
          "from seccomp_gen.cli import run\n"
          "run()\n")


def _click(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("args", [("--version",), ("show", str(SAMPLE))], ids=["version", "show"])
def test_the_fast_paths_print_what_click_prints_without_loading_it(args: tuple[str, ...]) -> None:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == _click(*args)
    assert proc.stderr.strip().endswith("no click"), proc.stderr


def test_show_errors_are_the_same_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 7}')
    for target in (bad, tmp_path / "missing.json", tmp_path):
        fast = cli("show", str(target))
        assert fast.returncode == 2 and fast.stdout == ""
        assert fast.stderr.startswith("seccomp-gen: ") and fast.stderr.count("\n") == 1, fast.stderr


def test_other_command_lines_are_clicks() -> None:
    assert cli("show").returncode == 2 and "Missing argument" in cli("show").stderr
    assert "Usage:" in cli("show", "--help").stdout


@pytest.mark.parametrize(("argv", "parsed"), [
    (["record", "--engine", "ebpf", "--", "/bin/true"], ("seccomp-gen.recording.json", False, ("/bin/true",))),
    (["record", "-q", "-o", "x.json", "--engine=ebpf", "--", "a", "-q"], ("x.json", True, ("a", "-q"))),
    (["record", "--output=x.json", "--quiet", "--engine", "ebpf", "--", "a"], ("x.json", True, ("a",))),
])
def test_the_plain_ebpf_command_line_is_parsed(argv: list[str], parsed: tuple[object, ...]) -> None:
    assert fast_record.parse(argv) == parsed


@pytest.mark.parametrize("argv", [
    ["record", "--", "/bin/true"],  # the ptrace engine: click's
    ["record", "--engine", "ebpf", "/bin/true"],  # no --
    ["record", "--engine", "ebpf", "--"],  # no command
    ["record", "--engine", "ptrace", "--", "a"],
    ["record", "--engine", "EBPF", "--", "a"],
    ["record", "-o", "a", "-o", "b", "--engine", "ebpf", "--", "a"],  # repeated
    ["record", "-o", "-q", "--engine", "ebpf", "--", "a"],  # a value that looks like an option
    ["record", "-oX", "--engine", "ebpf", "--", "a"],
    ["record", "-q", "-q", "--engine", "ebpf", "--", "a"],
    ["record", "--quiet=1", "--engine", "ebpf", "--", "a"],
    ["record", "--engine", "ebpf", "--repeat", "2", "--", "a"],
    ["record", "--engine", "ebpf", "--kill-after", "1", "--", "a"],
    ["record", "--engine", "ebpf", "-h", "--", "a"],
    ["record", "-o", "--", "--engine", "ebpf", "--", "a"],
    ["show", "--engine", "ebpf", "--", "a"],
])
def test_every_other_record_command_line_is_left_to_click(argv: list[str]) -> None:
    assert fast_record.parse(argv) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="the ebpf engine needs root")
def test_a_fast_ebpf_recording_exits_as_cmd_and_writes_the_recording(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = cli("record", "-q", "-o", str(out), "--engine", "ebpf", "--", "/bin/sh", "-c", "echo hi; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "hi\n", "")
    shown = cli("show", str(out))
    assert shown.returncode == 0 and "engine ebpf" in shown.stdout and "exit status 3" in shown.stdout
    unwritable = cli("record", "-o", "/proc/nope/r.json", "--engine", "ebpf", "--", "/bin/true")
    assert unwritable.returncode == 2 and unwritable.stderr.startswith("seccomp-gen: "), unwritable.stderr
