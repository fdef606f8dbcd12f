"""The ebpf engine: syscalls counted in the kernel by a BPF program on the raw tracepoint sys_enter,
scoped to a cgroup v2 directory - near native speed, no ptrace stop per syscall."""

from seccomp_gen.recorder.ebpf.engine import EbpfEngine

__all__ = ["EbpfEngine"]
