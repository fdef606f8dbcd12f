"""The recorded name set equals what `strace -f` sees for the same command: no more, no less."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.process import strace_names

CASES = [
    ("threads", ()),
    ("spawn", ()),
    ("signals", ()),
    ("int80", ()),
    ("thread_exec", ()),
    ("hello", ("-m32",)),
]


@pytest.mark.parametrize(("name", "flags"), CASES, ids=[c[0] + "".join(c[1]) for c in CASES])
def test_recorded_names_equal_strace(name: str, flags: tuple[str, ...], workload: Callable[..., Path],
                                     record: Callable[..., tuple], tmp_path: Path) -> None:
    binary = workload(name, *flags)
    rec, code, stderr = record(str(binary))
    assert code == 0, stderr
    expected = strace_names([str(binary)], tmp_path)
    assert rec.names() == expected


def test_shell_pipeline_equals_strace(record: Callable[..., tuple], tmp_path: Path) -> None:
    argv = ["/bin/sh", "-c", "ls / | wc -l > /dev/null; cat /etc/hostname | tr a-z A-Z > /dev/null"]
    rec, code, _ = record(*argv)
    assert code == 0
    assert rec.names() == strace_names(argv, tmp_path)
    assert {"getdents64", "pipe2", "wait4", "dup2"} <= rec.names()  # digits in names survive
    exes = {p.exe for p in rec.processes}
    assert {"/usr/bin/ls", "/usr/bin/wc", "/usr/bin/cat", "/usr/bin/tr"} <= exes
