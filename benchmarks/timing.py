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
    maxrss_kb: int  # the largest single process of the run (wait4's rusage)
    status: int
    tree_pss_kb: int = 0  # the peak sum of the proportional set sizes of the run's processes (sampled)


def run_once(cmd: Sequence[str], *, stdin: int | None = subprocess.DEVNULL, env: dict[str, str] | None = None,
             sample_memory: bool = False) -> Sample:
    """Run `cmd` (stdout/stderr to /dev/null) and measure it; `sample_memory`: also the peak PSS of
    its process tree (workers included), read from /proc every 20 ms while it runs."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if sample_memory else 0)
        if pid:
            break
        peak = max(peak, _tree_pss_kb(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode, peak)


def _tree_pss_kb(root: int) -> int:
    """The summed Pss of `root` and its descendants now (0 for processes already gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                total += next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
        except (OSError, ValueError):
            continue
    return total


def median_of(run: Callable[[], Sample], reps: int) -> dict[str, float]:
    """The median cell of `reps` runs, after one warm-up run that is thrown away (page cache, pycache)."""
    samples = [run() for _ in range(reps + 1)][1:]
    return {
        "wall_s": statistics.median(s.wall_s for s in samples),
        "cpu_s": statistics.median(s.cpu_s for s in samples),
        "maxrss_mb": max(s.maxrss_kb for s in samples) / 1024,
        "tree_pss_mb": max(s.tree_pss_kb for s in samples) / 1024,
        "failed_runs": sum(1 for s in samples if s.status != 0),
    }
