"""The BPF side of the ebpf engine: the maps, the program and its attachment, and reading the counts.

A Probe owns every file descriptor it creates (closed by close(), or by the kernel when the
recorder dies); its counts map is mmapped, so the tracer opens the gate and marks compat calls with
a store, and the counts are read at once at the end.
"""

from __future__ import annotations

import array
import contextlib
import mmap
import os
import struct
from collections.abc import Callable

from seccomp_gen.ground import syscalls
from seccomp_gen.recorder.collector import Collector
from seccomp_gen.recorder.ebpf import bpf, program

_SKIP_ENTRIES = 4096
ARGS_ENTRIES = 4096


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
            self.args = self._own(bpf.map_create(bpf.BPF_MAP_TYPE_HASH, program.ARGS_KEY_SIZE, 4, ARGS_ENTRIES,
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


def add_counts(collector: Collector, probe: Probe, exe_of: Callable[[int, int], str]) -> None:
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
        for (anr, index), seen in args.items():
            if anr == nr:
                collector.keep_values((token, nr), index, sorted(seen))
    if probe.args is not None and sum(len(v) for v in args.values()) >= ARGS_ENTRIES:
        collector.warn(f"more than {ARGS_ENTRIES} distinct watched argument values: some were not kept")
