"""The ebpf engine: count syscalls in the kernel with a BPF program on the raw tracepoint sys_enter,
scoped to one cgroup v2 directory; no ptrace stop per syscall.

Launched command (`record --engine ebpf -- CMD`):
- A fresh cgroup (`seccomp-gen-<recorder pid>` at the cgroup2 root) is made, the program loaded
  with its id and attached, then CMD is started by the ptrace engine's launcher under a seccomp
  filter that ALLOWs every native call and TRACEs two kinds: execve/execveat, and every call of
  another arch (ACT_BADARCH: `int $0x80`, a `gcc -m32` program, x32).
- At the seccomp stop of CMD's own execve the tracer moves CMD into the cgroup: the tracepoint fires
  after seccomp, so that execve is the first call counted and nothing of the recorder's set-up is.
  Every descendant inherits the cgroup; nothing else is in it.
- sys_enter cannot tell a compat call from a native one (it would count i386 getpid, 20, as x86_64
  writev). Compat calls stop in the tracer, which records them under their real arch
  (PTRACE_GET_SYSCALL_INFO) and marks the thread in the program's skip map, so the program drops
  exactly that call.
- The tracer also follows forks and execs (a few stops per process, none per syscall): it waits for
  the whole tree, forwards signals (Ctrl-C: as the ptrace engine) and gives the process table.
- The cgroup is removed afterwards, after Ctrl-C too; BPF objects are file descriptors, closed on
  the way out (or by the kernel when the recorder dies).

Running cgroup (`--cgroup PATH [--duration D]`): the program is attached to that cgroup (and the
cgroups below it) until D has passed, the cgroup is gone, or SIGINT/SIGTERM/SIGHUP. The workload is
not restarted; compat calls are not told apart there (said in a warning and in source.details).

Provenance: the program keeps the first caller's pid per syscall; its exe is the one the process
table has for that pid (its last execve), else /proc/PID/exe, else CMD's.
"""

from __future__ import annotations

import array
import contextlib
import mmap
import os
import signal
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyseccomp

from seccomp_gen.ground import syscalls
from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.collector import Collector, read_proc_argv, read_proc_exe
from seccomp_gen.recorder.ebpf import bpf, cgroup, program
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.ptrace import DEFAULT_GRACE_S
from seccomp_gen.recorder.recording import MAX_ARG_VALUES, Process, Recording

_SKIP_ENTRIES = 4096
_ARGS_ENTRIES = 4096
_COMPAT_NOTE = ("compat calls (int $0x80, 32-bit programs) in the cgroup are not told apart from native calls: "
                "BPF's sys_enter sees only the number, so such a call is counted under the native table's name "
                "for that number")



