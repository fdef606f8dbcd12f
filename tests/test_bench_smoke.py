"""benchmarks/bench.py still runs: a tiny --quick run of the generate and audit-log parts (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_quick_smoke(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/bench.py"), "--quick", "--only", "generate,audit",
                           "--audit-mb", "1", "--reps", "1", "--results", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (result,) = tmp_path.glob("bench-*.json")
    data = json.loads(result.read_text())
    assert data["generate"]["distinct_names"] == 400
    assert data["audit"]["runs"]["seccomp-gen record --audit-log"]["records_used"] > 0
    assert "| reading a" in proc.stdout
