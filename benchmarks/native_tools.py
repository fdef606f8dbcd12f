"""The benchmark's C helpers, built with gcc once and cached under build/bench/: the ptrace floor
tracer (floor_tracer.c) and the clock-stamping program the start-up timings run (stamp.c)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
CACHE = HERE.parent / "build" / "bench"
#: The runner name of the C floor tracer in the record tables, pinned as the recorder is by default.
FLOOR = "floor tracer (C, one-stop, pinned)"


def built(source: str, *, static: bool = False) -> Path:
    """benchmarks/<source> compiled to build/bench/<stem>; rebuilt when the source is newer."""
    src = HERE / source
    binary = CACHE / src.stem
    if not binary.exists() or binary.stat().st_mtime < src.stat().st_mtime:
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = binary.with_suffix(".tmp")
        subprocess.run([os.environ.get("CC", "gcc"), "-O2", "-Wall", *(["-static"] if static else []), "-o",
                        str(tmp), str(src)], check=True)
        tmp.replace(binary)
    return binary


def recorder_filter() -> Path | None:
    """The recorder's own RET_TRACE filter (seize.build_trace_filter), exported as raw BPF for the
    floor tracer's -f, so both run the same filter program; None when it cannot be built here."""
    try:
        from seccomp_gen.recorder.ptrace.seize import build_trace_filter
    except ImportError:
        return None
    flt, _nnp = build_trace_filter()
    out = CACHE / "recorder-filter.bpf"
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        out.write_bytes(handle.read())
    return out


def floor_tracer_cmd() -> list[str]:
    """The command prefix of the floor tracer: pinned like `record --pin-cpu auto` (the CPU it starts
    on), the recorder's filter when it can be exported."""
    binary = built("floor_tracer.c")
    bpf = recorder_filter()
    return [str(binary), "-p", "auto", *(["-f", str(bpf)] if bpf else []), "--"]
