"""seccomp-gen benchmarks (issue 6), one run, side by side: recorder overhead, generate, audit logs, start-up.

    python benchmarks/bench.py [--quick] [--reps N] [--only record,generate,audit,startup] [--audit-mb MB]
        [--startup-reps N]

Absolute times are noisy on shared VMs; the ratios measured side by side in one run are what
carries over. Every cell is the median of N repetitions after one discarded warm-up run, whole
process, wall and CPU time (descendants included). Prints a table (also as Markdown for the
README) and writes benchmarks/results/bench-<date>.json. --quick (smaller workloads, 20 MB log,
2 repetitions) is a smoke run of about a minute. The record part has the C floor tracer
(floor_tracer.c) as a peer; the startup part (bench_startup.py) times each recorder's start to CMD's
execve and the CLI's start to its first output. The targets (report.targets) are checked at the end.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_audit
import bench_generate
import bench_record
import bench_startup
from report import markdown, targets, targets_table, text_table

HERE = Path(__file__).parent
PARTS = ("record", "generate", "audit", "startup")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """What the run's numbers are of: the CPU, memory, kernel, Python, and how busy the machine was."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(memory / 1024**2, 1),
            "kernel": platform.release(), "python": platform.python_version(), "machine": platform.machine(),
            "load_average_at_start": os.getloadavg()}


def as_installed() -> None:
    """Time seccomp-gen as an installed package starts: from byte-compiled modules. A shell with
    PYTHONDONTWRITEBYTECODE=1 would make every start compile each module from source (~20 ms, a
    fifth of the recorder's fixed start-up), which no pip-installed copy does."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for package in ("recorder", "generator", "seccomp_gen"):
        compileall.compile_dir(HERE.parent / package, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repetitions: a ~1 minute smoke run")
    parser.add_argument("--reps", type=int, help="measured repetitions per cell (default 3, quick 2)")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ",".join(PARTS))
    parser.add_argument("--audit-mb", type=float, help="size of the generated audit.log (default 200, quick 20)")
    parser.add_argument("--startup-reps", type=int, default=10, help="repetitions of each start-up timing")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="directory for the JSON results")
    args = parser.parse_args(argv)
    parts = [p for p in args.only.split(",") if p]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    reps = args.reps or (2 if args.quick else 3)
    audit_mb = args.audit_mb or (20 if args.quick else 200)
    as_installed()
    data: dict[str, Any] = {"machine": machine(), "quick": args.quick, "reps": reps,
                            "started": datetime.now(UTC).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="seccomp-gen-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if "startup" in parts:  # first: after the big files of the audit part, start-up measured up to 2x slower
            data["startup"] = bench_startup.run(tmp, args.startup_reps, _log)
        if "record" in parts:
            data["record"] = bench_record.run(tmp, args.quick, reps, _log)
        if "generate" in parts:
            data["generate"] = bench_generate.run(tmp, reps, _log)
        if "audit" in parts:
            data["audit"] = bench_audit.run(tmp, audit_mb, reps, _log)
    data["load_average_at_end"] = os.getloadavg()
    data["targets"] = targets(data)
    print(text_table(data))
    print()
    print(markdown(data))
    print()
    print(targets_table(data))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.results / f"bench-{stamp}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
