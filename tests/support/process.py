"""Shared test helpers: compiling C workloads, running the CLI, the strace oracle."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKLOADS = Path(__file__).parent.parent / "workloads"
REPO = Path(__file__).parent.parent.parent


def need_tool(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not found: install the Debian package {package} (apt-get install {package})")
    return path


def compile_c(out_dir: Path, name: str, *flags: str) -> Path:
    """Build tests/workloads/NAME.c with gcc into out_dir (skip with the package to install)."""
    need_tool("gcc", "gcc")
    suffix = "-".join(f.strip("-") for f in flags)
    binary = out_dir / (f"{name}-{suffix}" if suffix else name)
    if binary.exists():
        return binary
    cmd = ["gcc", "-O1", "-Wall", "-o", str(binary), str(WORKLOADS / f"{name}.c"), "-lpthread", *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        if "-m32" in flags:
            pytest.skip(f"gcc -m32 cannot build: install the Debian package gcc-multilib ({proc.stderr.strip()[:200]})")
        raise AssertionError(f"gcc failed: {proc.stderr}")
    return binary


def cli(*args: str, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run `seccomp-gen ARGS` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "seccomp_gen", *args], capture_output=True, text=True, timeout=timeout,
        cwd=kwargs.pop("cwd", None) or os.getcwd(), **kwargs,  # type: ignore[call-overload]
    )


_STRACE_LINE = re.compile(r"^(?:\d+\s+)?(?:<\.\.\. )?([a-z_][a-z0-9_]*)(?:\(| resumed>)")


def strace_names(argv: list[str], tmp_path: Path) -> set[str]:
    """The oracle: every syscall name `strace -f` sees for the same command."""
    need_tool("strace", "strace")
    out = tmp_path / "strace.out"
    subprocess.run(["strace", "-f", "-qq", "-o", str(out), "--", *argv], capture_output=True, timeout=120)
    names: set[str] = set()
    for line in out.read_text().splitlines():
        match = _STRACE_LINE.match(line)
        if match:
            names.add(match.group(1))
    return names


def session_members(sid: int) -> list[int]:
    """Live (non-zombie) processes of session `sid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry.name))
    return members
