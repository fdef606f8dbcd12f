"""`record`'s run-and-write, without click: shared by the click command (record.py) and the fast
path for `record --engine ebpf -- CMD` (fast_record.py), so both record and write alike."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from seccomp_gen.recorder.interface import Engine
    from seccomp_gen.recorder.recording import Recording

DEFAULT_OUTPUT = "seccomp-gen.recording.json"
#: --kill-after's default: the grace CMD gets after a forwarded SIGINT/SIGTERM.
DEFAULT_KILL_AFTER_S = 5.0
Log = Callable[[str], None]


def record_runs(source: Engine, repeat: int, log: Log) -> Recording:
    """`repeat` runs merged into one recording; a run stopped by a signal ends the series."""
    from seccomp_gen.recorder import recording

    runs = []
    for number in range(1, repeat + 1):
        if repeat > 1:
            log(f"seccomp-gen: run {number} of {repeat}")
        runs.append(source.record())
        if "stopped_by" in runs[-1].source.details:
            break
    return recording.merge(runs)


def ebpf_launch(command: Sequence[str], kill_after: float, log: Log) -> Engine:
    """The ebpf engine on a launched command."""
    from seccomp_gen.recorder.ebpf import EbpfEngine

    return EbpfEngine(command=command, cgroup=None, duration_s=None, grace_s=kill_after, log=log)


def write(rec: Recording, output: str, log: Log) -> None:
    """Write the recording, then say what it holds (report loads only now: after CMD has run)."""
    from seccomp_gen.recorder import recording, report

    recording.dump(rec, output)
    for line in report.summary(rec, output):
        log(line)


def exit_as(rec: Recording, launched: bool) -> NoReturn:
    """A launched command: exit as it did. Attached or read from logs: success is having recorded it."""
    sys.exit(rec.exit_status or 0 if launched else 0)
