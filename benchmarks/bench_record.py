"""Recorder overhead, as ratios in one run: native vs `strace -f` vs every `seccomp-gen record` mode.

Part of benchmarks/bench.py (`python benchmarks/bench.py --only record`). Workloads: (a) a 200k
getppid() loop, (b) a realistic Python program and `tar c` of a tree, (c) shell pipelines. Runners:
native, strace -f (as run and pinned), the C floor tracer (floor_tracer.c: the recorder's per-stop
work without Python, pinned), record with the one-stop seccomp RET_TRACE ptrace mode pinned to one CPU (the
default) and unpinned, the complain-mode log engine (root only; its recordings of busy programs
are incomplete, which the results say) and the ebpf engine (root only: a BPF program on sys_enter
counts the calls of a fresh cgroup). Attach mode (`record -p`, PTRACE_SYSCALL: two stops per call)
is timed on (a) from the moment the attached loop is released until the recorder exits, next to
`strace -f -p` and the bare loop released the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from native_tools import FLOOR, floor_tracer_cmd
from timing import Sample, median_of, run_once

HERE = Path(__file__).parent
REPO = HERE.parent
SEccomp_GEN = [sys.executable, "-m", "seccomp_gen"]
Cell = dict[str, Any]
STRACE_PINNED = "strace -f, pinned"
#: Workloads that report their own wall time (SG_BENCH_SELF_TIME): the program's own slowdown,
#: without the recorder's fixed start-up (interpreter, imports, BPF load) that whole-process time has.
SELF_TIMED = ("a_getppid_loop", "b_python_realistic")
#: Where workload (b) keeps its 2000 files and its database: on the VM's ext4 disk its native time
#: varied 0.12-0.6 s between runs (writeback, fdatasync), which drowned the recorder's cost.
TMPFS = "/dev/shm"


def _build_loop(tmp: Path) -> Path:
    binary = tmp / "getppid_loop"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(REPO / "tests/workloads/getppid_loop.c")], check=True)
    return binary


def _make_tree(root: Path, files: int) -> None:
    for i in range(files):
        (root / f"d{i % 20}" / f"s{i % 7}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 20}" / f"s{i % 7}" / f"f{i}").write_text("x" * (i % 500))


def workloads(tmp: Path, quick: bool) -> dict[str, list[str]]:
    loop = _build_loop(tmp)
    _make_tree(tmp / "tree", 200 if quick else 1000)
    loops = 2 if quick else 8
    return {
        "a_getppid_loop": [str(loop), "20000" if quick else "200000"],
        "b_python_realistic": [sys.executable, str(HERE / "workload_realistic.py"), "200" if quick else "2000"],
        "b_tar_tree": ["tar", "cf", "/dev/null", "-C", str(tmp), "tree"],
        "c_shell_pipeline": ["/bin/sh", "-c", f"for i in $(seq {loops}); do ls -R /usr/lib/python3* | sort | "
                             "uniq -c | wc -l; done > /dev/null"],
    }


def runners(tmp: Path, quick: bool) -> dict[str, list[str]]:
    """Command prefixes; the log and ebpf engines only as root (a new audit session and /dev/kmsg; bpf()
    and a cgroup v2 directory)."""
    out = str(tmp / "bench.recording.json")
    record = [*SEccomp_GEN, "record", "-q", "-o", out]
    result = {
        "native": [],
        "strace -f": ["strace", "-f", "-qq", "-o", "/dev/null", "--"],
        # The same CPU placement as the default recorder: a peer measured on equal terms (unpinned
        # ptrace stops bounce between CPUs and cost 2-15x more on these VMs, for strace too).
        STRACE_PINNED: ["taskset", "-c", str(min(os.sched_getaffinity(0))), "strace", "-f", "-qq", "-o",
                        "/dev/null", "--"],
        # The floor: the recorder's per-stop work (one seccomp stop, PTRACE_GET_SYSCALL_INFO,
        # PTRACE_CONT) in C, pinned as the default recorder is (floor_tracer.c).
        FLOOR: floor_tracer_cmd(),
        "record (default: one-stop, pinned)": [*record, "--pin-cpu", "auto", "--"],
        "record one-stop --pin-cpu off": [*record, "--pin-cpu", "off", "--"],
        "record --engine log": [*record, "--engine", "log", "--"],
        "record --engine ebpf": [*record, "--engine", "ebpf", "--"],
    }
    if shutil.which("strace") is None:
        del result["strace -f"], result[STRACE_PINNED]
    if os.geteuid() != 0:
        del result["record --engine log"]
        del result["record --engine ebpf"]
    return result


def _recording_note(path: Path) -> str | None:
    """Why a recording is incomplete (or missing), for the results; None when it is complete."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return "no recording written"
    if rec.get("complete", True):
        return None
    return "incomplete: " + "; ".join(rec.get("incomplete_reasons", []))[:300]


