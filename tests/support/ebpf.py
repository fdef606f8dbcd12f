"""Whether the ebpf engine can run here, and why not: the tests that need it skip with the reason."""

from __future__ import annotations

import os
import time
from pathlib import Path

from seccomp_gen.ground.errors import SeccompGenError


def unavailable() -> str | None:
    """None when a BPF probe can be loaded on this machine's cgroup v2 mount, else why not."""
    if os.geteuid() != 0:
        return "the ebpf engine needs root (CAP_BPF + CAP_PERFMON and a cgroup v2 directory of its own)"
    try:
        from seccomp_gen.recorder.ebpf import cgroup, probe

        with probe.Probe(cgroup.cgroup_id(cgroup.find_mount().path), None, skip=True, watched={}):
            pass
    except (SeccompGenError, OSError) as exc:
        return f"BPF is not usable here: {exc}"
    return None


def remove_cgroup(path: Path, seconds: float = 10) -> None:
    """rmdir a test's cgroup once its processes are gone (the kernel frees it a moment after)."""
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        try:
            path.rmdir()
        except OSError:
            time.sleep(0.02)
