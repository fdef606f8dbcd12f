"""Fixtures: workloads compiled once per session with gcc, the recorder run as a real process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from seccomp_gen.recorder import recording
from seccomp_gen.recorder.recording import Recording
from tests.support.process import cli, compile_c


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workloads")


@pytest.fixture(scope="session")
def workload(build_dir: Path) -> Callable[..., Path]:
    """workload("threads") or workload("hello", "-m32"): the compiled binary's path."""

    def build(name: str, *flags: str) -> Path:
        return compile_c(build_dir, name, *flags)

    return build


@pytest.fixture
def record(tmp_path: Path) -> Callable[..., tuple[Recording, int, str]]:
    """record(argv...) -> (Recording, recorder exit code, recorder stderr), via the real CLI."""

    def run(*argv: str, extra: tuple[str, ...] = ()) -> tuple[Recording, int, str]:
        out = tmp_path / "rec.json"
        proc = cli("record", "-o", str(out), *extra, "--", *argv)
        assert out.exists(), f"no recording written: {proc.stderr}"
        json.loads(out.read_text())  # valid JSON on disk
        return recording.load(out), proc.returncode, proc.stderr

    return run
