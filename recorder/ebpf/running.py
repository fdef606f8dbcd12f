"""`record --engine ebpf --cgroup PATH [--duration D]`: a running cgroup, without restarting it (also the
cgroup that `--container` found, container.py).

The program is attached to that cgroup (and the cgroups below it) until D has passed, the cgroup is
gone, or SIGINT/SIGTERM/SIGHUP. Compat calls are not told apart there (said in a warning and in
source.details), and calls made before the attach are not in the recording.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.ebpf import cgroup
from seccomp_gen.recorder.ebpf.probe import Probe, add_counts
from seccomp_gen.recorder.interface import Log
from seccomp_gen.recorder.launch import proc, signals
from seccomp_gen.recorder.recording import Process, Recording

COMPAT_NOTE = ("compat calls (int $0x80, 32-bit programs) in the cgroup are not told apart from native calls: "
               "BPF's sys_enter sees only the number, so such a call is counted under the native table's name "
               "for that number")
#: How often the cgroup's process list is read while recording.
_SCAN_S = 0.05


def _process(pid: int) -> Process | None:
    exe = proc.read_exe(pid)
    ids = proc.read_ids(pid)
    if ids is None:
        return None
    return Process(pid, ids[1], exe, proc.read_argv(pid))


def _is_elf32(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/exe", "rb") as handle:
            head = handle.read(5)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and head[4:5] == b"\x01"


class _Watch:
    """The processes seen in the cgroup while recording, and why the recording stopped."""

    def __init__(self, path: Path, duration_s: float | None) -> None:
        self.path, self.duration_s = path, duration_s
        self.seen: dict[int, Process] = {}
        self.interrupted: list[int] = []
        self.ended = ""

    def scan(self) -> None:
        for pid in cgroup.procs(self.path):
            if pid not in self.seen and (found := _process(pid)) is not None:
                self.seen[pid] = found

    def on_signal(self, signum: int, _frame: object) -> None:
        self.interrupted.append(signum)

    def wait(self) -> None:
        """Until the duration has passed, the cgroup is gone, or a signal came; scanning meanwhile."""
        deadline = time.monotonic() + self.duration_s if self.duration_s is not None else None
        with signals.handling(self.on_signal):
            while not self.interrupted:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if not self.path.exists():
                    self.ended = f"the cgroup {self.path} was removed during the recording"
                    break
                time.sleep(_SCAN_S if deadline is None else min(_SCAN_S, max(0.0, deadline - time.monotonic())))
                self.scan()

    @property
    def stopped_by(self) -> str:
        return signal.Signals(self.interrupted[0]).name if self.interrupted else self.ended or "duration"


def record_running(given: str, *, duration_s: float | None, log: Log, engine: str,
                   container: dict[str, Any] | None = None) -> Recording:
    """Record the running cgroup `given` until `duration_s`, its end, or an interrupt; `container`:
    the container (--container) it was found for, kept in source.details."""
    mount = cgroup.find_mount()
    path = cgroup.resolve(mount, given)
    collector = Collector()
    collector.mark_incomplete(f"recorded the running cgroup {path} from the moment the program was "
                              "attached: calls made before are not in it")
    collector.warn(COMPAT_NOTE)
    watch = _Watch(path, duration_s)
    with Probe(cgroup.cgroup_id(path), cgroup.level_of(mount, path), skip=False,
               watched=collector.watched) as probe:
        watch.scan()
        until = f"for {duration_s:g} s" if duration_s is not None else "until Ctrl-C"
        what = f"container {container['name_or_id']} (cgroup {path})" if container else f"cgroup {path}"
        log(f"seccomp-gen: recording {what} {until}")
        watch.wait()
        probe.detach()
        watch.scan()

        def exe_of(_nr: int, pid: int) -> str:
            known = watch.seen.get(pid)
            return known.exe if known is not None and known.exe else proc.read_exe(pid)

        add_counts(collector, probe, exe_of)
    if watch.interrupted:
        log(f"seccomp-gen: {watch.stopped_by}: recording stopped")
    if watch.ended:
        log(f"seccomp-gen: {watch.ended}")
    return _build(collector, watch, engine, container)


def _build(collector: Collector, watch: _Watch, engine: str, container: dict[str, Any] | None) -> Recording:
    seen = watch.seen
    elf32 = sorted(pid for pid in seen if _is_elf32(pid))
    if elf32:
        collector.warn(f"32-bit processes {elf32} ran in the cgroup: their calls are counted under native "
                       "names, which is wrong for them; record them with --engine ptrace")
    firsts = {use.first.pid for uses in collector.syscall_map().values() for use in uses.values()}
    for pid in firsts - set(seen):
        seen[pid] = _process(pid) or Process(pid, 0, "", ())
    details: dict[str, Any] = {
        "mode": "bpf raw_tracepoint sys_enter, scoped by cgroup v2",
        "cgroup": str(watch.path),
        "duration_limit_s": watch.duration_s,
        "stopped_by": watch.stopped_by,
        "compat_calls": "not told apart: " + COMPAT_NOTE,
        "provenance": "first pid per syscall from BPF; its exe from /proc while it was alive (else empty)",
    }
    if container is not None:
        details["container"] = container
    command = ("--container", container["name_or_id"]) if container else ("--cgroup", str(watch.path))
    return collector.build(engine=engine, command=command, exit_status=None,
                           processes=list(seen.values()), details=details)
