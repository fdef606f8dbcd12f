"""Timing one whole process: wall time, CPU time (its reaped descendants included) and peak RSS.

Each run is waited for with wait4(), so the rusage belongs to that run alone (not to every child the
benchmark ever had, as RUSAGE_CHILDREN would); cells are the median of N runs after a discarded one.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    maxrss_kb: int
    status: int


def run_once(cmd: Sequence[str], *, stdin: int | None = subprocess.DEVNULL, env: dict[str, str] | None = None
             ) -> Sample:
    """Run `cmd` (stdout/stderr to /dev/null) and measure it."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode)


def median_of(run: Callable[[], Sample], reps: int) -> dict[str, float]:
    """The median cell of `reps` runs, after one warm-up run that is thrown away (page cache, pycache)."""
    samples = [run() for _ in range(reps + 1)][1:]
    return {
        "wall_s": statistics.median(s.wall_s for s in samples),
        "cpu_s": statistics.median(s.cpu_s for s in samples),
        "maxrss_mb": max(s.maxrss_kb for s in samples) / 1024,
        "failed_runs": sum(1 for s in samples if s.status != 0),
    }
