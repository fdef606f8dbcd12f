"""`seccomp-gen generate` with every artifact for a ~400-syscall recording: wall time with start-up.

Part of benchmarks/bench.py (`--only generate`). The recording is built through recorder.collector
from syscalls libseccomp names: the first 300 of x86_64, then i386 ones until 400 distinct names
(about 660 arch/name pairs), every name loadable; the command is the installed console
script, as a user runs it (interpreter start included).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from timing import median_of, run_once

from seccomp_gen.ground import syscalls
from seccomp_gen.recorder import recording
from seccomp_gen.recorder.collector import Collector

TARGET_S = 0.5
NAMES = 400
_X86_64, _I386 = (0xC000003E, "SCMP_ARCH_X86_64"), (0x40000003, "SCMP_ARCH_X86")


def build_recording(path: Path) -> tuple[int, int]:
    """Write the 400-name recording; returns (arch/name pairs, distinct names)."""
    collector = Collector()
    names: set[str] = set()
    for (token, arch), limit in ((_X86_64, 300), (_I386, NAMES)):
        for nr in range(1000):
            name = syscalls.name_of(arch, nr)
            if len(names) >= limit:
                break
            if name is not None and syscalls.number_of(arch, name) is not None:  # loadable back
                for value in range(4):  # four values of each argument: what --narrow-args narrows to
                    collector.add(token, nr, 1000 + nr, "/usr/bin/app", (value, value, value, 0, 0, 0))
                names.add(name)
    rec = collector.build(engine="ptrace", command=("/usr/bin/app",), exit_status=0, processes=[])
    recording.dump(rec, path)
    return sum(len(uses) for uses in rec.syscalls.values()), len(rec.names())


def command(recording_path: Path, out: Path, *extra: str) -> list[str]:
    script = shutil.which("seccomp-gen", path=str(Path(sys.executable).parent))
    prefix = [script] if script else [sys.executable, "-m", "seccomp_gen"]
    return [*prefix, "generate", str(recording_path), "--name", "bench", "--out", str(out), *extra]


def run(tmp: Path, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    path = tmp / "gen400.recording.json"
    pairs, names = build_recording(path)
    cmd = command(path, tmp / "gen-out")
    cell = median_of(lambda: run_once(cmd), max(reps, 5))
    if cell["failed_runs"]:
        raise RuntimeError(f"{' '.join(cmd)} failed")
    artifacts = sorted(p.name for p in (tmp / "gen-out").iterdir())
    log(f"generate {pairs} syscalls ({names} names): wall {cell['wall_s']:.3f} s, artifacts {artifacts}")
    narrow_cmd = command(path, tmp / "gen-narrow", "--narrow-args")
    narrow = median_of(lambda: run_once(narrow_cmd), max(reps, 5))
    if narrow["failed_runs"]:
        raise RuntimeError(f"{' '.join(narrow_cmd)} failed")
    log(f"generate --narrow-args: wall {narrow['wall_s']:.3f} s")
    return {**cell, "syscalls": pairs, "distinct_names": names, "artifacts": artifacts, "target_s": TARGET_S,
            "command": " ".join(cmd[1:] if cmd[0].endswith("seccomp-gen") else cmd), "narrow_args": narrow}
