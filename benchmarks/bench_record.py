"""Recorder overhead, as ratios in one run: native vs `strace -f` vs `seccomp-gen record` modes.

    python benchmarks/bench_record.py [--reps N] [--quick]

Absolute times are noisy on these VMs; the ratios (record/native, record/strace) measured side by
side in one run are what carries over. Each cell is the median of N repetitions after one discarded
warm-up run, in whole-process wall time and CPU time (children included). Results go to stdout as a
table and to benchmarks/results/record-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parent
CPU0 = str(min(os.sched_getaffinity(0)))


def _build_loop(tmp: Path) -> Path:
    binary = tmp / "getppid_loop"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(REPO / "tests/workloads/getppid_loop.c")], check=True)
    return binary


def workloads(tmp: Path, quick: bool) -> dict[str, list[str]]:
    loop = _build_loop(tmp)
    tree = tmp / "tree"
    for i in range(200 if quick else 1000):
        (tree / f"d{i % 20}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 20}" / f"f{i}").write_text("x" * (i % 500))
    return {
        "a_getppid_loop": [str(loop), "20000" if quick else "200000"],
        "b_python_realistic": [sys.executable, str(HERE / "workload_realistic.py"), "200" if quick else "2000"],
        "b_tar_tree": ["tar", "cf", "/dev/null", "-C", str(tmp), "tree"],
        "c_shell_pipeline": ["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do ls -R /usr/lib/python3* | sort | "
                             "uniq -c | wc -l; done > /dev/null"],
    }


def runners(tmp: Path) -> dict[str, list[str]]:
    out = str(tmp / "bench.recording.json")
    record = [sys.executable, "-m", "seccomp_gen", "record", "-q", "-o", out]
    result = {
        "native": [],
        "native_pinned": ["taskset", "-c", CPU0],
        "strace -f": ["strace", "-f", "-qq", "-o", "/dev/null", "--"],
        "record pinned": [*record, "--pin-cpu", "auto", "--"],
        "record unpinned": [*record, "--pin-cpu", "off", "--"],
    }
    if shutil.which("strace") is None:
        del result["strace -f"]
    return result


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all children) for one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (a smoke run)")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        loads, runs = workloads(tmp, args.quick), runners(tmp)
        for wname, wcmd in loads.items():
            results[wname] = {}
            for rname, prefix in runs.items():
                samples = [measure(prefix + wcmd) for _ in range(args.reps + 1)][1:]
                results[wname][rname] = {
                    "wall_s": statistics.median(s[0] for s in samples),
                    "cpu_s": statistics.median(s[1] for s in samples),
                }
                print(f"{wname:22} {rname:16} wall {results[wname][rname]['wall_s']:8.3f} s", file=sys.stderr)
    rows = []
    for wname, cells in results.items():
        native = cells["native"]["wall_s"]
        strace = cells.get("strace -f", {}).get("wall_s")
        for rname, cell in cells.items():
            rows.append((wname, rname, cell["wall_s"], cell["cpu_s"], cell["wall_s"] / native,
                         cell["wall_s"] / strace if strace else float("nan")))
    header = f"{'workload':22} {'runner':16} {'wall s':>8} {'cpu s':>8} {'/native':>8} {'/strace':>8}"
    print(header)
    for row in rows:
        print(f"{row[0]:22} {row[1]:16} {row[2]:8.3f} {row[3]:8.3f} {row[4]:8.2f} {row[5]:8.2f}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results" / f"record-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
        "reps": args.reps, "quick": args.quick, "results": results,
    }, indent=2, sort_keys=True) + "\n")
    print(f"results: {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