def _wait_traced(pid: int, timeout: float = 10.0) -> None:
    """Until a tracer has seized `pid` (TracerPid in /proc), so the release below is recorded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        if any(line.split()[1:] != ["0"] for line in status.splitlines() if line.startswith("TracerPid:")):
            time.sleep(0.05)  # the tracer seizes the threads, then enters its wait loop
            return
        time.sleep(0.005)
    raise RuntimeError(f"nothing attached to {pid} within {timeout} s")


def attach_once(tracer: list[str] | None, loop_cmd: list[str]) -> Sample:
    """(a) under `tracer -p PID`: the loop waits on a pipe until the tracer is attached; timed from
    its release until both it and the tracer have exited."""
    read_end, write_end = os.pipe()
    workload = subprocess.Popen(["/bin/sh", "-c", 'read x; exec "$0" "$@"', *loop_cmd], stdin=read_end,
                                stdout=subprocess.DEVNULL)
    os.close(read_end)
    procs = [workload]
    try:
        if tracer is not None:
            procs.append(subprocess.Popen([*tracer, str(workload.pid)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            _wait_traced(workload.pid)
        start = time.perf_counter()
        os.write(write_end, b"\n")
    finally:
        os.close(write_end)
    cpu, status = 0.0, 0
    for proc in procs:
        _pid, raw, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(raw)
        cpu += usage.ru_utime + usage.ru_stime
        status = status or proc.returncode
    return Sample(time.perf_counter() - start, cpu, 0, status)


def _cell(run: Callable[[], Sample], reps: int, recording: Path | None, self_time: Path | None = None) -> Cell:
    notes: set[str] = set()
    own: list[float] = []

    def one() -> Sample:
        for path in (recording, self_time):
            if path is not None:
                path.unlink(missing_ok=True)
        sample = run()
        note = _recording_note(recording) if recording is not None else None
        if note:
            notes.add(note)
        if self_time is not None and self_time.exists():
            own.append(float(self_time.read_text()))
        return sample

    cell: Cell = median_of(one, reps)
    cell.pop("maxrss_mb")
    if len(own) == reps + 1:  # the first run is the discarded warm-up, as in median_of
        cell["self_s"] = statistics.median(own[1:])
    if notes:
        cell["note"] = " | ".join(sorted(notes))
    return cell


def run(tmp: Path, quick: bool, reps: int, log: Callable[[str], None]) -> dict[str, dict[str, Cell]]:
    """workload -> runner -> cell (median wall/cpu, the program's own time where it reports one, and
    a note for incomplete recordings)."""
    recording, self_time = tmp / "bench.recording.json", tmp / "self_time"
    loads, runs = workloads(tmp, quick), runners(tmp, quick)
    results: dict[str, dict[str, Cell]] = {}
    for wname, wcmd in loads.items():
        results[wname] = {}
        timed = wname in SELF_TIMED
        env = {**os.environ, "SG_BENCH_SELF_TIME": str(self_time)} if timed else None
        if env is not None and wname == "b_python_realistic" and os.access(TMPFS, os.W_OK):
            env["TMPDIR"] = TMPFS
        for rname, prefix in runs.items():
            cmd = prefix + wcmd
            cell = results[wname][rname] = _cell(partial(run_once, cmd, env=env), reps,
                                                 recording if rname.startswith("record") else None,
                                                 self_time if timed else None)
            own = f"  own {cell['self_s']:8.3f} s" if "self_s" in cell else ""
            log(f"{wname:20} {rname:34} wall {cell['wall_s']:8.3f} s{own}")
    results["a_getppid_loop_attach"] = _attach_cells(loads["a_getppid_loop"], recording, reps, log)
    return results


def _attach_cells(loop: list[str], recording: Path, reps: int, log: Callable[[str], None]) -> dict[str, Cell]:
    tracers: dict[str, list[str] | None] = {
        "native": None,
        "strace -f": ["strace", "-f", "-qq", "-o", "/dev/null", "-p"],
        "record -p (PTRACE_SYSCALL)": [*SEccomp_GEN, "record", "-q", "-o", str(recording), "-p"],
    }
    if shutil.which("strace") is None:
        del tracers["strace -f"]
    cells = {}
    for name, tracer in tracers.items():
        cells[name] = _cell(partial(attach_once, tracer, loop), reps, None)
        log(f"{'a_getppid_loop_attach':20} {name:34} wall {cells[name]['wall_s']:8.3f} s")
    return cells
