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

Running container (`--container NAME_OR_ID [--runtime-cli CMD]`): the runtime's CLI names the
container's process, whose cgroup v2 directory must carry the container's id (container.py); that
cgroup is then recorded as above. Found after the privilege check: without root the CLI's answer
would be of no use.

Provenance: the program keeps the first caller's pid per syscall; its exe is the one the process
table has for that pid (its last execve), else /proc/PID/exe, else CMD's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from seccomp_gen.ground.errors import SeccompGenError
from seccomp_gen.recorder.ebpf import bpf
from seccomp_gen.recorder.ebpf.launched import cgroup_dir_name, record_launched
from seccomp_gen.recorder.interface import Log, quiet
from seccomp_gen.recorder.launch.signals import DEFAULT_GRACE_S
from seccomp_gen.recorder.recording import Recording

__all__ = ["EbpfEngine", "cgroup_dir_name"]


@dataclass
class EbpfEngine:
    """Engine "ebpf": a launched command (`command`), a running cgroup (`cgroup`, `duration_s`), or a
    running container's (`container`, found with `runtime_cli`: the program and its global flags)."""

    command: Sequence[str] = ()
    cgroup: str | None = None
    container: str | None = None
    runtime_cli: Sequence[str] = ("podman",)
    duration_s: float | None = None
    grace_s: float = DEFAULT_GRACE_S
    log: Log = field(default=quiet)
    name: str = "ebpf"

    def record(self) -> Recording:
        problem = bpf.privilege_problem()
        if problem is not None:
            raise SeccompGenError(problem)
        if self.container is None and self.cgroup is None:
            return record_launched(self.command, grace_s=self.grace_s, log=self.log, engine=self.name)
        # A running cgroup or container: these modules load only here, off a launched run's way to
        # CMD's execve (issue 15: start-up).
        from seccomp_gen.recorder.ebpf import container
        from seccomp_gen.recorder.ebpf.running import record_running

        if self.container is not None:
            found = container.find(self.container, list(self.runtime_cli))
            return record_running(found.cgroup, duration_s=self.duration_s, log=self.log, engine=self.name,
                                  container=found.details())
        return record_running(self.cgroup or "", duration_s=self.duration_s, log=self.log, engine=self.name)