class Probe:
    """The maps, the program and its attachment; every fd is closed by close() (or the kernel)."""

    def __init__(self, cgroup_id: int, cgroup_level: int | None, *, skip: bool,
                 watched: dict[tuple[int, int], tuple[int, ...]], gated: bool = False) -> None:
        self.fds: list[int] = []
        self.view: mmap.mmap | None = None
        self.native_token = syscalls.ARCH_TOKENS[syscalls.native_arch()]
        try:
            self.counts = self._own(bpf.map_create(bpf.BPF_MAP_TYPE_ARRAY, 4, program.COUNT_VALUE_SIZE,
                                                   program.COUNT_ENTRIES, "sg_counts", bpf.BPF_F_MMAPABLE))
            size = program.COUNT_ENTRIES * program.COUNT_VALUE_SIZE
            self.view = mmap.mmap(self.counts, -(-size // mmap.PAGESIZE) * mmap.PAGESIZE, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE)
            self.skip = self._own(bpf.map_create(bpf.BPF_MAP_TYPE_HASH, 4, 4, _SKIP_ENTRIES, "sg_skip")) \
                if skip else None
            self.watched = self._watched(watched)
            self.args = self._own(bpf.map_create(bpf.BPF_MAP_TYPE_HASH, program.ARGS_KEY_SIZE, 4, _ARGS_ENTRIES,
                                                 "sg_args")) if self.watched else None
            spec = program.ProgramSpec(cgroup_id, cgroup_level, self.counts, self.skip, self.args, self.watched,
                                       gated)
            prog = self._own(bpf.prog_load_raw_tracepoint(program.sys_enter_program(spec), "sg_sys_enter"))
            self.link: int | None = self._own(bpf.raw_tracepoint_open("sys_enter", prog))
        except BaseException:
            self.close()
            raise

    def _own(self, fd: int) -> int:
        self.fds.append(fd)
        return fd

    def _watched(self, watched: dict[tuple[int, int], tuple[int, ...]]) -> list[tuple[int, int]]:
        """(nr, index) of the native watched arguments; their pt_regs offsets are known on x86_64."""
        if syscalls.native_arch() != "SCMP_ARCH_X86_64":
            return []
        return sorted((nr, index) for (token, nr), indices in watched.items()
                      if token == self.native_token for index in indices)

    def detach(self) -> None:
        """Stop counting (the program stays loaded until close)."""
        if self.link is not None:
            os.close(self.link)
            self.fds.remove(self.link)
            self.link = None

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
        while self.fds:
            with contextlib.suppress(OSError):
                os.close(self.fds.pop())

    def mark_compat(self, tid: int) -> None:
        """The tracer holds `tid` on a compat call it recorded: the program drops that call."""
        if self.skip is not None and self.view is not None:
            bpf.map_update(self.skip, struct.pack("<I", tid), struct.pack("<I", 1))
            struct.pack_into("<Q", self.view, program.SKIP_FLAG * program.COUNT_VALUE_SIZE, 1)

    def open_gate(self) -> None:
        """A gated program counts from now on (a store into the mmapped map, no syscall)."""
        if self.view is not None:
            struct.pack_into("<Q", self.view, program.GATE * program.COUNT_VALUE_SIZE, 1)

    def counts_by_nr(self) -> dict[int, tuple[int, int]]:
        """nr -> (count, first pid_tgid); MAX_NR holds the calls with larger numbers."""
        assert self.view is not None
        size = (program.MAX_NR + 1) * program.COUNT_VALUE_SIZE
        values = struct.iter_unpack("<QQ", self.view[:size])
        return {nr: (count, first) for nr, (count, first) in enumerate(values) if count}

    def first_calls_of(self, tgid: int) -> list[int]:
        """The syscall numbers whose first counted caller is process `tgid`."""
        assert self.view is not None
        words = array.array("Q", self.view[:(program.MAX_NR + 1) * program.COUNT_VALUE_SIZE])
        return [nr for nr, first in enumerate(words[1::2]) if first and first >> 32 == tgid]

    def arg_values(self) -> dict[tuple[int, int], set[int]]:
        values: dict[tuple[int, int], set[int]] = {}
        if self.args is not None:
            for key in bpf.map_keys(self.args, program.ARGS_KEY_SIZE):
                nr, index, value = struct.unpack("<IIQ", key)
                values.setdefault((nr, index), set()).add(value)
        return values

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _add_counts(collector: Collector, probe: Probe, exe_of: Callable[[int, int], str]) -> None:
    """The program's counts (and argument values) into `collector`, under the native arch."""
    token = probe.native_token
    args = probe.arg_values()
    for nr, (count, first) in sorted(probe.counts_by_nr().items()):
        if nr == program.MAX_NR:
            collector.warn(f"{count} calls with a syscall number >= {program.MAX_NR} (invalid numbers) were "
                           "counted but cannot be named by the ebpf engine")
            continue
        tgid = first >> 32
        collector.add(token, nr, tgid, exe_of(nr, tgid), count=count)
        slot = collector.slots[(token, nr)]
        for (anr, index), seen in args.items():
            if anr != nr:
                continue
            kept = slot.args.setdefault(index, set())
            for value in sorted(seen):
                if len(kept) < MAX_ARG_VALUES:
                    kept.add(value)
                elif value not in kept:
                    slot.truncated = True
    if probe.args is not None and sum(len(v) for v in args.values()) >= _ARGS_ENTRIES:
        collector.warn(f"more than {_ARGS_ENTRIES} distinct watched argument values: some were not kept")


def _compat_filter() -> tuple[pyseccomp.SyscallFilter, bool]:
    """ALLOW native calls, TRACE execve/execveat (to move CMD into the cgroup at its exec) and every
    call of another arch."""
    from seccomp_gen.recorder.ptrace.constants import TRACE_MARK
    from seccomp_gen.recorder.ptrace.launch import CAP_SYS_ADMIN, has_capability

    trace = pyseccomp.TRACE(TRACE_MARK)
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.set_attr(pyseccomp.Attr.ACT_BADARCH, trace)
    for name in ("execve", "execveat"):
        flt.add_rule(trace, name)
    nnp = not has_capability(CAP_SYS_ADMIN)
    flt.set_attr(pyseccomp.Attr.CTL_NNP, int(nnp))
    return flt, nnp


def _is_elf32(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/exe", "rb") as handle:
            head = handle.read(5)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and head[4:5] == b"\x01"


def _process(pid: int) -> Process | None:
    exe = read_proc_exe(pid)
    ppid = 0
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("PPid:"):
                    ppid = int(line.split()[1])
                    break
    except (OSError, ValueError):
        return None
    return Process(pid, ppid, exe, read_proc_argv(pid))


@contextlib.contextmanager
def _stop_on_signals(flag: list[int]) -> Iterator[None]:
    def handler(signum: int, _frame: object) -> None:
        flag.append(signum)

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, handler) for s in handled}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@dataclass
class EbpfEngine:
    """Engine "ebpf": a launched command (`command`) or a running cgroup (`cgroup`, `duration_s`)."""

    command: Sequence[str] = ()
    cgroup: str | None = None
    duration_s: float | None = None
    grace_s: float = DEFAULT_GRACE_S
    log: Log = field(default=quiet)
    name: str = "ebpf"

    def record(self) -> Recording:
        problem = bpf.privilege_problem()
        if problem is not None:
            raise SeccompGenError(problem)
        if self.cgroup is not None:
            return self._record_cgroup(self.cgroup)
        return self._record_command()

    # ------------------------------------------------------------ a launched command

    def _record_command(self) -> Recording:
        from seccomp_gen.recorder.ptrace import _with_own_filter_warning, record_command
        from seccomp_gen.recorder.ptrace.launch import resolve_command

        path = resolve_command(self.command)
        mount = cgroup.find_mount()
        native = syscalls.native_arch()
        token = syscalls.ARCH_TOKENS[native]
        execs = {nr for nr in (syscalls.number_of(native, "execve"), syscalls.number_of(native, "execveat"))
                 if nr is not None}
        trace_filter = _compat_filter()
        collector = Collector()
        moved: list[int] = []
        exe_at_first: dict[int, str] = {}  # nr -> exe of its first caller, when that caller exec'd since
        with cgroup.fresh(mount, cgroup_dir_name()) as cg, cgroup.opened(cg) as cg_fd:
            with Probe(cgroup.cgroup_id(cg), cgroup.level_of(mount, cg), skip=True,
                       watched=collector.watched, gated=True) as probe:

                def on_trace(tid: int, tgid: int, exe: str, arch_token: int, nr: int, args: tuple[int, ...],
                             _data: int) -> None:
                    if arch_token == token and nr in execs:
                        if not moved:  # CMD's own execve: from here on it and its descendants count
                            if tgid not in cgroup.procs(cg, recursive=False):
                                cgroup.move(cg, tgid)  # the kernel could not clone it there
                            probe.open_gate()
                            moved.append(tgid)
                        else:  # calls this process made first were made by its current exe
                            for first in probe.first_calls_of(tgid):
                                exe_at_first.setdefault(first, exe)
                        return
                    probe.mark_compat(tid)
                    collector.add(arch_token, nr, tgid, exe, args)

                try:
                    traced = record_command(self.command, log=self.log, grace_s=self.grace_s,
                                            trace_filter=trace_filter, on_trace=on_trace, engine=self.name,
                                            cgroup_fd=cg_fd)
                finally:
                    probe.detach()
                exes = {p.pid: p.exe for p in traced.processes}

                def exe_of(nr: int, pid: int) -> str:
                    return exe_at_first.get(nr) or exes.get(pid) or read_proc_exe(pid) or os.path.realpath(path)

                _add_counts(collector, probe, exe_of)
            leftovers = cgroup.procs(cg)
        for reason in traced.incomplete_reasons:
            collector.mark_incomplete(reason)
        if leftovers:
            collector.warn(f"processes {leftovers} were still in the cgroup after the traced tree ended; killed")
        details: dict[str, Any] = {
            "mode": "bpf raw_tracepoint sys_enter, scoped by cgroup v2",
            "cgroup": str(cg),
            "compat_calls": "recorded through ptrace (seccomp RET_TRACE for other arches) and dropped from the "
                            "BPF counts",
            "provenance": "first pid per syscall from BPF; its exe as of that call (the tracer stops at every "
                          "native execve and attributes the calls the process made first so far to its exe then)",
            "no_new_privs": trace_filter[1],
        }
        rec = collector.build(engine=self.name, command=self.command, exit_status=traced.exit_status,
                              processes=traced.processes, details=details)
        return _with_own_filter_warning(rec)

    # ------------------------------------------------------------ a running cgroup

    def _record_cgroup(self, given: str) -> Recording:
        mount = cgroup.find_mount()
        path = cgroup.resolve(mount, given)
        collector = Collector()
        collector.mark_incomplete(f"recorded the running cgroup {path} from the moment the program was "
                                  "attached: calls made before are not in it")
        collector.warn(_COMPAT_NOTE)
        seen: dict[int, Process] = {}

        def scan() -> None:
            for pid in cgroup.procs(path):
                if pid not in seen and (proc := _process(pid)) is not None:
                    seen[pid] = proc

        interrupted: list[int] = []
        ended = ""
        with Probe(cgroup.cgroup_id(path), cgroup.level_of(mount, path), skip=False,
                   watched=collector.watched) as probe:
            scan()
            until = f"for {self.duration_s:g} s" if self.duration_s is not None else "until Ctrl-C"
            self.log(f"seccomp-gen: recording cgroup {path} {until}")
            deadline = time.monotonic() + self.duration_s if self.duration_s is not None else None
            with _stop_on_signals(interrupted):
                while not interrupted:
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    if not path.exists():
                        ended = f"the cgroup {path} was removed during the recording"
                        break
                    time.sleep(0.05 if deadline is None else min(0.05, max(0.0, deadline - time.monotonic())))
                    scan()
            probe.detach()
            scan()

            def exe_of(_nr: int, pid: int) -> str:
                proc = seen.get(pid)
                return proc.exe if proc is not None and proc.exe else read_proc_exe(pid)

            _add_counts(collector, probe, exe_of)
        if interrupted:
            self.log(f"seccomp-gen: {signal.Signals(interrupted[0]).name}: recording stopped")
        if ended:
            self.log(f"seccomp-gen: {ended}")
        elf32 = sorted(pid for pid in seen if _is_elf32(pid))
        if elf32:
            collector.warn(f"32-bit processes {elf32} ran in the cgroup: their calls are counted under native "
                           "names, which is wrong for them; record them with --engine ptrace")
        firsts = {use.first.pid for uses in collector.syscall_map().values() for use in uses.values()}
        for pid in firsts - set(seen):
            seen[pid] = _process(pid) or Process(pid, 0, "", ())
        details: dict[str, Any] = {
            "mode": "bpf raw_tracepoint sys_enter, scoped by cgroup v2",
            "cgroup": str(path),
            "duration_limit_s": self.duration_s,
            "stopped_by": (signal.Signals(interrupted[0]).name if interrupted else ended or "duration"),
            "compat_calls": "not told apart: " + _COMPAT_NOTE,
            "provenance": "first pid per syscall from BPF; its exe from /proc while it was alive (else empty)",
        }
        return collector.build(engine=self.name, command=("--cgroup", str(path)), exit_status=None,
                               processes=list(seen.values()), details=details)


def cgroup_dir_name(pid: int | None = None) -> str:
    """The name of a launched run's cgroup directory (for tests and for cleaning up by hand)."""
    return f"seccomp-gen-{os.getpid() if pid is None else pid}"
