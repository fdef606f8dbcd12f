"""Start-up latencies: a recorder's start to CMD's execve, and the CLI's start to its first output.

Part of benchmarks/bench.py (`python benchmarks/bench.py --only startup`).
- exec: CMD is build/bench/stamp (stamp.c, static), whose first act is to print CLOCK_MONOTONIC;
  the benchmark reads the same clock just before it spawns the runner, so stamp - start is the time
  from the runner's spawn to CMD's first instruction after its execve (a few microseconds later than
  the execve itself). Runners: native (the spawn alone), the venv's Python starting and exec'ing CMD
  (what any Python recorder pays first), the C floor tracer, `record` (ptrace,
  default) and `record --engine ebpf` (root). Target for the ebpf engine: <= 50 ms.
- cli: `seccomp-gen --version` and `seccomp-gen show samples/nostat/nostat.recording.json`, the
  installed entry point, from byte-compiled modules (bench.as_installed): time to the first byte on
  stdout and to exit. Target: <= 60 ms to the first output.
Each cell is the median of N runs (default 10) after one discarded warm-up run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from native_tools import FLOOR, built, floor_tracer_cmd

HERE = Path(__file__).parent
REPO = HERE.parent
SAMPLE = REPO / "samples" / "nostat" / "nostat.recording.json"
EXEC_TARGET_MS = {"record --engine ebpf": 50.0}
CLI_TARGET_MS = 60.0
PYTHON_FLOOR = "python -c 'os.execv(CMD)' (interpreter start)"


def _cli() -> list[str]:
    """seccomp-gen as users start it: the venv's console script, else `python -m seccomp_gen`."""
    script = Path(sys.executable).parent / "seccomp-gen"
    return [str(script)] if script.exists() else [sys.executable, "-m", "seccomp_gen"]


def exec_runners(tmp: Path) -> dict[str, list[str]]:
    record = [*_cli(), "record", "-q", "-o", str(tmp / "startup.recording.json")]
    result = {
        "native": [],
        # What any Python recorder pays before its own code: the interpreter's start and an exec.
        PYTHON_FLOOR: [sys.executable, "-c", "import os, sys; os.execv(sys.argv[1], sys.argv[1:])"],
        FLOOR: floor_tracer_cmd(),
        "record (default: one-stop, pinned)": [*record, "--"],
        "record --engine ebpf": [*record, "--engine", "ebpf", "--"],
    }
    if os.geteuid() != 0:
        del result["record --engine ebpf"]
    return result


def _to_exec_once(cmd: list[str]) -> tuple[float, float]:
    """(ms from the spawn to CMD's first clock read, ms from the spawn to the runner's exit)."""
    start = time.clock_gettime(time.CLOCK_MONOTONIC)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = proc.communicate()
    end = time.clock_gettime(time.CLOCK_MONOTONIC)
    if proc.returncode != 0 or not out.split():
        raise RuntimeError(f"{cmd} exited {proc.returncode}, output {out!r}")
    return (float(out.split()[0]) - start) * 1e3, (end - start) * 1e3


def _first_output_once(cmd: list[str]) -> tuple[float, float]:
    """(ms from the spawn to the first byte on stdout, ms to exit)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    first = os.read(fd, 65536)
    first_at = time.perf_counter()
    while os.read(fd, 65536):
        pass
    proc.wait()
    end = time.perf_counter()
    if proc.returncode != 0 or not first:
        raise RuntimeError(f"{cmd} exited {proc.returncode} with no output")
    return (first_at - start) * 1e3, (end - start) * 1e3


def _median_cell(run: Callable[[], tuple[float, float]], reps: int, names: tuple[str, str]) -> dict[str, Any]:
    samples = [run() for _ in range(reps + 1)][1:]  # the first one warms the page cache
    first, whole = ([s[i] for s in samples] for i in (0, 1))
    return {names[0]: statistics.median(first), names[1]: statistics.median(whole),
            f"{names[0]}_min": min(first), f"{names[0]}_max": max(first)}


def run(tmp: Path, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    stamp = str(built("stamp.c", static=True))
    exec_cells: dict[str, Any] = {}
    for name, prefix in exec_runners(tmp).items():
        cell = exec_cells[name] = _median_cell(partial(_to_exec_once, [*prefix, stamp]), reps,
                                                ("to_exec_ms", "wall_ms"))
        if name in EXEC_TARGET_MS:
            cell["target_ms"] = EXEC_TARGET_MS[name]
        log(f"{'start -> execve':20} {name:34} {cell['to_exec_ms']:8.1f} ms  (exit {cell['wall_ms']:.1f} ms)")
    cli_cells: dict[str, Any] = {}
    commands = {"seccomp-gen --version": [*_cli(), "--version"],
                f"seccomp-gen show {SAMPLE.relative_to(REPO)}": [*_cli(), "show", str(SAMPLE)]}
    for name, cmd in commands.items():
        cell = cli_cells[name] = _median_cell(partial(_first_output_once, cmd), reps,
                                               ("first_output_ms", "wall_ms"))
        cell["target_ms"] = CLI_TARGET_MS
        log(f"{'cli start-up':20} {name:34} {cell['first_output_ms']:8.1f} ms  (exit {cell['wall_ms']:.1f} ms)")
    return {"reps": reps, "exec": exec_cells, "cli": cli_cells,
            "bytecode": "PYTHONDONTWRITEBYTECODE unset, modules byte-compiled (bench.as_installed)"}
