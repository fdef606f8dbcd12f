"""Audit-log reading throughput (MB/s) and memory: `record --audit-log` against ausearch.

Part of benchmarks/bench.py (`--only audit`). One generated realistic audit.log (gen_audit_log.py)
is read by `seccomp-gen record --audit-log`, `ausearch --raw -m SECCOMP,SYSCALL -if` (the same
record selection, no interpretation) and `ausearch -i -if` (everything, interpreted); ours also on
one CPU (taskset: the reader then starts no workers), to show what the parallel path gains.
Memory: the largest process's peak RSS (wait4) and the peak sum of the process tree's PSS
(workers included, sampled every 20 ms in one more run, which is not timed: reading smaps slows
the processes read). The reader is also run on a quarter-size log: equal
peak memory at both sizes is the constant-memory evidence. ausearch reads the file only; the
auditd daemon is never started.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gen_audit_log import generate
from timing import median_of, run_once

SEccomp_GEN = [sys.executable, "-m", "seccomp_gen"]


OURS = "seccomp-gen record --audit-log"
ONE_CPU = "seccomp-gen record --audit-log, 1 CPU (taskset)"


def commands(log: Path, out: Path) -> dict[str, list[str]]:
    ours = [*SEccomp_GEN, "record", "--audit-log", str(log), "-o", str(out)]
    result = {
        OURS: ours,
        # The one-core path: with one CPU in its affinity the reader starts no workers.
        ONE_CPU: ["taskset", "-c", "0", *ours],
        "ausearch --raw -m SECCOMP,SYSCALL": ["ausearch", "--raw", "-m", "SECCOMP,SYSCALL", "-if", str(log)],
        "ausearch -i": ["ausearch", "-i", "-if", str(log)],
    }
    if shutil.which("ausearch") is None:
        del result["ausearch --raw -m SECCOMP,SYSCALL"], result["ausearch -i"]
    return result


def _measure(name: str, cmd: list[str], size: int, reps: int, out: Path) -> dict[str, Any]:
    cell = median_of(lambda: run_once(cmd), reps)
    if name.startswith("seccomp-gen"):  # sampling /proc slows what it samples: a run of its own, not timed
        cell["tree_pss_mb"] = run_once(cmd, sample_memory=True).tree_pss_kb / 1024
    cell["mb"] = size / 1e6
    cell["mb_per_s"] = size / 1e6 / cell["wall_s"]
    if name.startswith("seccomp-gen"):
        rec = json.loads(out.read_text())
        cell["records_used"] = rec["source"]["details"]["records_used"]
        cell["complete"] = rec["complete"]
    return cell


def run(tmp: Path, megabytes: float, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    big, small, out = tmp / "audit.log", tmp / "audit-quarter.log", tmp / "audit.recording.json"
    lines = generate(big, megabytes)
    generate(small, megabytes / 4, seed=2)
    size = big.stat().st_size
    log(f"audit log: {size / 1e6:.0f} MB, {lines} lines")
    cells: dict[str, Any] = {}
    for name, cmd in commands(big, out).items():
        cells[name] = _measure(name, cmd, size, reps, out)
        log(f"audit {name:34} {cells[name]['mb_per_s']:7.1f} MB/s, peak RSS {cells[name]['maxrss_mb']:.0f} MB, "
            f"process tree PSS {cells[name]['tree_pss_mb']:.0f} MB")
    name = OURS
    quarter = _measure(name, commands(small, out)[name], small.stat().st_size, reps, out)
    cells[f"{name} (quarter-size log)"] = quarter
    log(f"audit {name} on {quarter['mb']:.0f} MB: peak RSS {quarter['maxrss_mb']:.0f} MB")
    for path in (big, small):
        path.unlink()
    return {"log_mb": size / 1e6, "log_lines": lines, "runs": cells}
